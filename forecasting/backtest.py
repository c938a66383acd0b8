"""Rolling-origin backtest, accuracy measures and the automatic choice of model.

At each origin (weekly steps back from the end of the history) every model is fitted on the history before
the origin and forecasts the next ``horizon_days`` days, which are compared with what happened (Tashman,
"Out-of-sample tests of forecasting accuracy", *IJF* 16(4), 2000). Only observed intervals count: missing
days and special days (holidays, events: NaN in the history the backtest gets) are skipped.

Measures
--------
wMAPE
    ``sum|y - p| / sum y`` over all origins (weighted MAPE, robust to the zeros of quiet intervals).
MASE
    Per origin, the mean absolute error divided by the in-sample mean absolute error of the
    same-interval-last-week forecast on the training history (Hyndman & Koehler, "Another look at measures
    of forecast accuracy", *IJF* 22(4), 2006), then averaged over origins. Below 1 beats seasonal naive's
    in-sample accuracy.
Coverage
    Share of actuals at or below P80 and P95 in open intervals, with quantiles calibrated leave-one-origin-out
    (see `forecasting.quantiles`), so it measures calibration out-of-sample.

Choice rule (`choose_model`): the lowest MASE wins; models within 1% of the lowest MASE are tied and the
tie goes to the lowest wMAPE. MASE ranks first because it compares every model with the same naive scale
at each origin, so a quiet origin and a busy one weigh alike; wMAPE, dominated by busy periods, breaks
near-ties. A model needs at least one origin; seasonal naive is always a candidate, so a model that does
not beat it is never chosen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.models import ForecastModel
from forecasting.quantiles import Calibration
from forecasting.timegrid import DAYS_PER_WEEK, DayMatrix, infer_open_mask, open_cells

DEFAULT_ORIGINS = 5
MAX_BACKTEST_HORIZON_DAYS = 14
MASE_TIE_SHARE = 0.01
# Days of training the MASE scale needs (one week to compare with the week before).
MIN_TRAIN_DAYS = 2 * DAYS_PER_WEEK
SCORE_COLUMNS = ("model", "wmape", "mase", "coverage_p80", "coverage_p95", "origins")


@dataclass(frozen=True)
class BacktestResult:
    """Scores and calibrations of a backtest.

    Attributes
    ----------
    scores
        One row per model: ``model, wmape, mase, coverage_p80, coverage_p95, origins`` (shares 0-1;
        ``origins`` = how many origins the model was scored at).
    calibrations
        Per model, the quantile calibration fitted on the errors of all its origins.
    horizon_days
        Days forecast at each origin.
    origin_days
        The origins (first forecast day of each).
    warnings
        Models that failed at an origin, and similar.
    """

    scores: pd.DataFrame
    calibrations: dict[str, Calibration]
    horizon_days: int
    origin_days: tuple[pd.Timestamp, ...]
    warnings: tuple[str, ...]


def backtest_origins(n_days: int, horizon_days: int, origins: int = DEFAULT_ORIGINS) -> tuple[int, list[int]]:
    """Backtest horizon and origins (row numbers of the first forecast day), latest first.

    The horizon is ``min(horizon_days, 14)`` and shrinks (to no less than 7 days) when the history is
    short, so that at least one origin keeps three weeks of training.
    """
    horizon = min(horizon_days, MAX_BACKTEST_HORIZON_DAYS)
    horizon = max(min(horizon, n_days - 3 * DAYS_PER_WEEK), min(horizon, DAYS_PER_WEEK))
    starts = [n_days - horizon - DAYS_PER_WEEK * k for k in range(origins)]
    return horizon, [s for s in starts if s >= MIN_TRAIN_DAYS]


def mase_scale(train: DayMatrix) -> float:
    """In-sample MAE of the same-interval-last-week forecast over the last year of ``train`` (NaN if none)."""
    values = train.tail(52 * DAYS_PER_WEEK).values
    if values.shape[0] <= DAYS_PER_WEEK:
        return float("nan")
    diff = np.abs(values[DAYS_PER_WEEK:] - values[:-DAYS_PER_WEEK])
    return float(np.nanmean(diff)) if np.isfinite(diff).any() else float("nan")


def backtest(
    history: DayMatrix,
    models: Sequence[ForecastModel],
    *,
    horizon_days: int = MAX_BACKTEST_HORIZON_DAYS,
    origins: int = DEFAULT_ORIGINS,
    open_mask: np.ndarray | None = None,
    on_step: Callable[[str], None] | None = None,
) -> BacktestResult:
    """Rolling-origin backtest of ``models`` on one channel.

    Parameters
    ----------
    history
        The channel, special days already NaN.
    models
        Models to score.
    horizon_days
        The forecast's horizon; the backtest uses ``min(horizon_days, 14)`` (see `backtest_origins`).
    origins
        Number of weekly origins.
    open_mask
        Opening hours (7, slots); inferred from each origin's training history when None.
    on_step
        Called with a short message after each model fit (for progress reports).
    """
    horizon, starts = backtest_origins(history.n_days, horizon_days, origins)
    records: dict[str, list[_OriginRun]] = {model.name: [] for model in models}
    notes: list[str] = []
    days = history.days
    for start in starts:
        train = history.head(start)
        test_days = days[start : start + horizon]
        actual = history.values[start : start + horizon]
        scale = mase_scale(train)
        mask = infer_open_mask(train) if open_mask is None else open_mask
        opened = open_cells(mask, test_days)
        observed = np.isfinite(actual)
        leads = np.repeat(np.arange(1, horizon + 1)[:, None], history.slots, axis=1)
        for model in models:
            if start < model.min_history_days:
                continue
            try:
                fitted = model.fit(train, open_mask=mask, calibration=Calibration.default())
                point = fitted.point(test_days)
            except Exception as error:  # a numerical failure of one fit must not end the run
                notes.append(f"{model.name} failed at origin {test_days[0].date()}: {error}")
                continue
            finally:
                if on_step:
                    on_step(f"backtest {model.name} at origin {test_days[0].date()}")
            errors = np.abs(actual - point)[observed]
            keep = observed & opened
            records[model.name].append(
                _OriginRun(
                    abs_error=float(errors.sum()),
                    actual=float(actual[observed].sum()),
                    mase=float(errors.mean() / scale) if scale > 0 and errors.size else float("nan"),
                    point=point[keep],
                    y=actual[keep],
                    lead=leads[keep],
                )
            )
    rows = []
    calibrations: dict[str, Calibration] = {}
    for model in models:
        runs = records[model.name]
        if not runs:
            rows.append(
                {
                    "model": model.name,
                    "wmape": np.nan,
                    "mase": np.nan,
                    "coverage_p80": np.nan,
                    "coverage_p95": np.nan,
                    "origins": 0,
                }
            )
            continue
        actual_sum = sum(r.actual for r in runs)
        error_sum = sum(r.abs_error for r in runs)
        cov80, cov95 = _loo_coverage(runs, model.name)
        calibrations[model.name] = _calibrate(runs, f"backtest of {model.name}, {len(runs)} origins")
        rows.append(
            {
                "model": model.name,
                "wmape": error_sum / actual_sum if actual_sum > 0 else np.nan,
                "mase": _finite_mean([r.mase for r in runs]),
                "coverage_p80": cov80,
                "coverage_p95": cov95,
                "origins": len(runs),
            }
        )
    scores = pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
    return BacktestResult(scores, calibrations, horizon, tuple(days[s] for s in starts), tuple(notes))


def _finite_mean(values: Sequence[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


@dataclass(frozen=True)
class _OriginRun:
    """One model at one origin: error sums and the open intervals' points, actuals and lead days."""

    abs_error: float
    actual: float
    mase: float
    point: np.ndarray
    y: np.ndarray
    lead: np.ndarray


