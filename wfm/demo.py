"""`wfm demo`: a realistic Swedish contact centre, loaded through the same importer as a user's files.

The data comes from `wfm.demo_data.generate` (pure, deterministic from the seed; see docs/demo.md for
what is planted). Here it becomes site settings, teams, channels, a user for every role and one
import batch per file, so the demo also exercises every validation rule. Later issues extend it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from zoneinfo import ZoneInfo

import msgspec

from pulse import demo as pulse_demo
from wfm import demo_data
from wfm.db import every_table
from wfm.forms import ChannelForm, DayHours, NewUser, SiteForm, TeamForm
from wfm.services import (
    accounts,
    audit,
    forecasts,
    imports,
    requirements,
    schedule_edits,
    schedule_week,
    schedules,
    site,
    swaps,
    time_off,
)
from wfm.tables import Agent, Channel, Site, User

log = logging.getLogger("wfm.demo")
ACTOR = "wfm demo"
DEMO_LOGINS: list[tuple[str, str, str]] = [
    ("admin", "admin", "triad-admin-demo"),
    ("lead", "lead", "triad-lead-demo"),
    ("agent", "agent", "triad-agent-demo"),
    ("finance", "finance", "triad-finance-demo"),
]
LEAD2_LOGIN = ("lead", "lead2", "triad-lead2-demo")


class DemoError(Exception):
    """The demo could not be loaded; the message says why."""


async def is_empty() -> bool:
    return await User.count() == 0


async def wipe() -> None:
    """Delete every row the app holds (for ``--force``), children before parents; the site row returns."""
    for table in reversed(every_table()):
        await table.delete(force=True)
    await site.ensure_site()


async def load(
    if_empty: bool = True, seed: int = 7, force: bool = False, end: dt.date | None = None
) -> list[tuple[str, str, str]] | None:
    """Load the demo; returns the demo sign-ins, or None when ``if_empty`` and the database has users.

    Without ``if_empty`` or ``force`` a non-empty database is refused with `DemoError`.
    """
    if not await is_empty():
        if if_empty:
            return None
        if not force:
            raise DemoError("The database is not empty; use --force to replace everything in it with the demo.")
        await wipe()
    started = time.perf_counter()
    data = demo_data.generate(seed=seed, end=end)
    log.info("demo data generated in %.1f s", time.perf_counter() - started)
    await site.ensure_site()
    await site.update_site(
        SiteForm(
            "Triad Demo Contact Centre",
            demo_data.SITE_TIME_ZONE,
            demo_data.HOLIDAY_COUNTRY,
            demo_data.CURRENCY,
            15,  # demo_data.INTERVAL_MINUTES: its history is in quarter hours
            5,
            8,
        ),
        ACTOR,
    )
    team_ids = [await site.create_team(TeamForm(name), ACTOR) for name in data.teams]
    for channel in data.channels:
        # Through the same struct the admin form uses, so the demo obeys its rules too.
        form = msgspec.convert(
            {
                "name": channel.name,
                "kind": channel.kind,
                "staffing_model": channel.staffing_model,
                "service_level_target": channel.service_level_target,
                "answer_within_seconds": channel.answer_within_seconds,
                "concurrency": channel.concurrency,
                "response_window_hours": channel.response_window_hours,
                "active": True,
            },
            ChannelForm,
        )
        hours = [DayHours(day, *(channel.hours_on(day) or (None, None))) for day in range(1, 8)]
        await site.save_channel(None, form, hours, ACTOR)
    await _demo_users(data, team_ids)
    for kind, frame in data.files():
        result = await imports.import_file(kind, frame.to_csv(index=False).encode(), f"demo-{kind}.csv", ACTOR)
        if not result.ok:
            raise DemoError(f"the demo {kind} file was refused: {'; '.join(result.errors[:5])}")
        log.info("demo %s: %d rows", kind, result.rows)
    await _demo_forecasts(data.end)
    await _demo_schedules(data.end, team_ids)
    answered = await pulse_demo.load(data, team_ids, ACTOR)
    log.info("demo pulse answers: %d", answered)
    await audit.record(ACTOR, "demo_loaded", "database", f"seed {seed}, {len(data.teams)} teams")
    assert await Site.count() == 1
    return [*DEMO_LOGINS, LEAD2_LOGIN]


async def _demo_forecasts(last_day: dt.date) -> None:
    """Past daily snapshots (for the accuracy ledger) and an `auto` forecast, with its backtest, from the
    day after the history. The snapshots use the regression model without a backtest to keep the demo
    quick; the worker's daily tick then adds today's `auto` snapshot once the app runs.
    """
    zone = ZoneInfo(demo_data.SITE_TIME_ZONE)
    channel_ids = [r["id"] for r in await Channel.select(Channel.id)]
    for days_back in (7, 5, 3, 1):
        as_of = dt.datetime.combine(last_day - dt.timedelta(days=days_back - 1), dt.time(), zone)
        await forecasts.run(channel_ids, 14, "regression", ACTOR, snapshot=True, as_of=as_of)
    as_of = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), zone)
    result = await forecasts.run(channel_ids, 14, "auto", ACTOR, as_of=as_of)
    await requirements.follow_forecasts(result.version_ids, ACTOR)
    log.info("demo forecasts made")


# The engine's search time for the demo week (TRIAD_DEMO_SCHEDULE_SECONDS; the tests use less).
DEMO_SCHEDULE_SECONDS = float(os.environ.get("TRIAD_DEMO_SCHEDULE_SECONDS", "30"))
DEMO_HISTORY_WEEKS = 8


async def _demo_schedules(last_day: dt.date, team_ids: list[int]) -> None:
    """This week's schedule for every team, generated by the engine in one solve and published; next week
    as a draft copy for the leads to work on; the last 8 weeks as published copies (the history fairness
    and labour cost read); a pending time-off request and a proposed swap for the demo agent."""
    first = last_day + dt.timedelta(days=1)
    monday = first - dt.timedelta(days=first.weekday())
    made = await schedules.generate(team_ids, monday, DEMO_SCHEDULE_SECONDS, ACTOR)
    for schedule_id in made:
        await schedule_week.publish(schedule_id, ACTOR)
    for schedule_id in made:
        view = await schedules.get(schedule_id)
        assert view is not None
        team_id = view.team_id
        await schedule_edits.copy_schedule(schedule_id, team_id, monday + dt.timedelta(days=7), ACTOR)
        for weeks_back in range(1, DEMO_HISTORY_WEEKS + 1):
            past = monday - dt.timedelta(weeks=weeks_back)
            await schedule_edits.copy_schedule(schedule_id, team_id, past, ACTOR, status="published")
    agent = await Agent.select(Agent.agent_id, Agent.team).where(Agent.user.username == "agent").first()
    if agent is None:
        return
    later = monday + dt.timedelta(days=16)
    mates = await swaps.teammates(agent["agent_id"])
    try:
        await time_off.request(
            agent["agent_id"], later, later + dt.timedelta(days=2), "vacation", "family visit", first
        )
        if mates:
            await swaps.ask(mates[0][0], agent["agent_id"], max(first, monday + dt.timedelta(days=4)), first)
    except (time_off.TimeOffError, swaps.SwapError) as error:  # e.g. days the demo history already has off
        log.info("demo request left out: %s", error)
    log.info("demo schedules made")


async def _demo_users(data: demo_data.DemoData, team_ids: list[int]) -> None:
    """One sign-in per role. The agent's email is a current agent's of the lead's first team, so the
    agents import links the two; the leads lead two teams and one team."""
    agents = data.agents
    current = agents[(agents["team"] == data.teams[0]) & (agents["leave_date"] == "")]
    if current.empty:
        raise DemoError("the demo has no current agent in the first team")
    agent = current.iloc[0]
    people = {
        "admin": NewUser(username="admin", full_name="Astrid Admin", role="admin"),
        "lead": NewUser(username="lead", full_name="Lena Lead", role="lead", teams=team_ids[:2]),
        "agent": NewUser(username="agent", full_name=str(agent["name"]), role="agent", email=str(agent["email"])),
        "finance": NewUser(username="finance", full_name="Filip Finance", role="finance"),
    }
    for role, _username, password in DEMO_LOGINS:
        await accounts.create_user(people[role], ACTOR, password=password)
    await accounts.create_user(
        NewUser(username="lead2", full_name="Goran Lead", role="lead", teams=team_ids[2:3]),
        ACTOR,
        password=LEAD2_LOGIN[2],
    )
