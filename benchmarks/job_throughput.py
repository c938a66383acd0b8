"""Job throughput: N tiny jobs run by 1 and by 2 `wfm worker` processes, on SQLite and on PostgreSQL.

For each engine and worker count: a fresh database (migrate + demo data), N queued ``audit_rollup``
jobs with inputs ``{"days": 1}`` (``wfm.jobs.create`` on SQLite, where the `Job` table is the queue;
``wfm.jobs.submit`` with the procrastinate app on PostgreSQL), then the workers start
(JOB_HEARTBEAT_SECONDS=1) and the clock runs until every job has finished. The jobs take
milliseconds, so this measures the per-job overhead of each queue, and the workers' start-up.

    .venv/bin/python benchmarks/job_throughput.py            # N=200
    .venv/bin/python benchmarks/job_throughput.py --quick    # N=40
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import re
import sqlite3
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Run as a script, this folder is on sys.path; it is not a package.
from _common import (
    CHILDREN,
    ENGINES,
    PYTHON,
    Target,
    busy_cores,
    cpu_jiffies,
    fresh_database,
    install_signal_handlers,
    machine_line,
    mib,
    proc_cpu_seconds,
    proc_status_kib,
    quiet_check,
    table,
    tail,
)

KIND = "audit_rollup"
INPUTS = {"days": 1}
# `python -m wfm.cli worker`, with one addition: INFO records of the `wfm.worker` logger reach stderr.
# The embedded (SQLite) worker logs "job N: succeeded" there, which is how the jobs each worker ran
# are counted; on PostgreSQL procrastinate records the worker of each job in its own table.
WORKER_COMMAND = [
    PYTHON,
    "-c",
    "import logging, runpy, sys; "
    "logging.basicConfig(level=logging.WARNING, format='%(asctime)s %(name)s %(levelname)s %(message)s'); "
    "logging.getLogger('wfm.worker').setLevel(logging.INFO); "
    "sys.argv = ['wfm', 'worker']; "
    "runpy.run_module('wfm.cli', run_name='__main__', alter_sys=True)",
]
JOB_DONE_LINE = re.compile(r"wfm\.worker INFO job (\d+): (\w+)")


@dataclass
class Row:
    engine: str
    workers: int
    jobs: int
    enqueue_s: float = 0.0
    wall_s: float = 0.0
    first_claim_s: float = 0.0
    busy_s: float = 0.0
    busy_cores: float = 0.0
    succeeded: int = 0
    failed: int = 0
    per_worker: list[int] = field(default_factory=list)
    worker_cpu_s: list[float] = field(default_factory=list)
    worker_peak_rss_kib: list[int] = field(default_factory=list)
    quiet: str = ""
    error: str = ""
    run_rates: list[float] = field(default_factory=list)  # jobs/s of every repeat, this row being the median


# ---------------------------------------------------------------- in-process database work


async def enqueue(target: Target, count: int) -> None:
    """Queue ``count`` jobs the way the app does: a `Job` row, plus a procrastinate job on PostgreSQL."""
    from wfm import jobs
    from wfm.db import bind_tables, make_engine
    from wfm.tables import ALL_TABLES

    engine = make_engine(target.database_url)
    bind_tables(engine, ALL_TABLES)
    if target.engine == "sqlite":
        for _ in range(count):
            await jobs.create(KIND, dict(INPUTS), "benchmark")
        return
    from piccolo.engine.postgres import PostgresEngine

    from wfm.worker import procrastinate_app

    assert isinstance(engine, PostgresEngine)
    await engine.start_connection_pool(min_size=1, max_size=4)
    try:
        app = procrastinate_app(target.database_url)
        async with app.open_async():
            for _ in range(count):
                await jobs.submit(app, KIND, dict(INPUTS), "benchmark")
    finally:
        await engine.close_connection_pool()


async def claim_window(target: Target) -> tuple[float, float]:
    """(first started_at, last finished_at) of the jobs, as Unix times."""
    from wfm.db import bind_tables, make_engine
    from wfm.tables import ALL_TABLES, Job

    bind_tables(make_engine(target.database_url), ALL_TABLES)
    rows = await Job.select(Job.started_at, Job.finished_at)

    def unix(value: dt.datetime) -> float:
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()

    started = [unix(r["started_at"]) for r in rows if r["started_at"] is not None]
    finished = [unix(r["finished_at"]) for r in rows if r["finished_at"] is not None]
    return min(started, default=0.0), max(finished, default=0.0)


class StatusReader:
    """Counts jobs by status with a plain connection (cheap enough to poll every 50 ms)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._conn: Any
        if target.engine == "sqlite":
            path = target.database_url.removeprefix("sqlite:///")
            self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        else:
            import psycopg

            self._conn = psycopg.connect(target.database_url, autocommit=True)

    def counts(self) -> Counter[str]:
        rows = self._conn.execute("SELECT status, count(*) FROM job GROUP BY status").fetchall()
        return Counter({str(status): int(n) for status, n in rows})

    def procrastinate_per_worker(self) -> list[int]:
        rows = self._conn.execute(
            "SELECT worker_id, count(*) FROM procrastinate_jobs WHERE status = 'succeeded' GROUP BY worker_id"
        ).fetchall()
        return sorted((int(n) for _, n in rows), reverse=True)

    def procrastinate_succeeded(self) -> int:
        row = self._conn.execute("SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'").fetchone()
        return int(row[0])

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()


