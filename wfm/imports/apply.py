"""The write phase of an import, and its rollback, in plain SQL on one connection.

A validated frame is first loaded into a TEMP staging table (on SQLite that lives outside the main
database file, so nobody waits for it); then one short transaction (``BEGIN IMMEDIATE`` on SQLite)
records the batch, copies the current version of every row the file changes into the table's
``*_prior`` shadow, and upserts with ``INSERT ... SELECT ... ON CONFLICT``. Rows equal to what is
stored are left alone, so importing the same file again changes nothing.

Rolling back batch B deletes the rows B created, copies back the versions B replaced, and is refused
when a later batch has since changed one of B's rows (DESIGN.md, Files).

Sync DB-API code (sqlite3 or psycopg), run in a worker thread or a job process.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
from piccolo.columns import Boolean, Date, Float, ForeignKey, Integer, Serial, Timestamptz
from piccolo.table import Table

from wfm.dbapi import DbApi, quoted
from wfm.imports.spec import KINDS, KindSpec, Parsed

# An unusable password for accounts an agents import creates: a PBKDF2 record whose hash can never
# match, so nobody signs in until an admin issues a set-password link.
UNUSABLE_PASSWORD = "pbkdf2_sha256$1$unusable$-"
# Imported tables whose rows others refer to by id: restored in place, not re-inserted.
_TABLE_CLASSES: dict[str, type[Table]] = {}


class ImportRefusedError(Exception):
    """A rollback (or write) that cannot be done, with the reason for the user."""


@dataclass(frozen=True)
class Applied:
    batch_id: int
    changed: int


@dataclass(frozen=True)
class RolledBack:
    batch_id: int
    restored: int
    removed: int


def _column_types(table: type[Table], sqlite: bool) -> dict[str, str]:
    types = {}
    for column in table._meta.columns:
        if isinstance(column, (Serial, Integer, ForeignKey)):
            kind = "INTEGER" if sqlite else "BIGINT"
        elif isinstance(column, Float):
            kind = "FLOAT" if sqlite else "DOUBLE PRECISION"
        elif isinstance(column, Timestamptz):
            kind = "TIMESTAMPTZ"
        elif isinstance(column, Date):
            kind = "DATE"
        elif isinstance(column, Boolean):
            kind = "BOOLEAN"
        else:
            kind = "TEXT"
        types[column._meta.db_column_name] = kind
    return types


def _table(name: str) -> type[Table]:
    if not _TABLE_CLASSES:
        from wfm import tables

        for table in tables.ALL_TABLES:
            _TABLE_CLASSES[table._meta.tablename] = table
    return _TABLE_CLASSES[name]


def _all_columns(spec: KindSpec) -> list[str]:
    """Every column of the table but the id: what the shadow copies besides ``id``."""
    return [c._meta.db_column_name for c in _table(spec.table)._meta.columns if c._meta.name != "id"]


def _records(frame: pd.DataFrame, integer_columns: set[str]) -> list[tuple[Any, ...]]:
    """Rows as tuples of plain Python values: None for missing, int for integer columns (COPY is strict)."""
    columns = []
    for name in frame.columns:
        values = frame[name].astype(object).where(frame[name].notna(), None).tolist()
        if name in integer_columns:
            values = [None if v is None else int(v) for v in values]
        columns.append(values)
    return list(zip(*columns, strict=True))


def apply_import(
    database_url: str, parsed: Parsed, filename: str, sha256: str, actor: str, now: dt.datetime, upload_id: int = 0
) -> Applied:
    """Write a validated file as one import batch; see the module docstring for the steps.

    ``upload_id``: the saved upload a job imports; it records the batch in the same transaction, and a
    retried job that finds it already imported writes nothing again.
    """
    if not parsed.ok:
        raise ImportRefusedError("the file has errors; nothing was written")
    spec = KINDS[parsed.kind]
    db = DbApi(database_url)
    try:
        return _apply(db, spec, parsed, filename, sha256, actor, now, upload_id)
    finally:
        db.close()


def _apply(
    db: DbApi, spec: KindSpec, parsed: Parsed, filename: str, sha256: str, actor: str, now: dt.datetime, upload_id: int
) -> Applied:
    table = spec.table
    types = _column_types(_table(table), db.sqlite)
    if spec.kind == "agents":
        types["team"] = "TEXT"  # a name in the file; resolved to the team's id on the way in
    columns = list(spec.columns)
    db.run("DROP TABLE IF EXISTS import_stage")
    declared = ", ".join(f'"{c}" {types[c]}' for c in columns)
    db.run(f"CREATE TEMP TABLE import_stage ({declared})")
    integers = {name for name, kind in types.items() if kind in ("INTEGER", "BIGINT")}
    db.load("import_stage", columns, _records(parsed.frame[columns], integers))
    if parsed.skills is not None:
        db.run("DROP TABLE IF EXISTS import_stage_skill")
        db.run("CREATE TEMP TABLE import_stage_skill (agent_id TEXT, channel INTEGER)")
        db.load(
            "import_stage_skill", ["agent_id", "channel"], _records(parsed.skills[["agent_id", "channel"]], {"channel"})
        )

    exprs = {"team": '(SELECT t.id FROM team t WHERE t.name = s."team")'} if spec.kind == "agents" else {}
    key_match = " AND ".join(f'd."{k}" = s."{k}"' for k in spec.key)
    copied = _all_columns(spec)
    names = quoted(columns)
    key = quoted(spec.key)
    sources = ", ".join(exprs.get(c, f's."{c}"') for c in columns)
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in [*spec.values, "batch_id"])
    with db.transaction():
        if upload_id:
            done = db.run("SELECT batch_id FROM import_upload WHERE id = ?", (upload_id,)).fetchone()
            if done and done[0]:
                changed = int(db.one("SELECT changed FROM import_batch WHERE id = ?", (done[0],)) or 0)
                return Applied(int(done[0]), changed)
        if spec.kind == "agents":
            db.run(
                'INSERT INTO team (name) SELECT DISTINCT s."team" FROM import_stage s '
                'WHERE NOT EXISTS (SELECT 1 FROM team t WHERE t.name = s."team")'
            )
        batch_id = int(
            db.one(
                "INSERT INTO import_batch (kind, filename, sha256, rows, changed, warnings, created_by, created_at, "
                "status, rolled_back_by) VALUES (?, ?, ?, ?, 0, ?, ?, ?, 'applied', '') RETURNING id",
                (spec.kind, filename[:255], sha256, parsed.rows, "\n".join(parsed.warnings), actor, db.stamp(now)),
            )
        )
        db.run(
            f"INSERT INTO {table}_prior (id, {quoted(copied)}, replaced_by) "
            f"SELECT d.id, {quoted(copied, 'd')}, ? FROM {table} d JOIN import_stage s ON {key_match} "
            f"WHERE {db.differs('d', 's', spec.values, exprs)}",
            (batch_id,),
        )
        db.run(
            f"INSERT INTO {table} AS d ({names}, batch_id) SELECT {sources}, ? FROM import_stage s WHERE true "
            f"ON CONFLICT ({key}) DO UPDATE SET {updates} "
            f"WHERE {db.differs('d', 'excluded', spec.values)}",
            (batch_id,),
        )
        changed = int(db.one(f"SELECT count(*) FROM {table} WHERE batch_id = ?", (batch_id,)))
        if spec.kind == "agents":
            _agents_follow_up(db, batch_id)
        db.run("UPDATE import_batch SET changed = ? WHERE id = ?", (changed, batch_id))
        if upload_id:
            db.run("UPDATE import_upload SET batch_id = ? WHERE id = ?", (batch_id, upload_id))
        _audit(
            db,
            now,
            actor,
            "import",
            f"{spec.kind} batch {batch_id}",
            f"{filename}: {parsed.rows} rows, {changed} changed",
        )
    return Applied(batch_id, changed)


def _agents_follow_up(db: DbApi, batch_id: int) -> None:
    """Skills and accounts of the agents this batch wrote: skills from the file, an account per agent.

    An agent is linked to the user whose username is the agent id or whose email is the agent's, when
    that user is not linked to another agent; otherwise an agent account without a usable password is
    created (an admin issues a set-password link).
    """
    db.run(
        "DELETE FROM agent_skill WHERE agent IN (SELECT id FROM agent WHERE batch_id = ?)",
        (batch_id,),
    )
    db.run(
        "INSERT INTO agent_skill (agent, channel) SELECT a.id, k.channel FROM import_stage_skill k "
        "JOIN agent a ON a.agent_id = k.agent_id WHERE a.batch_id = ?",
        (batch_id,),
    )
    link = (
        'UPDATE agent SET "user" = (SELECT u.id FROM wfm_user u WHERE (u.username = agent.agent_id '
        "OR (agent.email <> '' AND lower(u.email) = lower(agent.email))) "
        'AND NOT EXISTS (SELECT 1 FROM agent other WHERE other."user" = u.id) ORDER BY u.id LIMIT 1) '
        'WHERE batch_id = ? AND "user" IS NULL'
    )
    db.run(link, (batch_id,))
    db.run(
        "INSERT INTO wfm_user (username, password, email, first_name, last_name, active, admin, superuser, role, "
        "full_name) SELECT a.agent_id, ?, NULLIF(a.email, ''), '', '', ?, ?, ?, 'agent', a.name FROM agent a "
        'WHERE a.batch_id = ? AND a."user" IS NULL '
        "AND NOT EXISTS (SELECT 1 FROM wfm_user u WHERE u.username = a.agent_id "
        "OR (a.email <> '' AND lower(u.email) = lower(a.email)))",
        (UNUSABLE_PASSWORD, True, False, False, batch_id),
    )
    db.run(link, (batch_id,))


def _audit(db: DbApi, now: dt.datetime, actor: str, action: str, target: str, detail: str) -> None:
    db.run(
        "INSERT INTO audit_event (at, actor, action, target, detail, ip) VALUES (?, ?, ?, ?, ?, '')",
        (db.stamp(now), actor, action, target[:200], detail),
    )


def rollback_import(database_url: str, batch_id: int, actor: str, now: dt.datetime) -> RolledBack:
    """Undo batch ``batch_id``: see the module docstring. Raises `ImportRefusedError` with the reason."""
    db = DbApi(database_url)
    try:
        with db.transaction():
            row = db.run("SELECT kind, status, filename FROM import_batch WHERE id = ?", (batch_id,)).fetchone()
            if row is None:
                raise ImportRefusedError(f"there is no import batch {batch_id}")
            kind, status, filename = row
            if status != "applied":
                raise ImportRefusedError(f"batch {batch_id} ({filename}) was already rolled back")
            spec = KINDS[kind]
            table = spec.table
            later = db.one(
                f"SELECT min(replaced_by) FROM {table}_prior WHERE batch_id = ? AND replaced_by > ?",
                (batch_id, batch_id),
            )
            if later is not None:
                raise ImportRefusedError(
                    f"batch {later} later changed rows that batch {batch_id} wrote; roll back batch {later} first"
                )
            removed = db.run(
                # NOT IN runs the subquery once; a correlated NOT EXISTS made SQLite quadratic here.
                f"DELETE FROM {table} WHERE batch_id = ? AND id NOT IN "
                f"(SELECT p.id FROM {table}_prior p WHERE p.replaced_by = ?)",
                (batch_id, batch_id),
            ).rowcount
            copied = _all_columns(spec)
            assignments = ", ".join(f'"{c}" = p."{c}"' for c in copied)
            restored = db.run(
                f"UPDATE {table} SET {assignments} FROM {table}_prior p WHERE p.replaced_by = ? AND {table}.id = p.id",
                (batch_id,),
            ).rowcount
            if kind == "agents":
                _resync_skills(db, batch_id)
            db.run(f"DELETE FROM {table}_prior WHERE replaced_by = ?", (batch_id,))
            db.run(
                "UPDATE import_batch SET status = 'rolled_back', rolled_back_by = ?, rolled_back_at = ? WHERE id = ?",
                (actor, db.stamp(now), batch_id),
            )
            _audit(
                db, now, actor, "import_rollback", f"{kind} batch {batch_id}", f"{restored} restored, {removed} removed"
            )
        return RolledBack(batch_id, restored, removed)
    finally:
        db.close()


def _resync_skills(db: DbApi, batch_id: int) -> None:
    """Skills of the agents a rollback restored, from their restored ``skills`` text."""
    channels = dict(db.run("SELECT name, id FROM channel").fetchall())
    agents = db.run(
        "SELECT a.id, a.skills FROM agent a JOIN agent_prior p ON p.id = a.id WHERE p.replaced_by = ?", (batch_id,)
    ).fetchall()
    for agent, skills in agents:
        db.run("DELETE FROM agent_skill WHERE agent = ?", (agent,))
        for name in {s.strip() for s in skills.split(";") if s.strip() in channels}:
            db.run("INSERT INTO agent_skill (agent, channel) VALUES (?, ?)", (agent, channels[name]))