def _calibrate(runs: Sequence[_OriginRun], source: str) -> Calibration:
    point = np.concatenate([r.point for r in runs])
    actual = np.concatenate([r.y for r in runs])
    lead = np.concatenate([r.lead for r in runs])
    return Calibration.fit(point, actual, lead, source)


def _loo_coverage(runs: Sequence[_OriginRun], name: str) -> tuple[float, float]:
    """Shares of actuals <= P80 and <= P95, each origin calibrated on the other origins."""
    below80 = below95 = total = 0
    for i, run in enumerate(runs):
        others = [r for j, r in enumerate(runs) if j != i] or [run]
        calibration = _calibrate(others, name)
        p80, p95 = calibration.quantiles(run.point, run.lead)
        actual = run.y
        below80 += int((actual <= p80).sum())
        below95 += int((actual <= p95).sum())
        total += actual.size
    return (below80 / total, below95 / total) if total else (float("nan"), float("nan"))


def choose_model(scores: pd.DataFrame) -> tuple[str, str]:
    """The model to use and why, from backtest scores (see the module docstring for the rule)."""
    scored = scores[(scores["origins"] > 0) & scores["mase"].notna()]
    unscored = [str(m) for m in scores.loc[~scores.index.isin(scored.index), "model"]]
    left_out = f"; not backtested (too little history): {', '.join(unscored)}" if unscored else ""
    if scored.empty:
        return "snaive", "no model could be backtested; seasonal naive is the fallback" + left_out
    best_mase = float(scored["mase"].min())
    tied = scored[scored["mase"] <= best_mase * (1 + MASE_TIE_SHARE)]
    chosen = tied.sort_values(["wmape", "mase"]).iloc[0]
    others = ", ".join(
        f"{r.model} {r.mase:.3f}" for r in scored.sort_values("mase").itertuples() if r.model != chosen["model"]
    )
    reason = (
        f"lowest MASE in a backtest over {int(chosen['origins'])} weekly origins: {chosen['mase']:.3f} "
        f"(wMAPE {chosen['wmape']:.1%})"
    )
    if len(tied) > 1:
        reason += (
            f"; tied within {MASE_TIE_SHARE:.0%} of the best MASE with {len(tied) - 1} other(s), lowest wMAPE wins"
        )
    if others:
        reason += f"; others' MASE: {others}"
    return str(chosen["model"]), reason + left_out


def describe_scores(scores: pd.DataFrame, model: str) -> str:
    """One model's backtest scores in words, for reports ("" when it was not backtested)."""
    row = scores[(scores["model"] == model) & (scores["origins"] > 0)]
    if row.empty:
        return ""
    r = row.iloc[0]
    return f"backtest MASE {r['mase']:.3f}, wMAPE {r['wmape']:.1%} over {int(r['origins'])} origins"
