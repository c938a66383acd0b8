"""The audit log: sign-ins, role changes, setting changes, imports, publishes and exports."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from wfm.db import write_transaction
from wfm.tables import AuditDaily, AuditEvent

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditRow:
    at: dt.datetime
    actor: str
    action: str
    target: str
    detail: str
    ip: str


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    page: int
    has_next: bool
    action: str
    actions: list[str]


@dataclass(frozen=True)
class DailyCount:
    day: dt.date
    action: str
    events: int


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def record(actor: str, action: str, target: str = "", detail: str = "", ip: str = "") -> None:
    """Append one audit event (a single INSERT; never holds a transaction open)."""
    await AuditEvent.insert(
        AuditEvent(at=utcnow(), actor=actor[:150], action=action[:40], target=target[:200], detail=detail, ip=ip[:64])
    )


async def page(number: int = 1, action: str = "") -> AuditPage:
    """Newest events first, ``PAGE_SIZE`` a page, optionally one action only."""
    number = max(number, 1)
    query = AuditEvent.select().order_by(AuditEvent.id, ascending=False)
    if action:
        query = query.where(AuditEvent.action == action)
    rows = await query.limit(PAGE_SIZE + 1).offset((number - 1) * PAGE_SIZE)
    actions = sorted({r["action"] for r in await AuditEvent.select(AuditEvent.action).distinct()})
    return AuditPage(
        rows=[AuditRow(r["at"], r["actor"], r["action"], r["target"], r["detail"], r["ip"]) for r in rows[:PAGE_SIZE]],
        page=number,
        has_next=len(rows) > PAGE_SIZE,
        action=action,
        actions=actions,
    )


def local_day_bounds(day: dt.date, time_zone: str) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants that start and end ``day`` in ``time_zone`` (23 or 25 hours on DST days)."""
    zone = ZoneInfo(time_zone)
    start = dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)
    return start, end


async def rebuild_day(day: dt.date, time_zone: str) -> int:
    """Recount one site-local day of the audit log into `AuditDaily`; returns the number of actions.

    Idempotent: it upserts the day's counts and removes actions that no longer occur, so a retried
    job leaves the same rows as a single run.
    """
    start, end = local_day_bounds(day, time_zone)
    rows = await AuditEvent.select(AuditEvent.action).where((AuditEvent.at >= start) & (AuditEvent.at < end))
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["action"]] = counts.get(row["action"], 0) + 1
    async with write_transaction(AuditDaily._meta.db):
        await AuditDaily.delete().where((AuditDaily.day == day) & AuditDaily.action.not_in(list(counts) or [""]))
        if counts:
            await AuditDaily.insert(
                *[AuditDaily(day=day, action=action, events=n) for action, n in sorted(counts.items())]
            ).on_conflict(
                target=(AuditDaily.day, AuditDaily.action),
                action="DO UPDATE",
                values=[AuditDaily.events],
            )
    return len(counts)


async def daily_counts(first: dt.date, last: dt.date) -> list[DailyCount]:
    rows = await (
        AuditDaily.select()
        .where((AuditDaily.day >= first) & (AuditDaily.day <= last))
        .order_by(AuditDaily.day)
        .order_by(AuditDaily.action)
    )
    return [DailyCount(r["day"], r["action"], r["events"]) for r in rows]
