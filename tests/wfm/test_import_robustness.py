"""A large import under crashes and concurrent writers, with real processes, on SQLite and PostgreSQL.

Two years of 15-minute history for four channels (280,704 rows, UTC stamps, so daylight saving time
plays no part) is imported by `wfm import` child processes and by `wfm worker` jobs:

- killed with SIGKILL before and inside the write transaction, an import leaves all of its rows or
  none, and the database takes writes again at once; the import then runs to completion exactly once;
- a pulse-like writer (audit events and the daily audit summary through the app's services, every
  50 ms) never fails and never waits anywhere near SQLite's 5 s busy timeout during an import;
- an import job (the first two channels: 140,352 rows) whose worker is killed inside the write
  transaction is retried and imports once; a retry after the write committed reports the batch it finds
  and stores the outcome.

Nothing is mocked. The write transaction is seen from outside the importing process: on SQLite the
write lock is held (``BEGIN IMMEDIATE`` fails at once), on PostgreSQL another session holds a
row-exclusive lock on ``import_batch`` (the transaction's first statement inserts the batch). State is
read back with plain SQL (sqlite3, psycopg), independently of `wfm.imports`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import psycopg
import pytest

from tests.conftest import SECRET, migrated_pg_database, run_wfm
from tests.processes import WfmProcess
from wfm import jobs
from wfm.db import bind_tables, every_table, make_engine
from wfm.imports.apply import apply_import
from wfm.imports.parse import parse_file
from wfm.services import audit, imports
from wfm.settings import Settings
from wfm.tables import Channel, ImportBatch
from wfm.worker import procrastinate_app

pytestmark = pytest.mark.slow

T = TypeVar("T")
CHANNELS = ("voice", "chat", "email", "app")
DAYS = 731  # 2023 and 2024, a leap year
ROWS = len(CHANNELS) * DAYS * 96  # 280,704 quarter hours
PROBE_SECONDS = 0.005
TEST_APP = "triad-robustness-test"  # application_name of this file's own PostgreSQL sessions
BUSY_TIMEOUT_SECONDS = 5.0  # SQLite's busy timeout in wfm.db.make_engine and wfm.imports.apply


# --- the file -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryFile:
    path: Path
    rows: int
    offered: int  # the sum of the offered column, to check that every value arrived


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> HistoryFile:
    """Two years of 15-minute history for four channels, stamped in UTC (``...Z``)."""
    starts = pd.date_range("2023-01-01", periods=DAYS * 96, freq="15min", tz="UTC").strftime("%Y-%m-%dT%H:%MZ")
    rng = np.random.default_rng(20250107)
    parts = []
    for channel in CHANNELS:
        offered = rng.poisson(12, len(starts))
        parts.append(
            pd.DataFrame(
                {
                    "interval_start": starts,
                    "channel": channel,
                    "offered": offered,
                    "handled": offered - rng.binomial(offered, 0.05),
                    "aht_seconds": rng.uniform(120, 480, len(starts)).round(1),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    assert len(frame) == ROWS
    path = tmp_path_factory.mktemp("history") / "history-2y.csv"
    frame.to_csv(path, index=False)
    return HistoryFile(path, ROWS, int(frame["offered"].sum()))


@pytest.fixture(scope="module")
def half_history(history: HistoryFile) -> HistoryFile:
    """The first two channels of `history` (140,352 rows): enough for a write transaction that a
    probe sees, and half the checking time."""
    frame = pd.read_csv(history.path, dtype={"interval_start": str, "channel": str})
    half = frame[frame["channel"].isin(CHANNELS[:2])]
    path = history.path.with_name("history-2y-2ch.csv")
    half.to_csv(path, index=False)
    return HistoryFile(path, len(half), int(half["offered"].sum()))


# --- the database, read and written with plain SQL ------------------------------------------------


class Db:
    """Plain SQL on the test's database, independent of the app's code."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_postgres = url.startswith(("postgres://", "postgresql://"))

    @contextlib.contextmanager
    def connect(self, timeout: float = BUSY_TIMEOUT_SECONDS) -> Iterator[Any]:
        if self.is_postgres:
            with psycopg.connect(self.url, autocommit=True, application_name=TEST_APP) as connection:
                yield connection
            return
        path = self.url.removeprefix("sqlite:///")
        with contextlib.closing(sqlite3.connect(path, timeout=timeout, isolation_level=None)) as connection:
            yield connection

    def value(self, sql: str) -> Any:
        with self.connect() as connection:
            return connection.execute(sql).fetchone()[0]

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with self.connect() as connection:
            return list(connection.execute(sql).fetchall())

    def history(self) -> tuple[int, list[tuple[int, str]]]:
        """(contact_interval rows, [(changed, status) of every import batch, oldest first])."""
        batches = [(int(c), str(s)) for c, s in self.rows("SELECT changed, status FROM import_batch ORDER BY id")]
        return int(self.value("SELECT count(*) FROM contact_interval")), batches

    def timed_write(self) -> float:
        """Commit one audit event in a write transaction of its own; the seconds it took. On SQLite this
        raises "database is locked" when the write lock is not free within the busy timeout."""
        started = time.monotonic()
        with self.connect() as connection:
            connection.execute("BEGIN IMMEDIATE" if not self.is_postgres else "BEGIN")
            connection.execute(
                "INSERT INTO audit_event (at, actor, action, target, detail, ip) "
                "VALUES ('2025-01-01 00:00:00+00:00', 'test', 'probe', '', '', '')"
            )
            connection.execute("COMMIT")
        return time.monotonic() - started


