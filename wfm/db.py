"""Database engines: SQLite (WAL) by default, PostgreSQL with a pool when DATABASE_URL says so."""

from __future__ import annotations

import json
import sqlite3
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
    # timeout=5: wait for a writer instead of failing with "database is locked".
    return SQLiteEngine(path=str(path), timeout=5)


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
    writers queue instead of failing mid-way), a plain transaction on PostgreSQL. Keep other awaits out."""
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


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
