"""Database engines: SQLite (WAL) by default, PostgreSQL with a pool when DATABASE_URL says so."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType, dict_factory
from piccolo.table import Table


class PooledSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine with an optional pool of open connections for queries outside transactions.

    Piccolo opens a new connection, and with aiosqlite a new thread, for every query, and SQLite then reads
    the schema again: about 2 ms of CPU a query here, most of a page's time under load. While a pool is
    started (the app's and the worker's lifespans, `start_pool`), queries reuse a few connections in
    autocommit mode; transactions keep a connection of their own, as before. Without a pool (short scripts,
    service tests on throw-away event loops) it behaves exactly like Piccolo's engine.
    """

    def __init__(self, path: str, **connection_kwargs: Any) -> None:
        super().__init__(path=path, **connection_kwargs)
        self._idle: asyncio.Queue[aiosqlite.Connection] | None = None
        self._open: list[aiosqlite.Connection] = []
        self._pool_loop: asyncio.AbstractEventLoop | None = None

    async def start_connection_pool(self, size: int = 4) -> None:
        await self.close_connection_pool()
        self._idle = asyncio.Queue()
        self._pool_loop = asyncio.get_running_loop()
        for _ in range(size):
            connection = await aiosqlite.connect(**self.connection_kwargs)
            await connection.execute("PRAGMA foreign_keys = 1")
            connection.row_factory = dict_factory  # type: ignore[assignment]
            self._open.append(connection)
            self._idle.put_nowait(connection)

    async def close_connection_pool(self) -> None:
        self._idle, self._pool_loop = None, None
        opened, self._open = self._open, []
        for connection in opened:
            await connection.close()

    async def _run_in_new_connection(
        self, query: str, args: list[Any] | None = None, query_type: str = "generic", table: Any = None
    ) -> Any:
        idle = self._idle
        if idle is None or asyncio.get_running_loop() is not self._pool_loop:
            return await super()._run_in_new_connection(query, args, query_type, table)
        connection = await idle.get()
        try:
            # Autocommit (isolation_level None): every statement commits by itself, as in Piccolo's engine.
            async with connection.execute(query, args or []) as cursor:
                return await cursor.fetchall()
        finally:
            idle.put_nowait(connection)


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
    return PooledSQLiteEngine(path=str(path), timeout=30)


def enable_wal(path: Path) -> None:
    """Switch a SQLite file to WAL journalling (the setting persists in the file)."""
    with sqlite3.connect(path, timeout=5) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


async def start_pool(engine: Engine, max_size: int) -> None:
    """Start a connection pool: Piccolo's on PostgreSQL (more than twice as fast as a connection per query),
    `PooledSQLiteEngine`'s on SQLite (a few connections; SQLite has one writer anyway)."""
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=1, max_size=max_size)
    elif isinstance(engine, PooledSQLiteEngine):
        await engine.start_connection_pool(min(max_size, 4))


async def close_pool(engine: Engine) -> None:
    if isinstance(engine, (PostgresEngine, PooledSQLiteEngine)):
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


# Per event loop (an asyncio lock belongs to one loop) and database file. Weak keys: a closed loop's locks go
# with it, and a new loop that happens to get the same id() never finds a lock bound to the old one.
_SQLITE_WRITE_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


@contextlib.asynccontextmanager
async def _queued_sqlite_transaction(engine: SQLiteEngine) -> AsyncIterator[Any]:
    locks = _SQLITE_WRITE_LOCKS.setdefault(asyncio.get_running_loop(), {})
    lock = locks.setdefault(str(engine.path), asyncio.Lock())
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