def run_async(database_url: str, work: Callable[[], Any]) -> Any:
    """Run service code in this process, with the tables bound to ``database_url`` (no pool)."""

    async def main() -> Any:
        bind_tables(make_engine(database_url), every_table())
        return await work()

    return asyncio.run(main())


async def add_channels() -> None:
    await Channel.insert(*[Channel(name=name, kind="voice" if name == "voice" else "chat") for name in CHANNELS])


class WriteLockProbe:
    """Sees, from outside, whether an import's write transaction is open.

    SQLite: ``BEGIN IMMEDIATE`` with no busy timeout fails at once while another connection holds the
    write lock (and is rolled back at once when it succeeds). PostgreSQL: another session of this
    database holds a row-exclusive lock on ``import_batch``; only an import's transaction takes it,
    with its first statement, and keeps it until it commits or rolls back.
    """

    def __init__(self, db: Db) -> None:
        self.db = db
        self._stack = contextlib.ExitStack()
        self.connection = self._stack.enter_context(db.connect(timeout=0))

    def held(self) -> bool:
        if self.db.is_postgres:
            return bool(
                self.connection.execute(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                    "AND c.relname = 'import_batch' AND l.mode = 'RowExclusiveLock' AND l.granted "
                    "AND l.pid <> pg_backend_pid())"
                ).fetchone()[0]
            )
        try:
            self.connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if "locked" in str(error):
                return True
            raise
        self.connection.execute("ROLLBACK")
        return False

    def close(self) -> None:
        self._stack.close()


# --- child processes ----------------------------------------------------------------------------


Child = WfmProcess


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[[str, list[str], dict[str, str]], Child]]:
    """Start `wfm` child processes; each is stopped (or killed) when the test ends, pass or fail."""
    started: list[Child] = []

    def launch(name: str, args: list[str], env: dict[str, str]) -> Child:
        child = Child(args, env, tmp_path / f"{name}.log")
        started.append(child)
        return child

    try:
        yield launch
    finally:
        for child in started:
            with contextlib.suppress(Exception):
                child.stop()


def wait_until(
    condition: Callable[[], T | None],
    what: str,
    seconds: float = 60,
    poll: float = 0.05,
    details: Callable[[], str] = lambda: "",
) -> T:
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {seconds:.0f} s waiting for {what}\n{details()}")
        time.sleep(poll)


def env_for(database_url: str, data_dir: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET,
        "TRIAD_DATA_DIR": str(data_dir),
        "JOB_HEARTBEAT_SECONDS": "0.5",
        "JOB_STALLED_SECONDS": "3",
    }


def settle(db: Db) -> None:
    """Wait until the killed process's write transaction is gone. On PostgreSQL its backend only
    notices the dead client when the statement it runs ends, and then rolls back; on SQLite the
    lock goes with the process."""
    probe = WriteLockProbe(db)
    try:
        wait_until(lambda: not probe.held(), "the killed process's transaction to end", seconds=30)
    finally:
        probe.close()


# --- kill -9 during `wfm import` ------------------------------------------------------------------


