"""Plain DB-API access to the app's database, beside Piccolo, for bulk reads and writes."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd
import psycopg


def quoted(columns: Sequence[str], alias: str = "") -> str:
    """Quoted column names (``user`` is a keyword), optionally qualified by a table alias."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(f'{prefix}"{c}"' for c in columns)


class DbApi:
    """One plain DB-API connection (sqlite3 or psycopg) with the two dialects' differences in one place.

    For bulk work where an ORM's per-row objects cost too much: staging imports, reading long series.
    Parameters are written ``?`` and translated for psycopg.
    """

    def __init__(self, database_url: str) -> None:
        self.sqlite = not database_url.startswith(("postgres://", "postgresql://"))
        if self.sqlite:
            path = database_url.removeprefix("sqlite:///")
            self.connection: Any = sqlite3.connect(path, timeout=5, isolation_level=None)
            self.connection.execute("PRAGMA foreign_keys = ON")
        else:
            self.connection = psycopg.connect(database_url, autocommit=True)

    def sql(self, text: str) -> str:
        return text if self.sqlite else text.replace("?", "%s")

    def run(self, text: str, params: Sequence[Any] = ()) -> Any:
        cursor = self.connection.cursor()
        cursor.execute(self.sql(text), tuple(params))
        return cursor

    def one(self, text: str, params: Sequence[Any] = ()) -> Any:
        row = self.run(text, params).fetchone()
        return None if row is None else row[0]

    def stamp(self, value: dt.datetime) -> Any:
        return str(value.astimezone(dt.UTC)) if self.sqlite else value

    def day(self, value: dt.date) -> Any:
        return value.isoformat() if self.sqlite else value

    def hours_between(self, start: str, end: str) -> str:
        """SQL for the hours from one timestamp column to another."""
        if self.sqlite:
            # julianday is a float of days: round to whole seconds so 15 minutes stays exactly 0.25 h.
            return f"(ROUND((julianday({end}) - julianday({start})) * 86400.0) / 3600.0)"
        return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 3600.0)"

    def differs(self, left: str, right: str, columns: Sequence[str], exprs: dict[str, str] | None = None) -> str:
        """SQL that is true when any column differs, NULL-safely."""
        exprs = exprs or {}
        pairs = [(f'{left}."{c}"', exprs.get(c, f'{right}."{c}"')) for c in columns]
        if self.sqlite:
            return "(" + " OR ".join(f"{a} IS NOT {b}" for a, b in pairs) + ")"
        return f"(({', '.join(a for a, _ in pairs)}) IS DISTINCT FROM ({', '.join(b for _, b in pairs)}))"

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.run("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")
        try:
            yield
        except BaseException:
            self.run("ROLLBACK")
            raise
        self.run("COMMIT")

    def load(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        names = quoted(columns)
        if self.sqlite:
            marks = ", ".join("?" for _ in columns)
            self.connection.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
            return
        with self.connection.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def frame(self, text: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """A query's rows as a DataFrame (columns named as selected)."""
        cursor = self.run(text, params)
        return pd.DataFrame.from_records(cursor.fetchall(), columns=[c[0] for c in cursor.description])

    def close(self) -> None:
        self.connection.close()
