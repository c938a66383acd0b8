"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

A test that asks for ``settings``, ``db`` or ``client`` is parametrised over both engines. SQLite
gets a fresh copy of a migrated file per test; PostgreSQL gets one migrated database per session,
emptied before each test. Without a PostgreSQL server those cases skip with the reason, except
under CI (``CI`` set), where a missing server is an error.

Passwords are hashed with 1,000 PBKDF2 rounds here instead of 600,000 (Settings.password_iterations),
which saves about 0.15 s per hash; the production count is tested in test_accounts.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient

from wfm.app import create_app
from wfm.db import bind_tables, every_table, make_engine
from wfm.services.site import DEFAULT_SITE
from wfm.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("TRIAD_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
TEST_ITERATIONS = 1_000
SECRET = "test-secret-" + "x" * 40


def run_wfm(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the `wfm` command as a user would, in a child process."""
    full_env = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-m", "wfm.cli", *args],
        env=full_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def pg_unavailable_reason() -> str | None:
    try:
        with psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=3):
            return None
    except psycopg.OperationalError as error:
        return f"PostgreSQL is not reachable at {PG_SERVER} ({str(error).strip().splitlines()[0]})"


def skip_without_pg() -> None:
    reason = pg_unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI requires PostgreSQL: {reason}")
    pytest.skip(reason)


def create_pg_database() -> str:
    """A new empty database on the test server; returns its URL."""
    name = f"triad_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{PG_SERVER}/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(database_url: str, data_dir: Path) -> None:
    result = run_wfm("migrate", env={"DATABASE_URL": database_url, "TRIAD_DATA_DIR": str(data_dir)})
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "triad.sqlite3"
    migrate(f"sqlite:///{path}", folder)
    return path


@dataclass(frozen=True)
class LoadedDemo:
    """A data folder holding a SQLite database after `wfm migrate` and `wfm demo --if-empty`, and what the
    demo command printed."""

    data_dir: Path
    stdout: str

    def copy_to(self, data_dir: Path) -> None:
        """Copy the loaded database (and anything else in its folder) for a test that writes to it."""
        shutil.copytree(self.data_dir, data_dir, dirs_exist_ok=True)


DEMO_ENV = {"PASSWORD_ITERATIONS": "1000", "TRIAD_DEMO_SCHEDULE_SECONDS": "5", "DATABASE_URL": "", "REDIS_URL": ""}


@pytest.fixture(scope="session")
def sqlite_demo(tmp_path_factory: pytest.TempPathFactory) -> LoadedDemo:
    """The demo loaded once per test run on SQLite (about a minute), shared by the tests that read a full
    centre; each copies it (`LoadedDemo.copy_to`) before writing."""
    folder = tmp_path_factory.mktemp("sqlite-demo")
    env = {**DEMO_ENV, "TRIAD_DATA_DIR": str(folder)}
    migrate(f"sqlite:///{folder / 'triad.sqlite3'}", folder)
    loaded = run_wfm("demo", "--if-empty", env=env, timeout=300)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    return LoadedDemo(folder, loaded.stdout)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with migrated_pg_database(Path("/tmp")) as url:
        yield url


@contextlib.contextmanager
def migrated_pg_database(data_dir: Path) -> Iterator[str]:
    """A PostgreSQL database of its own, migrated (procrastinate schema included), dropped afterwards.

    Skips the test when the server is not there.
    """
    skip_without_pg()
    url = create_pg_database()
    try:
        migrate(url, data_dir)
        yield url
    finally:
        drop_pg_database(url)


def empty_pg(url: str) -> None:
    """Delete every row the app wrote (keeping the migration record) and restore the site row."""
    names = ", ".join(f'"{t._meta.tablename}"' for t in every_table())
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        exists = connection.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
        if exists and exists[0]:
            connection.execute("TRUNCATE procrastinate_jobs, procrastinate_events RESTART IDENTITY CASCADE")
        # The site row, as `wfm migrate` leaves it.
        values = asdict(DEFAULT_SITE)
        columns = ", ".join(values)
        placeholders = ", ".join(["%s"] * len(values))
        connection.execute(f"INSERT INTO site (id, {columns}) VALUES (1, {placeholders})", list(values.values()))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "triad.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = str(request.getfixturevalue("pg_url"))
    empty_pg(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=SECRET,
        data_dir=tmp_path,
        password_iterations=TEST_ITERATIONS,
        embedded_worker=False,
        login_attempts_per_minute=1000,
        job_heartbeat_seconds=0.5,
        job_stalled_seconds=3.0,
    )


@pytest.fixture
def db(settings: Settings) -> Settings:
    """Tables bound to this test's database, for service tests (no pool: each query connects)."""
    from wfm.tables import User

    bind_tables(make_engine(settings.database_url), every_table())
    User._pbkdf2_iteration_count = TEST_ITERATIONS
    return settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client