@dataclass(frozen=True)
class KillPoint:
    name: str
    after_seconds: float = 0.0  # from the start of the process (when not waiting for the write lock)
    held_seconds: float | None = None  # kill once the write transaction has been open this long


KILL_POINTS = (
    KillPoint("before the write transaction, 1 s after the start", after_seconds=1.0),
    KillPoint("as the write transaction begins", held_seconds=0.0),
    KillPoint("inside the write transaction", held_seconds=0.15),
)


def kill_at(child: Child, probe: WriteLockProbe, point: KillPoint) -> str:
    """Kill ``child`` at ``point``; returns what the probe saw just before the kill."""
    started = time.monotonic()
    if point.held_seconds is None:
        while time.monotonic() - started < point.after_seconds:
            assert child.alive, f"the import ended before the kill point:\n{child.log()[-2000:]}"
            assert not probe.held(), "the write transaction began before the kill point"
            time.sleep(PROBE_SECONDS)
        child.kill9()
        return "no write transaction"
    held_since: float | None = None
    while True:
        if not child.alive:
            return "the import finished before the kill"
        if probe.held():
            held_since = held_since if held_since is not None else time.monotonic()
            if time.monotonic() - held_since >= point.held_seconds:
                child.kill9()
                return f"write transaction open for {time.monotonic() - held_since:.3f} s"
        else:
            # Not (or no longer) held: a short write of the process (a job's heartbeat), or a write
            # transaction that ended before the kill point; an import process then exits.
            held_since = None
        if time.monotonic() - started > 120:
            pytest.fail(f"the import never opened its write transaction:\n{child.log()[-2000:]}")
        time.sleep(PROBE_SECONDS)


