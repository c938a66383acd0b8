"""Hand edits of a schedule: set an agent-day's shift (move, lengthen, shorten, change channel), give a day
off, swap two agents' days, copy last week. Each edit is checked on the spot against every rule and
answers with the violations it brings; a published schedule is never edited in place: the first edit makes
a draft copy, so what agents see changes only when the lead publishes again."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from wfm.db import database_url_of
from wfm.dbapi import DbApi
from wfm.scheduling.model import Activity
from wfm.scheduling.rules import check_all, shifts_of
from wfm.scheduling.shifts import with_breaks
from wfm.services import audit, schedules
from wfm.services.site import get_site
from wfm.tables import Schedule


class EditError(ValueError):
    """An edit that cannot be made at all (unknown agent or day, end before start)."""


@dataclass(frozen=True)
class EditResult:
    schedule_id: int
    new_violations: tuple[str, ...]  # brought by this edit, in words
    all_violations: int


def _describe(v: object) -> str:
    rule, agent, minutes, detail = (getattr(v, k) for k in ("rule", "agent_id", "minutes", "detail"))
    return f"{rule}: {agent}, {detail} ({minutes:g} min)"


def _save(database_url: str, schedule_id: int, agent_ids: Sequence[str], rows: Sequence[Activity]) -> None:
    """Replace these agents' rows of the schedule, in one transaction."""
    db = DbApi(database_url)
    try:
        with db.transaction():
            for agent_id in agent_ids:
                db.run("DELETE FROM schedule_activity WHERE schedule = ? AND agent_id = ?", (schedule_id, agent_id))
            changed = [a for a in rows if a.agent_id in set(agent_ids)]
            db.load("schedule_activity", schedules.ACTIVITY_COLUMNS, schedules.activity_rows(db, schedule_id, changed))
    finally:
        db.close()


async def draft_of(schedule_id: int, actor: str) -> int:
    """The schedule itself when it is a draft, else a new draft copy of it."""
    found = await schedules.get(schedule_id)
    if found is None:
        raise EditError("no such schedule")
    if found.status == "draft":
        return schedule_id
    report = found.report | {"copied_from": schedule_id, "note": f"edited from #{schedule_id}"}
    rows = tuple(await schedules.activities([schedule_id]))
    version = schedules.NewVersion(found.team_id, found.week_start, rows, report)
    return (await schedules.save([version], actor))[0]


async def _violations(schedule_id: int, rows: Sequence[Activity]) -> list[object]:
    found = await schedules.get(schedule_id)
    assert found is not None
    source = await schedules.inputs([found.team_id], found.week_start)
    p = source.problem
    agents = {a.agent_id: a for a in p.agents}
    week_start = dt.datetime.combine(found.week_start, dt.time(), tzinfo=p.zone)
    return list(check_all(rows, agents, p.rules, p.zone, week_start, p.time_off, p.windows, p.previous))


async def _apply(
    schedule_id: int,
    actor: str,
    agent_ids: Sequence[str],
    change: Callable[[list[Activity]], list[Activity]],
    what: str,
    save: bool = True,
) -> EditResult:
    """Apply ``change`` (rows -> rows) to a draft of the schedule, store it, and report new violations;
    with ``save`` false only report them (nothing is copied or written)."""
    before = await schedules.activities([schedule_id])
    after = change(before)
    old = {_describe(v) for v in await _violations(schedule_id, before)}
    now = [_describe(v) for v in await _violations(schedule_id, after)]
    new = tuple(v for v in now if v not in old)
    if not save:
        return EditResult(schedule_id, new, len(now))
    draft = await draft_of(schedule_id, actor)
    await asyncio.to_thread(_save, database_url_of(Schedule._meta.db), draft, list(agent_ids), after)
    await audit.record(actor, "schedule edit", f"schedule {draft}", what)
    return EditResult(draft, new, len(now))


async def set_shift(
    schedule_id: int, agent_id: str, day: dt.date, start: str, end: str, channel: str, actor: str
) -> EditResult:
    """The agent works ``start``-``end`` (site wall clock, ``HH:MM``; an end before the start runs past
    midnight) on ``day``, on ``channel`` ('' = any of the agent's skills); breaks and lunch are placed by the
    rules. Replaces the agent's shift of that day."""
    zone = ZoneInfo((await get_site()).time_zone)
    found = await schedules.get(schedule_id)
    if found is None:
        raise EditError("no such schedule")
    source = await schedules.inputs([found.team_id], found.week_start)
    if agent_id not in {a.agent_id for a in source.problem.agents}:
        raise EditError(f"{agent_id} is not in this team this week")
    if not 0 <= (day - found.week_start).days < 7:
        raise EditError(f"{day} is not in the week of {found.week_start}")
    begin = _at(day, start, zone)
    finish = _at(day, end, zone)
    if finish <= begin:
        finish = _at(day + dt.timedelta(days=1), end, zone)
    minutes = round((finish.astimezone(dt.UTC) - begin.astimezone(dt.UTC)).total_seconds() / 60)
    shift = with_breaks(agent_id, begin, minutes, source.problem.rules, channel=channel or None)

    def change(rows: list[Activity]) -> list[Activity]:
        return [*_without_day(rows, agent_id, day, zone), *shift]

    return await _apply(schedule_id, actor, [agent_id], change, f"{agent_id} {day} {start}-{end} {channel}")


