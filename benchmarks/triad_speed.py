"""Triad statistics: time for 50 teams x 36 months, and the false-finding rate on null panels.

No database. Synthetic panels as in tests/wfm/test_triad.py: each team's measures are AR(1) months
(coefficient 0.6) plus a persistent team offset; ``--effect`` plants corr(x(t - 1), y(t)) inside teams.
Part 1 times `wfm.triad.analyse` on one 50 x 36 panel with 6 pairs x lags 0-3 x both directions (the
triad page's work); part 2 runs ``--seeds`` null panels (20 teams x 24 months) and prints the share of
tests with p < 0.05 per method, next to the 5% it should be and a naive Pearson test that treats every
team-month as independent (the reference).

    .venv/bin/python benchmarks/triad_speed.py               # about 2 minutes
    .venv/bin/python benchmarks/triad_speed.py --seeds 200   # quicker
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd
from _common import REPO, machine_line, table
from scipy import stats

sys.path.insert(0, str(REPO))
from wfm import triad

MEASURES = ("enps", "turnover_rate", "absence_rate", "csat_pct", "fcr_pct", "cost_per_contact")


def panel(seed: int, teams: int, months: int, effect: float = 0.0, phi: float = 0.6) -> pd.DataFrame:
    rng = np.random.default_rng(seed)

    def ar1() -> np.ndarray:
        z = np.empty((teams, months))
        z[:, 0] = rng.normal(size=teams)
        for t in range(1, months):
            z[:, t] = phi * z[:, t - 1] + np.sqrt(1 - phi**2) * rng.normal(size=teams)
        return z + rng.normal(size=(teams, 1))

    columns = {name: ar1() for name in MEASURES}
    if effect:
        columns["csat_pct"][:, 1:] += effect * columns["enps"][:, :-1]
    return pd.DataFrame(
        {
            "period": np.tile([f"p{m:03d}" for m in range(months)], teams),
            "team": np.repeat([f"t{i:02d}" for i in range(teams)], months),
            **{name: values.ravel() for name, values in columns.items()},
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=1000)
    args = parser.parse_args()
    pairs = [("enps", "csat_pct"), ("enps", "turnover_rate"), ("turnover_rate", "csat_pct"),
             ("enps", "fcr_pct"), ("absence_rate", "csat_pct"), ("enps", "cost_per_contact")]  # fmt: skip
    big = panel(1, 50, 36, effect=0.3)
    started = time.perf_counter()
    result = triad.analyse(big, pairs, (0, 1, 2, 3))
    seconds = time.perf_counter() - started
    print(machine_line())
    print(table(["panel", "pairs x lags x directions", "correlations", "regressions", "time"],
                [["50 teams x 36 months", f"{len(pairs)} x 4 x 2", len(result.pairs), len(result.regressions),
                  f"{seconds:.1f} s"]], title="wfm.triad.analyse"))  # fmt: skip
    hits = {"pearson_within": 0, "spearman_within": 0, "pearson_pooled": 0, "regression": 0, "naive pooled": 0}
    started = time.perf_counter()
    for seed in range(args.seeds):
        frame = triad.lagged(panel(10_000 + seed, 20, 24), "enps", "csat_pct", 1)
        for method in ("pearson_within", "spearman_within", "pearson_pooled"):
            kind, scope = method.split("_")
            hits[method] += triad.correlation(frame, kind, scope == "within")[3] < 0.05
        hits["regression"] += triad.regression(frame)[4] < 0.05
        hits["naive pooled"] += stats.pearsonr(frame["x"], frame["y"]).pvalue < 0.05
    low, high = stats.binom.interval(0.99, args.seeds, 0.05)
    band = f"{100 * low / args.seeds:.1f}-{100 * high / args.seeds:.1f}%"
    rows = [[name, args.seeds, f"{100 * n / args.seeds:.1f}%", band] for name, n in hits.items()]
    took = time.perf_counter() - started
    title = f"null panels, 20 teams x 24 months, AR(1) 0.6 + team offsets ({took:.0f} s)"
    notes = ["naive pooled = scipy pearsonr treating team-months as independent (the reference)"]
    print(table(["method", "null panels", "p < 0.05", "99% interval around 5%"], rows, title=title, notes=notes))


if __name__ == "__main__":
    main()
