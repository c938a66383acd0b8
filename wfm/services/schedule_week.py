"""The lead's week page: a team's schedule as agents x days, its coverage against the latest requirements,
projected service level, paid hours and cost, rule status, where the requirements came from, versions and
publishing."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from wfm import charts, staffing
from wfm.db import json_object
from wfm.scheduling.engine import Requirement
from wfm.scheduling.model import Activity
from wfm.scheduling.rules import check_all, shifts_of
from wfm.scheduling.scoring import coverage, paid_cost
from wfm.services import audit, schedules
from wfm.services.site import get_site
from wfm.tables import Agent as AgentRow
from wfm.tables import RequirementInterval, RequirementSet, Schedule


@dataclass(frozen=True)
class DayCell:
    """One agent-day: the shift's times and channel, its breaks and lunch, or why there is none."""

    text: str
    detail: str
    kind: str  # work, off, absent
    changed: bool = False  # differs from the last publish


@dataclass(frozen=True)
class AgentWeek:
    agent_id: str
    name: str
    cells: tuple[DayCell, ...]
    paid_hours: float


@dataclass(frozen=True)
class ChannelWeek:
    """A channel's week for the whole centre: required and scheduled agent-hours (every team's current
    schedule), under-coverage and projected service level, and this team's part."""

    channel: str
    required_hours: float
    scheduled_hours: float
    under_hours: float
    service_level: float | None
    chart_svg: str
    team_hours: float  # of the scheduled agent-hours, this team's


@dataclass(frozen=True)
class WeekPage:
    teams: tuple[tuple[int, str], ...]
    team_id: int | None
    monday: dt.date
    days: tuple[dt.date, ...]
    schedule: schedules.ScheduleView | None
    versions: tuple[schedules.ScheduleView, ...]
    rows: tuple[AgentWeek, ...]
    channels: tuple[ChannelWeek, ...]
    paid_hours: float
    labour_cost: float
    violations: tuple[str, ...]
    sources: tuple[str, ...]
    problem: str  # why the week cannot be scheduled or compared, '' when it can
    baseline: schedules.ScheduleView | None = None  # the publish that changes are highlighted against
    agents: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (agent_id, name, skills) for the edit form


def next_monday(today: dt.date) -> dt.date:
    return today + dt.timedelta(days=7 - today.weekday())


def _cell(shift_acts: list[Activity], zone: ZoneInfo) -> DayCell:
    first, last = shift_acts[0].start.astimezone(zone), shift_acts[-1].end.astimezone(zone)
    channels = sorted({a.channel or "any" for a in shift_acts if a.activity == "work"})
    rests = [f"{a.activity} {a.start.astimezone(zone):%H:%M}" for a in shift_acts if a.activity != "work"]
    return DayCell(f"{first:%H:%M}-{last:%H:%M} {'/'.join(channels)}", ", ".join(rests), "work")