# ---------------------------------------------------------------- one measurement


def measure(engine: str, workers: int, count: int, timeout: float, wait_quiet: float) -> Row:
    row = Row(engine, workers, count)
    with fresh_database(engine, demo=True) as target:
        env = dict(target.env, JOB_HEARTBEAT_SECONDS="1")
        started = time.perf_counter()
        asyncio.run(enqueue(target, count))
        row.enqueue_s = time.perf_counter() - started
        reader = StatusReader(target)
        try:
            queued = reader.counts()
            if queued.get("queued", 0) != count:
                raise RuntimeError(f"expected {count} queued jobs, found {dict(queued)}")
            row.quiet = quiet_check(wait_quiet)
            queued_line = f"{count} jobs queued in {row.enqueue_s:.2f} s"
            print(f"[{engine} x{workers}] {queued_line}; machine before the run: {row.quiet}", flush=True)
            logs = [target.data_dir / f"worker-{i}.log" for i in range(workers)]
            epoch0 = time.time()
            jiffies0 = cpu_jiffies()
            t0 = time.perf_counter()
            procs = [CHILDREN.spawn(WORKER_COMMAND, env, log) for log in logs]
            deadline = t0 + timeout
            while True:
                counts = reader.counts()
                done = counts.get("succeeded", 0) + counts.get("failed", 0)
                if done >= count:
                    break
                for proc, log in zip(procs, logs, strict=True):
                    if proc.poll() is not None:
                        raise RuntimeError(f"a worker exited with {proc.returncode}:\n{tail(log)}")
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"only {done} of {count} jobs finished within {timeout:.0f} s: {dict(counts)}")
                time.sleep(0.05)
            row.wall_s = time.perf_counter() - t0
            row.busy_cores = busy_cores(jiffies0, cpu_jiffies())
            row.succeeded, row.failed = counts.get("succeeded", 0), counts.get("failed", 0)
            row.worker_cpu_s = [proc_cpu_seconds(p.pid) for p in procs]
            row.worker_peak_rss_kib = [proc_status_kib(p.pid, "VmHWM") for p in procs]
            if engine == "postgresql":
                # procrastinate closes its own job just after our `Job` row; wait for that, then read
                # which worker ran each (the worker id is cleared when a worker stops).
                settle = time.perf_counter() + 10
                while reader.procrastinate_succeeded() < row.succeeded and time.perf_counter() < settle:
                    time.sleep(0.05)
                row.per_worker = reader.procrastinate_per_worker()
        finally:
            reader.close()
            CHILDREN.stop_all()
        if engine == "sqlite":
            per_log = [len(JOB_DONE_LINE.findall(log.read_text(errors="replace"))) for log in logs]
            row.per_worker = sorted(per_log, reverse=True)
        first_start, last_finish = asyncio.run(claim_window(target))
        row.first_claim_s = first_start - epoch0
        row.busy_s = last_finish - first_start
    return row


