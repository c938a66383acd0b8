"""Teams and agents as each role may see them: leads their teams, agents themselves, pay rates for finance and admin."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from piccolo.columns.combination import Where

from wfm.security import ADMIN, AGENT, FINANCE, CurrentUser
from wfm.tables import Agent, AgentSkill, Team


@dataclass(frozen=True)
class AgentView:
    agent_id: str
    name: str
    team_id: int | None
    team: str
    skills: tuple[str, ...]
    min_hours_week: float
    max_hours_week: float
    max_days_week: int
    hire_date: dt.date | None
    # None when the viewer may not see pay rates.
    hourly_cost: float | None


@dataclass(frozen=True)
class TeamRoster:
    id: int
    name: str
    agents: list[AgentView]
    shows_pay: bool


class NotVisibleError(Exception):
    """The thing does not exist, or this user may not see it (both look the same: 404)."""


async def _agent_views(viewer: CurrentUser, where: Where) -> list[AgentView]:
    rows = (
        await Agent.select(
            Agent.agent_id,
            Agent.name,
            Agent.team,
            Agent.team.name.as_alias("team_name"),
            Agent.min_hours_week,
            Agent.max_hours_week,
            Agent.max_days_week,
            Agent.hire_date,
            Agent.hourly_cost,
            Agent.id,
        )
        .where(where)
        .order_by(Agent.name)
    )
    ids = [r["id"] for r in rows]
    skills = (
        await AgentSkill.select(AgentSkill.agent, AgentSkill.channel.name.as_alias("channel")).where(
            AgentSkill.agent.is_in(ids)
        )
        if ids
        else []
    )
    return [
        AgentView(
            agent_id=r["agent_id"],
            name=r["name"],
            team_id=r["team"],
            team=r["team_name"] or "",
            skills=tuple(sorted(s["channel"] for s in skills if s["agent"] == r["id"])),
            min_hours_week=r["min_hours_week"],
            max_hours_week=r["max_hours_week"],
            max_days_week=r["max_days_week"],
            hire_date=r["hire_date"],
            hourly_cost=r["hourly_cost"] if viewer.sees_pay_rates else None,
        )
        for r in rows
    ]


async def team_roster(viewer: CurrentUser, team_id: int) -> TeamRoster:
    """A team's agents; a lead or agent outside the team gets `NotVisibleError`."""
    team = await Team.select(Team.id, Team.name).where(Team.id == team_id).first()
    if team is None or not viewer.can_read_team(team_id) or viewer.role == AGENT:
        raise NotVisibleError
    agents = await _agent_views(viewer, Agent.team == team_id)
    return TeamRoster(id=team["id"], name=team["name"], agents=agents, shows_pay=viewer.sees_pay_rates)


async def visible_teams(viewer: CurrentUser) -> list[tuple[int, str]]:
    rows = await Team.select(Team.id, Team.name).order_by(Team.name)
    return [(r["id"], r["name"]) for r in rows if viewer.can_read_team(r["id"])]


async def agent_profile(viewer: CurrentUser, agent_id: str) -> AgentView:
    """One agent: themselves, a lead of their team, finance or admin; anyone else gets `NotVisibleError`."""
    found = await _agent_views(viewer, Agent.agent_id == agent_id)
    if not found:
        raise NotVisibleError
    agent = found[0]
    if viewer.role == AGENT:
        allowed = viewer.agent_id == agent_id
    else:
        allowed = viewer.role in {ADMIN, FINANCE} or (agent.team_id is not None and viewer.can_read_team(agent.team_id))
    if not allowed:
        raise NotVisibleError
    return agent
