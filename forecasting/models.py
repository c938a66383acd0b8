"""Forecast models for one channel, behind one interface.

``model.fit(history) -> FittedModel`` and ``fitted.forecast(horizon_index) -> DataFrame[p50, p80, p95]``.
``history`` is a `pandas.Series` of offered contacts on naive local interval starts (or a `DayMatrix`): a
whole day absent is missing, NaN is missing, an absent interval inside a present day is zero. Holidays and
other special days should be NaN here; `forecasting.forecast` takes care of that and of applying them to the
horizon.

Every model predicts a point forecast (used as P50) for whole local days; `FittedModel` zeroes closed
slots (opening hours given, or inferred from history) and turns points into P80/P95 with a `Calibration`
(fitted on backtest errors by `forecasting.backtest`; without one, on the history's own
same-interval-last-week errors).

Models
------
``snaive``
    Same interval one week earlier (the most recent week that has the day), repeated: the baseline.
    ``SeasonalNaive(season_days=1)`` (``previous_day``) is the fallback for under a week of history.
``ets``
    The classic top-down WFM model: daily totals forecast by exponential smoothing (statsmodels
    `ETSModel`; Hyndman et al., *Forecasting with Exponential Smoothing: the State Space Approach*, 2008),
    split into intervals by day-of-week intraday profiles of recent weeks.
``mstl``
    Multiple seasonal-trend decomposition by LOESS on the interval series (statsmodels `MSTL`; Bandara,
    Hyndman & Bergmeir, "MSTL", 2021, arXiv:2107.13462; Cleveland et al., "STL", *J. Official Statistics*
    6(1), 1990), daily and weekly periods, on log(1 + y); the seasonal parts are repeated and the rest is
    forecast by a damped-trend ETS on its daily means.
``regression``
    A Poisson generalised linear model (log link) on Fourier terms of the time of day, shared and per
    weekday, weekday and trend terms (Fourier terms as in Hyndman & Athanasopoulos, *Forecasting:
    Principles and Practice*, 3rd ed., sec. 7.4; dynamic harmonic regression, sec. 10.5; GLM: McCullagh &
    Nelder, *Generalized Linear Models*, 1989; fitted by `poisson_irls`).
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import scipy.linalg
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.seasonal import MSTL

from forecasting.quantiles import Calibration
from forecasting.timegrid import DAYS_PER_WEEK, DayMatrix, infer_open_mask, open_cells

PointFunction = Callable[[pd.DatetimeIndex], np.ndarray]
"""Point forecasts (len(days), slots) for naive local midnights ``days`` after the training history."""


@dataclass(frozen=True)
class FittedModel:
    """A model fitted to one channel.

    Attributes
    ----------
    name
        The model's name (``snaive``, ``ets``, ...).
    interval_minutes
        Slot length of the grid it was fitted on.
    last_day
        Last local day of the training history; lead day 1 is the day after it.
    open_mask
        Boolean (7, slots), Monday first: the opening hours used to zero closed slots.
    calibration
        Turns points into P80/P95.
    point_function
        The model's own point forecast for given days (before closed slots are zeroed).
    """

    name: str
    interval_minutes: int
    last_day: pd.Timestamp
    open_mask: np.ndarray
    calibration: Calibration
    point_function: PointFunction = field(repr=False)

    def point(self, days: pd.DatetimeIndex) -> np.ndarray:
        """Point forecasts (len(days), slots), non-negative, zero in closed slots."""
        values = np.asarray(self.point_function(pd.DatetimeIndex(days).normalize()), dtype=float)
        values = np.clip(np.nan_to_num(values, nan=0.0, posinf=0.0), 0.0, None)
        return np.where(open_cells(self.open_mask, pd.DatetimeIndex(days)), values, 0.0)

    def lead_days(self, days: pd.DatetimeIndex) -> np.ndarray:
        """Days after the end of the training history (1 = the next day)."""
        return np.asarray((pd.DatetimeIndex(days).normalize() - self.last_day).days, dtype=np.int64)

    def forecast(self, horizon: pd.DatetimeIndex) -> pd.DataFrame:
        """P50/P80/P95 for naive local interval starts ``horizon`` (any order; repeats allowed).

        Holidays and events are not applied here; `forecasting.forecast` does that.
        """
        horizon = pd.DatetimeIndex(horizon)
        if horizon.tz is not None:
            raise ValueError("horizon must be naive local interval starts")
        days = pd.DatetimeIndex(np.unique(horizon.normalize()))
        if len(days) and days[0] <= self.last_day:
            raise ValueError(f"horizon starts on {days[0].date()}, inside the history (ends {self.last_day.date()})")
        p50 = self.point(days)
        leads = np.repeat(self.lead_days(days)[:, None], p50.shape[1], axis=1)
        p80, p95 = self.calibration.quantiles(p50, leads)
        closed = ~open_cells(self.open_mask, days)
        p80[closed] = 0.0
        p95[closed] = 0.0
        row = np.searchsorted(days.as_unit("ns").asi8, horizon.normalize().as_unit("ns").asi8)
        slot = np.asarray((horizon.hour * 60 + horizon.minute) // self.interval_minutes)
        return pd.DataFrame({"p50": p50[row, slot], "p80": p80[row, slot], "p95": p95[row, slot]}, index=horizon)


class ForecastModel(ABC):
    """A forecast method: `fit` learns from one channel's history and returns a `FittedModel`."""

    #: Fewest days of history the model is fitted on.
    min_history_days: int = 21

    @property
    @abstractmethod
    def name(self) -> str:
        """Name used in reports, in the ``model`` column and by ``method=``."""

    @abstractmethod
    def _point_function(self, history: DayMatrix, open_mask: np.ndarray) -> PointFunction:
        """Learn from ``history`` and return its point forecast."""

    def fit(
        self,
        history: pd.Series | DayMatrix,
        *,
        open_mask: np.ndarray | None = None,
        calibration: Calibration | None = None,
    ) -> FittedModel:
        """Fit to one channel's history.

        Parameters
        ----------
        history
            Offered contacts per naive local interval start (see the module docstring), or a `DayMatrix`.
        open_mask
            Opening hours, boolean (7, slots), Monday first; inferred from history when None.
        calibration
            Quantile calibration; when None, fitted on the history's same-interval-last-week errors.
        """
        matrix = history if isinstance(history, DayMatrix) else DayMatrix.from_series(history)
        if matrix.n_days < self.min_history_days:
            raise ValueError(f"{self.name} needs {self.min_history_days} days of history, got {matrix.n_days}")
        mask = infer_open_mask(matrix) if open_mask is None else np.asarray(open_mask, dtype=bool)
        function = self._point_function(matrix, mask)
        if calibration is None:
            calibration = naive_calibration(matrix, mask)
        return FittedModel(self.name, matrix.interval_minutes, matrix.last_day, mask, calibration, function)


