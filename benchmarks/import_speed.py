"""Import speed: two years of 15-minute contact history for four channels, on SQLite and PostgreSQL.

Two files, both for 2023-2024 (731 days) and four channels, stamped in UTC:

  15-minute rows:  4 x 731 x 96 = 280,704 rows;
   5-minute rows:  842,112 rows, aggregated to the same 280,704 quarter hours on the way in.

For each engine and file, on fresh migrated databases with the four channels added:

  (a) ``python -m wfm.cli import history FILE`` end to end: wall time, rows/s and peak RSS
      (ru_maxrss of the process), then the same command again (a re-import that changes nothing);
  (b) in a child process of this script, on another fresh database: ``wfm.imports.parse.parse_file``
      and ``wfm.imports.apply.apply_import`` timed apart (the peak RSS of each, VmHWM reset in between),
      the re-import (parse + apply again), then, for the 15-minute file, correction files that change
      2,000 to 16,000 rows and the rollback of each, and the rollback of the first batch.

The write phase is how long other writers are locked out, seen from this script's process by a probe
every 2 ms: on SQLite, the write lock is held (``BEGIN IMMEDIATE`` with no busy timeout fails at once);
on PostgreSQL, another session holds a row-exclusive lock on ``contact_interval``, its ``_prior``
table or ``import_batch`` (an import takes the first with its first statement, a rollback the second).

    .venv/bin/python benchmarks/import_speed.py            # 2 years x 4 channels, about 5 minutes
    .venv/bin/python benchmarks/import_speed.py --quick    # 1 year x 2 channels, about 2 minutes
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import math
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Run as a script, this folder is on sys.path; it is not a package.
from _common import (
    CHILDREN,
    ENGINES,
    PYTHON,
    REPO,
    Target,
    fresh_database,
    install_signal_handlers,
    machine_line,
    mib,
    proc_status_kib,
    quiet_check,
    table,
    tail,
)

CHANNELS = ("voice", "chat", "email", "app")
GOAL_IMPORT_S = 10.0
GOAL_WRITE_S = 2.0
GOAL = "goal: import under 10 s, write phase under 2 s"
PROBE_EVERY_S = 0.002
PG_LOCKED_TABLES = ("contact_interval", "contact_interval_prior", "import_batch")
CORRECTIONS = (2_000, 4_000, 8_000, 16_000)
QUICK_CORRECTIONS = (2_000, 4_000, 8_000)


@dataclass(frozen=True)
class HistoryFile:
    label: str
    path: Path
    rows: int  # data rows in the file
    stored: int  # quarter hours after aggregation
    megabytes: float


def write_history(folder: Path, days: int, channels: int, step_minutes: int) -> HistoryFile:
    """``days`` from 2023-01-01 of ``step_minutes`` rows for the first ``channels`` channels (seeded)."""
    import numpy as np
    import pandas as pd

    per_day = 24 * 60 // step_minutes
    starts = pd.date_range("2023-01-01", periods=days * per_day, freq=f"{step_minutes}min", tz="UTC")
    stamps = starts.strftime("%Y-%m-%dT%H:%MZ")
    rng = np.random.default_rng(20250107)
    parts = []
    for name in CHANNELS[:channels]:
        offered = rng.poisson(12 * step_minutes / 15, len(stamps))
        parts.append(
            pd.DataFrame(
                {
                    "interval_start": stamps,
                    "channel": name,
                    "offered": offered,
                    "handled": offered - rng.binomial(offered, 0.05),
                    "aht_seconds": rng.uniform(120, 480, len(stamps)).round(1),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    path = folder / f"history-{days}d-{channels}ch-{step_minutes}min.csv"
    frame.to_csv(path, index=False)
    label = f"{step_minutes}-minute"
    return HistoryFile(label, path, len(frame), days * 96 * channels, path.stat().st_size / 1e6)


def correction_file(source: Path, rows: int, folder: Path) -> Path:
    """The first ``rows`` rows of ``source`` with one more contact offered in each."""
    import pandas as pd

    frame = pd.read_csv(source, nrows=rows, dtype=str)
    frame["offered"] = (frame["offered"].astype(int) + 1).astype(str)
    path = folder / f"correction-{rows}.csv"
    frame.to_csv(path, index=False)
    return path


def add_channels(target: Target) -> None:
    from wfm.db import bind_tables, make_engine
    from wfm.tables import ALL_TABLES, Channel

    async def work() -> None:
        bind_tables(make_engine(target.database_url), ALL_TABLES)
        await Channel.insert(*[Channel(name=name, kind="voice" if name == "voice" else "chat") for name in CHANNELS])

    asyncio.run(work())


# ---------------------------------------------------------------- the write-lock probe


class LockWatch:
    """Polls, in a thread, whether another session holds the write lock (see the module docstring)
    and keeps each period it was held as (first seen, last seen), in `time.monotonic` seconds, which
    on Linux are the same clock in every process."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.windows: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._error: BaseException | None = None

    def __enter__(self) -> LockWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        if self._error is not None:
            raise RuntimeError(f"the lock probe failed: {self._error}")

    def longest(self, start: float, end: float) -> float:
        """The longest period held that began within [start, end] (0 when none): a step owns the locks
        it took, not one its predecessor still held a moment after it ended."""
        return max((b - a for a, b in self.windows if start <= a <= end), default=0.0)

    def _run(self) -> None:
        try:
            if self.target.engine == "sqlite":
                path = self.target.database_url.removeprefix("sqlite:///")
                with contextlib.closing(sqlite3.connect(path, timeout=0, isolation_level=None)) as connection:
                    self._poll(lambda: _sqlite_locked(connection))
            else:
                import psycopg

                with psycopg.connect(self.target.database_url, autocommit=True) as connection:
                    self._poll(lambda: _pg_locked(connection))
        except BaseException as error:
            self._error = error

    def _poll(self, held: Any) -> None:
        first: float | None = None
        last = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if held():
                first, last = (now if first is None else first), now
            elif first is not None:
                self.windows.append((first, last))
                first = None
            time.sleep(PROBE_EVERY_S)
        if first is not None:
            self.windows.append((first, last))


