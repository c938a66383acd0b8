"""Erlang C and Erlang A formulas (`wfm.erlang`) against a discrete-event simulation of the same queues.

The cases and the simulator are those of ``tests/wfm/test_erlang_simulation.py`` (both in
``tests/erlang_sim.py``): M/M/n and M/M/n+M queues from 3 to 100 agents, simulated on SimPy's event loop with
a fixed seed, a discarded warm-up and 25 batch means per metric. For each case and metric the table shows the
formula's value, the simulated mean, the confidence interval and whether the formula lies in it (shares get
a tolerance of 0.001), and for each case the wall time of its simulation. Same seeds and run lengths as the
test, so the same verdicts; ``--scale`` runs longer (narrower intervals) or shorter.

    .venv/bin/python benchmarks/erlang_simulation.py               # the 7 test cases, about 30 seconds
    .venv/bin/python benchmarks/erlang_simulation.py --scale 4     # intervals about half as wide, 2 minutes
    .venv/bin/python benchmarks/erlang_simulation.py --cases 3,7   # only cases 3 and 7
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

# Run as a script, this folder is on sys.path; it is not a package.
from _common import REPO, machine_line, quiet_check, table

# The cases and the simulator live with the tests, which are not installed: import them from the checkout.
sys.path.insert(0, str(REPO))

from tests.erlang_sim import (
    CASES,
    CHECK_CONFIDENCE,
    METRICS,
    PROPORTION_TOLERANCE,
    PROPORTIONS,
    QueueCase,
    SimulationResult,
    agrees,
    formula_metrics,
    simulate,
)


def _value(metric: str, value: float) -> str:
    return f"{value:.4f}" if metric in PROPORTIONS else f"{value:.2f} s"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:g} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", help="comma-separated case numbers (1-based, as in the table; default all)")
    parser.add_argument("--scale", type=float, default=1.0, help="run length x this (intervals / sqrt(scale))")
    parser.add_argument("--batches", type=int, default=25, help="batches after the warm-up")
    parser.add_argument("--confidence", type=float, default=CHECK_CONFIDENCE, help="level of each interval")
    parser.add_argument("--wait-quiet", type=float, default=60.0, help="seconds to wait for an idle machine")
    args = parser.parse_args()
    numbers = [int(n) for n in args.cases.split(",")] if args.cases else list(range(1, len(CASES) + 1))
    if not all(1 <= n <= len(CASES) for n in numbers):
        parser.error(f"case numbers run from 1 to {len(CASES)}")

    state = quiet_check(wait=args.wait_quiet)
    runs: list[tuple[int, QueueCase, SimulationResult, dict[str, float]]] = []
    for number in numbers:
        case = dataclasses.replace(CASES[number - 1], contacts=round(CASES[number - 1].contacts * args.scale))
        result = simulate(case, batches=args.batches, confidence=args.confidence)
        runs.append((number, case, result, formula_metrics(case)))

    case_rows, metric_rows = [], []
    disagreements = 0
    for number, case, result, formula in runs:
        verdicts = {m: agrees(result.metric(m), m, formula[m]) for m in METRICS}
        disagreements += sum(not ok for ok in verdicts.values())
        case_rows.append(
            [
                number,
                case.name,
                case.model,
                case.agents,
                f"{case.load_erlangs:g}",
                f"{case.load_erlangs / case.agents:.2f}",
                _seconds(case.aht_seconds),
                _seconds(case.patience_seconds),
                _seconds(case.answer_within_seconds),
                f"{result.offered:,}",
                f"{result.wall_seconds:.1f} s",
                f"{sum(verdicts.values())}/{len(METRICS)}",
            ]
        )
        for metric in METRICS:
            estimate = result.metric(metric)
            metric_rows.append(
                [
                    number,
                    metric,
                    _value(metric, formula[metric]),
                    _value(metric, estimate.mean),
                    _value(metric, estimate.low),
                    _value(metric, estimate.high),
                    _value(metric, estimate.half_width),
                    "yes" if verdicts[metric] else "NO",
                ]
            )

    print(
        table(
            ["#", "case", "model", "agents", "load", "load/n", "AHT", "patience", "T", "offered", "sim time", "agree"],
            case_rows,
            title="Queues simulated (offered = contacts after the warm-up; sim time = one core, wall)",
            notes=[f"machine before the run: {state}", machine_line()],
        )
    )
    print()
    print(
        table(
            ["#", "metric", "formula", "simulated", "CI low", "CI high", "half-width", "agrees"],
            metric_rows,
            title=f"wfm.erlang against the simulation ({args.confidence:.2%} intervals, {args.batches} batch means)",
            notes=[
                f"agrees: the formula lies in the interval, widened by {PROPORTION_TOLERANCE} for shares "
                "(all but asa_seconds)",
                f"{disagreements} of {len(metric_rows)} values outside their interval"
                + ("" if disagreements else ": the formulas and the simulation agree"),
                "the test runs these cases at the same level, seeds and lengths; with under 50 checks in it, a false "
                "failure has a chance below 0.5 % (Bonferroni)",
            ],
        )
    )


if __name__ == "__main__":
    main()
