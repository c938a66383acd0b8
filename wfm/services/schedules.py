"""Schedules in the app: the engine's inputs from the database, the generating job, and stored schedules.

A schedule is generated for one or more teams and one week at once (their agents share the requirement).
The requirement is each active channel's latest requirement set, less what other teams' current schedules
of that week already cover, so teams planned one after another do not double-staff a channel. The
previous week's schedules keep rest across the week boundary and the last 8 weeks count towards the
fairness of unpopular shifts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from wfm.db import database_url_of, json_object
from wfm.dbapi import DbApi
from wfm.scheduling import files
from wfm.scheduling.engine import Problem, Requirement, solve
from wfm.scheduling.model import Activity, Agent, AvailabilityWindow, TimeOff
from wfm.scheduling.scoring import coverage, unpopular_shifts
from wfm.services import audit
from wfm.services.site import get_site
from wfm.tables import Absence, Availability, Channel, RequirementInterval, RequirementSet, Schedule, ScheduleActivity
from wfm.tables import Agent as AgentRow
from wfm.tables import Team as TeamRow

FAIRNESS_WEEKS = 8
MAX_TIME_LIMIT_SECONDS = 1800


class ScheduleError(ValueError):
    """Nothing to schedule (no agents, no requirements) or a wrong week."""


@dataclass(frozen=True)
class ScheduleView:
    id: int
    team_id: int
    team_name: str
    week_start: dt.date
    status: str
    created_at: dt.datetime
    created_by: str
    job_id: int
    report: dict[str, Any]
    published_at: dt.datetime | None = None
    published_by: str = ""


@dataclass(frozen=True)
class Inputs:
    """A week's problem for some teams, and where its requirement came from."""

    problem: Problem
    team_of: dict[str, int]
    requirement_sets: tuple[int, ...]
    # The channels' whole requirement, and what other teams' current schedules of the week hold (with their
    # agents): the problem's requirement is the first less the second.
    centre_requirements: tuple[Requirement, ...] = ()
    others: tuple[Activity, ...] = ()
    other_agents: dict[str, Agent] = dataclasses.field(default_factory=dict)


def monday_of(text: str) -> dt.date:
    """The week's Monday from ``YYYY-MM-DD``; any other day is refused."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ScheduleError(f"week {text!r} is not a date YYYY-MM-DD") from None
    if day.isoweekday() != 1:
        raise ScheduleError(f"week {text} is a {day:%A}; weeks start on Monday")
    return day


def midnight_utc(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The day's local midnight, in UTC."""
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


async def members(team_ids: Sequence[int], monday: dt.date) -> list[tuple[Agent, int]]:
    """The teams' agents on the roster that week (hired by its end, not left before it), with their team."""
    rows = await AgentRow.select().where(AgentRow.team.is_in(list(team_ids))).order_by(AgentRow.agent_id)
    out = []
    for r in rows:
        if r["leave_date"] is not None and r["leave_date"] < monday:
            continue
        if r["hire_date"] is not None and r["hire_date"] > monday + dt.timedelta(days=6):
            continue
        skills = tuple(s for s in str(r["skills"]).split(";") if s)
        agent = Agent(
            r["agent_id"],
            skills,
            float(r["min_hours_week"]),
            float(r["max_hours_week"]),
            float(r["hourly_cost"]),
            int(r["max_days_week"]),
        )
        out.append((agent, int(r["team"])))
    return out


