"""The JSON API under /api/: the same services as the pages, described by the OpenAPI schema at /api/schema."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Router, get, post, put
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import Body, FromPath

from wfm import jobs, security
from wfm.forms import FormError, SiteForm
from wfm.services import accounts, roster, site

ADMIN_ONLY = security.roles(security.ADMIN)
STAFF = security.roles(security.ADMIN, security.LEAD, security.FINANCE)
EVERYONE = security.roles(*security.ALL_ROLES)


class Me(msgspec.Struct):
    id: int
    username: str
    full_name: str
    role: str
    team_ids: list[int]
    agent_id: str


class TeamOut(msgspec.Struct):
    id: int
    name: str


class JobIn(msgspec.Struct):
    kind: Literal["audit_rollup"]
    days: Annotated[int, msgspec.Meta(ge=1, le=3660)] = 30


def _invalid(error: FormError) -> ValidationException:
    return ValidationException(detail="; ".join(f"{k}: {v}" for k, v in error.errors.items()))


class ApiController(Controller):
    @get("/me", opt=EVERYONE, summary="The signed-in user")
    async def me(self, request: Request[Any, Any, Any]) -> Me:
        user = request.user
        return Me(user.id, user.username, user.full_name, user.role, sorted(user.team_ids), user.agent_id)

    @get("/site", opt=EVERYONE, summary="Site settings")
    async def get_site(self) -> site.SiteView:
        return await site.get_site()

    @put("/site", opt=ADMIN_ONLY, summary="Change site settings")
    async def put_site(self, request: Request[Any, Any, Any], data: Annotated[SiteForm, Body()]) -> site.SiteView:
        try:
            return await site.update_site(data, request.user.username)
        except FormError as error:
            raise _invalid(error) from None

    @get("/teams", opt=EVERYONE, summary="Teams the user may read")
    async def teams(self, request: Request[Any, Any, Any]) -> list[TeamOut]:
        return [TeamOut(i, n) for i, n in await roster.visible_teams(request.user)]

    @get("/teams/{team_id:int}/agents", opt=STAFF, summary="A team's agents (pay rates for finance and admin only)")
    async def team_agents(self, request: Request[Any, Any, Any], team_id: FromPath[int]) -> list[roster.AgentView]:
        try:
            return (await roster.team_roster(request.user, team_id)).agents
        except roster.NotVisibleError:
            raise NotFoundException() from None

    @get("/agents/{agent_id:str}", opt=EVERYONE, summary="One agent, if the user may see them")
    async def agent(self, request: Request[Any, Any, Any], agent_id: FromPath[str]) -> roster.AgentView:
        try:
            return await roster.agent_profile(request.user, agent_id)
        except roster.NotVisibleError:
            raise NotFoundException() from None

    @get("/channels", opt=STAFF, summary="Channels with their service targets and opening hours")
    async def channels(self) -> list[site.ChannelView]:
        return await site.list_channels()

    @get("/users", opt=ADMIN_ONLY, summary="All users")
    async def users(self) -> list[accounts.UserRow]:
        return await accounts.list_users()

    @post("/jobs", opt=ADMIN_ONLY, summary="Start a job")
    async def start_job(self, request: Request[Any, Any, Any], data: Annotated[JobIn, Body()]) -> jobs.JobView:
        job_id = await jobs.submit(request.app.state.queue, data.kind, {"days": data.days}, request.user.username)
        job = await jobs.get(job_id)
        assert job is not None
        return job

    @get("/jobs/{job_id:int}", opt=ADMIN_ONLY, summary="A job's status and progress")
    async def job(self, job_id: FromPath[int]) -> jobs.JobView:
        job = await jobs.get(job_id)
        if job is None:
            raise NotFoundException()
        return job


api_router = Router(path="/api", route_handlers=[ApiController])
