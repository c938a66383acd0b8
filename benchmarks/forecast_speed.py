"""Forecast speed: fit + forecast and the backtest, 26 weeks of 15-minute history per channel, 14-day horizon.

For 4, 12 and 50 synthetic channels (``forecasting.synthetic``: volumes from 150 to 5,000 a day, with and
without trend, opening hours from 12 hours a day to 24/7, different noise) one ``forecasting.forecast(...,
method="auto")`` runs in a fresh child process with one BLAS/OpenMP thread, as the app's job processes run.
Per run:

- backtest: the rolling-origin backtest of all four models (5 weekly origins, 14 days each), summed over the
  channels (``ChannelReport.backtest_seconds``);
- fit + forecast: everything else: validation, the chosen model fitted on the whole history, the horizon with
  holidays, quantiles and handle time, the output frame (wall time minus the backtest);
- peak memory: the child's peak resident set (VmHWM), which includes Python, numpy, pandas and statsmodels
  (about 150 MiB before any data).

A second table fits each model alone on one channel (the biggest) and forecasts 14 days, to show where the
time goes. Goals (issue 4): for 4 channels, fit + forecast under 10 s and the backtest under 60 s, on 2 cores.

    .venv/bin/python benchmarks/forecast_speed.py                   # 4, 12 and 50 channels, about 4 minutes
    .venv/bin/python benchmarks/forecast_speed.py --channels 4      # about 30 seconds
"""

from __future__ import annotations

import os

# One BLAS thread, as the app's job processes run; set before numpy is imported (children inherit it).
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

# Run as a script, this folder is on sys.path; it is not a package.
from _common import PYTHON, machine_line, mib, proc_status_kib, quiet_check, table  # noqa: E402

from forecasting import forecast  # noqa: E402
from forecasting.models import MODELS  # noqa: E402
from forecasting.synthetic import DEFAULT_WEEKDAY_FACTORS, SyntheticChannel, synthetic_history  # noqa: E402
from forecasting.timegrid import DayMatrix  # noqa: E402

WEEKS = 26
INTERVAL_MINUTES = 15
HORIZON_DAYS = 14
GOAL_FIT_S = 10.0
GOAL_BACKTEST_S = 60.0
ZONE = "Europe/Stockholm"
SEVEN_DAYS = (1.1, 1.05, 1.0, 1.0, 0.95, 0.7, 0.6)