def report(rows: list[Row], count: int, repeat: int) -> str:
    lines = []
    for r in rows:
        if r.error:
            lines.append([r.engine, r.workers, r.jobs, "FAILED: " + r.error.splitlines()[0][:70]] + ["-"] * 10)
            continue
        per_worker = " + ".join(str(n) for n in r.per_worker) if r.per_worker else "-"
        lines.append(
            [
                r.engine,
                r.workers,
                r.jobs,
                f"{r.enqueue_s:.2f}",
                f"{r.wall_s:.2f}",
                f"{r.succeeded / r.wall_s:.1f}" if r.wall_s else "-",
                " / ".join(f"{v:.1f}" for v in r.run_rates),
                f"{r.first_claim_s:.2f}",
                f"{r.succeeded / r.busy_s:.1f}" if r.busy_s > 0 else "-",
                per_worker,
                r.failed,
                " + ".join(f"{c:.1f}" for c in r.worker_cpu_s),
                mib(max(r.worker_peak_rss_kib, default=0)),
                f"{r.busy_cores:.2f}",
            ]
        )
    headers = ["engine", "workers", "jobs", "enqueue s", "wall s", "jobs/s", "jobs/s of runs", "first claim s"]
    headers += ["steady jobs/s"]
    headers += ["jobs per worker", "failed", "worker CPU s", "worker peak RSS", "busy cores"]
    notes = [
        "Each row is the median (by wall s) of the repeats; jobs/s of runs lists every repeat, in order.",
        "wall s = from starting the worker processes until every job has succeeded or failed (polled every 50 ms);",
        "  jobs/s = succeeded / wall s, including the workers' start-up (first claim s = start -> first job running).",
        "steady jobs/s = succeeded / (last finished_at - first started_at): the queue's per-job rate once running.",
        "jobs per worker: from procrastinate_jobs.worker_id on PostgreSQL, from each worker's log on SQLite.",
        "worker CPU s = user + system CPU of each worker process; peak RSS = the largest VmHWM of the workers;",
        "  busy cores = the whole machine during wall s (workers + database + poller + anything else).",
        "Reference (research notes, procrastinate's own measurement): 200 jobs of ~1 s each on 2 workers took",
        "  107 s. These jobs take milliseconds, so the figures here are the per-job overhead of each queue.",
    ]
    quiet = [f"{r.engine} x{r.workers}: machine before each run: {r.quiet}" for r in rows if r.quiet]
    title = f"Job throughput: {count} audit_rollup jobs (days=1) per run, {repeat} run(s) per row"
    return table(headers, lines, title=title, notes=notes + quiet)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="40 jobs per row instead of 200")
    parser.add_argument("--jobs", type=int, help="jobs per row (default 200, 40 with --quick)")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated: sqlite,postgresql")
    parser.add_argument("--workers", default="1,2", help="worker counts to try, comma-separated")
    parser.add_argument("--repeat", type=int, help="runs per row, each on a fresh database (default 3, 1 with --quick)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds allowed per run")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=60.0,
        help="seconds to wait for other work on the machine to stop before each measurement (default 60)",
    )
    args = parser.parse_args()
    count = args.jobs or (40 if args.quick else 200)
    repeat = max(1, args.repeat or (1 if args.quick else 3))
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]
    install_signal_handlers()
    print(machine_line(), flush=True)
    rows = []
    for engine in engines:
        for workers in worker_counts:
            try:
                runs = [measure(engine, workers, count, args.timeout, args.wait_quiet) for _ in range(repeat)]
                median = sorted(runs, key=lambda r: r.wall_s)[len(runs) // 2]
                median.run_rates = [r.succeeded / r.wall_s for r in runs]
                median.quiet = ", ".join(r.quiet for r in runs)
                rows.append(median)
            except Exception as error:
                traceback.print_exc()
                rows.append(Row(engine, workers, count, error=f"{type(error).__name__}: {error}"))
    print()
    print(report(rows, count, repeat))
    if any(r.error for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
