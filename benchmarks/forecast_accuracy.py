"""Forecast accuracy on the US bank call series: each model, the automatic choice, seasonal naive and
statsforecast's MSTL side by side.

The data are ../shared/data/us-bank-calls-5min (calls per 5 minutes, weekdays 07:00-21:05, March-October
2003; the times are local although marked Z, and US holidays are absent; see its PROVENANCE.md), aggregated
to 30 minutes. Rolling origins over the last 6 weeks: the forecast starts 42, 35, 28, 21 and 14 days before
the end of the data, each for 14 days, fitted on everything before it. At each origin ``forecasting.forecast``
runs as the app would run it (its own internal backtest, calibration and, for ``auto``, its own choice).

Scores pool all five origins over the intervals that have data (open intervals of days in the file):
wMAPE = sum|y - P50| / sum y; MASE = mean absolute error over the in-sample mean absolute change from the same
interval a week earlier (per origin, then averaged); coverage = share of actuals at or below P80 and P95.

statsforecast's MSTL (season lengths of one business day and five business days, AutoETS trend, its
P80/P95 as the upper ends of its 60% and 90% intervals) gets the usual business-day series of this data set:
weekdays only, 07:00-21:00, missing holidays filled with the same interval a week earlier. statsforecast
needs pandas < 3 (and its dependency ``fugue`` pulls a PyPI package named ``triad`` that replaces this
project's own installation), so it cannot live in the project's virtualenv: give the Python of another
environment that has it with ``--statsforecast-python`` or ``STATSFORECAST_PYTHON``; without one (and
without statsforecast importable here) its column is skipped with a note.

    .venv/bin/python benchmarks/forecast_accuracy.py
    .venv/bin/python benchmarks/forecast_accuracy.py --statsforecast-python /path/to/venv/bin/python
"""

from __future__ import annotations

import os

# One BLAS thread, as the app's job processes run; set before numpy is imported.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

# Run as a script, this folder is on sys.path; it is not a package.
from _common import REPO, machine_line, table  # noqa: E402

from forecasting import forecast  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "us-bank-calls-5min" / "bank_calls_5min.csv"
INTERVAL_MINUTES = 30
HORIZON_DAYS = 14
ORIGIN_DAYS_BEFORE_END = (42, 35, 28, 21, 14)
METHODS = ("snaive", "ets", "mstl", "regression", "auto")
GOAL_VS_NAIVE = 0.10

