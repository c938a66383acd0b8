"""Demo data for a first look: a Swedish contact centre with three teams, three channels and every role.

Later issues add history, forecasts, schedules and surveys here. Loading is refused (returns None)
when the database already has users, so running the README command again keeps a user's data.
"""

from __future__ import annotations

import datetime as dt
import random

from wfm.forms import ChannelForm, DayHours, NewUser, SiteForm, TeamForm
from wfm.services import accounts, audit, site
from wfm.tables import Agent, AgentSkill, Channel, Team, User

DEMO_LOGINS: list[tuple[str, str, str]] = [
    ("admin", "admin", "triad-admin-demo"),
    ("lead", "lead", "triad-lead-demo"),
    ("agent", "agent", "triad-agent-demo"),
    ("finance", "finance", "triad-finance-demo"),
]
TEAMS = ("Stockholm Voice", "Malmö Chat", "Göteborg Back Office")
FIRST_NAMES = ("Anna", "Erik", "Maja", "Lars", "Sara", "Johan", "Elin", "Ali", "Noor", "Oskar", "Ida", "Mohammed")
LAST_NAMES = ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson", "Hassan")


def _weekdays(opens: str, closes: str, weekend: tuple[str, str] | None) -> list[DayHours]:
    def minute(text: str) -> int:
        hours, minutes = text.split(":")
        return int(hours) * 60 + int(minutes)

    days = [DayHours(d, minute(opens), minute(closes)) for d in range(1, 6)]
    for d in (6, 7):
        days.append(DayHours(d, minute(weekend[0]), minute(weekend[1])) if weekend else DayHours(d, None, None))
    return days


async def load(if_empty: bool = True, seed: int = 7) -> list[tuple[str, str, str]] | None:
    """Fill an empty database with demo data; returns the demo sign-ins, or None when it had users."""
    if if_empty and await User.count() > 0:
        return None
    actor = "wfm demo"
    rng = random.Random(seed)
    await site.ensure_site()
    await site.update_site(SiteForm("Triad Demo Contact Centre", "Europe/Stockholm", "SE", "SEK", 15, 5, 8), actor)
    team_ids = [await site.create_team(TeamForm(name), actor) for name in TEAMS]
    channels = [
        (
            ChannelForm("voice", "voice", "erlang_a", 0.8, 20, 1.0, 24.0, True),
            _weekdays("08:00", "20:00", ("10:00", "16:00")),
        ),
        (
            ChannelForm("chat", "chat", "erlang_c", 0.8, 60, 2.0, 24.0, True),
            _weekdays("08:00", "22:00", ("10:00", "18:00")),
        ),
        (ChannelForm("email", "email", "deferred", 0.9, 0, 1.0, 24.0, True), _weekdays("08:00", "17:00", None)),
    ]
    channel_ids = {form.name: await site.save_channel(None, form, hours, actor) for form, hours in channels}

    user_ids = {}
    for role, username, password in DEMO_LOGINS:
        teams = [team_ids[0], team_ids[1]] if role == "lead" else []
        full_name = {"admin": "Astrid Admin", "lead": "Lena Lead", "agent": "Aron Agent", "finance": "Filip Finance"}[
            role
        ]
        form = NewUser(username=username, full_name=full_name, role=role, teams=teams)  # type: ignore[arg-type]
        user_ids[role] = await accounts.create_user(form, actor, password=password)
    # A second lead for the back office, so "a lead sees only their teams" shows in the demo.
    await accounts.create_user(
        NewUser(username="lead2", full_name="Goran Lead", role="lead", teams=[team_ids[2]]),
        actor,
        password="triad-lead2-demo",
    )

    skills_by_team = (("voice",), ("chat", "voice"), ("email", "chat"))
    number = 0
    for team_index, team_id in enumerate(team_ids):
        for _ in range(12):
            number += 1
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            full_time = rng.random() < 0.7
            agent = Agent(
                agent_id=f"A{number:03d}",
                name="Aron Agent" if number == 1 else name,
                team=team_id,
                user=user_ids["agent"] if number == 1 else None,
                min_hours_week=30.0 if full_time else 16.0,
                max_hours_week=40.0 if full_time else 30.0,
                max_days_week=5,
                hourly_cost=round(rng.uniform(260, 340), 2),
                hire_date=dt.date(2026, 11, 1) - dt.timedelta(days=rng.randint(60, 3000)),
            )
            await agent.save()
            await AgentSkill.insert(
                *[AgentSkill(agent=agent.id, channel=channel_ids[c]) for c in skills_by_team[team_index]]
            )
    await audit.record(actor, "demo_loaded", "database", f"{len(TEAMS)} teams, {number} agents")
    assert await Channel.count() == len(channels) and await Team.count() == len(TEAMS)
    return DEMO_LOGINS
