"""The job system end to end, with real `wfm worker` processes.

Embedded mode (SQLite): the `Job` table is the queue; a worker killed with SIGKILL leaves its job
"running" until another worker sees the heartbeat stop and runs it again. PostgreSQL: procrastinate
hands each job to one of several workers, and a surviving worker retries the job of a dead one.

The state is read back with plain SQL (sqlite3, psycopg), and the expected audit summary is counted
here from the `audit_event` rows, independently of `wfm.services.audit`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import psycopg
import pytest
from litestar.testing import TestClient

from tests.conftest import (
    ROOT,
    SECRET,
    TEST_ITERATIONS,
    create_pg_database,
    drop_pg_database,
    migrated_pg_database,
    skip_without_pg,
)
from tests.helpers import make_user, on_app_loop, post_form, sign_in
from tests.processes import WfmProcess
from wfm import jobs
from wfm.app import create_app
from wfm.db import bind_tables, every_table, make_engine
from wfm.settings import Settings
from wfm.tables import AuditDaily, AuditEvent
from wfm.worker import TASK_NAME, procrastinate_app

pytestmark = pytest.mark.slow

T = TypeVar("T")
POLL_SECONDS = 0.2
WAIT_SECONDS = 60.0
HX = {"HX-Request": "true"}
DailyRow = tuple[dt.date, str, int]


# --- worker processes -------------------------------------------------------------------------


class Worker(WfmProcess):
    """A `wfm worker` child process whose output goes to a log file."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        super().__init__(["worker"], env, log_dir / f"worker-{name}.log")


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[[str, dict[str, str]], Worker]]:
    """Start `wfm worker` processes; every one is stopped (or killed) when the test ends, pass or fail."""
    started: list[Worker] = []

    def start(name: str, env: dict[str, str]) -> Worker:
        worker = Worker(name, env, tmp_path)
        started.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            with contextlib.suppress(Exception):
                worker.stop()


def wait_until(condition: Callable[[], T | None], what: str, workers: tuple[Worker, ...] = ()) -> T:
    """Poll ``condition`` every 0.2 s until it returns something truthy; fail after 60 s, or as soon
    as one of ``workers`` (the ones that should stay up) exits, with their logs in the message."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        value = condition()
        if value:
            return value
        dead = [w for w in workers if not w.alive]
        if dead or time.monotonic() > deadline:
            reason = f"worker {dead[0].name} exited" if dead else f"gave up after {WAIT_SECONDS:.0f} s"
            logs = "\n".join(f"--- worker {w.name} log:\n{w.log()[-3000:]}" for w in workers)
            pytest.fail(f"{reason} while waiting for {what}\n{logs}")
        time.sleep(POLL_SECONDS)


# --- reading the database with plain SQL ------------------------------------------------------


class Db:
    """Plain SQL on the test's database (sqlite3 or psycopg), independent of the app's code."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_postgres = url.startswith("postgresql://")

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.is_postgres:
            with psycopg.connect(self.url) as connection:
                return list(connection.execute(sql).fetchall())
        path = self.url.removeprefix("sqlite:///")
        with contextlib.closing(sqlite3.connect(path, timeout=10)) as connection:
            return list(connection.execute(sql).fetchall())

    def job(self, job_id: int) -> dict[str, Any]:
        columns = ("status", "progress", "attempts", "message", "result_ref", "finished_at")
        rows = self.rows(f"SELECT {', '.join(columns)} FROM job WHERE id = {int(job_id)}")
        assert len(rows) == 1, f"job {job_id} not found"
        return dict(zip(columns, rows[0], strict=True))

    def time_zone(self) -> str:
        return str(self.rows("SELECT time_zone FROM site")[0][0])

    def events(self) -> list[tuple[dt.datetime, str]]:
        return [(_as_datetime(at), str(action)) for at, action in self.rows("SELECT at, action FROM audit_event")]

    def daily(self) -> list[DailyRow]:
        rows = self.rows("SELECT day, action, events FROM audit_daily")
        return sorted((_as_date(day), str(action), int(events)) for day, action, events in rows)