def naive_calibration(matrix: DayMatrix, open_mask: np.ndarray) -> Calibration:
    """Calibration on in-sample errors of the same interval one week (or, under two weeks, one day) earlier.

    A stand-in when no backtest is available: the seasonal naive is the baseline other models beat, so
    its band is on the wide side for them.
    """
    lag = DAYS_PER_WEEK if matrix.n_days >= 2 * DAYS_PER_WEEK else 1
    values = matrix.values
    if matrix.n_days <= lag:
        return Calibration.default()
    opened = open_cells(open_mask, matrix.days)[lag:]
    point, actual = values[:-lag][opened], values[lag:][opened]
    return Calibration.fit(point, actual, np.full(point.shape, lag), f"in-sample {lag}-day naive errors")


# ---------------------------------------------------------------- seasonal naive


@dataclass(frozen=True)
class SeasonalNaive(ForecastModel):
    """Each interval as the same interval ``season_days`` earlier (the latest such day that was observed).

    With ``season_days=7`` this is the weekly seasonal naive, the baseline of MASE (Hyndman & Koehler,
    "Another look at measures of forecast accuracy", *IJF* 22(4), 2006); with 1, the previous day.
    """

    season_days: int = DAYS_PER_WEEK

    @property
    def name(self) -> str:
        return "snaive" if self.season_days == DAYS_PER_WEEK else "previous_day"

    @property
    def min_history_days(self) -> int:  # type: ignore[override]
        return self.season_days

    def _point_function(self, history: DayMatrix, open_mask: np.ndarray) -> PointFunction:
        season = self.season_days
        phase = np.arange(history.n_days) % season
        latest = np.full((season, history.slots), np.nan)
        for p in range(season):
            rows = history.values[phase == p]
            if len(rows):
                latest[p] = pd.DataFrame(rows).ffill().to_numpy()[-1]
        latest = np.nan_to_num(latest, nan=0.0)

        def point(days: pd.DatetimeIndex) -> np.ndarray:
            return latest[history.day_offsets(days) % season]

        return point


