"""Time-off requests: agents ask, leads decide with the team's limit and the coverage impact in view.

An approved request becomes an approved `Absence`, which the engine and the rules treat as hard; shifts
already in a schedule during it show as a broken rule on the week page until the lead changes them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from wfm.scheduling.scoring import coverage
from wfm.services import audit, schedule_week, schedules
from wfm.services.site import get_site
from wfm.tables import Absence, Team, TimeOffRequest
from wfm.tables import Agent as AgentRow

MAX_DAYS = 60
KINDS = ("vacation", "other")


class TimeOffError(ValueError):
    """A request that cannot be made or decided, with the reason."""


@dataclass(frozen=True)
class RequestView:
    id: int
    agent_id: str
    agent_name: str
    team_id: int | None
    first_day: dt.date
    last_day: dt.date
    kind: str
    note: str
    status: str
    decided_by: str
    decision_note: str


@dataclass(frozen=True)
class Impact:
    """What approving a request does: the most of the team off on one of its days (with it) against the
    limit, and the scheduled hours it takes out with the under-coverage before and after."""

    most_off: int
    limit: int
    scheduled_hours: float
    short_before: float
    short_after: float
    scheduled: bool  # whether any current schedule covers these days


async def _zone() -> ZoneInfo:
    return ZoneInfo((await get_site()).time_zone)


async def request(agent_id: str, first: dt.date, last: dt.date, kind: str, note: str, today: dt.date) -> int:
    """An agent asks for whole days ``first``..``last`` (site-local, inclusive)."""
    if kind not in KINDS:
        raise TimeOffError(f"kind must be one of {', '.join(KINDS)}")
    if last < first:
        raise TimeOffError("the last day is before the first")
    if first < today:
        raise TimeOffError("the first day has passed")
    if (last - first).days + 1 > MAX_DAYS:
        raise TimeOffError(f"ask for at most {MAX_DAYS} days at a time")
    zone = await _zone()
    start, end = schedules.midnight_utc(first, zone), schedules.midnight_utc(last + dt.timedelta(days=1), zone)
    overlapping = await TimeOffRequest.select(TimeOffRequest.id).where(
        (TimeOffRequest.agent_id == agent_id)
        & TimeOffRequest.status.is_in(["pending", "approved"])
        & (TimeOffRequest.start_at < end)
        & (TimeOffRequest.end_at > start)
    )
    absent = await Absence.select(Absence.id).where(
        (Absence.agent_id == agent_id) & (Absence.start_at < end) & (Absence.end_at > start)
    )
    if overlapping or absent:
        raise TimeOffError("you already asked for, or have, time off on some of these days")
    made = await TimeOffRequest.insert(
        TimeOffRequest(
            agent_id=agent_id, start_at=start, end_at=end, kind=kind, note=note[:200], status="pending",
            created_at=dt.datetime.now(dt.UTC),
        )
    ).returning(TimeOffRequest.id)  # fmt: skip
    await audit.record(agent_id, "time-off request", agent_id, f"{first}..{last}")
    return int(made[0]["id"])


async def listing(
    agent_ids: list[str] | None = None, team_ids: list[int] | None = None, statuses: tuple[str, ...] = ()
) -> list[RequestView]:
    zone = await _zone()
    agents = await AgentRow.select(AgentRow.agent_id, AgentRow.name, AgentRow.team)
    info = {a["agent_id"]: (a["name"], a["team"]) for a in agents}
    query = TimeOffRequest.select()
    if agent_ids is not None:
        query = query.where(TimeOffRequest.agent_id.is_in(agent_ids or [""]))
    if team_ids is not None:
        query = query.where(
            TimeOffRequest.agent_id.is_in([a for a, (_, t) in info.items() if t in set(team_ids)] or [""])
        )
    if statuses:
        query = query.where(TimeOffRequest.status.is_in(list(statuses)))
    rows = await query.order_by(TimeOffRequest.start_at).limit(500)
    return [
        RequestView(
            int(r["id"]), r["agent_id"], info.get(r["agent_id"], (r["agent_id"], None))[0],
            info.get(r["agent_id"], ("", None))[1], r["start_at"].astimezone(zone).date(),
            (r["end_at"].astimezone(zone) - dt.timedelta(seconds=1)).date(), r["kind"], r["note"], r["status"],
            r["decided_by"], r["decision_note"],
        )
        for r in rows
    ]  # fmt: skip


async def get(request_id: int) -> RequestView | None:
    rows = [r for r in await listing() if r.id == request_id]
    return rows[0] if rows else None


async def impact(view: RequestView) -> Impact:
    zone = await _zone()
    team_row = await Team.select(Team.max_off_at_once).where(Team.id == (view.team_id or -1)).first()
    limit = int(team_row["max_off_at_once"]) if team_row else 0
    team_agents = [
        r["agent_id"] for r in await AgentRow.select(AgentRow.agent_id).where(AgentRow.team == (view.team_id or -1))
    ]
    most = 0
    day = view.first_day
    while day <= view.last_day:
        start, end = schedules.midnight_utc(day, zone), schedules.midnight_utc(day + dt.timedelta(days=1), zone)
        off = await Absence.select(Absence.agent_id).where(
            Absence.agent_id.is_in([a for a in team_agents if a != view.agent_id] or [""])
            & (Absence.approved == True)  # noqa: E712
            & (Absence.start_at < end)
            & (Absence.end_at > start)
        )
        most = max(most, len({r["agent_id"] for r in off}) + 1)
        day += dt.timedelta(days=1)
    hours, before, after, any_schedule = 0.0, 0.0, 0.0, False
    window = (
        schedules.midnight_utc(view.first_day, zone),
        schedules.midnight_utc(view.last_day + dt.timedelta(days=1), zone),
    )
    monday = view.first_day - dt.timedelta(days=view.first_day.weekday())
    while view.team_id is not None and monday <= view.last_day:
        current = await schedules.listing([view.team_id], monday)
        if current:
            any_schedule = True
            result = await _week_impact(current[0].id, view, monday, window)
            hours, before, after = hours + result[0], before + result[1], after + result[2]
        monday += dt.timedelta(days=7)
    return Impact(most, limit, round(hours, 2), round(before, 2), round(after, 2), any_schedule)


async def _week_impact(
    schedule_id: int, view: RequestView, monday: dt.date, window: tuple[dt.datetime, dt.datetime]
) -> tuple[float, float, float]:
    """(the agent's scheduled work hours in the window, under-coverage there with them, without them)."""
    try:
        source = await schedules.inputs([view.team_id or -1], monday)
    except schedules.ScheduleError:
        return 0.0, 0.0, 0.0
    p = source.problem
    acts = await schedules.activities([schedule_id])
    agents = {a.agent_id: a for a in p.agents}
    week_start = dt.datetime.combine(monday, dt.time(), tzinfo=p.zone).astimezone(dt.UTC)
    step = 15
    intervals = 7 * 24 * 60 // step + 8
    inside = np.array([window[0] <= week_start + dt.timedelta(minutes=i * step) < window[1] for i in range(intervals)])
    mine = [a for a in acts if a.agent_id == view.agent_id and window[0] <= a.start < window[1]]
    rest = [a for a in acts if a not in set(mine)]
    need = schedule_week.needs(p.requirements, week_start, intervals, step)
    with_them = coverage(acts, agents, week_start, intervals, step)
    without = coverage(rest, agents, week_start, intervals, step)

    def short(have: dict[str, np.ndarray]) -> float:
        total = 0.0
        for channel, required in need.items():
            got = have.get(channel, np.zeros(intervals))
            total += float((np.maximum(required - got, 0) * inside).sum()) * step / 60
        return total

    hours = sum(a.minutes for a in mine if a.activity == "work") / 60
    return hours, short(with_them), short(without)


async def decide(request_id: int, approve: bool, actor: str, note: str = "") -> None:
    """Approve (within the team's limit: an approved absence is added) or decline a pending request."""
    view = await get(request_id)
    if view is None:
        raise TimeOffError("no such request")
    if view.status != "pending":
        raise TimeOffError(f"the request is already {view.status}")
    if approve:
        effect = await impact(view)
        if effect.most_off > effect.limit:
            raise TimeOffError(
                f"{effect.most_off} of the team would be off on one of these days; the limit is {effect.limit}"
            )
    zone = await _zone()
    now = dt.datetime.now(dt.UTC)
    async with TimeOffRequest._meta.db.transaction():
        await TimeOffRequest.update(
            {
                TimeOffRequest.status: "approved" if approve else "declined",
                TimeOffRequest.decided_by: actor,
                TimeOffRequest.decided_at: now,
                TimeOffRequest.decision_note: note[:200],
            }
        ).where((TimeOffRequest.id == request_id) & (TimeOffRequest.status == "pending"))
        if approve:
            await Absence.insert(
                Absence(
                    agent_id=view.agent_id,
                    start_at=schedules.midnight_utc(view.first_day, zone),
                    end_at=schedules.midnight_utc(view.last_day + dt.timedelta(days=1), zone),
                    kind=view.kind,
                    approved=True,
                )
            )
    await audit.record(
        actor, "time-off " + ("approve" if approve else "decline"), view.agent_id, f"request {request_id}"
    )


async def cancel(request_id: int, agent_id: str) -> None:
    """The agent withdraws a pending request of their own."""
    view = await get(request_id)
    if view is None or view.agent_id != agent_id:
        raise TimeOffError("no such request of yours")
    if view.status != "pending":
        raise TimeOffError(f"the request is already {view.status}")
    await TimeOffRequest.update({TimeOffRequest.status: "cancelled"}).where(TimeOffRequest.id == request_id)


async def set_limit(team_id: int, limit: int, actor: str) -> None:
    if not 0 <= limit <= 100:
        raise TimeOffError("the limit must be 0-100")
    await Team.update({Team.max_off_at_once: limit}).where(Team.id == team_id)
    await audit.record(actor, "time-off limit", f"team {team_id}", str(limit))


async def limits(team_ids: list[int]) -> dict[int, int]:
    rows = await Team.select(Team.id, Team.max_off_at_once).where(Team.id.is_in(team_ids or [-1]))
    return {int(r["id"]): int(r["max_off_at_once"]) for r in rows}