def _as_datetime(value: Any) -> dt.datetime:
    parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    assert parsed.tzinfo is not None, f"audit time without a zone: {value!r}"
    return parsed


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def expected_daily(db: Db, first: dt.date, last: dt.date) -> list[DailyRow]:
    """Events per site-local day and action, counted here from the raw `audit_event` rows."""
    zone = ZoneInfo(db.time_zone())
    counts: Counter[tuple[dt.date, str]] = Counter()
    for at, action in db.events():
        day = at.astimezone(zone).date()
        if first <= day <= last:
            counts[(day, action)] += 1
    return sorted((day, action, n) for (day, action), n in counts.items())


def rollup_range(result_ref: str) -> tuple[dt.date, dt.date]:
    match = re.fullmatch(r"audit_daily:(\d{4}-\d\d-\d\d)\.\.(\d{4}-\d\d-\d\d)", result_ref)
    assert match, f"unexpected result reference {result_ref!r}"
    return dt.date.fromisoformat(match[1]), dt.date.fromisoformat(match[2])


def local_today(time_zone: str) -> dt.date:
    return dt.datetime.now(ZoneInfo(time_zone)).date()


def assert_one_set_of_rows(db: Db, first: dt.date, last: dt.date) -> list[DailyRow]:
    """`audit_daily` inside the range equals the independent count: no row twice, none missing."""
    daily = db.daily()
    keys = [(day, action) for day, action, _ in daily]
    assert len(keys) == len(set(keys)), f"duplicate (day, action) rows: {daily}"
    inside = [row for row in daily if first <= row[0] <= last]
    expected = expected_daily(db, first, last)
    assert expected, "the test seeded no events inside the range"
    assert inside == expected
    return daily


# --- seeding ----------------------------------------------------------------------------------


async def seed_events(time_zone: str, plan: list[tuple[int, dt.time, str]]) -> None:
    """Audit events at site-local times: (days before today, local time, action)."""
    zone = ZoneInfo(time_zone)
    today = local_today(time_zone)
    for days_ago, local_time, action in plan:
        at = dt.datetime.combine(today - dt.timedelta(days=days_ago), local_time, zone).astimezone(dt.UTC)
        await AuditEvent.insert(AuditEvent(at=at, actor="seed", action=action))


async def seed_daily(rows: list[DailyRow]) -> None:
    await AuditDaily.insert(*[AuditDaily(day=day, action=action, events=n) for day, action, n in rows])


def run_async(database_url: str, work: Callable[[], Any]) -> Any:
    """Run service code in this process, with the tables bound to ``database_url`` (no pool)."""

    async def main() -> Any:
        bind_tables(make_engine(database_url), every_table())
        return await work()

    return asyncio.run(main())


NOON = dt.time(12, 0)
# Around local midnight the UTC date differs from the site's date: these two land on different local days.
LATE = dt.time(23, 30)
EARLY = dt.time(0, 30)
TEN_DAYS = [
    (1, LATE, "export"),
    (0, EARLY, "export"),
    (3, NOON, "import"),
    (3, NOON, "import"),
    (3, NOON, "export"),
    (9, NOON, "publish"),
    (12, NOON, "publish"),  # outside a 10-day range
]


# --- embedded mode (SQLite) -------------------------------------------------------------------


@pytest.fixture
def sqlite_settings(sqlite_template: Path, tmp_path: Path) -> Settings:
    """A fresh migrated SQLite file. The embedded queue exists only on SQLite, so these tests use it alone."""
    path = tmp_path / "triad.sqlite3"
    shutil.copy(sqlite_template, path)
    return Settings(
        database_url=f"sqlite:///{path}",
        secret_key=SECRET,
        data_dir=tmp_path,
        password_iterations=TEST_ITERATIONS,
        embedded_worker=False,  # the tests start their own `wfm worker` processes
        login_attempts_per_minute=1000,
        job_heartbeat_seconds=0.5,
        job_stalled_seconds=3.0,
    )


def embedded_env(settings: Settings) -> dict[str, str]:
    return {
        "DATABASE_URL": settings.database_url,
        "TRIAD_DATA_DIR": str(settings.data_dir),
        "JOB_HEARTBEAT_SECONDS": "0.5",
        "JOB_STALLED_SECONDS": "3",
    }


def fragment_status(response: Any) -> str:
    match = re.search(r'class="status-(\w+)"', response.text)
    assert match, f"no job status in the fragment: {response.text[:500]}"
    return match[1]