# ---------------------------------------------------------------- top-down: daily ETS x intraday profiles


@dataclass(frozen=True)
class TopDownETS(ForecastModel):
    """Daily totals by ETS, split into intervals by weighted day-of-week profiles.

    Daily totals of the open weekdays (a weekday with no open slot is left out, so a weekdays-only centre
    has a 5-day season) form one series; missing days are filled from the same weekday in neighbouring
    weeks. ETS models with additive errors, no or damped additive trend (Gardner & McKenzie, "Forecasting
    trends in time series", *Management Science* 31(10), 1985), and multiplicative or additive weekly
    seasonality when there are at least three seasons, are compared by AICc; the best one forecasts
    the totals.

    The profile of weekday d is a ratio of weighted sums over its last ``profile_weeks`` observed days,
    week k back weighted ``profile_decay**k``, shrunk towards the profile of all open weekdays with the
    weight of ``shrink_per_slot`` contacts per slot (which matters only for sparse channels).
    """

    profile_weeks: int = 8
    profile_decay: float = 0.85
    shrink_per_slot: float = 3.0
    max_history_weeks: int = 52

    @property
    def name(self) -> str:
        return "ets"

    def _point_function(self, history: DayMatrix, open_mask: np.ndarray) -> PointFunction:
        open_weekdays = np.flatnonzero(np.asarray(open_mask.any(axis=1), dtype=bool))
        profiles = weekday_profiles(history, open_mask, self.profile_weeks, self.profile_decay, self.shrink_per_slot)
        window = history.tail(self.max_history_weeks * DAYS_PER_WEEK)
        totals = daily_totals(window)
        keep = np.isin(window.weekdays, open_weekdays)
        dates = window.days[keep]
        if not len(dates):
            return lambda days: np.zeros((len(days), history.slots))
        series = impute_seasonal(totals[keep], len(open_weekdays))
        forecast_totals = _ets_forecast_function(series, len(open_weekdays))
        open_set = set(open_weekdays.tolist())

        def point(days: pd.DatetimeIndex) -> np.ndarray:
            # Steps ahead in the series of open weekdays after the last training day.
            calendar = pd.date_range(
                history.last_day + pd.Timedelta(days=1), max(days.max(), history.last_day + pd.Timedelta(days=1))
            )
            is_open = np.isin(calendar.day_of_week, list(open_set))
            step_of = dict(zip(calendar, np.cumsum(is_open), strict=True))
            steps = np.array([step_of.get(day, 0) for day in days])
            level = forecast_totals(int(steps.max()) if len(steps) else 0)
            out = np.zeros((len(days), history.slots))
            for i, day in enumerate(days):
                if day.day_of_week in open_set and steps[i] > 0:
                    out[i] = level[steps[i] - 1] * profiles[day.day_of_week]
            return out

        return point


def daily_totals(matrix: DayMatrix) -> np.ndarray:
    """Sum per day; NaN for a day with no observed interval."""
    values = matrix.values
    observed = ~np.isnan(values).all(axis=1)
    return np.where(observed, np.nansum(values, axis=1), np.nan)


def impute_seasonal(values: np.ndarray, period: int, reach: int = 4) -> np.ndarray:
    """Fill NaN from the same phase ``period`` steps around it (mean of the nearest on each side within
    ``reach`` periods), then the phase mean, then the overall mean (0 if nothing is known)."""
    values = np.asarray(values, dtype=float).copy()
    missing = np.flatnonzero(np.isnan(values))
    if not missing.size:
        return values
    original = values.copy()
    overall = float(np.nanmean(original)) if np.isfinite(original).any() else 0.0
    phase_mean: dict[int, float] = {}
    for p in range(period):
        same = original[p::period]
        phase_mean[p] = float(np.nanmean(same)) if np.isfinite(same).any() else overall
    for i in missing:
        found = []
        for direction in (-1, 1):
            for k in range(1, reach + 1):
                j = i + direction * k * period
                if 0 <= j < len(original) and np.isfinite(original[j]):
                    found.append(original[j])
                    break
        values[i] = float(np.mean(found)) if found else phase_mean[int(i) % period]
    return values