async def week_requirements(
    monday: dt.date, zone: ZoneInfo, default_minutes: int
) -> tuple[list[Requirement], tuple[int, ...], int]:
    """Each active channel's latest requirement set, its intervals inside the week: (requirements, the set
    ids, the interval length in minutes)."""
    start, end = midnight_utc(monday, zone), midnight_utc(monday + dt.timedelta(days=7), zone)
    channels = await Channel.select(Channel.id, Channel.name).where(Channel.active == True)  # noqa: E712
    out: list[Requirement] = []
    sets = []
    minutes = default_minutes
    for channel in channels:
        latest = (
            await RequirementSet.select(RequirementSet.id)
            .where(RequirementSet.channel == channel["id"])
            .order_by(RequirementSet.created_at, ascending=False)
            .order_by(RequirementSet.id, ascending=False)
            .first()
        )
        if latest is None:
            continue
        rows = (
            await RequirementInterval.select(RequirementInterval.interval_start, RequirementInterval.staff_required)
            .where(
                (RequirementInterval.requirement_set == latest["id"])
                & (RequirementInterval.interval_start >= start)
                & (RequirementInterval.interval_start < end)
            )
            .order_by(RequirementInterval.interval_start)
        )
        if not rows:
            continue
        sets.append(int(latest["id"]))
        starts = [r["interval_start"].astimezone(dt.UTC) for r in rows]
        steps = [int((b - a).total_seconds() // 60) for a, b in pairwise(starts) if b > a]
        minutes = min(steps) if steps else minutes
        length = dt.timedelta(minutes=minutes)
        out.extend(
            Requirement(t, t + length, channel["name"], float(r["staff_required"]))
            for t, r in zip(starts, rows, strict=True)
        )
    return out, tuple(sets), minutes


async def current_versions(team_ids: Sequence[int], weeks: Sequence[dt.date]) -> dict[tuple[int, dt.date], int]:
    """The current (latest) schedule id of each of these teams in each of these weeks."""
    if not team_ids or not weeks:
        return {}
    rows = (
        await Schedule.select(Schedule.id, Schedule.team, Schedule.week_start)
        .where(Schedule.team.is_in(list(team_ids)) & Schedule.week_start.is_in(list(weeks)))
        .order_by(Schedule.id)
    )
    return {(int(r["team"]), r["week_start"]): int(r["id"]) for r in rows}


async def activities(schedule_ids: Sequence[int], agent_id: str | None = None) -> list[Activity]:
    """The schedules' rows (of one agent when given), by agent and time."""
    if not schedule_ids:
        return []
    query = ScheduleActivity.select().where(ScheduleActivity.schedule.is_in(list(schedule_ids)))
    if agent_id is not None:
        query = query.where(ScheduleActivity.agent_id == agent_id)
    rows = await query.order_by(ScheduleActivity.agent_id).order_by(ScheduleActivity.start_at)
    return [Activity(r["agent_id"], r["start_at"], r["end_at"], r["activity"], r["channel"] or None) for r in rows]


async def inputs(team_ids: Sequence[int], monday: dt.date) -> Inputs:
    """The engine's problem for ``team_ids``' agents in the week of ``monday``."""
    site = await get_site()
    zone = ZoneInfo(site.time_zone)
    roster = await members(team_ids, monday)
    if not roster:
        raise ScheduleError("these teams have no agents on the roster this week")
    agents = tuple(a for a, _ in roster)
    ids = [a.agent_id for a in agents]
    centre, sets, minutes = await week_requirements(monday, zone, site.interval_minutes)
    if not centre:
        raise ScheduleError(
            f"no staffing requirements cover the week of {monday.isoformat()}: forecast and staff the channels first"
        )
    # Other teams' current schedules of the week cover part of the requirement already.
    others = [int(t["id"]) for t in await TeamRow.select(TeamRow.id) if int(t["id"]) not in set(team_ids)]
    covered = await activities(list((await current_versions(others, [monday])).values()))
    other_agents = {a.agent_id: a for a, _ in await members(others, monday)} if covered else {}
    requirement = _less(centre, covered, other_agents, midnight_utc(monday, zone), minutes) if covered else centre
    start = midnight_utc(monday, zone) - dt.timedelta(days=1)
    end = midnight_utc(monday + dt.timedelta(days=7), zone) + dt.timedelta(days=1)
    absences = await Absence.select().where(
        Absence.agent_id.is_in(ids) & (Absence.approved == True) & (Absence.end_at > start) & (Absence.start_at < end)  # noqa: E712
    )
    time_off = tuple(TimeOff(r["agent_id"], r["start_at"], r["end_at"], r["kind"]) for r in absences)
    windows = tuple(
        AvailabilityWindow(r["agent_id"], r["weekday"], r["start_minute"], r["end_minute"], r["kind"])
        for r in await Availability.select().where(Availability.agent_id.is_in(ids))
    )
    weeks = [monday - dt.timedelta(weeks=w) for w in range(1, FAIRNESS_WEEKS + 1)]
    current = await current_versions(list(team_ids), weeks)
    before = [a for a in await activities(list(current.values())) if a.agent_id in set(ids)]
    last_week = midnight_utc(monday - dt.timedelta(days=7), zone)
    previous = tuple(a for a in before if a.end > last_week)
    history = unpopular_shifts(before, ids, zone)
    problem = Problem(
        monday, zone, agents, tuple(requirement), time_off=time_off, windows=windows, previous=previous,
        unpopular_history=history,
    )  # fmt: skip
    team_of = {a.agent_id: team for a, team in roster}
    return Inputs(problem, team_of, sets, tuple(centre), tuple(covered), other_agents)


def _less(
    requirement: list[Requirement],
    covered: list[Activity],
    agents: dict[str, Agent],
    week_start: dt.datetime,
    minutes: int,
) -> list[Requirement]:
    """The requirement less what ``covered`` schedules already staff, never below zero."""
    intervals = int(7 * 24 * 60 // minutes) + 4
    staffed = coverage(covered, agents, week_start, intervals, minutes)
    out = []
    for r in requirement:
        n = int((r.start - week_start).total_seconds() // 60 // minutes)
        have = staffed.get(r.channel)
        less = float(have[n]) if have is not None and 0 <= n < intervals else 0.0
        out.append(dataclasses.replace(r, staff=max(0.0, r.staff - less)))
    return out


ACTIVITY_COLUMNS = ["schedule", "agent_id", "start_at", "end_at", "activity", "channel"]


@dataclass(frozen=True)
class NewVersion:
    """A schedule version to store: a team's week, its rows and its report."""

    team_id: int
    monday: dt.date
    rows: tuple[Activity, ...]
    report: dict[str, Any]
    status: str = "draft"
    job_id: int = 0


def activity_rows(db: DbApi, schedule_id: int, rows: Sequence[Activity]) -> list[tuple[Any, ...]]:
    """``schedule_activity`` records (`ACTIVITY_COLUMNS`) of rows, for `DbApi.load`."""
    return [(schedule_id, a.agent_id, db.stamp(a.start), db.stamp(a.end), a.activity, a.channel or "") for a in rows]


def store_versions(database_url: str, versions: Sequence[NewVersion], actor: str) -> list[int]:
    """Store schedule versions with their rows, all in one transaction; returns their ids."""
    db = DbApi(database_url)
    now = db.stamp(dt.datetime.now(dt.UTC))
    ids = []
    try:
        with db.transaction():
            for v in versions:
                published = v.status == "published"
                schedule_id = int(
                    db.one(
                        "INSERT INTO schedule (team, week_start, status, created_at, created_by, job_id, report, "
                        "published_at, published_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                        (
                            v.team_id, v.monday.isoformat(), v.status, now, actor, v.job_id, json.dumps(v.report),
                            now if published else None, actor if published else "",
                        ),
                    )
                )  # fmt: skip
                db.load("schedule_activity", ACTIVITY_COLUMNS, activity_rows(db, schedule_id, v.rows))
                ids.append(schedule_id)
    finally:
        db.close()
    return ids


async def save(versions: Sequence[NewVersion], actor: str) -> list[int]:
    """`store_versions` off the event loop."""
    return await asyncio.to_thread(store_versions, database_url_of(Schedule._meta.db), versions, actor)


async def generate(
    team_ids: Sequence[int],
    monday: dt.date,
    time_limit_seconds: float,
    actor: str,
    job_id: int = 0,
    progress: Callable[[int, str], None] | None = None,
) -> list[int]:
    """Run the engine for the teams' week and store a draft schedule per team; returns their ids.

    A job retried after its schedules were stored gets them back instead of solving again.
    """
    if job_id:
        done = await Schedule.select(Schedule.id).where(Schedule.job_id == job_id).order_by(Schedule.id)
        if done:
            return [int(r["id"]) for r in done]
    if not 1 <= time_limit_seconds <= MAX_TIME_LIMIT_SECONDS:
        raise ScheduleError(f"time limit must be 1-{MAX_TIME_LIMIT_SECONDS} seconds, got {time_limit_seconds:g}")
    source = await inputs(team_ids, monday)
    result = await asyncio.to_thread(solve, source.problem, time_limit_seconds, 0, progress)
    report = files.report(source.problem, result) | {
        "teams": sorted(set(source.team_of.values())),
        "requirement_sets": list(source.requirement_sets),
    }
    versions = [
        NewVersion(
            team,
            monday,
            tuple(a for a in result.activities if source.team_of.get(a.agent_id) == team),
            report,
            job_id=job_id,
        )
        for team in sorted(set(source.team_of.values()))
    ]
    ids = await save(versions, actor)
    await audit.record(
        actor, "schedule", f"teams {','.join(str(t) for t in sorted(set(team_ids)))}", f"week {monday}, {ids}"
    )
    return ids


def _view(row: dict[str, Any], team_name: str) -> ScheduleView:
    week = row["week_start"]
    return ScheduleView(
        int(row["id"]),
        int(row["team"]),
        team_name,
        week if isinstance(week, dt.date) else dt.date.fromisoformat(str(week)),
        row["status"],
        row["created_at"],
        row["created_by"],
        int(row["job_id"]),
        json_object(row["report"]),
        row.get("published_at"),
        row.get("published_by") or "",
    )


async def get(schedule_id: int) -> ScheduleView | None:
    row = await Schedule.select(*Schedule.all_columns(), Schedule.team.name).where(Schedule.id == schedule_id).first()
    return None if row is None else _view(row, str(row["team.name"]))


async def listing(team_ids: Sequence[int], week: dt.date | None = None) -> list[ScheduleView]:
    """Schedules of these teams (newest first), of one week when given."""
    query = Schedule.select(*Schedule.all_columns(), Schedule.team.name).where(Schedule.team.is_in(list(team_ids)))
    if week is not None:
        query = query.where(Schedule.week_start == week)
    rows = await query.order_by(Schedule.id, ascending=False).limit(200)
    return [_view(r, str(r["team.name"])) for r in rows]