def _sqlite_locked(connection: sqlite3.Connection) -> bool:
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if "locked" in str(error):
            return True
        raise
    connection.execute("ROLLBACK")
    return False


def _pg_locked(connection: Any) -> bool:
    names = ", ".join(f"'{name}'" for name in PG_LOCKED_TABLES)
    row = connection.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "WHERE l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        f"AND c.relname IN ({names}) AND l.mode = 'RowExclusiveLock' AND l.granted "
        "AND l.pid <> pg_backend_pid())"
    ).fetchone()
    return bool(row[0])


# ---------------------------------------------------------------- (a) `wfm import` end to end


@dataclass
class CliRun:
    wall_s: float
    peak_rss_kib: int
    output: str
    start: float
    end: float


def run_cli(target: Target, path: Path, timeout: float) -> CliRun:
    """``python -m wfm.cli import history PATH``; its peak RSS comes from wait4 (ru_maxrss, KiB on Linux)."""
    log = target.data_dir / f"wfm-import-{time.monotonic_ns()}.log"
    start = time.monotonic()
    proc = CHILDREN.spawn([PYTHON, "-m", "wfm.cli", "import", "history", str(path)], target.env, log)
    watchdog = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
    watchdog.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        watchdog.cancel()
    end = time.monotonic()
    proc.returncode = os.waitstatus_to_exitcode(status)
    CHILDREN.stop(proc)
    output = log.read_text(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"`wfm import history {path.name}` exited with {proc.returncode}:\n{tail(log)}")
    return CliRun(end - start, int(usage.ru_maxrss), output, start, end)


# ---------------------------------------------------------------- (b) the phases, in a child process


