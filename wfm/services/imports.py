"""Imports: check a file against the site, write it as one batch, list and roll back batches.

Validation runs in a thread (or a job process) outside any transaction; only `apply_import`'s short
write phase locks the database. Files over `JOB_ROWS` data rows import as a job with progress.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from wfm.db import database_url_of
from wfm.imports.apply import Applied, ImportRefusedError, RolledBack, apply_import, rollback_import
from wfm.imports.parse import parse_file
from wfm.imports.spec import KINDS, ImportContext, Parsed, Problem
from wfm.services import audit
from wfm.services.site import get_site
from wfm.tables import Agent, Channel, ImportBatch, ImportUpload, Team

JOB_ROWS = 10_000
ERRORS_SHOWN = 50
# Who may import what: leads bring their contact history; finance its figures; the rest is admin
# work (an agents file creates accounts and moves people between teams).
KIND_ROLES: dict[str, frozenset[str]] = {
    "history": frozenset({"admin", "lead"}),
    "agents": frozenset({"admin"}),
    "absences": frozenset({"admin"}),
    "availability": frozenset({"admin"}),
    "outcomes": frozenset({"admin"}),
    "finance": frozenset({"admin", "finance"}),
    "overhead": frozenset({"admin", "finance"}),
    "worked_hours": frozenset({"admin"}),
}

__all__ = ["KINDS", "ImportRefusedError"]


@dataclass(frozen=True)
class ImportResult:
    """What the page, the CLI and the API report about one file."""

    kind: str
    filename: str
    rows: int
    errors: tuple[str, ...]
    error_count: int
    warnings: tuple[str, ...]
    batch_id: int = 0
    changed: int = 0

    @property
    def ok(self) -> bool:
        return self.error_count == 0


@dataclass(frozen=True)
class BatchView:
    id: int
    kind: str
    filename: str
    sha256: str
    rows: int
    changed: int
    created_by: str
    created_at: dt.datetime
    status: str
    rolled_back_by: str


def _database_url() -> str:
    return database_url_of(ImportBatch._meta.db)


def kinds_for(role: str) -> list[str]:
    return [kind for kind, roles in KIND_ROLES.items() if role in roles]


async def check_rollback_allowed(batch_id: int, role: str, username: str) -> None:
    """Admins roll back any batch; others only their own, of a kind they may import.

    Raises LookupError when there is no such batch, PermissionError when it is not theirs to undo.
    """
    row = await ImportBatch.select(ImportBatch.kind, ImportBatch.created_by).where(ImportBatch.id == batch_id).first()
    if row is None:
        raise LookupError(batch_id)
    if role != "admin" and (row["created_by"] != username or row["kind"] not in kinds_for(role)):
        raise PermissionError("Only an admin or the person who imported a batch can roll it back.")


async def context() -> ImportContext:
    site = await get_site()
    channels = await Channel.select(Channel.id, Channel.name)
    teams = await Team.select(Team.id, Team.name)
    agents = await Agent.select(Agent.agent_id)
    return ImportContext(
        time_zone=site.time_zone,
        interval_minutes=site.interval_minutes,
        channels={r["name"]: r["id"] for r in channels},
        teams={r["name"]: r["id"] for r in teams},
        agent_ids=frozenset(r["agent_id"] for r in agents),
    )


def data_rows(data: bytes) -> int:
    """Lines after the header: cheap, to decide between importing now and as a job."""
    return max(data.count(b"\n") - (0 if data.endswith(b"\n") else -1) - 1, 0)


def _result(parsed: Parsed, filename: str, applied: Applied | None = None) -> ImportResult:
    shown = tuple(str(p) for p in parsed.errors if p.reason and not p.reason.startswith("... and "))
    more = next((p for p in parsed.errors if p.reason.startswith("... and ")), None)
    count = len(shown) + (int(more.reason.split()[2]) if more else 0)
    return ImportResult(
        kind=parsed.kind,
        filename=filename,
        rows=parsed.rows,
        errors=shown[:ERRORS_SHOWN],
        error_count=count,
        warnings=parsed.warnings + tuple(f"new team created: {name}" for name in parsed.new_teams),
        batch_id=applied.batch_id if applied else 0,
        changed=applied.changed if applied else 0,
    )


async def import_file(kind: str, data: bytes, filename: str, actor: str, upload_id: int = 0) -> ImportResult:
    """Validate ``data`` as ``kind`` and, when it has no errors, write it as one batch."""
    if kind not in KINDS:
        problem = Problem(None, "", f"unknown import kind {kind!r}; one of {', '.join(KINDS)}")
        return _result(Parsed(kind, 0, None, (problem,), ()), filename)  # type: ignore[arg-type]
    parsed = await asyncio.to_thread(parse_file, kind, data, await context())
    if not parsed.ok:
        return _result(parsed, filename)
    sha256 = hashlib.sha256(data).hexdigest()
    applied = await asyncio.to_thread(
        apply_import, _database_url(), parsed, filename, sha256, actor, audit.utcnow(), upload_id
    )
    return _result(parsed, filename, applied)


async def rollback(batch_id: int, actor: str) -> RolledBack:
    """Undo one batch; raises `ImportRefusedError` with the reason when it cannot."""
    return await asyncio.to_thread(rollback_import, _database_url(), batch_id, actor, audit.utcnow())


async def batches(limit: int = 50, created_by: str | None = None) -> list[BatchView]:
    """The latest batches, newest first; only one person's when ``created_by`` is given."""
    query = ImportBatch.select().order_by(ImportBatch.id, ascending=False).limit(limit)
    if created_by is not None:
        query = query.where(ImportBatch.created_by == created_by)
    rows = await query
    return [
        BatchView(
            id=r["id"],
            kind=r["kind"],
            filename=r["filename"],
            sha256=r["sha256"],
            rows=r["rows"],
            changed=r["changed"],
            created_by=r["created_by"],
            created_at=r["created_at"],
            status=r["status"],
            rolled_back_by=r["rolled_back_by"],
        )
        for r in rows
    ]


