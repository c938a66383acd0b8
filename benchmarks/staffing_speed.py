"""Staffing speed and agreement: wfm.staffing (vectorised Erlang C) against pyworkforce's ErlangC.

(a) Speed on a grid of 4 channels x 7 days x 96 quarter hours (2,688 cells): whole contacts 0-400 and whole
seconds of AHT 180-600 per cell (discrete uniform, seeded, so some cells have no contacts and some loads sit
exactly on a ratio), all Erlang C, 80 % answered within 20 s, occupancy at most 0.85, shrinkage 0.3. Ours:
``wfm.staffing.requirements`` (the whole API: checks, grouping by channel, search, metrics, output frame)
and ``wfm.staffing.required_slots`` alone (the search), each the median of ``--small-repeat`` runs after a
warm-up. pyworkforce: ``ErlangC(transactions=V, aht=AHT/60, asa=20/60, interval=15, shrinkage=0.3)
.required_positions(service_level=0.8, max_occupancy=0.85)`` per cell (minutes, as its docstring asks),
run by another interpreter (``--pyworkforce-python``), median of 3 passes over the grid. Goal: at least
100x faster than pyworkforce.

(b) Every cell where the answers differ (our agents_required vs its raw_positions, our staff_required vs
its positions), each put in a category by the script: the exact formulas (``wfm.erlang.erlang_c_metrics``
for the service level, fractions for occupancy and shrinkage) are evaluated at both answers, and the line
says which target each meets or misses and which step of pyworkforce gave its answer. Goal: no
unexplained difference.

(c) Scale: 50 queues x 28 days x 96 quarter hours (134,400 cells), ``requirements`` in a child process:
median of ``--repeat`` runs (goal under 1 s), ``required_slots`` alone in one call, the peak of memory
allocated during one run (tracemalloc) and the rise of the child's peak RSS over its RSS before the runs
(VmHWM, reset through /proc/self/clear_refs). The same grid with Erlang A (patience 180 s), for information
(``--erlang-a-repeat`` runs, 0 to skip; 1 to 1.5 minutes each on 2 cores).

pyworkforce must not go into the project's virtualenv; make another one:

    python3 -m venv /tmp/pyworkforce-venv && /tmp/pyworkforce-venv/bin/pip install pyworkforce
    .venv/bin/python benchmarks/staffing_speed.py                      # about 1.5 minutes on an idle machine
    .venv/bin/python benchmarks/staffing_speed.py --erlang-a-repeat 0  # about 15 seconds
    .venv/bin/python benchmarks/staffing_speed.py --pyworkforce-python /other/venv/bin/python
"""

from __future__ import annotations

import os

# One BLAS thread, as the app's job processes run; set before numpy is imported (children inherit it).
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from fractions import Fraction  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

# Run as a script, this folder is on sys.path; it is not a package.
from _common import PYTHON, install_signal_handlers, machine_line, mib, proc_status_kib, quiet_check, table  # noqa: E402

from wfm import erlang  # noqa: E402
from wfm.staffing import ChannelParams, QueueTargets, required_slots, requirements  # noqa: E402

DEFAULT_PYWORKFORCE_PYTHON = "/tmp/pyworkforce-venv/bin/python"
INTERVAL_MINUTES = 15
INTERVAL_SECONDS = INTERVAL_MINUTES * 60
SL_TARGET = 0.8
ANSWER_WITHIN_S = 20.0
MAX_OCCUPANCY = 0.85
SHRINKAGE = 0.3
PATIENCE_S = 180.0
VOLUME_MAX = 400
AHT_RANGE = (180, 600)
GRID = (4, 7)  # channels, days
SCALE = (50, 28)
GOAL_RATIO = 100.0
GOAL_SCALE_S = 1.0
# Two service levels this close are the same number up to rounding: which side of the target is noise.
SL_TIE = 1e-9

