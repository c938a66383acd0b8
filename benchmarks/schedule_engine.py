"""Schedule engine: time, memory and quality on seeded weeks of 50, 150 and 400 agents, next to pyworkforce.

Instances (`tests/schedule_instances.py`, seed 1): one week in Europe/Stockholm, 15-minute intervals, three
channels (voice, chat, email) with a two-peaked day, mixed contracts (full and part time), 8% of agents
on vacation for 1-5 days, 20% with evenings or weekends they cannot work, 15% with preferences; the
requirement is scaled to the team's working time less ``slack`` (0.10 = 10% to spare, -0.05 = 5% short).
Each case runs in its own process (peak RSS is that process's). Columns: under-coverage in agent-hours,
the LP lower bound (`wfm.scheduling.bound`), the gap between them as a share of the required agent-hours
(goal: at most 5%), over-coverage, paid hours, labour cost, rule violations (must be 0) and the Gini of
unpopular shifts.

pyworkforce (benchmark only, another interpreter: ``--pyworkforce-python``) solves each channel's days as
CP-SAT shift counts (``MinAbsDifference``: shifts of 4, 6 and 8.5 h starting every 30 minutes 06:00-23:00,
at most the channel's agents per period). It has no agents, contracts, days off, rest, time off or
breaks, so it answers an easier question; its under-coverage is a relaxation's, not a schedule's.

    python3 -m venv /tmp/pyworkforce-venv && /tmp/pyworkforce-venv/bin/pip install pyworkforce
    .venv/bin/python benchmarks/schedule_engine.py --pyworkforce-python /tmp/pyworkforce-venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, machine_line, table

sys.path.insert(0, str(REPO))

CASES = [(50, 20.0, 0.10), (150, 60.0, 0.10), (150, 60.0, -0.05), (400, 240.0, 0.10)]

PYWORKFORCE = r"""
import json, sys, time
from importlib.metadata import version
from pyworkforce.scheduling import MinAbsDifference
spec = json.load(open(sys.argv[1]))
periods = 96
shifts = {}
for length in (16, 24, 34):
    for start in range(24, 92 - length + 1, 2):
        shifts[f"{start}+{length}"] = [1 if start <= p < start + length else 0 for p in range(periods)]
out = {"version": version("pyworkforce"), "channels": {}}
for channel, days in spec["required"].items():
    began = time.perf_counter()
    solver = MinAbsDifference(num_days=len(days), periods=periods, shifts_coverage=shifts,
                              required_resources=days, max_period_concurrency=spec["agents"][channel],
                              max_shift_concurrency=spec["agents"][channel],
                              max_search_time=spec["seconds"], num_search_workers=2)
    solution = solver.solve()
    out["channels"][channel] = {"seconds": time.perf_counter() - began, "status": solution["status"],
                                "resources_shifts": solution["resources_shifts"]}