def test_admin_starts_the_audit_rollup_and_a_worker_runs_it(
    sqlite_settings: Settings, start_worker: Callable[[str, dict[str, str]], Worker]
) -> None:
    db = Db(sqlite_settings.database_url)
    zone = db.time_zone()
    today = local_today(zone)
    with TestClient(create_app(sqlite_settings)) as client:
        make_user(client, "astrid", "admin")
        sign_in(client, "astrid")
        plan = [*TEN_DAYS, (29, NOON, "import"), (30, NOON, "import"), (45, NOON, "import")]
        on_app_loop(client, lambda: seed_events(zone, plan))
        # Stale summary rows: one inside the 30 days (no such events: must go), one older (must stay).
        stale_inside = (today - dt.timedelta(days=3), "ghost", 7)
        stale_outside = (today - dt.timedelta(days=40), "ghost", 7)
        on_app_loop(client, lambda: seed_daily([stale_inside, stale_outside]))

        started = post_form(client, "/admin/audit/rollup")
        assert started.status_code in {302, 303}, started.text
        location = re.fullmatch(r"/jobs/(\d+)", started.headers["location"])
        assert location, started.headers["location"]
        job_id = int(location[1])
        page = client.get(f"/jobs/{job_id}")
        assert page.status_code == 200 and f"Job #{job_id}" in page.text
        queued = client.get(f"/jobs/{job_id}/progress", headers=HX)
        assert queued.status_code == 200 and fragment_status(queued) == "queued"
        assert db.job(job_id)["status"] == "queued"  # nothing runs jobs until a worker starts

        worker = start_worker("one", embedded_env(sqlite_settings))
        seen: list[tuple[int, str]] = []

        def finished() -> Any:
            response = client.get(f"/jobs/{job_id}/progress", headers=HX)
            seen.append((response.status_code, fragment_status(response)))
            return response if response.status_code == 286 else None

        done = wait_until(finished, f"job {job_id} to finish", (worker,))
        # 200 for every poll until the job is done (queued or running), then 286 to stop htmx polling.
        assert all(code == 200 and status in {"queued", "running"} for code, status in seen[:-1]), seen
        assert fragment_status(done) == "succeeded" and 'value="100"' in done.text
        assert 'hx-trigger="every 1s"' not in done.text
        # Without htmx (a plain page load) the fragment is an ordinary 200.
        assert client.get(f"/jobs/{job_id}/progress").status_code == 200

    job = db.job(job_id)
    assert (job["status"], job["progress"], job["attempts"], job["message"]) == ("succeeded", 100, 1, "Done.")
    assert job["finished_at"] is not None
    first, last = rollup_range(job["result_ref"])
    assert last in {today, local_today(zone)} and (last - first).days == 29
    daily = assert_one_set_of_rows(db, first, last)
    assert stale_inside not in daily and stale_outside in daily
    # Spot checks of the independent count: the sign-in today, the midnight pair, the range edges.
    events = {(day, action): n for day, action, n in daily}
    assert events[(last, "sign_in")] == 1
    assert events[(last - dt.timedelta(days=1), "export")] == 1 and events[(last, "export")] == 1
    assert events[(first, "import")] == 1 and (first - dt.timedelta(days=1), "import") not in events
    assert worker.alive, worker.log()


def test_a_failing_job_ends_failed_with_its_message_and_the_worker_goes_on(
    sqlite_settings: Settings, start_worker: Callable[[str, dict[str, str]], Worker]
) -> None:
    url = sqlite_settings.database_url
    db = Db(url)
    run_async(url, lambda: seed_events(db.time_zone(), [(0, NOON, "export")]))
    bad = run_async(url, lambda: jobs.create("audit_rollup", {"days": 0}, "astrid"))
    good = run_async(url, lambda: jobs.create("audit_rollup", {"days": 1}, "astrid"))
    worker = start_worker("one", embedded_env(sqlite_settings))

    wait_until(lambda: db.job(good)["status"] in {"succeeded", "failed"}, f"job {good} to finish", (worker,))
    failed = db.job(bad)
    assert failed["status"] == "failed" and failed["attempts"] == 1 and failed["progress"] == 0
    assert failed["message"] == "JobInputError: days must be 1..3660, got 0"
    assert failed["finished_at"] is not None and failed["result_ref"] == ""
    assert db.job(good)["status"] == "succeeded", db.job(good)
    assert "days must be 1..3660" in worker.log()  # the traceback is logged
    # The worker survived the error and is still waiting for work; SIGTERM stops it cleanly.
    time.sleep(1)
    assert worker.alive, worker.log()
    assert worker.stop() == 0, worker.log()


