"""Database engines: SQLite (WAL) by default, PostgreSQL with a pool when DATABASE_URL says so."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table


def make_engine(database_url: str) -> Engine:
    """Build the Piccolo engine for ``database_url`` (``sqlite:///PATH`` or ``postgresql://...``)."""
    if database_url.startswith(("postgres://", "postgresql://")):
        return PostgresEngine(config={"dsn": database_url})
    path = Path(database_url.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    enable_wal(path)
    # Wait for other writers instead of failing with "database is locked": SQLite's busy handler has no
    # queue, so under a burst (1,000 agents answering at once, 64 at a time) an unlucky writer can wait
    # several seconds; 30 s keeps it waiting rather than failing (measured in benchmarks/pulse_load.py).
    return SQLiteEngine(path=str(path), timeout=30)


def enable_wal(path: Path) -> None:
    """Switch a SQLite file to WAL journalling (the setting persists in the file)."""
    with sqlite3.connect(path, timeout=5) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


async def start_pool(engine: Engine, max_size: int) -> None:
    """Start Piccolo's connection pool on PostgreSQL (more than twice as fast as a connection per query)."""
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=1, max_size=max_size)


async def close_pool(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()


def every_table() -> list[type[Table]]:
    """The tables of every Piccolo app (wfm, then pulse, which refers to it): parents before children."""
    from pulse.tables import ALL_TABLES as PULSE_TABLES
    from wfm.tables import ALL_TABLES as WFM_TABLES

    return [*WFM_TABLES, *PULSE_TABLES]


def bind_tables(engine: Engine, tables: list[type[Table]]) -> None:
    """Point every table at ``engine``; the app and tests choose the engine, not import order."""
    for table in tables:
        table._meta._db = engine


def write_transaction(engine: Engine) -> Any:
    """A short write transaction: ``BEGIN IMMEDIATE`` on SQLite (take the write lock up front, so two
    writers queue instead of failing mid-way), a plain transaction on PostgreSQL. Keep other awaits out.

    On SQLite the process's writers also queue on an asyncio lock first: SQLite's busy handler polls with
    growing sleeps and no order, so under a burst a writer could wait for seconds while others pass it.
    """
    if isinstance(engine, SQLiteEngine):
        return _queued_sqlite_transaction(engine)
    return engine.transaction()


_SQLITE_WRITE_LOCKS: dict[tuple[int, str], asyncio.Lock] = {}


@contextlib.asynccontextmanager
async def _queued_sqlite_transaction(engine: SQLiteEngine) -> AsyncIterator[Any]:
    key = (id(asyncio.get_running_loop()), str(engine.path))
    lock = _SQLITE_WRITE_LOCKS.setdefault(key, asyncio.Lock())
    async with lock, engine.transaction(transaction_type=TransactionType.immediate) as transaction:
        yield transaction


def database_url_of(engine: Engine) -> str:
    """The URL a plain DB-API connection needs to reach the same database as ``engine``."""
    if isinstance(engine, PostgresEngine):
        return str(engine.config["dsn"])
    assert isinstance(engine, SQLiteEngine)
    return f"sqlite:///{engine.path}"


def json_object(value: object) -> dict[str, Any]:
    """A JSON column's value as a dict: PostgreSQL hands back the decoded object, SQLite the text."""
    if isinstance(value, dict):
        return value
    return json.loads(str(value or "{}"))