# Runs in the other environment: one ErlangC per cell, the whole grid `repeat` times, answers of the last pass.
PYWORKFORCE_CHILD = """
import json, sys, time
from importlib.metadata import version
from pyworkforce.queuing import ErlangC
spec = json.load(open(sys.argv[1]))
cells = list(zip(spec["volume"], spec["aht_seconds"]))
def one_pass():
    out = []
    for volume, aht in cells:
        try:
            queue = ErlangC(transactions=volume, aht=aht / 60, asa=spec["answer_within_seconds"] / 60,
                            interval=spec["interval_minutes"], shrinkage=spec["shrinkage"])
            out.append(queue.required_positions(service_level=spec["service_level"],
                                                max_occupancy=spec["max_occupancy"]))
        except ValueError as error:
            out.append({"error": str(error)})
    return out
seconds = []
for _ in range(spec["repeat"]):
    started = time.perf_counter()
    results = one_pass()
    seconds.append(time.perf_counter() - started)
json.dump({"version": version("pyworkforce"), "python": sys.version.split()[0], "seconds": seconds,
           "results": results}, open(spec["out"], "w"))
"""


def channel_params(model: str = "erlang_c") -> ChannelParams:
    return ChannelParams(
        model=model,
        service_level_target=SL_TARGET,
        answer_within_seconds=ANSWER_WITHIN_S,
        max_occupancy=MAX_OCCUPANCY,
        shrinkage=SHRINKAGE,
        concurrency=1,
        patience_seconds=PATIENCE_S,
    )


def make_grid(channels: int, days: int, seed: int) -> pd.DataFrame:
    """``channels`` x ``days`` x 96 cells: whole contacts 0-400 and whole seconds of AHT, discrete uniform."""
    rng = np.random.default_rng(seed)
    per_channel = days * 24 * 60 // INTERVAL_MINUTES
    size = channels * per_channel
    starts = pd.date_range("2026-01-05", periods=per_channel, freq=f"{INTERVAL_MINUTES}min")
    return pd.DataFrame(
        {
            "interval_start": np.tile(starts.to_numpy(), channels),
            "channel": np.repeat([f"queue{i:02d}" for i in range(channels)], per_channel),
            "offered_p50": rng.integers(0, VOLUME_MAX + 1, size).astype(np.float64),
            "aht_seconds": rng.integers(AHT_RANGE[0], AHT_RANGE[1] + 1, size).astype(np.float64),
        }
    )


def run_requirements(frame: pd.DataFrame, model: str = "erlang_c") -> pd.DataFrame:
    params = {str(name): channel_params(model) for name in frame["channel"].unique()}
    return requirements(frame, params, interval_minutes=INTERVAL_MINUTES, risk="p50")


def search_inputs(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, QueueTargets]:
    """Arrival rates, AHT and targets for `required_slots` over every cell at once."""
    size = len(frame)
    lam = frame["offered_p50"].to_numpy(dtype=np.float64) / INTERVAL_SECONDS
    aht = frame["aht_seconds"].to_numpy(dtype=np.float64)
    targets = QueueTargets(
        np.full(size, SL_TARGET),
        np.full(size, ANSWER_WITHIN_S),
        np.full(size, np.nan),
        np.full(size, np.nan),
        np.full(size, MAX_OCCUPANCY),
    )
    return lam, aht, targets


def timed(call: Callable[[], object], repeat: int) -> list[float]:
    """Wall seconds of ``repeat`` calls, after one warm-up call."""
    call()
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        out.append(time.perf_counter() - started)
    return out


# ---------------------------------------------------------------- (c) the scale runs, in a child process


def child(model: str, repeat: int) -> None:
    """Time ``requirements`` on the scale grid and measure its memory; print one JSON line."""
    frame = make_grid(*SCALE, seed=2)
    # Warm-up on one channel-day, so the timed runs do not pay for first calls.
    run_requirements(frame.iloc[:96], model)
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS (Linux)
    rss_before = proc_status_kib(os.getpid(), "VmRSS")
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = run_requirements(frame, model)
        seconds.append(time.perf_counter() - started)
    hwm = proc_status_kib(os.getpid(), "VmHWM")
    traced, search = None, []
    if model == "erlang_c":  # cheap for Erlang C only: the search alone, and one more run under tracemalloc
        lam, aht, targets = search_inputs(frame)
        search = timed(lambda: required_slots(lam, aht, targets), repeat)
        del result
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = run_requirements(frame, model)
        traced = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
    print(
        json.dumps(
            {
                "cells": len(frame),
                "seconds": seconds,
                "rss_before_kib": rss_before,
                "hwm_rise_kib": hwm - rss_before,
                "traced_peak_bytes": traced,
                "search_seconds": search,
                "agents_total": int(result["agents_required"].sum()),
            }
        )
    )