# Runs in the other environment: reads the business-day series and the origins, writes MSTL forecasts.
STATSFORECAST_CHILD = """
import json, sys, time
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import MSTL, AutoETS
spec = json.load(open(sys.argv[1]))
series = pd.read_csv(spec["series"])
rows = []
started = time.perf_counter()
for origin, steps in spec["origins"]:
    train = series.iloc[:origin]
    data = pd.DataFrame({"unique_id": "bank", "ds": range(len(train)), "y": train["y"].to_numpy()})
    model = MSTL(season_length=[spec["slots"], 5 * spec["slots"]], trend_forecaster=AutoETS(model="ZZN"))
    out = StatsForecast(models=[model], freq=1).forecast(df=data, h=steps, level=[60, 90])
    for step, (mean, p80, p95) in enumerate(zip(out["MSTL"], out["MSTL-hi-60"], out["MSTL-hi-90"])):
        rows.append({"origin": origin, "position": origin + step, "p50": mean, "p80": p80, "p95": p95})
pd.DataFrame(rows).to_csv(spec["out"], index=False)
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


@dataclass
class Score:
    """Pooled errors of one method over the origins."""

    abs_error: float = 0.0
    actual: float = 0.0
    below80: int = 0
    below95: int = 0
    count: int = 0
    mase: list[float] = field(default_factory=list)
    seconds: float = 0.0
    chosen: list[str] = field(default_factory=list)

    def add(self, actual: pd.Series, p50: np.ndarray, p80: np.ndarray, p95: np.ndarray, scale: float) -> None:
        y = actual.to_numpy(dtype=float)
        errors = np.abs(y - p50)
        self.abs_error += float(errors.sum())
        self.actual += float(y.sum())
        self.below80 += int((y <= p80).sum())
        self.below95 += int((y <= p95).sum())
        self.count += len(y)
        self.mase.append(float(errors.mean() / scale))

    @property
    def wmape(self) -> float:
        return self.abs_error / self.actual


def load_history() -> pd.DataFrame:
    raw = pd.read_csv(DATA)
    local = pd.to_datetime(raw["DateTime"]).dt.tz_localize(None)  # marked Z, but local time (PROVENANCE.md)
    return pd.DataFrame({"interval_start": local, "channel": "bank", "offered": raw["Calls"]})


def naive_scale(actual: pd.Series) -> float:
    """In-sample mean absolute change from the same interval a week earlier, over intervals with data."""
    lagged = actual.reindex(pd.DatetimeIndex(actual.index) - pd.Timedelta(days=7)).to_numpy()
    return float(np.nanmean(np.abs(actual.to_numpy() - lagged)))


def business_day_series(actual: pd.Series) -> pd.Series:
    """Weekdays 07:00-21:00 at 30 minutes, missing holidays filled from the same interval a week earlier."""
    days = pd.bdate_range(actual.index.min().normalize(), actual.index.max().normalize())
    offsets = pd.timedelta_range("07:00:00", "21:00:00", freq=f"{INTERVAL_MINUTES}min")
    grid = pd.DatetimeIndex([day + offset for day in days for offset in offsets])
    values = np.array(actual.reindex(grid).to_numpy(dtype=float), copy=True)
    week = 5 * len(offsets)
    for i in np.flatnonzero(np.isnan(values)):
        values[i] = values[i - week] if i >= week else values[i + week]
    return pd.Series(values, index=grid)


def run_statsforecast(
    python: str | None, series: pd.Series, cuts: list[pd.Timestamp]
) -> tuple[pd.DataFrame | None, float, str]:
    """MSTL forecasts (indexed by interval start, column ``cut`` = the origin's first day), run time, a note."""
    if python is None:
        if importlib.util.find_spec("statsforecast") is None:
            return (
                None,
                0.0,
                (
                    "statsforecast MSTL skipped: statsforecast is not importable here and no --statsforecast-python "
                    "was given (it needs pandas < 3; install it in another virtualenv and pass its Python)"
                ),
            )
        python = sys.executable
    index = pd.DatetimeIndex(series.index)
    slots = int((index.normalize() == index[0].normalize()).sum())
    origins = []
    for cut in cuts:
        origin = int(series.index.searchsorted(cut))
        steps = int(((series.index >= cut) & (series.index < cut + pd.Timedelta(days=HORIZON_DAYS))).sum())
        origins.append((origin, steps))
    with tempfile.TemporaryDirectory(prefix="triad-bench-sf-") as folder:
        path = Path(folder)
        series.rename("y").to_frame().to_csv(path / "series.csv", index=False)
        spec = {"series": str(path / "series.csv"), "out": str(path / "out.csv"), "origins": origins, "slots": slots}
        (path / "spec.json").write_text(json.dumps(spec))
        (path / "child.py").write_text(STATSFORECAST_CHILD)
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
        done = subprocess.run(
            [python, str(path / "child.py"), str(path / "spec.json")],
            capture_output=True,
            text=True,
            env=env,
            timeout=1800,
            check=False,
        )
        if done.returncode != 0:
            return None, 0.0, f"statsforecast MSTL failed ({python}): {done.stderr.strip().splitlines()[-1:]}"
        out = pd.read_csv(path / "out.csv")
        seconds = float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])
    version = subprocess.run(
        [python, "-c", "import statsforecast; print(statsforecast.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    out.index = series.index[out["position"].to_numpy()]
    out["cut"] = [cuts[[o for o, _ in origins].index(origin)] for origin in out["origin"]]
    return out[["cut", "p50", "p80", "p95"]], seconds, f"statsforecast {version} MSTL run by {python} (one BLAS thread)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--statsforecast-python", default=os.environ.get("STATSFORECAST_PYTHON"))
    args = parser.parse_args()
    if not DATA.exists():
        raise SystemExit(f"{DATA} is absent: this benchmark needs ../shared/data/us-bank-calls-5min")

    history = load_history()
    starts = pd.DatetimeIndex(history["interval_start"])
    actual = history.groupby(starts.floor(f"{INTERVAL_MINUTES}min"))["offered"].sum()
    end = actual.index.max().normalize() + pd.Timedelta(days=1)
    cuts = [end - pd.Timedelta(days=k) for k in ORIGIN_DAYS_BEFORE_END]

    scores = {method: Score() for method in METHODS}
    for cut in cuts:
        test = actual[(actual.index >= cut) & (actual.index < cut + pd.Timedelta(days=HORIZON_DAYS))]
        scale = naive_scale(actual[actual.index < cut])
        train = history[starts < cut]
        for method in METHODS:
            started = time.perf_counter()
            result = forecast(train, HORIZON_DAYS, interval_minutes=INTERVAL_MINUTES, method=method)
            scores[method].seconds += time.perf_counter() - started
            scores[method].chosen.append(result.reports["bank"].model)
            frame = result.frame.set_index("interval_start").reindex(test.index)
            scores[method].add(
                test,
                frame["offered_p50"].to_numpy(),
                frame["offered_p80"].to_numpy(),
                frame["offered_p95"].to_numpy(),
                scale,
            )

    series = business_day_series(actual)
    sf_frame, sf_seconds, sf_note = run_statsforecast(args.statsforecast_python, series, cuts)
    if sf_frame is not None:
        sf = Score(seconds=sf_seconds)
        for cut in cuts:
            test = actual[(actual.index >= cut) & (actual.index < cut + pd.Timedelta(days=HORIZON_DAYS))]
            scale = naive_scale(actual[actual.index < cut])
            block = sf_frame[sf_frame["cut"] == cut].reindex(test.index)
            sf.add(test, block["p50"].to_numpy(), block["p80"].to_numpy(), block["p95"].to_numpy(), scale)
        scores["statsforecast MSTL"] = sf

    naive = scores["snaive"].wmape
    rows = []
    for name, score in scores.items():
        label = {"auto": "auto (chosen per origin)", "snaive": "snaive (baseline)"}.get(name, name)
        rows.append(
            [
                label,
                f"{score.wmape:.2%}",
                f"{np.mean(score.mase):.3f}",
                f"{score.below80 / score.count:.1%}",
                f"{score.below95 / score.count:.1%}",
                f"{(score.wmape / naive - 1):+.1%}",
                f"{score.seconds:.1f} s",
            ]
        )
    auto = scores["auto"].wmape
    notes = [
        f"choice per origin (oldest first): {', '.join(scores['auto'].chosen)}",
        f"goal 1, auto at least {GOAL_VS_NAIVE:.0%} lower wMAPE than seasonal naive: {1 - auto / naive:.1%} lower -> "
        + ("met" if auto <= (1 - GOAL_VS_NAIVE) * naive else "NOT met"),
    ]
    if "statsforecast MSTL" in scores:
        other = scores["statsforecast MSTL"].wmape
        notes.append(
            f"goal 2, auto no worse than statsforecast's MSTL: {auto:.2%} vs {other:.2%} -> "
            + ("met" if auto <= other else "NOT met")
        )
    else:
        notes.append("goal 2, auto no worse than statsforecast's MSTL: not measured (column skipped)")
    notes.append(sf_note)
    notes.append(
        "coverage goals (DESIGN.md): 75-85% at or below P80, 90-97% at or below P95; time = all 5 origins, "
        "each a full forecast() with its internal backtest"
    )
    notes.append(machine_line())
    print(
        table(
            ["model", "wMAPE", "MASE", "<= P80", "<= P95", "wMAPE vs snaive", "time"],
            rows,
            title=(
                f"US bank calls, {INTERVAL_MINUTES}-minute intervals: {len(cuts)} origins over the last 6 weeks "
                f"(first forecast days {', '.join(str(c.date()) for c in cuts)}), {HORIZON_DAYS}-day horizon"
            ),
            notes=notes,
        )
    )


if __name__ == "__main__":
    main()