def test_a_job_whose_embedded_worker_is_killed_runs_again_on_the_next_worker(
    sqlite_settings: Settings, start_worker: Callable[[str, dict[str, str]], Worker]
) -> None:
    url = sqlite_settings.database_url
    db = Db(url)
    run_async(url, lambda: seed_events(db.time_zone(), TEN_DAYS))
    job_id = run_async(url, lambda: jobs.create("audit_rollup", {"days": 20, "pause_seconds": 0.5}, "astrid"))
    env = embedded_env(sqlite_settings)
    first = start_worker("first", env)

    running = wait_until(
        lambda: (job := db.job(job_id))["status"] == "running" and job["progress"] > 0 and job,
        f"job {job_id} to make progress",
        (first,),
    )
    assert running["attempts"] == 1
    with TestClient(create_app(sqlite_settings)) as client:
        make_user(client, "astrid", "admin")
        sign_in(client, "astrid")
        watching = client.get(f"/jobs/{job_id}/progress", headers=HX)
        assert watching.status_code == 200 and fragment_status(watching) == "running"

        first.kill9()
        assert db.job(job_id)["status"] == "running"  # nobody is left to finish or fail it
        second = start_worker("second", env)
        wait_until(lambda: db.job(job_id)["status"] in {"succeeded", "failed"}, f"job {job_id} to end", (second,))
        done = client.get(f"/jobs/{job_id}/progress", headers=HX)
        assert done.status_code == 286 and "attempt 2" in done.text

    job = db.job(job_id)
    assert (job["status"], job["progress"], job["attempts"]) == ("succeeded", 100, 2), job
    assert f"job {job_id} stalled; queued again" in second.log()
    first_day, last_day = rollup_range(job["result_ref"])
    assert (last_day - first_day).days == 19
    daily = assert_one_set_of_rows(db, first_day, last_day)
    assert all(first_day <= day <= last_day for day, _, _ in daily), daily


# --- PostgreSQL: procrastinate workers --------------------------------------------------------


@pytest.fixture
def pg_database(tmp_path: Path) -> Iterator[str]:
    """A database of its own (migrated, procrastinate schema included), dropped afterwards."""
    with migrated_pg_database(tmp_path) as url:
        yield url


def pg_env(url: str, data_dir: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "TRIAD_DATA_DIR": str(data_dir),
        "JOB_HEARTBEAT_SECONDS": "1",
        "JOB_STALLED_SECONDS": "3",
    }


def start_pg_workers(
    start_worker: Callable[[str, dict[str, str]], Worker], db: Db, env: dict[str, str]
) -> dict[int, Worker]:
    """Start two workers one after the other, so each procrastinate worker id maps to its process."""
    by_id: dict[int, Worker] = {}
    for name in ("a", "b"):
        worker = start_worker(name, env)

        def registered(known: frozenset[int] = frozenset(by_id)) -> list[int]:
            return [i for (i,) in db.rows("SELECT id FROM procrastinate_workers") if i not in known]

        new_ids = wait_until(registered, f"worker {name} to register with procrastinate", (worker,))
        assert len(new_ids) == 1, new_ids
        by_id[new_ids[0]] = worker
    return by_id


async def submit_jobs(url: str, inputs: list[dict[str, Any]]) -> list[int]:
    app = procrastinate_app(url)
    async with app.open_async():
        return [await jobs.submit(app, "audit_rollup", each, "astrid") for each in inputs]