def scale_run(model: str, repeat: int) -> dict[str, Any]:
    done = subprocess.run(
        [PYTHON, __file__, "--child", model, "--repeat", str(repeat)],
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    if done.returncode != 0:
        raise SystemExit(f"the {model} child failed:\n{done.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


# ---------------------------------------------------------------- pyworkforce, in the other interpreter


def run_pyworkforce(python: str, frame: pd.DataFrame, repeat: int) -> tuple[dict[str, Any] | None, str]:
    """pyworkforce's answers per cell and its pass times, or None and the reason."""
    if not Path(python).exists():
        return None, (
            f"pyworkforce skipped: {python} does not exist. Make its own virtualenv (never .venv): "
            "python3 -m venv /tmp/pyworkforce-venv && /tmp/pyworkforce-venv/bin/pip install pyworkforce, "
            "or pass --pyworkforce-python / PYWORKFORCE_PYTHON"
        )
    with tempfile.TemporaryDirectory(prefix="triad-bench-pyworkforce-") as folder:
        path = Path(folder)
        spec = {
            "volume": frame["offered_p50"].tolist(),
            "aht_seconds": frame["aht_seconds"].tolist(),
            "answer_within_seconds": ANSWER_WITHIN_S,
            "interval_minutes": INTERVAL_MINUTES,
            "shrinkage": SHRINKAGE,
            "service_level": SL_TARGET,
            "max_occupancy": MAX_OCCUPANCY,
            "repeat": repeat,
            "out": str(path / "out.json"),
        }
        (path / "spec.json").write_text(json.dumps(spec))
        (path / "child.py").write_text(PYWORKFORCE_CHILD)
        done = subprocess.run(
            [python, str(path / "child.py"), str(path / "spec.json")],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
            return None, f"pyworkforce skipped: {python} failed: {last}"
        out: dict[str, Any] = json.loads((path / "out.json").read_text())
    return out, f"pyworkforce {out['version']} run by {python} (Python {out['python']})"


# ---------------------------------------------------------------- (b) explaining each difference


CATEGORIES = {
    "no-contacts": "no contacts: pyworkforce raises ValueError (transactions must be above 0); ours 0 and 0",
    "occupancy-ceil": "load / 0.85 is exactly a whole number k; pyworkforce's ceil of the float quotient "
    "(k.00000000000001) gives k + 1; at k occupancy is exactly 0.85 (allowed) and SL meets",
    "search-start": "pyworkforce starts at round(load + 1) and never tries the smaller n, which meets both",
    "sl-tie": f"the service level at the smaller n is within {SL_TIE:g} of the target; rounding picks the side",
    "staff-ceil": "same agents; pyworkforce's ceil(agents / (1 - 0.3)) without a guard: 21 / 0.7 = "
    "30.000000000000004 -> 31, though 30 staff x 0.7 = 21 exactly",
    "from-agents": "follows from the agents difference: each side's staff is its own agents / 0.7 rounded up",
    "UNEXPLAINED": "none of the above: a bug in one of the two",
}


@dataclass
class Difference:
    row: int
    what: str  # "agents" or "staff"
    category: str
    evidence: str


@dataclass
class Check:
    """One candidate n of one cell, judged by the exact formulas."""

    n: int
    service_level: float
    occupancy: Fraction

    @property
    def sl_ok(self) -> bool:
        return self.service_level >= SL_TARGET

    @property
    def occ_ok(self) -> bool:
        return self.occupancy <= Fraction(str(MAX_OCCUPANCY))

    @property
    def ok(self) -> bool:
        return self.sl_ok and self.occ_ok

    def text(self) -> str:
        exact = self.occupancy == Fraction(str(MAX_OCCUPANCY))
        occ = f"exactly {MAX_OCCUPANCY}" if exact else f"{float(self.occupancy):.4f}"
        tie = abs(self.service_level - SL_TARGET) < SL_TIE
        sl = f"{self.service_level:.15f}" if tie else f"{self.service_level:.4f}"
        return (
            f"n={self.n}: SL {sl} {'meets' if self.sl_ok else 'MISSES'}, "
            f"occupancy {occ} {'meets' if self.occ_ok else 'MISSES'}"
        )


def exact_load(volume: float, aht: float) -> Fraction:
    return Fraction(volume) * Fraction(aht) / INTERVAL_SECONDS


def check(volume: float, aht: float, n: int) -> Check:
    load = volume / INTERVAL_SECONDS * aht
    sl = float(erlang.erlang_c_metrics(float(n), load, aht, ANSWER_WITHIN_S).service_level)
    occupancy = exact_load(volume, aht) / n if n > 0 else Fraction(10**9)
    return Check(n, sl, occupancy)


def exact_staff(agents: int) -> int:
    return math.ceil(Fraction(agents) / (1 - Fraction(str(SHRINKAGE))))


def explain_agents(volume: float, aht: float, ours: int, theirs: int) -> tuple[str, str]:
    """Category and evidence for one cell where the agents differ (contacts above 0)."""
    load_pw = (volume / INTERVAL_MINUTES) * (aht / 60)  # pyworkforce's intensity, the same float operations
    start = round(load_pw + 1)
    cap_quotient = load_pw / MAX_OCCUPANCY
    low, high = check(volume, aht, min(ours, theirs)), check(volume, aht, max(ours, theirs))
    evidence = f"{low.text()}; {high.text()}"
    exact_quotient = exact_load(volume, aht) / Fraction(str(MAX_OCCUPANCY))
    if ours < theirs and low.ok:
        if theirs == math.ceil(cap_quotient) and exact_quotient == ours:
            return "occupancy-ceil", f"{evidence}; pyworkforce ceil(load/{MAX_OCCUPANCY}) = ceil({cap_quotient!r})"
        if ours < start == theirs:
            return "search-start", f"{evidence}; pyworkforce starts at round({load_pw + 1:.4f}) = {start}"
    if abs(low.service_level - SL_TARGET) < SL_TIE and low.occ_ok:
        return "sl-tie", evidence
    who = "ours" if not check(volume, aht, ours).ok else "pyworkforce's"
    return "UNEXPLAINED", f"{evidence}; {who} answer is the one to look at"


def differences(frame: pd.DataFrame, ours: pd.DataFrame, results: list[dict[str, Any]]) -> list[Difference]:
    out = []
    volumes = frame["offered_p50"].to_numpy(dtype=np.float64).tolist()
    ahts = frame["aht_seconds"].to_numpy(dtype=np.float64).tolist()
    our_agents = ours["agents_required"].to_numpy(dtype=np.int64).tolist()
    our_staff = ours["staff_required"].to_numpy(dtype=np.int64).tolist()
    for row, (volume, aht, agents, staff) in enumerate(zip(volumes, ahts, our_agents, our_staff, strict=True)):
        theirs = results[row]
        if "error" in theirs:
            ok = volume == 0 and agents == 0 and staff == 0
            evidence = f"pyworkforce: ValueError({theirs['error']!r}); ours {agents} agents, {staff} staff"
            for what in ("agents", "staff"):
                out.append(Difference(row, what, "no-contacts" if ok else "UNEXPLAINED", evidence))
            continue
        raw, positions = int(theirs["raw_positions"]), int(theirs["positions"])
        if agents != raw:
            category, evidence = explain_agents(volume, aht, agents, raw)
            out.append(Difference(row, "agents", category, evidence))
        if staff != positions:
            float_staff = math.ceil(raw / (1 - SHRINKAGE))
            exact = Fraction(raw) / (1 - Fraction(str(SHRINKAGE)))
            quotient = f"pyworkforce ceil({raw}/(1-{SHRINKAGE})), {raw / (1 - SHRINKAGE)!r} in floats, exactly {exact}"
            if staff != exact_staff(agents) or positions != float_staff:
                category = "UNEXPLAINED"
            elif agents == raw:
                category = "staff-ceil" if float_staff != exact_staff(raw) else "UNEXPLAINED"
            else:
                category = "from-agents"
                if float_staff != exact_staff(raw):
                    quotient += " (and its ceil unguarded)"
            out.append(Difference(row, "staff", category, quotient))
    return out


def ours_is_minimal(frame: pd.DataFrame, ours: pd.DataFrame) -> tuple[int, int, list[int]]:
    """Cells with contacts where our n meets both targets and n - 1 misses one (exact occupancy), of all."""
    volume = frame["offered_p50"].to_numpy(dtype=np.float64)
    aht = frame["aht_seconds"].to_numpy(dtype=np.float64)
    n = ours["agents_required"].to_numpy(dtype=np.float64)
    busy = volume > 0
    load = volume / INTERVAL_SECONDS * aht
    sl_n = erlang.erlang_c_metrics(n, load, aht, ANSWER_WITHIN_S).service_level
    sl_below = erlang.erlang_c_metrics(np.maximum(n - 1, 0), load, aht, ANSWER_WITHIN_S).service_level
    # Occupancy load / n <= p / q in whole numbers: volume x aht x q <= p x interval seconds x n (the grid's
    # contacts and AHT are whole numbers, so this is exact).
    if not (np.array_equal(volume, np.round(volume)) and np.array_equal(aht, np.round(aht))):
        raise ValueError("ours_is_minimal needs whole contacts and whole seconds of AHT")
    cap = Fraction(str(MAX_OCCUPANCY))
    work = (volume * aht).astype(np.int64) * cap.denominator
    occ_ok = work <= cap.numerator * INTERVAL_SECONDS * n.astype(np.int64)
    occ_ok_below = work <= cap.numerator * INTERVAL_SECONDS * (n - 1).astype(np.int64)
    meets = (sl_n >= SL_TARGET - SL_TIE) & occ_ok
    below_misses = (sl_below < SL_TARGET + SL_TIE) | ~occ_ok_below
    good = busy & meets & below_misses
    return int(good.sum()), int(busy.sum()), [int(i) for i in np.flatnonzero(busy & ~good)]


# ---------------------------------------------------------------- output


def grid_title(channels: int, days: int) -> str:
    cells = channels * days * 96
    return (
        f"{channels} channels x {days} days x 96 quarter hours = {cells:,} cells; contacts 0-{VOLUME_MAX}, AHT "
        f"{AHT_RANGE[0]}-{AHT_RANGE[1]} s; Erlang C, {SL_TARGET:.0%} within {ANSWER_WITHIN_S:.0f} s, occupancy <= "
        f"{MAX_OCCUPANCY}, shrinkage {SHRINKAGE}"
    )


def speed_table(
    frame: pd.DataFrame, repeat: int, pw: dict[str, Any] | None, pw_note: str, quiet: str
) -> tuple[str, float | None]:
    cells = len(frame)
    api = timed(lambda: run_requirements(frame), repeat)
    lam, aht, targets = search_inputs(frame)
    search = timed(lambda: required_slots(lam, aht, targets), repeat)
    pw_cell = statistics.median(pw["seconds"]) / cells * 1e6 if pw else None
    rows = []
    for label, seconds in (
        ("ours: wfm.staffing.requirements (whole API)", api),
        ("ours: wfm.staffing.required_slots (the search alone)", search),
    ):
        per_cell = statistics.median(seconds) / cells * 1e6
        ratio = pw_cell / per_cell if pw_cell else None
        goal = ("met" if ratio >= GOAL_RATIO else "NOT met") if ratio else "-"
        median = statistics.median(seconds)
        rows.append([label, len(seconds), f"{median * 1e3:.1f}", f"{per_cell:.2f}", ratio and f"{ratio:.1f}", goal])
    if pw:
        total = statistics.median(pw["seconds"])
        rows.append(
            [
                "pyworkforce: ErlangC(...).required_positions(...) per cell",
                len(pw["seconds"]),
                f"{total * 1e3:.1f}",
                f"{total / cells * 1e6:.2f}",
                "1.0",
                "",
            ]
        )
    notes = [
        f"medians after one warm-up; pyworkforce timed inside its own interpreter, {cells:,} cells per pass",
        "required_slots gets every cell in one call (arrival rates and targets built beforehand); "
        "requirements also checks the frame, groups by channel and computes the metrics and staff",
        pw_note,
        f"goal: at least {GOAL_RATIO:.0f}x faster than pyworkforce",
        f"machine before the runs: {quiet}",
    ]
    return (
        table(
            ["code", "runs", "median ms", "us per cell", "x faster", "goal"],
            rows,
            title=f"(a) Speed: {grid_title(*GRID)}",
            notes=notes,
        ),
        pw_cell,
    )


def difference_tables(frame: pd.DataFrame, ours: pd.DataFrame, pw: dict[str, Any]) -> str:
    results = pw["results"]
    found = differences(frame, ours, results)
    counts = Counter((d.what, d.category) for d in found)
    shown = [key for key in CATEGORIES if counts[("agents", key)] or counts[("staff", key)] or key == "UNEXPLAINED"]
    rows: list[list[object]] = [[key, counts[("agents", key)], counts[("staff", key)]] for key in shown]
    rows.append(["cells that differ", sum(d.what == "agents" for d in found), sum(d.what == "staff" for d in found)])
    good, busy, not_minimal = ours_is_minimal(frame, ours)
    pw_n = np.array([r.get("raw_positions", 1) for r in results], dtype=np.float64)
    volume = frame["offered_p50"].to_numpy(dtype=np.float64)
    aht = frame["aht_seconds"].to_numpy(dtype=np.float64)
    ours_sl = erlang.erlang_c_metrics(pw_n, volume / INTERVAL_SECONDS * aht, aht, ANSWER_WITHIN_S).service_level
    pairs = zip(results, ours_sl.tolist(), strict=True)
    gaps = [abs(float(r["service_level"]) - sl) for r, sl in pairs if "error" not in r]
    unexplained = [d for d in found if d.category == "UNEXPLAINED"]
    notes = [f"{key}: {CATEGORIES[key]}" for key in shown]
    notes += [
        "agents = our agents_required vs pyworkforce's raw_positions; staff = our staff_required vs its positions",
        f"unexplained differences: {len(unexplained)} -> " + ("goal met" if not unexplained else "goal NOT met"),
        f"ours is the smallest n meeting both targets (service level at n and n - 1 by wfm.erlang, occupancy in "
        f"exact fractions) in {good:,} of {busy:,} cells with contacts"
        + (f"; NOT in rows {not_minimal[:20]}" if not_minimal else ""),
        f"service level at pyworkforce's n, its Erlang B recursion vs our incomplete gamma: largest difference "
        f"{max(gaps, default=0.0):.1e} over {len(gaps):,} cells",
    ]
    summary = table(
        ["category", "agents", "staff"],
        rows,
        title=f"(b) Where ours and pyworkforce differ, {len(frame):,} cells",
        notes=notes,
    )
    starts = pd.DatetimeIndex(frame["interval_start"])
    detail_rows = []
    for d in found:
        r = results[d.row]
        detail_rows.append(
            [
                frame["channel"].iat[d.row],
                starts[d.row].strftime("%a %H:%M"),
                f"{volume[d.row]:.0f}",
                f"{aht[d.row]:.0f}",
                f"{volume[d.row] * aht[d.row] / INTERVAL_SECONDS:.3f}",
                f"{ours['agents_required'].iat[d.row]}/{ours['staff_required'].iat[d.row]}",
                f"{r['raw_positions']}/{r['positions']}" if "error" not in r else "error",
                d.what,
                d.category,
                d.evidence,
            ]
        )
    detail = table(
        ["channel", "interval", "contacts", "AHT s", "load E", "ours a/s", "pwf a/s", "differs", "category", "why"],
        detail_rows,
        title="Every difference (a/s = agents/staff; pwf = pyworkforce; SL and occupancy judged at both answers)",
        notes=[
            "in `why`: SL by wfm.erlang.erlang_c_metrics, occupancy = load / n as an exact fraction; "
            "pyworkforce's float steps redone with its own operations"
        ],
    )
    return summary + "\n\n" + detail


def scale_table(repeat: int, erlang_a_repeat: int, pw_cell: float | None, wait: float) -> str:
    rows: list[list[object]] = []
    notes: list[str] = []
    before: list[str] = []
    totals: list[str] = []
    runs = [("erlang_c", repeat)] + ([("erlang_a", erlang_a_repeat)] if erlang_a_repeat > 0 else [])
    for model, count in runs:
        notes.append(f"machine before the {model} child: {quiet_check(wait=wait)}")
        run = scale_run(model, count)
        before.append(f"{mib(run['rss_before_kib'])} ({model})")
        totals.append(f"{model} {run['agents_total']:,}")
        traced = run["traced_peak_bytes"]
        timings = [("requirements (whole API)", run["seconds"], mib(traced // 1024) if traced else "-")]
        if run["search_seconds"]:
            timings.append(("required_slots alone, one call", run["search_seconds"], "-"))
        for label, seconds, memory in timings:
            median = statistics.median(seconds)
            per_cell = median / run["cells"] * 1e6
            whole = label.startswith("requirements")
            if model == "erlang_c":
                goal = ("met" if median < GOAL_SCALE_S else "NOT met") if whole else ""
            else:
                goal = "(information)"
            rows.append(
                [
                    f"{model}: {label}" + ("" if model == "erlang_c" else f", patience {PATIENCE_S:.0f} s"),
                    f"{run['cells']:,}",
                    len(seconds),
                    f"{median:.3f} s",
                    f"{min(seconds):.3f} s",
                    f"{per_cell:.2f}",
                    f"{pw_cell / per_cell:.1f}" if pw_cell and model == "erlang_c" else "-",
                    memory,
                    mib(run["hwm_rise_kib"]) if whole else "-",
                    goal,
                ]
            )
    notes += [
        f"goal: Erlang C requirements() under {GOAL_SCALE_S:.0f} s; each model in a fresh child process, warmed up "
        "on one channel-day, then timed (median of the runs)",
        "traced peak = tracemalloc: most memory allocated at once during one more run of requirements (numpy arrays "
        "and Python objects), above what was allocated before it (Erlang C only)",
        "RSS rise = the child's VmHWM over the timed requirements runs minus its VmRSS before them (VmHWM reset "
        f"through /proc/self/clear_refs; before them the child held {', '.join(before)}: Python, numpy, pandas, "
        "scipy and the grid)",
        "x vs pwf: pyworkforce's time per cell from (a) over ours here (same distribution of cells; an estimate, "
        "pyworkforce is not run on this grid)",
        f"productive agents summed over the grid: {', '.join(totals)}",
        machine_line(),
    ]
    return table(
        [
            "code",
            "cells",
            "runs",
            "median",
            "fastest",
            "us per cell",
            "x vs pwf",
            "traced peak",
            "RSS rise",
            "goal",
        ],
        rows,
        title=f"(c) Scale: {SCALE[0]} queues x {SCALE[1]} days x 96 quarter hours, same distributions and targets",
        notes=notes,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--pyworkforce-python",
        default=os.environ.get("PYWORKFORCE_PYTHON", DEFAULT_PYWORKFORCE_PYTHON),
        help="Python of a virtualenv with pyworkforce (default %(default)s)",
    )
    parser.add_argument("--small-repeat", type=int, default=25, help="timed runs of our code on the grid of (a)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of our code on the scale grid (c)")
    parser.add_argument("--erlang-a-repeat", type=int, default=1, help="timed Erlang A runs at scale (0 skips)")
    parser.add_argument("--wait-quiet", type=float, default=60.0, help="seconds to wait for an idle machine")
    parser.add_argument("--child", choices=("erlang_c", "erlang_a"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.repeat)
        return
    install_signal_handlers()
    frame = make_grid(*GRID, seed=1)
    ours = run_requirements(frame)
    quiet = quiet_check(wait=args.wait_quiet)
    pw, pw_note = run_pyworkforce(args.pyworkforce_python, frame, repeat=3)
    text, pw_cell = speed_table(frame, args.small_repeat, pw, pw_note, quiet)
    print(text, end="\n\n", flush=True)
    if pw:
        print(difference_tables(frame, ours, pw), end="\n\n", flush=True)
    else:
        print(f"(b) Differences: not measured. {pw_note}", end="\n\n", flush=True)
    print(scale_table(args.repeat, args.erlang_a_repeat, pw_cell, args.wait_quiet), flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