def weekday_profiles(
    history: DayMatrix, open_mask: np.ndarray, weeks: int, decay: float, shrink_per_slot: float
) -> np.ndarray:
    """Intraday profiles (7, slots), each summing to 1 over the slots (0 for a closed weekday)."""
    window = history.tail(weeks * DAYS_PER_WEEK)
    values = window.values
    observed = ~np.isnan(values).all(axis=1)
    filled = np.nan_to_num(values, nan=0.0) * open_cells(open_mask, window.days)
    age_weeks = (window.n_days - 1 - np.arange(window.n_days)) // DAYS_PER_WEEK
    weight = np.where(observed, decay**age_weeks, 0.0)
    weighted = filled * weight[:, None]
    weekdays = window.weekdays
    open_days = np.asarray(open_mask.any(axis=1), dtype=bool)
    pooled_sum = weighted[open_days[weekdays]].sum(axis=0)
    pooled = pooled_sum / pooled_sum.sum() if pooled_sum.sum() > 0 else np.full(history.slots, 1.0 / history.slots)
    profiles = np.zeros((DAYS_PER_WEEK, history.slots))
    for weekday in np.flatnonzero(open_days):
        rows = weekdays == weekday
        day_sum = weighted[rows].sum(axis=0)
        prior = shrink_per_slot * open_mask[weekday].sum()
        target = pooled * open_mask[weekday]
        target = target / target.sum() if target.sum() > 0 else open_mask[weekday] / open_mask[weekday].sum()
        profile = (day_sum + prior * target) / (day_sum.sum() + prior)
        profiles[weekday] = profile / profile.sum()
    return profiles