def test_two_pg_workers_run_each_job_exactly_once(
    pg_database: str, tmp_path: Path, start_worker: Callable[[str, dict[str, str]], Worker]
) -> None:
    db = Db(pg_database)
    run_async(pg_database, lambda: seed_events(db.time_zone(), TEN_DAYS))
    workers = start_pg_workers(start_worker, db, pg_env(pg_database, tmp_path))
    # 20 jobs of about 0.4 s: one worker alone would need over 8 s, longer than procrastinate's 5 s
    # polling interval, so the other worker takes jobs even if it missed every notification.
    count = 20
    ids = run_async(pg_database, lambda: submit_jobs(pg_database, [{"days": 1, "pause_seconds": 0.4}] * count))
    assert len(set(ids)) == count

    def all_done() -> bool:
        statuses = db.rows(f"SELECT status FROM job WHERE id IN ({', '.join(map(str, ids))})")
        return all(status in {"succeeded", "failed"} for (status,) in statuses)

    wait_until(all_done, f"{count} jobs to finish", tuple(workers.values()))
    for job_id in ids:
        job = db.job(job_id)
        assert (job["status"], job["attempts"], job["progress"]) == ("succeeded", 1, 100), (job_id, job)
    # Only the job runs: procrastinate also defers the periodic forecast-snapshot task when a worker starts.
    queue = db.rows(f"SELECT status, worker_id FROM procrastinate_jobs WHERE task_name = '{TASK_NAME}'")
    assert len(queue) == count and {status for status, _ in queue} == {"succeeded"}
    # Who ran what, read while both workers are registered (procrastinate forgets it when they stop).
    per_worker = Counter(worker_id for _, worker_id in queue)
    assert set(per_worker) == set(workers), f"jobs per procrastinate worker: {dict(per_worker)}"
    assert sum(per_worker.values()) == count
    today = local_today(db.time_zone())
    assert [day for day, _, _ in assert_one_set_of_rows(db, today, today)] == [today]
    for worker in workers.values():
        assert worker.alive, worker.log()


def test_a_pg_job_whose_worker_is_killed_is_retried_by_the_other(
    pg_database: str, tmp_path: Path, start_worker: Callable[[str, dict[str, str]], Worker]
) -> None:
    db = Db(pg_database)
    run_async(pg_database, lambda: seed_events(db.time_zone(), TEN_DAYS))
    workers = start_pg_workers(start_worker, db, pg_env(pg_database, tmp_path))
    (job_id,) = run_async(pg_database, lambda: submit_jobs(pg_database, [{"days": 10, "pause_seconds": 0.5}]))

    running = wait_until(
        lambda: (job := db.job(job_id))["status"] == "running" and job["progress"] > 0 and job,
        f"job {job_id} to make progress",
        tuple(workers.values()),
    )
    assert running["attempts"] == 1
    ((queue_id, victim_id, queue_status),) = db.rows(
        f"SELECT id, worker_id, status FROM procrastinate_jobs WHERE (args->>'job_id')::int = {job_id}"
    )
    assert queue_status == "doing" and victim_id in workers
    victim = workers[victim_id]
    (survivor_id,) = set(workers) - {victim_id}
    survivor = workers[survivor_id]
    victim.kill9()

    wait_until(lambda: db.job(job_id)["status"] in {"succeeded", "failed"}, f"job {job_id} to be retried", (survivor,))
    job = db.job(job_id)
    assert (job["status"], job["progress"], job["attempts"]) == ("succeeded", 100, 2), job
    ((status, worker_id),) = db.rows(f"SELECT status, worker_id FROM procrastinate_jobs WHERE id = {queue_id}")
    assert (status, worker_id) == ("succeeded", survivor_id)
    # The survivor's reaper (wfm.worker._retry_stalled) handed the job back to the queue.
    assert f"procrastinate job {queue_id} stalled; retrying" in survivor.log()
    first, last = rollup_range(job["result_ref"])
    assert (last - first).days == 9
    daily = assert_one_set_of_rows(db, first, last)
    assert all(first <= day <= last for day, _, _ in daily), daily  # the event 12 days ago stays out


def test_a_pg_worker_whose_queue_fails_exits_with_the_error(tmp_path: Path) -> None:
    """A crashed procrastinate worker must end `wfm worker` (so it is restarted), not leave it idle."""
    skip_without_pg()
    url = create_pg_database()  # no migrations: procrastinate's functions are missing
    try:
        result = subprocess.run(
            [sys.executable, "-m", "wfm.cli", "worker"],
            env={**os.environ, **pg_env(url, tmp_path)},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("`wfm worker` kept running for 30 s after its procrastinate worker failed")
    finally:
        drop_pg_database(url)
    assert result.returncode != 0
    assert "procrastinate" in result.stderr and "ConnectorException" in result.stderr, result.stderr[-2000:]