def test_kill_9_during_a_large_import_leaves_all_rows_or_none(
    database_url: str,
    tmp_path: Path,
    history: HistoryFile,
    start: Callable[[str, list[str], dict[str, str]], Child],
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = Db(database_url)
    run_async(database_url, add_channels)
    env = env_for(database_url, tmp_path)
    seen = []
    for i, point in enumerate(KILL_POINTS):
        probe = WriteLockProbe(db)
        try:
            child = start(f"import-{i}", ["import", "history", str(history.path)], env)
            what = kill_at(child, probe, point)
        finally:
            probe.close()
        settle(db)
        rows, batches = db.history()
        seen.append((point.name, what, rows, batches))
        # All or nothing: never a partial count, and a batch exactly when its rows are there.
        assert (rows, batches) in [(0, []), (history.rows, [(history.rows, "applied")])], seen
        if what.startswith("write transaction open"):
            assert rows == 0, f"a kill inside the write transaction left rows behind: {seen}"
        # Nothing is left locked: a write goes through at once (it would fail after the 5 s timeout).
        assert db.timed_write() < 1.0, seen
    with capsys.disabled():
        print(f"\n[{'postgresql' if db.is_postgres else 'sqlite'}] kills:", *seen, sep="\n  ")
    # The kill at the start of the write transaction rolled it back (it cannot commit 280,704 rows in
    # the moment between the probe and the kill).
    assert seen[1][1].startswith("write transaction open") and seen[1][2] == 0, seen

    done = run_wfm("import", "history", str(history.path), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(rf"{history.rows} rows read, \d+ added or changed", done.stdout), done.stdout
    rows, batches = db.history()
    assert rows == history.rows
    assert [changed for changed, _ in batches].count(history.rows) == 1, batches
    assert all(changed in {0, history.rows} and status == "applied" for changed, status in batches), batches
    assert int(db.value("SELECT sum(offered) FROM contact_interval")) == history.offered
    assert int(db.value("SELECT count(*) FROM contact_interval_prior")) == 0
    if not db.is_postgres:
        assert db.value("PRAGMA integrity_check") == "ok"

    again = run_wfm("import", "history", str(history.path), env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{history.rows} rows read, 0 added or changed" in again.stdout
    rows, after = db.history()
    assert rows == history.rows and after == [*batches, (0, "applied")]


# --- a pulse-like writer during an import ---------------------------------------------------------


@dataclass
class PulseWriter:
    """Short writes through the app's services every ``every_seconds``, each timed, in a thread.

    Odd writes append an audit event (one INSERT, as a sign-in or a pulse answer does); even ones
    rebuild today's audit summary (a short ``BEGIN IMMEDIATE`` transaction of two statements).
    """

    every_seconds: float = 0.05
    writes: list[tuple[float, float]] = field(default_factory=list)  # (started, seconds)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._loop()), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(30)

    async def _loop(self) -> None:
        today = dt.datetime.now(dt.UTC).date()
        count = 0
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if count % 2:
                    await audit.record("pulse", "pulse_answer", detail=f"answer {count}")
                else:
                    await audit.rebuild_day(today, "UTC")
                self.writes.append((started, time.monotonic() - started))
            except Exception as error:
                self.errors.append(f"{type(error).__name__}: {error}")
            count += 1
            await asyncio.sleep(self.every_seconds)


def watch_write_lock(db: Db, until: threading.Event, windows: list[tuple[float, float]]) -> None:
    """Record the periods in which an import's write transaction was seen open, as (first, last) seen."""
    probe = WriteLockProbe(db)
    try:
        first: float | None = None
        last = 0.0
        while not until.is_set():
            now = time.monotonic()
            if probe.held():
                first, last = (now if first is None else first), now
            elif first is not None:
                windows.append((first, last))
                first = None
            time.sleep(PROBE_SECONDS)
        if first is not None:
            windows.append((first, last))
    finally:
        probe.close()


def test_a_pulse_like_writer_keeps_working_during_a_large_import(
    db: Settings,
    tmp_path: Path,
    history: HistoryFile,
    start: Callable[[str, list[str], dict[str, str]], Child],
    record_property: Callable[[str, object], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = db.database_url
    plain = Db(url)
    run_async(url, add_channels)  # also binds the tables, which the writer thread then uses
    writer = PulseWriter()
    windows: list[tuple[float, float]] = []
    done = threading.Event()
    watcher = threading.Thread(target=watch_write_lock, args=(plain, done, windows), daemon=True)
    watcher.start()
    writer.start()
    try:
        time.sleep(0.3)  # the writer is under way before the import starts
        child = start("import", ["import", "history", str(history.path)], env_for(url, tmp_path))
        assert child.process.wait(120) == 0, child.log()[-3000:]
        time.sleep(0.3)
    finally:
        writer.stop()
        done.set()
        watcher.join(10)

    assert f"{history.rows} rows read, {history.rows} added or changed" in child.log()
    assert not writer.errors, writer.errors[:5]
    waits = [seconds for _, seconds in writer.writes]
    longest = max(waits)
    # The import's write transaction: the longest period the probe saw it open (on SQLite a pulse
    # write of its own can show up as a blip of a few milliseconds).
    assert windows, "the probe never saw the import's write transaction"
    first, last = max(windows, key=lambda w: w[1] - w[0])
    during = [(s, w) for s, w in writer.writes if s <= last and s + w >= first]  # in flight while it was open
    engine = "postgresql" if plain.is_postgres else "sqlite"
    record_property("max_write_wait_s", round(longest, 3))
    record_property("write_transaction_s", round(last - first, 3))
    with capsys.disabled():
        print(
            f"\n[{engine}] {len(waits)} pulse writes during the import, none failed; longest wait {longest:.3f} s, "
            f"median {float(np.median(waits)):.3f} s; import write transaction seen open for {last - first:.3f} s, "
            f"{len(during)} writes in flight in it (waits {[round(w, 3) for _, w in during]})"
        )
    assert during, f"no pulse write overlapped the import's write transaction {first:.3f}..{last:.3f}"
    assert longest < BUSY_TIMEOUT_SECONDS
    # The writer kept its pace: no gap between writes much beyond the longest wait.
    starts = [s for s, _ in writer.writes]
    assert max(np.diff(starts)) < longest + 1.0
    assert int(plain.value("SELECT count(*) FROM audit_event WHERE action = 'pulse_answer'")) == len(waits) // 2


# --- kill -9 of the worker that runs an import job ------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def own_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database for worker processes: a copy of the SQLite template, or a PostgreSQL
    database of its own (procrastinate keeps its workers in it), dropped afterwards."""
    if request.param == "sqlite":
        path = tmp_path / "triad.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    with migrated_pg_database(tmp_path) as url:
        yield url


async def queue_import(url: str, upload_id: int) -> int:
    if not url.startswith("postgresql"):
        return await jobs.create("import", {"upload_id": upload_id}, "tester")
    app = procrastinate_app(url)
    async with app.open_async():
        return await jobs.submit(app, "import", {"upload_id": upload_id}, "tester")


def test_an_import_job_whose_worker_is_killed_is_retried_and_imports_once(
    own_database: str,
    tmp_path: Path,
    half_history: HistoryFile,
    start: Callable[[str, list[str], dict[str, str]], Child],
) -> None:
    url = own_database
    db = Db(url)
    history = half_history

    async def prepare() -> int:
        await add_channels()
        return await imports.save_upload("history", history.path.read_bytes(), history.path.name, "tester")

    upload_id = run_async(url, prepare)
    job_id = run_async(url, lambda: queue_import(url, upload_id))
    env = env_for(url, tmp_path)

    def job() -> dict[str, Any]:
        status, attempts, message = db.rows(f"SELECT status, attempts, message FROM job WHERE id = {job_id}")[0]
        return {"status": status, "attempts": int(attempts), "message": message}

    first = start("worker-first", ["worker"], env)
    wait_until(lambda: job()["status"] == "running" or not first.alive, f"job {job_id} to start")
    # The second worker starts while the first one checks the file: it leaves a running job alone
    # while its heartbeat goes on.
    second = start("worker-second", ["worker"], env)
    probe = WriteLockProbe(db)
    try:
        what = kill_at(first, probe, KillPoint("inside the write transaction", held_seconds=0.05))
    finally:
        probe.close()
    assert what.startswith("write transaction open"), f"{what}\n{first.log()[-3000:]}"
    assert job() == {"status": "running", "attempts": 1, "message": "Checking every row"}
    settle(db)
    assert db.history() == (0, []), "the killed worker's transaction was not rolled back"
    assert int(db.value(f"SELECT batch_id FROM import_upload WHERE id = {upload_id}")) == 0

    def ended() -> dict[str, Any] | None:
        state = job()
        return state if state["status"] in {"succeeded", "failed"} else None

    def details() -> str:
        logs = "\n".join(f"--- {c.log_path.name}:\n{c.log()[-3000:]}" for c in (first, second))
        return f"job: {db.rows(f'SELECT * FROM job WHERE id = {job_id}')}\n{logs}"

    final = wait_until(ended, f"job {job_id} to end", details=details)
    assert (final["status"], final["attempts"]) == ("succeeded", 2), (final, second.log()[-3000:])
    rows, batches = db.history()
    assert (rows, batches) == (history.rows, [(history.rows, "applied")])
    assert int(db.value("SELECT sum(offered) FROM contact_interval")) == history.offered
    ((batch_id, content, result),) = db.rows(
        f"SELECT batch_id, content, result FROM import_upload WHERE id = {upload_id}"
    )
    assert batch_id == int(db.value("SELECT id FROM import_batch")) and content == ""
    stored = json.loads(result)
    assert (stored["rows"], stored["changed"], stored["error_count"]) == (history.rows, history.rows, 0)
    assert "stalled" in second.log(), second.log()[-3000:]
    assert second.alive, second.log()[-3000:]


async def test_a_retry_after_the_write_committed_reports_the_batch_it_finds(db: Settings) -> None:
    """The window no kill can aim at: the worker dies after the write transaction committed (it sets the
    upload's batch in the same transaction) and before the job stored its outcome. The state it leaves
    is made here by writing the batch as the job does; the retried job must report that batch."""
    await add_channels()
    data = b"interval_start,channel,offered\n2025-01-07T10:00Z,voice,5\n2025-01-07T10:15Z,voice,6\n"
    upload_id = await imports.save_upload("history", data, "day.csv", "tester")
    parsed = parse_file("history", data, await imports.context())
    now = audit.utcnow()
    applied = apply_import(
        db.database_url, parsed, "day.csv", hashlib.sha256(data).hexdigest(), "tester", now, upload_id
    )

    retried = await imports.import_upload(upload_id)
    assert (retried.batch_id, retried.changed, retried.rows) == (applied.batch_id, 2, 2)
    assert await ImportBatch.count() == 1
    stored = await imports.upload_result(upload_id)
    assert stored is not None and stored.batch_id == applied.batch_id
    assert (await imports.import_upload(upload_id)).batch_id == applied.batch_id