async def day_off(schedule_id: int, agent_id: str, day: dt.date, actor: str) -> EditResult:
    zone = ZoneInfo((await get_site()).time_zone)

    def change(rows: list[Activity]) -> list[Activity]:
        return _without_day(rows, agent_id, day, zone)

    return await _apply(schedule_id, actor, [agent_id], change, f"{agent_id} off on {day}")


async def swap(schedule_id: int, first: str, second: str, day: dt.date, actor: str, save: bool = True) -> EditResult:
    """Exchange two agents' shifts (or a shift and a day off) on ``day``."""
    if first == second:
        raise EditError("choose two different agents")
    zone = ZoneInfo((await get_site()).time_zone)

    def change(rows: list[Activity]) -> list[Activity]:
        mine = _on_day(rows, first, day, zone)
        theirs = _on_day(rows, second, day, zone)
        kept = [a for a in rows if a not in set(mine) | set(theirs)]
        moved = [_as(a, second) for a in mine] + [_as(a, first) for a in theirs]
        return kept + moved

    return await _apply(schedule_id, actor, [first, second], change, f"swap {first} and {second} on {day}", save)


async def copy_week(team_id: int, monday: dt.date, actor: str) -> int:
    """A draft of ``monday``'s week holding the previous week's current schedule, moved on by 7 days on the
    wall clock (so 08:00 stays 08:00 across a DST change); agents no longer in the team are left out."""
    previous = await schedules.listing([team_id], monday - dt.timedelta(days=7))
    if not previous:
        raise EditError("the week before has no schedule to copy")
    return await copy_schedule(previous[0].id, team_id, monday, actor)


async def copy_schedule(source_id: int, team_id: int, monday: dt.date, actor: str, status: str = "draft") -> int:
    """A new version of ``monday``'s week for the team holding schedule ``source_id``'s rows moved by whole
    weeks on the wall clock, for the agents on the team's roster that week."""
    source = await schedules.get(source_id)
    if source is None:
        raise EditError("no such schedule")
    weeks = (monday - source.week_start).days // 7
    zone = ZoneInfo((await get_site()).time_zone)
    members = {a.agent_id for a, _ in await schedules.members([team_id], monday)}
    rows = [
        Activity(a.agent_id, _plus_weeks(a.start, zone, weeks), _plus_weeks(a.end, zone, weeks), a.activity, a.channel)
        for a in await schedules.activities([source_id])
        if a.agent_id in members
    ]

    report = {"copied_from": source_id, "note": f"copied from #{source_id}"}
    version = schedules.NewVersion(team_id, monday, tuple(rows), report, status)
    new_id = (await schedules.save([version], actor))[0]
    await audit.record(actor, "schedule copy", f"team {team_id}", f"week {monday} from #{source_id}")
    return new_id


def _at(day: dt.date, hhmm: str, zone: ZoneInfo) -> dt.datetime:
    try:
        hour, minute = (int(x) for x in hhmm.split(":"))
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)
    except ValueError:
        raise EditError(f"{hhmm!r} is not a time HH:MM") from None


def _plus_weeks(moment: dt.datetime, zone: ZoneInfo, weeks: int) -> dt.datetime:
    local = moment.astimezone(zone)
    return dt.datetime.combine(local.date() + dt.timedelta(weeks=weeks), local.time(), tzinfo=zone)


def _on_day(rows: Sequence[Activity], agent_id: str, day: dt.date, zone: ZoneInfo) -> list[Activity]:
    """The agent's activities of the shift that starts on ``day`` (site-local)."""
    for shift in shifts_of([a for a in rows if a.agent_id == agent_id]).get(agent_id, []):
        if shift.start.astimezone(zone).date() == day:
            return list(shift.activities)
    return []


def _without_day(rows: Sequence[Activity], agent_id: str, day: dt.date, zone: ZoneInfo) -> list[Activity]:
    gone = set(_on_day(rows, agent_id, day, zone))
    return [a for a in rows if a not in gone]


def _as(a: Activity, agent_id: str) -> Activity:
    return Activity(agent_id, a.start, a.end, a.activity, a.channel)


async def acknowledge(schedule_id: int, reason: str, actor: str) -> None:
    """Record that the lead publishes despite the rules broken, with a reason (kept in the report)."""
    found = await schedules.get(schedule_id)
    if found is None:
        raise EditError("no such schedule")
    report = dict(found.report)
    report["acknowledged"] = {"by": actor, "reason": reason, "at": dt.datetime.now(dt.UTC).isoformat()}
    await Schedule.update({Schedule.report: json.dumps(report)}).where(Schedule.id == schedule_id)
