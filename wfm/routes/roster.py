"""Teams and agents as each role may see them."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Template

from wfm import security
from wfm.routes.common import page
from wfm.services import roster


class RosterController(Controller):
    @get("/teams", name="teams", opt=security.roles(security.ADMIN, security.LEAD, security.FINANCE))
    async def teams(self, request: Request[Any, Any, Any]) -> Template:
        return await page(request, "wfm/teams.html", teams=await roster.visible_teams(request.user))

    @get("/teams/{team_id:int}", name="team", opt=security.roles(security.ADMIN, security.LEAD, security.FINANCE))
    async def team(self, request: Request[Any, Any, Any], team_id: FromPath[int]) -> Template:
        try:
            team = await roster.team_roster(request.user, team_id)
        except roster.NotVisibleError:
            raise NotFoundException() from None
        return await page(request, "wfm/team.html", team=team)

    @get("/agents/{agent_id:str}", name="agent", opt=security.roles(*security.ALL_ROLES))
    async def agent(self, request: Request[Any, Any, Any], agent_id: FromPath[str]) -> Template:
        try:
            agent = await roster.agent_profile(request.user, agent_id)
        except roster.NotVisibleError:
            raise NotFoundException() from None
        return await page(request, "wfm/agent.html", agent=agent)