json.dump(out, open(spec["out"], "w"))
"""


def one(agents: int, seconds: float, slack: float) -> dict[str, float | int | str]:
    """Solve one case in this process and return its figures."""
    from tests.schedule_instances import instance
    from wfm.scheduling.engine import solve

    problem = instance(agents, channels=3, seed=1, slack=slack)
    began = time.perf_counter()
    result = solve(problem, time_limit_seconds=seconds, seed=1)
    elapsed = time.perf_counter() - began
    bound = result.bound_under_hours if result.bound_under_hours is not None else float("nan")
    return {
        "agents": agents,
        "slack": slack,
        "limit": seconds,
        "seconds": round(elapsed, 1),
        "rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "required": result.required_hours,
        "under": result.under_hours,
        "bound": bound,
        "gap_pct": round(100 * (result.under_hours - bound) / max(result.required_hours, 1e-9), 2),
        "over": result.over_hours,
        "paid": result.paid_hours,
        "cost": round(result.labour_cost),
        "violations": len(result.violations) + len(result.conflicts),
        "gini": result.fairness_gini,
        "moves": result.moves,
    }


def pyworkforce(python: str, agents: int, seconds: float, slack: float) -> dict[str, float | str]:
    """The same instance's channels for pyworkforce: per channel, day x 96 requirements."""
    import numpy as np

    from tests.schedule_instances import instance
    from wfm.scheduling.engine import _required_array, channels_of, grid_step
    from wfm.scheduling.grid import WeekGrid

    problem = instance(agents, channels=3, seed=1, slack=slack)
    grid = WeekGrid.of(problem.monday, problem.zone, grid_step(problem.rules, problem.requirements), problem.rules)
    channels = [c for c in channels_of(problem) if any(r.channel == c for r in problem.requirements)]
    req = _required_array(problem.requirements, grid, channels)[:, : grid.slots]
    required = {c: [[int(v) for v in req[i, d * 96 : (d + 1) * 96]] for d in range(7)] for i, c in enumerate(channels)}
    counts = {c: sum(c in a.skills for a in problem.agents) for c in channels}
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "spec.json"
        out = Path(tmp) / "out.json"
        spec.write_text(json.dumps({"required": required, "agents": counts, "seconds": seconds / 3, "out": str(out)}))
        script = Path(tmp) / "run.py"
        script.write_text(PYWORKFORCE)
        subprocess.run([python, str(script), str(spec)], check=True)
        answer = json.loads(out.read_text())
    under = over = paid = secs = 0.0
    statuses = []
    for i, c in enumerate(channels):
        got = answer["channels"][c]
        statuses.append(got["status"])
        secs += got["seconds"]
        cover = np.zeros((7, 96))
        for row in got["resources_shifts"]:
            start, length = (int(x) for x in row["shift"].split("+"))
            cover[row["day"], start : start + length] += row["resources"]
            paid += row["resources"] * (length - (2 if length >= 24 else 0)) / 4
        need = req[i].reshape(7, 96)
        under += float(np.maximum(need - cover, 0).sum()) / 4
        over += float(np.maximum(cover - need, 0).sum()) / 4
    return {
        "version": answer["version"],
        "seconds": round(secs, 1),
        "under": round(under, 2),
        "over": round(over, 2),
        "paid": round(paid, 1),
        "status": "/".join(sorted(set(statuses))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pyworkforce-python", default=None)
    parser.add_argument("--one", nargs=3, metavar=("AGENTS", "SECONDS", "SLACK"), help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="only the 50-agent case, 10 s")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(int(args.one[0]), float(args.one[1]), float(args.one[2]))))
        return
    cases = [(50, 10.0, 0.10)] if args.quick else CASES
    rows = []
    theirs = []
    for agents, seconds, slack in cases:
        done = subprocess.run(
            [sys.executable, __file__, "--one", str(agents), str(seconds), str(slack)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(
            [
                r["agents"],
                f"{r['slack']:+.0%}",
                f"{r['limit']:g} s",
                f"{r['seconds']} s",
                f"{r['rss_mib']} MiB",
                r["required"],
                r["under"],
                round(float(r["bound"]), 2),
                f"{r['gap_pct']}%",
                r["over"],
                r["paid"],
                r["cost"],
                r["violations"],
                r["gini"],
            ]
        )
        if args.pyworkforce_python:
            p = pyworkforce(args.pyworkforce_python, agents, seconds, slack)
            speed = f"{p['seconds']} s"
            theirs.append([agents, f"{slack:+.0%}", p["version"], speed, p["status"], p["under"], p["over"], p["paid"]])
    print(machine_line())
    print(
        table(
            [
                "agents", "slack", "limit", "time", "peak RSS", "required agent-h", "under agent-h",
                "LP bound", "gap / required", "over agent-h", "paid h", "cost", "violations", "gini",
            ],
            rows,
            title="wfm.scheduling.engine, one week, 15-minute intervals, 3 channels (seed 1)",
            notes=["goal: 150 agents < 60 s with gap <= 5%; 400 agents < 5 minutes; violations 0"],
        )
    )  # fmt: skip
    if theirs:
        print(
            table(
                ["agents", "slack", "pyworkforce", "time", "status", "under agent-h", "over agent-h", "paid h"],
                theirs,
                title="pyworkforce MinAbsDifference per channel and day (no agents, rules or breaks: a relaxation)",
            )
        )


if __name__ == "__main__":
    main()