def _ets_forecast_function(series: np.ndarray, period: int) -> Callable[[int], np.ndarray]:
    """Fit ETS variants to daily totals, pick by AICc; return steps -> forecasts."""
    n = len(series)
    if n < 4 or np.allclose(series, 0):
        level = float(np.mean(series[-period:])) if n else 0.0
        return lambda steps: np.full(steps, level)
    seasonal_options: list[str | None] = [None]
    if period >= 2 and n >= 3 * period:
        seasonal_options = ["mul", "add"] if series.min() > 0 else ["add"]
    best = None
    best_aicc = np.inf
    for seasonal in seasonal_options:
        for damped in (False, True):
            if damped and n < 2 * max(period, 5):
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = ETSModel(
                        series,
                        error="add",
                        trend="add" if damped else None,
                        damped_trend=damped,
                        seasonal=seasonal,
                        seasonal_periods=period if seasonal else None,
                    )
                    result = model.fit(disp=False, maxiter=200)
            except (ValueError, np.linalg.LinAlgError):
                continue
            aicc = float(result.aicc)
            if np.isfinite(aicc) and aicc < best_aicc:
                best, best_aicc = result, aicc
    if best is None:
        # Seasonal naive on the daily series.
        last = series[-period:]
        return lambda steps: np.resize(last, steps)
    fitted = best

    def forecast(steps: int) -> np.ndarray:
        if steps <= 0:
            return np.zeros(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.maximum(np.asarray(fitted.forecast(steps), dtype=float), 0.0)

    return forecast


# ---------------------------------------------------------------- MSTL


@dataclass(frozen=True)
class MSTLModel(ForecastModel):
    """MSTL with daily and weekly periods on log(1 + y) of the last ``weeks`` weeks.

    Fast STL settings (DESIGN.md, Known pitfalls): ``seasonal_deg=0`` and the LOESS fits evaluated only every
    ``jump_share`` of their span with linear interpolation between (``seasonal_jump`` = 0.15 x weeks,
    ``trend_jump`` = ``low_pass_jump`` = 0.15 x the weekly period). Measured while building this model, in
    five-origin backtests: the same wMAPE as jumps of 1 (US bank series at 30 minutes 6.64% vs 6.68%;
    a synthetic 15-minute channel 23.7% both) in 1/17 to 1/38 of the time. Missing cells are filled from
    the same slot in neighbouring weeks before the decomposition; closed slots are zero.

    Forecast: each seasonal component repeats its last cycle; the trend plus remainder is averaged per
    day and forecast by ETS with a damped additive trend (or a level only, by AICc), then spread evenly
    over the day's slots.
    """

    weeks: int = 12
    jump_share: float = 0.15

    @property
    def name(self) -> str:
        return "mstl"

    def _point_function(self, history: DayMatrix, open_mask: np.ndarray) -> PointFunction:
        window = history.tail(self.weeks * DAYS_PER_WEEK)
        slots = history.slots
        opened = open_cells(open_mask, window.days)
        values = np.where(opened, window.values, 0.0)
        filled = impute_seasonal(values.ravel(), DAYS_PER_WEEK * slots).reshape(values.shape)
        y = np.log1p(np.maximum(filled, 0.0)).ravel()
        periods = (slots, DAYS_PER_WEEK * slots)
        if window.n_days < 2 * DAYS_PER_WEEK:
            raise ValueError("mstl needs two whole weeks")
        stl_kwargs = {
            "seasonal_deg": 0,
            "seasonal_jump": max(1, int(self.jump_share * window.n_days / DAYS_PER_WEEK)),
            "trend_jump": max(1, int(self.jump_share * periods[1])),
            "low_pass_jump": max(1, int(self.jump_share * periods[1])),
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = MSTL(y, periods=periods, stl_kwargs=stl_kwargs).fit()
        seasonal = np.asarray(result.seasonal)
        daily_cycle = seasonal[-periods[0] :, 0]
        weekly_cycle = seasonal[-periods[1] :, 1]
        rest = (np.asarray(result.trend) + np.asarray(result.resid)).reshape(window.n_days, slots).mean(axis=1)
        level = _ets_forecast_function(rest, 1)
        # Phase of the weekly cycle: its last element is the last slot of the window's last day.
        last_weekday = window.weekdays[-1]

        def point(days: pd.DatetimeIndex) -> np.ndarray:
            ahead = np.asarray((days - history.last_day).days, dtype=np.int64)
            levels = level(int(ahead.max()) if len(ahead) else 0)
            out = np.zeros((len(days), slots))
            weekly = weekly_cycle.reshape(DAYS_PER_WEEK, slots)
            for i, (day, step) in enumerate(zip(days, ahead, strict=True)):
                position = (day.day_of_week - last_weekday - 1) % DAYS_PER_WEEK
                log_value = levels[step - 1] + daily_cycle + weekly[position]
                out[i] = np.expm1(log_value)
            return out

        return point


# ---------------------------------------------------------------- Poisson regression on Fourier terms


@dataclass(frozen=True)
class FourierRegression(ForecastModel):
    """Poisson GLM (log link) on time-of-day Fourier terms, per-weekday terms and a trend.

    Design: intercept; weekday dummies; ``daily_harmonics`` sine/cosine pairs of the time of day shared by
    all weekdays; ``weekday_harmonics`` pairs per weekday (deviations from the shared shape); a linear
    trend in weeks. Fitted by IRLS on the open, observed intervals of the last ``weeks`` weeks, weighted
    ``decay**k`` for k weeks back so the level follows recent weeks. The trend's effect on the forecast is
    damped: it is held at its value ``trend_cap_days`` after the training end. The conditional mean is the
    point forecast (for counts the median lies within a fraction of one below it).
    """

    weeks: int = 12
    daily_harmonics: int = 10
    weekday_harmonics: int = 4
    decay: float = 0.9
    trend_cap_days: int = 7

    @property
    def name(self) -> str:
        return "regression"

    def _design(self, days: pd.DatetimeIndex, slots: int, origin: pd.Timestamp) -> np.ndarray:
        """Rows for every (day, slot) of ``days``, day-major."""
        n_days = len(days)
        phase = 2.0 * np.pi * np.arange(slots) / slots
        k_daily = min(self.daily_harmonics, max(1, slots // 2 - 1))
        k_weekday = min(self.weekday_harmonics, k_daily)
        harmonics = [np.sin(k * phase) for k in range(1, k_daily + 1)] + [
            np.cos(k * phase) for k in range(1, k_daily + 1)
        ]
        daily = np.tile(np.column_stack(harmonics), (n_days, 1))
        weekday = np.repeat(np.asarray(days.day_of_week), slots)
        dummies = (weekday[:, None] == np.arange(1, DAYS_PER_WEEK)[None, :]).astype(float)
        own = np.column_stack(
            [np.sin(k * phase) for k in range(1, k_weekday + 1)] + [np.cos(k * phase) for k in range(1, k_weekday + 1)]
        )
        own = np.tile(own, (n_days, 1))
        per_weekday = (dummies[:, :, None] * own[:, None, :]).reshape(len(weekday), -1)
        weeks_from_origin = np.repeat(np.asarray((days - origin).days, dtype=float) / DAYS_PER_WEEK, slots)
        return np.column_stack([np.ones(len(weekday)), dummies, daily, per_weekday, weeks_from_origin])

    def _point_function(self, history: DayMatrix, open_mask: np.ndarray) -> PointFunction:
        window = history.tail(self.weeks * DAYS_PER_WEEK)
        slots = history.slots
        origin = history.last_day
        x = self._design(window.days, slots, origin)
        y = window.values.ravel()
        age_weeks = np.repeat((window.n_days - 1 - np.arange(window.n_days)) // DAYS_PER_WEEK, slots)
        use = np.isfinite(y) & open_cells(open_mask, window.days).ravel()
        if use.sum() < x.shape[1] * 3 or y[use].sum() <= 0:
            raise ValueError("regression: too few open intervals with volume")
        # Drop columns that are constant zero on the fitted rows (e.g. a weekday that is closed).
        active = np.abs(x[use]).sum(axis=0) > 0
        params = np.zeros(x.shape[1])
        params[active] = poisson_irls(x[use][:, active], y[use], self.decay ** age_weeks[use])
        trend_column = x.shape[1] - 1
        cap_weeks = self.trend_cap_days / DAYS_PER_WEEK

        def point(days: pd.DatetimeIndex) -> np.ndarray:
            design = self._design(days, slots, origin)
            design[:, trend_column] = np.minimum(design[:, trend_column], cap_weeks)
            linear = np.clip(design @ params, -50.0, 50.0)
            return np.exp(linear).reshape(len(days), slots)

        return point


def poisson_irls(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray, *, max_iterations: int = 50, tolerance: float = 1e-9
) -> np.ndarray:
    """Coefficients of a weighted Poisson GLM with log link, by iteratively reweighted least squares.

    Each step solves the weighted least-squares problem for the working response ``z = eta + (y - mu) / mu``
    with weights ``weights * mu`` (McCullagh & Nelder, *Generalized Linear Models*, 2nd ed., sec. 2.5),
    starting from ``mu = (y + mean(y)) / 2``. Fourier columns restricted to opening hours are nearly
    collinear, so the steps run in the orthonormal basis of a pivoted QR decomposition of ``x`` (computed
    once): there the normal equations are as well conditioned as the weights, and columns that are linear
    combinations of others (rank deficiency) get a zero coefficient. Stops when the deviance changes by less
    than ``tolerance`` relative.
    """
    q, r, pivot = scipy.linalg.qr(x, mode="economic", pivoting=True)
    diagonal = np.abs(np.diag(r))
    rank = int(np.sum(diagonal > diagonal[0] * 1e-10)) if diagonal.size and diagonal[0] > 0 else 0
    q = q[:, :rank]
    mean_y = float(np.average(y, weights=weights))
    mu = (y + mean_y) / 2.0 + 1e-6
    eta = np.log(mu)
    gamma = np.zeros(rank)
    deviance = np.inf
    for _ in range(max_iterations):
        z = eta + (y - mu) / mu
        w = weights * mu
        gram = (q * w[:, None]).T @ q
        gamma = np.linalg.solve(gram, q.T @ (w * z))
        eta = np.clip(q @ gamma, -30.0, 30.0)
        mu = np.exp(eta)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu)
        new_deviance = 2.0 * float(np.sum(weights * terms))
        if abs(new_deviance - deviance) <= tolerance * (abs(new_deviance) + 0.1):
            break
        deviance = new_deviance
    beta = np.zeros(x.shape[1])
    beta[pivot[:rank]] = scipy.linalg.solve_triangular(r[:rank, :rank], gamma)
    return beta


MODELS: dict[str, Callable[[], ForecastModel]] = {
    "snaive": SeasonalNaive,
    "ets": TopDownETS,
    "mstl": MSTLModel,
    "regression": FourierRegression,
}
"""The methods ``forecast(method=...)`` accepts besides ``auto``, by name."""


def with_calibration(fitted: FittedModel, calibration: Calibration) -> FittedModel:
    """The same fitted model with another quantile calibration."""
    return replace(fitted, calibration=calibration)