def channels(count: int, seed: int = 1) -> list[SyntheticChannel]:
    """``count`` varied synthetic channels (the same list for the same count and seed)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        hours = [(8 * 60, 20 * 60), (7 * 60, 22 * 60), (0, 24 * 60)][i % 3]
        out.append(
            SyntheticChannel(
                name=f"queue{i:02d}",
                daily_volume=float(rng.choice([150, 600, 2000, 5000])),
                weekday_factors=SEVEN_DAYS if hours == (0, 24 * 60) else DEFAULT_WEEKDAY_FACTORS,
                open_minute=hours[0],
                close_minute=hours[1],
                trend_per_week=float(rng.choice([0.0, 0.0, 0.01, -0.005])),
                dispersion=float(rng.uniform(0.01, 0.1)),
                day_noise=float(rng.uniform(0.03, 0.08)),
            )
        )
    return out


def child(count: int) -> None:
    """Run one forecast of ``count`` channels and print its measurements as JSON."""
    history = synthetic_history(
        channels(count), weeks=WEEKS, interval_minutes=INTERVAL_MINUTES, seed=count, time_zone=ZONE
    ).drop(columns="expected")
    started = time.perf_counter()
    result = forecast(history, HORIZON_DAYS, country="SE", time_zone=ZONE)
    total = time.perf_counter() - started
    reports = result.reports.values()
    backtest = sum(r.backtest_seconds for r in reports)
    print(
        json.dumps(
            {
                "rows_in": len(history),
                "rows_out": len(result.frame),
                "total": total,
                "backtest": backtest,
                "fit": total - backtest,
                "chosen": dict(Counter(r.model for r in reports)),
                "peak_kib": proc_status_kib(os.getpid(), "VmHWM"),
            }
        )
    )


def per_model_times() -> list[list[str]]:
    """Fit each model alone on the busiest channel and forecast 14 days (median of 3 runs)."""
    channel = SyntheticChannel("voice", daily_volume=5000, trend_per_week=0.01)
    frame = synthetic_history((channel,), weeks=WEEKS, interval_minutes=INTERVAL_MINUTES, seed=3)
    series = pd.Series(frame["offered"].to_numpy(), index=pd.DatetimeIndex(frame["interval_start"]))
    matrix = DayMatrix.from_series(series, INTERVAL_MINUTES)
    days = pd.date_range(matrix.last_day + pd.Timedelta(days=1), periods=HORIZON_DAYS, freq="D")
    rows = []
    for name, make in MODELS.items():
        times = []
        for _ in range(3):
            started = time.perf_counter()
            make().fit(matrix).point(days)
            times.append(time.perf_counter() - started)
        rows.append([name, f"{np.median(times):.3f} s", f"{5 * np.median(times):.2f} s"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channels", default="4,12,50", help="comma-separated channel counts")
    parser.add_argument("--wait-quiet", type=float, default=60.0, help="seconds to wait for an idle machine")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    counts = [int(c) for c in args.channels.split(",")]
    rows, notes = [], []
    for count in counts:
        state = quiet_check(wait=args.wait_quiet)
        if state.startswith("WARNING"):
            notes.append(f"{count} channels: {state}")
        done = subprocess.run(
            [PYTHON, __file__, "--child", str(count)], capture_output=True, text=True, check=False, timeout=3600
        )
        if done.returncode != 0:
            raise SystemExit(f"the child for {count} channels failed:\n{done.stderr[-3000:]}")
        run = json.loads(done.stdout.strip().splitlines()[-1])
        goal = count == 4
        rows.append(
            [
                count,
                f"{run['rows_in']:,}",
                f"{run['fit']:.1f} s" + (f" ({'met' if run['fit'] < GOAL_FIT_S else 'NOT met'})" if goal else ""),
                f"{run['backtest']:.1f} s"
                + (f" ({'met' if run['backtest'] < GOAL_BACKTEST_S else 'NOT met'})" if goal else ""),
                f"{run['total']:.1f} s",
                f"{run['total'] / count:.2f} s",
                mib(run["peak_kib"]),
                ", ".join(f"{k} {v}" for k, v in sorted(run["chosen"].items())),
            ]
        )
    notes += [
        f"goals for 4 channels: fit + forecast under {GOAL_FIT_S:.0f} s, backtest under {GOAL_BACKTEST_S:.0f} s "
        "(2 cores; one process, one BLAS thread)",
        "fit + forecast = wall time minus the backtest (validation, final fit of the chosen model, holidays, "
        "quantiles, handle time, output); method auto, country SE, tz-aware input in Europe/Stockholm (one spring "
        "change in the history)",
        machine_line(),
    ]
    print(
        table(
            ["channels", "rows in", "fit + forecast", "backtest", "total", "per channel", "peak RSS", "chosen"],
            rows,
            title=(
                f"forecast(): {WEEKS} weeks of {INTERVAL_MINUTES}-minute history per channel, "
                f"{HORIZON_DAYS}-day horizon"
            ),
            notes=notes,
        )
    )
    print()
    print(
        table(
            ["model", "fit + 14-day forecast", "x 5 origins"],
            per_model_times(),
            title=(
                f"One model alone, one channel of {WEEKS} weeks at {INTERVAL_MINUTES} minutes "
                "(median of 3; in this process)"
            ),
            notes=[
                "the backtest fits every model at 5 origins: its time per channel is about the sum of the last column"
            ],
        )
    )


if __name__ == "__main__":
    main()