async def save_upload(kind: str, data: bytes, filename: str, actor: str) -> int:
    """Keep a large file in the database, where a worker on any host can read it."""
    rows = await ImportUpload.insert(
        ImportUpload(
            kind=kind,
            filename=filename[:255],
            content=data.decode("utf-8-sig", errors="replace"),
            created_by=actor,
            created_at=audit.utcnow(),
        )
    ).returning(ImportUpload.id)
    return int(rows[0]["id"])


async def import_upload(upload_id: int) -> ImportResult:
    """The job's work: import a saved upload once (a retry after a crash finds its batch and stops)."""
    row = await ImportUpload.select().where(ImportUpload.id == upload_id).first()
    if row is None:
        raise ValueError(f"upload {upload_id} is gone")
    if row["batch_id"] and row["result"]:
        return _stored_result(row["result"])
    if row["batch_id"]:
        # The worker died after the write committed and before it stored the outcome: rebuild it.
        batch = await ImportBatch.select().where(ImportBatch.id == row["batch_id"]).first()
        assert batch is not None
        result = ImportResult(
            kind=batch["kind"],
            filename=batch["filename"],
            rows=batch["rows"],
            errors=(),
            error_count=0,
            warnings=tuple(w for w in batch["warnings"].split("\n") if w),
            batch_id=batch["id"],
            changed=batch["changed"],
        )
        await _store_result(upload_id, result)
        return result
    result = await import_file(row["kind"], row["content"].encode(), row["filename"], row["created_by"], upload_id)
    await _store_result(upload_id, result)
    return result


async def _store_result(upload_id: int, result: ImportResult) -> None:
    """Keep the outcome for the page; the content is no longer needed once the file is in (or refused)."""
    payload = json.dumps({**result.__dict__, "errors": list(result.errors), "warnings": list(result.warnings)})
    await ImportUpload.update({ImportUpload.result: payload, ImportUpload.content: ""}).where(
        ImportUpload.id == upload_id
    )


def _stored_result(payload: str) -> ImportResult:
    stored = json.loads(payload)
    return ImportResult(**{**stored, "errors": tuple(stored["errors"]), "warnings": tuple(stored["warnings"])})


async def upload_result(upload_id: int, created_by: str | None = None) -> ImportResult | None:
    """The stored outcome of a job import (None while it runs, or when it is not ``created_by``'s)."""
    query = ImportUpload.select(ImportUpload.result).where(ImportUpload.id == upload_id)
    if created_by is not None:
        query = query.where(ImportUpload.created_by == created_by)
    row = await query.first()
    if row is None or not row["result"]:
        return None
    return _stored_result(row["result"])