def _reset_peak_rss() -> None:
    """Reset VmHWM to the current RSS (Linux: ``5`` to /proc/self/clear_refs), so each phase has its own peak."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def child_main(file: Path, corrections: list[int]) -> None:
    """Run by this script as ``--child``: every step on DATABASE_URL, printed as one JSON line."""
    from wfm.db import bind_tables, make_engine
    from wfm.imports.apply import apply_import, rollback_import
    from wfm.imports.parse import parse_file
    from wfm.services import imports
    from wfm.tables import ALL_TABLES

    url = os.environ["DATABASE_URL"]
    bind_tables(make_engine(url), ALL_TABLES)
    context = asyncio.run(imports.context())
    steps: list[dict[str, Any]] = []

    def now() -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def step(name: str, work: Any, *work_args: Any) -> Any:
        # A pause between steps, so the probe sees one step's lock end before the next one's begins.
        time.sleep(0.05)
        _reset_peak_rss()
        start = time.monotonic()
        result = work(*work_args)
        end = time.monotonic()
        steps.append({"name": name, "start": start, "end": end, "peak_rss_kib": proc_status_kib(os.getpid(), "VmHWM")})
        return result

    def parse(path: Path, name: str) -> Any:
        data = path.read_bytes()
        parsed = step(name, parse_file, "history", data, context)
        if not parsed.ok:
            raise RuntimeError(f"{path.name} was refused: {parsed.errors[:3]}")
        return parsed, hashlib.sha256(data).hexdigest()

    parsed, sha256 = parse(file, "parse")
    steps[-1]["rows"] = parsed.rows
    first = step("apply", apply_import, url, parsed, file.name, sha256, "benchmark", now())
    steps[-1].update(rows=len(parsed.frame), changed=first.changed)
    del parsed

    again, sha256 = parse(file, "parse again")
    applied = step("apply again", apply_import, url, again, file.name, sha256, "benchmark", now())
    steps[-1].update(rows=len(again.frame), changed=applied.changed)
    del again

    for rows in corrections:
        path = correction_file(file, rows, file.parent)
        corrected, sha256 = parse(path, f"parse correction {rows}")
        applied = step(f"correction {rows}", apply_import, url, corrected, path.name, sha256, "benchmark", now())
        steps[-1].update(rows=rows, changed=applied.changed)
        undone = step(f"rollback correction {rows}", rollback_import, url, applied.batch_id, "benchmark", now())
        steps[-1].update(rows=rows, changed=undone.restored + undone.removed)

    undone = step("rollback first", rollback_import, url, first.batch_id, "benchmark", now())
    steps[-1].update(rows=first.changed, changed=undone.restored + undone.removed)
    print(json.dumps({"steps": steps}))


def run_child(target: Target, file: HistoryFile, corrections: tuple[int, ...], timeout: float) -> list[dict[str, Any]]:
    log = target.data_dir / "child.log"
    args = [PYTHON, str(Path(__file__).resolve()), "--child", str(file.path)]
    args += ["--child-corrections", ",".join(str(n) for n in corrections)]
    with log.open("wb") as errors:
        result = subprocess.run(
            args, env=target.env, cwd=REPO, stdout=subprocess.PIPE, stderr=errors, timeout=timeout, check=False
        )
    if result.returncode != 0:
        raise RuntimeError(f"the measuring child exited with {result.returncode}:\n{tail(log)}")
    steps: list[dict[str, Any]] = json.loads(result.stdout.decode().strip().splitlines()[-1])["steps"]
    return steps


# ---------------------------------------------------------------- one engine and file


@dataclass
class Result:
    engine: str
    file: HistoryFile
    cli: CliRun | None = None
    cli_write_s: float = 0.0
    cli_again: CliRun | None = None
    cli_again_write_s: float = 0.0
    steps: list[dict[str, Any]] = field(default_factory=list)
    quiet: list[str] = field(default_factory=list)
    error: str = ""

    def step(self, name: str) -> dict[str, Any]:
        return next(s for s in self.steps if s["name"] == name)


def measure(engine: str, file: HistoryFile, corrections: tuple[int, ...], args: argparse.Namespace) -> Result:
    result = Result(engine, file)
    with fresh_database(engine) as target:
        add_channels(target)
        result.quiet.append(quiet_check(args.wait_quiet))
        print(f"[{engine} {file.label}] wfm import x2; machine before: {result.quiet[-1]}", flush=True)
        with LockWatch(target) as watch:
            result.cli = run_cli(target, file.path, args.timeout)
            result.cli_again = run_cli(target, file.path, args.timeout)
        expected = f"{file.rows} rows read, {file.stored} added or changed"
        if expected not in result.cli.output:
            raise RuntimeError(f"first `wfm import` said: {result.cli.output[-500:]!r}, expected {expected!r}")
        if f"{file.rows} rows read, 0 added or changed" not in result.cli_again.output:
            raise RuntimeError(f"second `wfm import` said: {result.cli_again.output[-500:]!r}")
        result.cli_write_s = watch.longest(result.cli.start, result.cli.end)
        result.cli_again_write_s = watch.longest(result.cli_again.start, result.cli_again.end)
    with fresh_database(engine) as target:
        add_channels(target)
        result.quiet.append(quiet_check(args.wait_quiet))
        print(f"[{engine} {file.label}] parse / apply / rollback; machine before: {result.quiet[-1]}", flush=True)
        with LockWatch(target) as watch:
            result.steps = run_child(target, file, corrections, args.timeout)
        for step in result.steps:
            step["write_s"] = watch.longest(step["start"], step["end"])
    return result


# ---------------------------------------------------------------- tables


def _s(value: float) -> str:
    return f"{value:.2f}"


def goal_cell(import_s: float, write_s: float) -> str:
    missed = []
    if import_s >= GOAL_IMPORT_S:
        missed.append("import")
    if write_s >= GOAL_WRITE_S:
        missed.append("write phase")
    return "met" if not missed else "MISSED: " + " and ".join(missed)


def speed_table(results: list[Result], title: str) -> str:
    rows = []
    for r in results:
        if r.error or r.cli is None:
            rows.append([r.engine, r.file.label, r.file.rows, "FAILED: " + r.error.splitlines()[0][:60]] + ["-"] * 10)
            continue
        parse, apply = r.step("parse"), r.step("apply")
        write_s = max(r.cli_write_s, apply["write_s"])
        rows.append(
            [
                r.engine,
                r.file.label,
                f"{r.file.rows:,}",
                f"{r.file.stored:,}",
                _s(r.cli.wall_s),
                f"{r.file.rows / r.cli.wall_s:,.0f}",
                mib(r.cli.peak_rss_kib),
                _s(r.cli_write_s),
                _s(parse["end"] - parse["start"]),
                _s(apply["end"] - apply["start"]),
                _s(apply["write_s"]),
                mib(parse["peak_rss_kib"]),
                mib(apply["peak_rss_kib"]),
                goal_cell(r.cli.wall_s, write_s),
            ]
        )
    headers = ["engine", "file", "rows in file", "rows stored", "wfm import s", "rows/s", "peak RSS"]
    headers += ["write phase s", "parse s", "apply s", "apply write s", "parse peak", "apply peak", GOAL]
    notes = [
        "wfm import s = wall time of `python -m wfm.cli import history FILE` on a fresh database (start-up included);",
        "  rows/s = rows in file / wfm import s; peak RSS = that process's ru_maxrss.",
        "write phase s = the longest time the probe saw the write lock held during that command (every 2 ms).",
        "parse s, apply s = wfm.imports.parse.parse_file and wfm.imports.apply.apply_import timed apart in one",
        "  process, on another fresh database; apply includes loading the staging table before the transaction;",
        "  apply write s = the write lock during apply_import; parse / apply peak = VmHWM of that process,",
        "  reset to the current RSS before each (so apply peak includes the parsed frame it writes).",
        "The goal (from the issue) is judged on wfm import s and on the larger of the two write phases.",
    ]
    return table(headers, rows, title=title, notes=notes)


def again_table(results: list[Result], title: str) -> str:
    rows: list[list[Any]] = []

    def add(r: Result, what: str, rows_in: int, changed: int, seconds: float, write_s: float, goal: str) -> None:
        rows.append([r.engine, r.file.label, what, f"{rows_in:,}", f"{changed:,}", _s(seconds), _s(write_s), goal])

    for r in results:
        if r.error or r.cli_again is None:
            continue
        cli = r.cli_again
        add(
            r,
            "wfm import of the same file",
            r.file.rows,
            0,
            cli.wall_s,
            r.cli_again_write_s,
            goal_cell(cli.wall_s, r.cli_again_write_s),
        )
        parse, apply = r.step("parse again"), r.step("apply again")
        total = parse["end"] - parse["start"] + apply["end"] - apply["start"]
        add(
            r,
            "parse + apply again, in-process",
            r.file.rows,
            apply["changed"],
            total,
            apply["write_s"],
            goal_cell(total, apply["write_s"]),
        )
        for step in r.steps:
            name, seconds, write_s = step["name"], step["end"] - step["start"], step["write_s"]
            write_goal = "met" if write_s < GOAL_WRITE_S else "MISSED: write phase"
            if name.startswith("correction "):
                add(
                    r,
                    f"correction file: {step['rows']:,} rows changed",
                    step["rows"],
                    step["changed"],
                    seconds,
                    write_s,
                    write_goal,
                )
            elif name.startswith("rollback correction "):
                add(
                    r,
                    "rollback of that batch (restores them)",
                    step["rows"],
                    step["changed"],
                    seconds,
                    write_s,
                    write_goal,
                )
            elif name == "rollback first":
                add(
                    r,
                    "rollback of the first batch (removes all)",
                    step["rows"],
                    step["changed"],
                    seconds,
                    write_s,
                    write_goal,
                )
    headers = ["engine", "file", "step", "rows", "changed", "s", "write phase s", GOAL]
    notes = [*rollback_growth(results)]
    notes += [
        "changed = rows the step added, changed, restored or removed (a re-import of the same file changes none).",
        "A correction file holds the first N rows of the 15-minute file with one more contact offered in each;",
        "  it is imported (the rows it replaces are kept for rollback), then that batch is rolled back.",
        "Rolling back the first batch removes every row it created (nothing to restore).",
        "The goal column judges the whole step for the re-imports, only the write phase for the other steps.",
    ]
    return table(headers, rows, title=title, notes=notes)


def rollback_growth(results: list[Result]) -> list[str]:
    """How the rollback of a correction grows with its rows, from the two largest: the exponent k in
    time ~ rows^k, and the time it would take for every row of the file at that rate."""
    lines = []
    for r in results:
        points = sorted(
            (s["rows"], s["end"] - s["start"]) for s in r.steps if s["name"].startswith("rollback correction ")
        )
        if len(points) < 2 or min(t for _, t in points[-2:]) <= 0.05:
            continue
        (n1, t1), (n2, t2) = points[-2:]
        k = math.log(t2 / t1) / math.log(n2 / n1)
        at_all = t2 * (r.file.stored / n2) ** k
        lines.append(
            f"{r.engine}: rolling back a correction takes time ~ rows^{k:.1f} ({n1:,} -> {n2:,} rows: "
            f"{t1:.2f} -> {t2:.2f} s); at that rate, one that restored all {r.file.stored:,} rows would hold "
            f"the write lock about {at_all:,.0f} s (extrapolated, not measured)."
        )
    return lines


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 year x 2 channels instead of 2 years x 4 channels")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated: sqlite,postgresql")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per command")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=60.0,
        help="seconds to wait for other work on the machine to stop before each measurement (default 60)",
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-corrections", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child, [int(n) for n in args.child_corrections.split(",") if n])
        return

    install_signal_handlers()
    print(machine_line(), flush=True)
    days, channels = (365, 2) if args.quick else (731, 4)
    corrections = QUICK_CORRECTIONS if args.quick else CORRECTIONS
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    folder = Path(tempfile.mkdtemp(prefix="triad-bench-import-"))
    results: list[Result] = []
    try:
        started = time.perf_counter()
        files = [write_history(folder, days, channels, 15), write_history(folder, days, channels, 5)]
        print(
            f"files written in {time.perf_counter() - started:.1f} s: "
            + ", ".join(f"{f.path.name} ({f.rows:,} rows, {f.megabytes:.1f} MB)" for f in files),
            flush=True,
        )
        for engine in engines:
            for file in files:
                try:
                    results.append(measure(engine, file, corrections if file is files[0] else (), args))
                except Exception as error:
                    traceback.print_exc()
                    results.append(Result(engine, file, error=f"{type(error).__name__}: {error}"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    period = f"{days} days x {channels} channels"
    print()
    print(speed_table(results, f"Import speed: history of {period}, first import into a fresh database"))
    print()
    print(again_table(results, f"Re-import and rollback ({period})"))
    quiet = [f"  {r.engine} {r.file.label}: machine before each run: {', '.join(r.quiet)}" for r in results if r.quiet]
    print("\n".join(quiet))
    if any(r.error for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
