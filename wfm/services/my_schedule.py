"""An agent's own published shifts: My schedule (this and the coming weeks, changes since last seen), the
.ics download and the private calendar subscription link."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from wfm.scheduling.ics import calendar
from wfm.scheduling.model import Activity, Shift
from wfm.scheduling.rules import shifts_of
from wfm.services import accounts, schedules
from wfm.services.site import get_site
from wfm.tables import CalendarToken, Schedule, ScheduleSeen

WEEKS_AHEAD = 4
ICS_WEEKS_BACK = 4
ICS_WEEKS_AHEAD = 12


@dataclass(frozen=True)
class MyDay:
    day: dt.date
    text: str  # "08:00-16:30 voice" or "off"
    detail: str  # breaks and lunch
    changed: bool


@dataclass(frozen=True)
class MyWeek:
    monday: dt.date
    published: bool
    days: tuple[MyDay, ...]
    paid_hours: float
    changes: int


async def _published(agent_id: str, mondays: list[dt.date]) -> dict[dt.date, tuple[int, list[Activity]]]:
    """Per week, the published schedule that holds the agent's rows, and those rows."""
    published = await Schedule.select(Schedule.id, Schedule.week_start).where(
        (Schedule.status == "published") & Schedule.week_start.is_in(mondays)
    )
    out: dict[dt.date, tuple[int, list[Activity]]] = {}
    for s in published:
        rows = await schedules.activities([s["id"]], agent_id)
        if rows:
            out[s["week_start"]] = (int(s["id"]), rows)
    return out


def _day_shift(shifts: list[Shift], day: dt.date, zone: ZoneInfo) -> Shift | None:
    return next((s for s in shifts if s.start.astimezone(zone).date() == day), None)


async def weeks(agent_id: str, today: dt.date, mark_seen: bool = True) -> tuple[MyWeek, ...]:
    """This week and the coming ones as published, each day marked when it differs from what the agent saw
    last; looking marks them seen."""
    zone = ZoneInfo((await get_site()).time_zone)
    first = today - dt.timedelta(days=today.weekday())
    mondays = [first + dt.timedelta(weeks=w) for w in range(WEEKS_AHEAD)]
    published = await _published(agent_id, mondays)
    seen = {
        r["week_start"]: int(r["schedule_id"])
        for r in await ScheduleSeen.select().where(
            (ScheduleSeen.agent_id == agent_id) & ScheduleSeen.week_start.is_in(mondays)
        )
    }
    out = []
    for monday in mondays:
        schedule_id, rows = published.get(monday, (0, []))
        now = shifts_of(rows).get(agent_id, [])
        before_id = seen.get(monday)
        before = (
            shifts_of(await schedules.activities([before_id], agent_id)).get(agent_id, [])
            if before_id and before_id != schedule_id
            else now
        )
        days = []
        for d in range(7):
            day = monday + dt.timedelta(days=d)
            shift = _day_shift(now, day, zone)
            old = _day_shift(before, day, zone)
            changed = (shift.activities if shift else None) != (old.activities if old else None)
            if shift is None:
                days.append(MyDay(day, "off", "", changed))
                continue
            channels = sorted({a.channel or "any" for a in shift.activities if a.activity == "work"})
            rests = [f"{a.activity} {a.start.astimezone(zone):%H:%M}" for a in shift.activities if a.activity != "work"]
            text = f"{shift.start.astimezone(zone):%H:%M}-{shift.end.astimezone(zone):%H:%M} {'/'.join(channels)}"
            days.append(MyDay(day, text, ", ".join(rests), changed))
        paid = sum(s.paid_minutes for s in now) / 60
        out.append(MyWeek(monday, bool(schedule_id), tuple(days), round(paid, 2), sum(d.changed for d in days)))
        if mark_seen and schedule_id and before_id != schedule_id:
            await _mark_seen(agent_id, monday, schedule_id)
    return tuple(out)


async def _mark_seen(agent_id: str, monday: dt.date, schedule_id: int) -> None:
    existing = await ScheduleSeen.select(ScheduleSeen.id).where(
        (ScheduleSeen.agent_id == agent_id) & (ScheduleSeen.week_start == monday)
    )
    if existing:
        await ScheduleSeen.update({ScheduleSeen.schedule_id: schedule_id}).where(ScheduleSeen.id == existing[0]["id"])
    else:
        await ScheduleSeen.insert(ScheduleSeen(agent_id=agent_id, week_start=monday, schedule_id=schedule_id))


async def ics(agent_id: str, today: dt.date) -> str:
    """The agent's published shifts from 4 weeks back to 12 ahead as an iCalendar file."""
    site = await get_site()
    zone = ZoneInfo(site.time_zone)
    first = today - dt.timedelta(days=today.weekday())
    mondays = [first + dt.timedelta(weeks=w) for w in range(-ICS_WEEKS_BACK, ICS_WEEKS_AHEAD)]
    rows = [a for _, acts in (await _published(agent_id, mondays)).values() for a in acts]
    shifts = shifts_of(rows).get(agent_id, [])
    return calendar(shifts, f"{site.name}: my shifts", zone, dt.datetime.now(dt.UTC))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def new_calendar_link(user_id: int) -> str:
    """A new private token for the user's calendar (any earlier link stops working); shown once."""
    token = secrets.token_urlsafe(32)
    await CalendarToken.delete().where(CalendarToken.user == user_id)
    await CalendarToken.insert(CalendarToken(user=user_id, token_hash=_hash(token), created_at=dt.datetime.now(dt.UTC)))
    return token


async def has_calendar_link(user_id: int) -> bool:
    return bool(await CalendarToken.select(CalendarToken.id).where(CalendarToken.user == user_id))


async def agent_for_token(token: str) -> str | None:
    """The roster id the link serves, while its user is active and on the roster; else None."""
    row = await CalendarToken.select(CalendarToken.user).where(CalendarToken.token_hash == _hash(token)).first()
    if row is None:
        return None
    user = await accounts.current_user(int(row["user"]))
    return user.agent_id if user is not None and user.agent_id else None