async def page(
    team_id: int | None, monday: dt.date, readable: list[tuple[int, str]], schedule_id: int | None = None
) -> WeekPage:
    """The week of a team: its current version (the latest), or the version ``schedule_id``."""
    site = await get_site()
    zone = ZoneInfo(site.time_zone)
    days = tuple(monday + dt.timedelta(days=d) for d in range(7))
    empty = WeekPage(tuple(readable), team_id, monday, days, None, (), (), (), 0.0, 0.0, (), (), "")
    if team_id is None:
        return empty
    versions = tuple(await schedules.listing([team_id], monday))
    current = next((v for v in versions if v.id == schedule_id), None) if schedule_id else None
    current = current or (versions[0] if versions else None)
    try:
        source = await schedules.inputs([team_id], monday)
    except schedules.ScheduleError as error:
        return dataclasses.replace(empty, versions=versions, schedule=current, problem=str(error))
    problem = source.problem
    agents = {a.agent_id: a for a in problem.agents}
    names = {
        r["agent_id"]: r["name"]
        for r in await AgentRow.select(AgentRow.agent_id, AgentRow.name).where(AgentRow.agent_id.is_in(list(agents)))
    }
    acts = await schedules.activities([current.id]) if current else []
    by_agent = shifts_of(acts)
    baseline = next(
        (v for v in versions if v.status in ("published", "superseded") and current and v.id != current.id), None
    )
    if current and current.status == "published":
        baseline = next((v for v in versions if v.status == "superseded" and v.id < current.id), None)
    before = shifts_of(await schedules.activities([baseline.id])) if baseline else {}
    rows = []
    for agent_id in sorted(agents, key=lambda a: names.get(a, a)):
        cells = []
        for day in days:
            shift = next((s for s in by_agent.get(agent_id, []) if s.start.astimezone(zone).date() == day), None)
            midnight = dt.datetime.combine(day, dt.time(), tzinfo=zone)
            away = [
                t
                for t in problem.time_off
                if t.agent_id == agent_id and t.start < midnight + dt.timedelta(days=1) and t.end > midnight
            ]
            earlier = next((b for b in before.get(agent_id, []) if b.start.astimezone(zone).date() == day), None)
            changed = baseline is not None and (shift.activities if shift else None) != (
                earlier.activities if earlier else None
            )
            if shift is not None:
                cells.append(dataclasses.replace(_cell(list(shift.activities), zone), changed=changed))
            elif away:
                cells.append(DayCell(away[0].kind.replace("_", " "), "approved time off", "absent", changed))
            else:
                cells.append(DayCell("off", "", "off", changed))
        paid = sum(s.paid_minutes for s in by_agent.get(agent_id, [])) / 60
        rows.append(AgentWeek(agent_id, names.get(agent_id, agent_id), tuple(cells), round(paid, 2)))
    week_start = dt.datetime.combine(monday, dt.time(), tzinfo=zone)
    step = 15
    week_end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(), tzinfo=zone)
    intervals = int((week_end.astimezone(dt.UTC) - week_start.astimezone(dt.UTC)).total_seconds() // 60 // step)
    # The centre's view: each channel's whole requirement against every team's current schedule of the
    # week, with this version standing for this team.
    everyone = source.other_agents | agents
    mine = coverage(acts, everyone, week_start, intervals, step)
    have = coverage([*acts, *source.others], everyone, week_start, intervals, step)
    need = needs(source.centre_requirements, week_start, intervals, step)
    channel_weeks = []
    for name in sorted(need):
        required = need[name]
        scheduled = have.get(name, np.zeros(intervals))
        level = await _projected(source.requirement_sets, name, scheduled, week_start, step)
        channel_weeks.append(
            ChannelWeek(
                name,
                round(float(required.sum()) * step / 60, 1),
                round(float(scheduled.sum()) * step / 60, 1),
                round(float(np.maximum(required - scheduled, 0).sum()) * step / 60, 1),
                level,
                _chart(name, required, scheduled, week_start, step, zone),
                round(float(mine.get(name, np.zeros(intervals)).sum()) * step / 60, 1),
            )
        )
    cost = paid_cost(acts, agents)
    violations = _check(acts, source) if current else ()
    sources = await _sources(source.requirement_sets)
    return WeekPage(
        tuple(readable), team_id, monday, days, current, versions, tuple(rows), tuple(channel_weeks),
        round(cost.paid_hours, 2), round(cost.labour_cost, 2), violations, sources, "", baseline,
        tuple((a, names.get(a, a), agents[a].skills) for a in sorted(agents, key=lambda a: names.get(a, a))),
    )  # fmt: skip


def _check(acts: list[Activity], source: schedules.Inputs) -> tuple[str, ...]:
    """Every rule the rows break, in words."""
    p = source.problem
    agents = {a.agent_id: a for a in p.agents}
    week_start = dt.datetime.combine(p.monday, dt.time(), tzinfo=p.zone)
    found = check_all(acts, agents, p.rules, p.zone, week_start, p.time_off, p.windows, p.previous)
    return tuple(f"{v.agent_id}: {v.detail}" for v in found)


async def violations_of(schedule_id: int) -> tuple[str, ...]:
    found = await schedules.get(schedule_id)
    if found is None:
        return ()
    source = await schedules.inputs([found.team_id], found.week_start)
    return _check(await schedules.activities([schedule_id]), source)


def needs(
    requirements: Iterable[Requirement], week_start: dt.datetime, intervals: int, step: int
) -> dict[str, np.ndarray]:
    """Staff required per channel in ``intervals`` steps of ``step`` minutes from ``week_start``."""
    out: dict[str, np.ndarray] = {}
    start_utc = week_start.astimezone(dt.UTC)
    for r in requirements:
        first = int((r.start.astimezone(dt.UTC) - start_utc).total_seconds() // 60 // step)
        last = int((r.end.astimezone(dt.UTC) - start_utc).total_seconds() // 60 // step)
        row = out.setdefault(r.channel, np.zeros(intervals))
        row[max(0, first) : min(intervals, last)] = r.staff
    return out


async def _projected(
    set_ids: tuple[int, ...], channel: str, scheduled: np.ndarray, week_start: dt.datetime, step: int
) -> float | None:
    """The week's service level with the scheduled staff, weighted by contacts, from the channel's
    requirement set (its volumes, handle times and parameters)."""
    sets = await RequirementSet.select(RequirementSet.id, RequirementSet.params, RequirementSet.channel.name).where(
        RequirementSet.id.is_in(list(set_ids) or [-1])
    )
    chosen = next((s for s in sets if s["channel.name"] == channel), None)
    if chosen is None:
        return None
    rows = await RequirementInterval.select(
        RequirementInterval.interval_start, RequirementInterval.offered, RequirementInterval.aht_seconds
    ).where(RequirementInterval.requirement_set == chosen["id"])
    frame = pd.DataFrame(rows, columns=["interval_start", "offered", "aht_seconds"])
    if frame.empty:
        return None
    starts = pd.to_datetime(frame["interval_start"], utc=True)
    position = ((starts - week_start.astimezone(dt.UTC)).dt.total_seconds() // 60 // step).astype(int)
    inside = (position >= 0) & (position < scheduled.size) & (frame["offered"] > 0)
    if not inside.any():
        return None
    frame, position, starts = frame[inside], position[inside], starts[inside]
    stored = json_object(chosen["params"])
    names = {f.name for f in dataclasses.fields(staffing.ChannelParams)}
    params = staffing.ChannelParams(**{k: v for k, v in stored.items() if k in names})
    minutes = int(starts.diff().dropna().dt.total_seconds().min() // 60) if len(starts) > 1 else step
    per = max(1, minutes // step)
    staff = np.array([scheduled[p : p + per].mean() for p in position])
    agents = np.floor(staff * (1 - params.shrinkage) + 1e-9)
    forecast = pd.DataFrame(
        {
            "interval_start": [t.timestamp() for t in starts],
            "channel": channel,
            "offered": frame["offered"].to_numpy(),
            "aht_seconds": frame["aht_seconds"].to_numpy(),
        }
    )
    out = staffing.requirements(forecast, {channel: params}, interval_minutes=minutes, agents=pd.Series(agents))
    levels = out["service_level"].to_numpy(dtype=float)
    weights = forecast["offered"].to_numpy(dtype=float)
    ok = np.isfinite(levels)
    if not ok.any() or weights[ok].sum() <= 0:
        return None
    return round(float((levels[ok] * weights[ok]).sum() / weights[ok].sum()), 4)


def _chart(
    channel: str, required: np.ndarray, scheduled: np.ndarray, week_start: dt.datetime, step: int, zone: ZoneInfo
) -> str:
    """Scheduled against required staff over the week, shortfalls shaded."""
    times = [
        (week_start.astimezone(dt.UTC) + dt.timedelta(minutes=i * step)).astimezone(zone).replace(tzinfo=None)
        for i in range(required.size)
    ]
    frame = pd.DataFrame({"time": times, "required": required, "scheduled": np.round(scheduled, 2)})
    return charts.to_svg(charts.coverage_chart_spec(frame, f"{channel}: scheduled against required staff"))


async def _sources(set_ids: tuple[int, ...]) -> tuple[str, ...]:
    rows = await RequirementSet.select(
        RequirementSet.id,
        RequirementSet.risk,
        RequirementSet.forecast_version,
        RequirementSet.created_at,
        RequirementSet.channel.name,
    ).where(RequirementSet.id.is_in(list(set_ids) or [-1]))
    return tuple(
        f"{r['channel.name']}: requirements #{r['id']} staffed to {r['risk'].upper()} "
        f"of forecast #{r['forecast_version']}"
        for r in sorted(rows, key=lambda r: r["channel.name"])
    )


async def publish(schedule_id: int, actor: str) -> None:
    """Publish a schedule: it becomes what agents see; the team-week's previous publish is kept as superseded."""
    found = await schedules.get(schedule_id)
    if found is None:
        raise schedules.ScheduleError("no such schedule")
    now = dt.datetime.now(dt.UTC)
    async with Schedule._meta.db.transaction():
        await Schedule.update({Schedule.status: "superseded"}).where(
            (Schedule.team == found.team_id)
            & (Schedule.week_start == found.week_start)
            & (Schedule.status == "published")
            & (Schedule.id != schedule_id)
        )
        await Schedule.update(
            {Schedule.status: "published", Schedule.published_at: now, Schedule.published_by: actor}
        ).where(Schedule.id == schedule_id)
    await audit.record(actor, "publish", f"team {found.team_name}", f"schedule {schedule_id}, week {found.week_start}")


async def export_frame(schedule_id: int) -> pd.DataFrame:
    """A schedule's rows in site time (ISO with offset), with the agents' names."""
    zone = ZoneInfo((await get_site()).time_zone)
    acts = await schedules.activities([schedule_id])
    names = {
        r["agent_id"]: r["name"]
        for r in await AgentRow.select(AgentRow.agent_id, AgentRow.name).where(
            AgentRow.agent_id.is_in(sorted({a.agent_id for a in acts}) or [""])
        )
    }
    return pd.DataFrame(
        [
            {
                "agent_id": a.agent_id,
                "name": names.get(a.agent_id, ""),
                "start": a.start.astimezone(zone).isoformat(),
                "end": a.end.astimezone(zone).isoformat(),
                "activity": a.activity,
                "channel": a.channel or "",
            }
            for a in acts
        ],
        columns=["agent_id", "name", "start", "end", "activity", "channel"],
    )
