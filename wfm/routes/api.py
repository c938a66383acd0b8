"""The JSON API under /api/: the same services as the pages, described by the OpenAPI schema at /api/schema."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, Router, get, post, put
from litestar.exceptions import NotFoundException, PermissionDeniedException, ValidationException
from litestar.params import Body, FromPath, FromQuery

from wfm import jobs, security, triad
from wfm.forms import FormError, SiteForm
from wfm.routes.imports import MAX_UPLOAD_BYTES
from wfm.services import accounts, forecasts, imports, requirements, roster, schedules, site

ADMIN_ONLY = security.roles(security.ADMIN)
STAFF = security.roles(security.ADMIN, security.LEAD, security.FINANCE)
EVERYONE = security.roles(*security.ALL_ROLES)
IMPORTERS = STAFF
PLANNERS = security.roles(security.ADMIN, security.LEAD)


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


class RequirementsIn(msgspec.Struct):
    channel_id: int
    risk: Literal["p50", "p80", "p95"] = "p50"


class ForecastIn(msgspec.Struct):
    channel_ids: Annotated[list[int], msgspec.Meta(min_length=1)]
    horizon_days: Annotated[int, msgspec.Meta(ge=1, le=62)] = 14
    method: Literal["auto", "snaive", "ets", "mstl", "regression"] = "auto"


class ScheduleIn(msgspec.Struct):
    team_ids: Annotated[list[int], msgspec.Meta(min_length=1, max_length=50)]
    week: str
    time_limit_seconds: Annotated[int, msgspec.Meta(ge=5, le=1800)] = 60


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

    @post(
        "/imports/{kind:str}",
        opt=IMPORTERS,
        request_max_body_size=MAX_UPLOAD_BYTES,
        summary="Import a CSV file (the request body) of one kind",
        description="201 with the batch, 422 with the problems (nothing saved), or 202 with a job for large files. "
        "The file name may be given in the `filename` query parameter.",
    )
    async def import_file(
        self, request: Request[Any, Any, Any], kind: FromPath[str], filename: FromQuery[str] = "api.csv"
    ) -> Response[Any]:
        if kind not in imports.KINDS:
            raise NotFoundException(f"There is no import kind {kind!r}.")
        if kind not in imports.kinds_for(request.user.role):
            raise PermissionDeniedException(f"You may not import {kind!r} files.")
        data = await request.body()
        actor = request.user.username
        if imports.data_rows(data) > imports.JOB_ROWS:
            upload_id = await imports.save_upload(kind, data, filename, actor)
            job_id = await jobs.submit(request.app.state.queue, "import", {"upload_id": upload_id}, actor)
            return Response({"job_id": job_id, "upload_id": upload_id}, status_code=202)
        result = await imports.import_file(kind, data, filename, actor)
        return Response(result, status_code=201 if result.ok else 422)

    @get("/imports", opt=IMPORTERS, summary="Import batches (admins see all, others their own)")
    async def import_batches(self, request: Request[Any, Any, Any]) -> list[imports.BatchView]:
        mine = None if request.user.role == security.ADMIN else request.user.username
        return await imports.batches(created_by=mine)

    @post("/imports/batches/{batch_id:int}/rollback", opt=IMPORTERS, summary="Roll back an import batch")
    async def rollback_import(self, request: Request[Any, Any, Any], batch_id: FromPath[int]) -> Response[Any]:
        try:
            await imports.check_rollback_allowed(batch_id, request.user.role, request.user.username)
            done = await imports.rollback(batch_id, request.user.username)
        except LookupError:
            raise NotFoundException() from None
        except PermissionError as exc:
            raise PermissionDeniedException(str(exc)) from None
        except imports.ImportRefusedError as exc:
            return Response({"detail": str(exc), "status_code": 409}, status_code=409)
        return Response(done, status_code=200)

    @get("/forecasts/{channel_id:int}", opt=STAFF, summary="A channel's latest forecast: version, intervals")
    async def latest_forecast(self, channel_id: FromPath[int]) -> dict[str, Any]:
        version = await forecasts.latest_version(channel_id)
        if version is None:
            raise NotFoundException("No forecast for this channel yet.")
        frame = await forecasts.intervals(version.id)
        frame["interval_start"] = frame["interval_start"].map(lambda t: t.isoformat())
        rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        return {"version": version, "intervals": rows}

    @post("/forecasts", opt=PLANNERS, summary="Start a forecast job for channels")
    async def start_forecast(
        self, request: Request[Any, Any, Any], data: Annotated[ForecastIn, Body()]
    ) -> jobs.JobView:
        inputs = {**msgspec.structs.asdict(data), "actor": request.user.username}
        job_id = await jobs.submit(request.app.state.queue, "forecast", inputs, request.user.username)
        job = await jobs.get(job_id)
        assert job is not None
        return job

    @get("/requirements/{channel_id:int}", opt=STAFF, summary="A channel's latest requirements at a risk level")
    async def latest_requirements(self, channel_id: FromPath[int], risk: FromQuery[str] = "p50") -> dict[str, Any]:
        chosen = await requirements.latest_set(channel_id, risk)
        if chosen is None:
            raise NotFoundException("No requirements for this channel at this risk level yet.")
        frame = await requirements.set_intervals(chosen.id)
        frame["interval_start"] = frame["interval_start"].map(lambda t: t.isoformat())
        rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        return {"set": chosen, "intervals": rows}

    @post("/requirements", opt=PLANNERS, summary="Compute and store a channel's requirements from its latest forecast")
    async def create_requirements(
        self, request: Request[Any, Any, Any], data: Annotated[RequirementsIn, Body()]
    ) -> Response[Any]:
        try:
            set_id = await requirements.create(data.channel_id, data.risk, request.user.username)
        except requirements.RequirementsError as exc:
            return Response({"detail": str(exc), "status_code": 422}, status_code=422)
        return Response(
            {"set": await requirements.latest_set(data.channel_id, data.risk), "id": set_id}, status_code=201
        )

    @post("/schedules", opt=PLANNERS, summary="Start a job that generates draft schedules for teams' week")
    async def start_schedule(
        self, request: Request[Any, Any, Any], data: Annotated[ScheduleIn, Body()]
    ) -> jobs.JobView:
        user: security.CurrentUser = request.user
        if user.role != security.ADMIN and not set(data.team_ids) <= user.team_ids:
            raise PermissionDeniedException("Leads schedule only their own teams.")
        try:
            schedules.monday_of(data.week)
        except schedules.ScheduleError as error:
            raise ValidationException(detail=str(error)) from None
        known = {t.id for t in await site.list_teams()}
        if not set(data.team_ids) <= known:
            raise ValidationException(detail=f"unknown team(s): {sorted(set(data.team_ids) - known)}")
        inputs = {**msgspec.structs.asdict(data), "actor": user.username}
        job_id = await jobs.submit(request.app.state.queue, "schedule", inputs, user.username)
        job = await jobs.get(job_id)
        assert job is not None
        return job

    @get("/schedules", opt=STAFF, summary="Schedules of the teams the user may read (newest first)")
    async def list_schedules(
        self, request: Request[Any, Any, Any], team_id: FromQuery[int | None] = None, week: FromQuery[str | None] = None
    ) -> list[schedules.ScheduleView]:
        user: security.CurrentUser = request.user
        readable = [t.id for t in await site.list_teams() if user.can_read_team(t.id)]
        if team_id is not None:
            if team_id not in readable:
                raise PermissionDeniedException("Not one of your teams.")
            readable = [team_id]
        try:
            monday = schedules.monday_of(week) if week else None
        except schedules.ScheduleError as error:
            raise ValidationException(detail=str(error)) from None
        return await schedules.listing(readable, monday)

    @get("/schedules/{schedule_id:int}", opt=STAFF, summary="One schedule: its report and its rows (UTC)")
    async def get_schedule(self, request: Request[Any, Any, Any], schedule_id: FromPath[int]) -> dict[str, Any]:
        found = await schedules.get(schedule_id)
        if found is None or not request.user.can_read_team(found.team_id):
            raise NotFoundException("No such schedule among your teams.")
        rows = [
            {"agent_id": a.agent_id, "start": a.start.isoformat(), "end": a.end.isoformat(), "activity": a.activity,
             "channel": a.channel or ""}
            for a in await schedules.activities([schedule_id])
        ]  # fmt: skip
        return {"schedule": found, "activities": rows}

    @post(
        "/triad",
        opt=STAFF,
        request_max_body_size=MAX_UPLOAD_BYTES,
        summary="Triad statistics of a team x period panel (CSV body)",
        description="The body is a panel CSV (`period, team` and numeric measures). 200 with `pairs`, "
        "`regressions` and `warnings` (DESIGN.md, triad result), or 422 naming the row and column at fault. "
        "`pair=X:Y` (repeatable) picks the pairs; by default every employee measure meets every customer and "
        "company measure present.",
    )
    async def triad_statistics(
        self, request: Request[Any, Any, Any], pair: FromQuery[list[str] | None] = None, max_lag: FromQuery[int] = 3
    ) -> Response[Any]:
        try:
            panel = triad.read_panel((await request.body()).decode("utf-8", errors="replace"), "panel")
            wanted = [tuple(p.split(":", 1)) for p in pair] if pair else triad.default_pairs(panel.columns)
            if not wanted or any(len(p) != 2 for p in wanted):
                raise ValueError("no pairs to analyse: give pair=X:Y or the panel's named measures")
            if not 0 <= max_lag <= 12:
                raise ValueError("max_lag is 0 to 12")
            pairs = [(p[0], p[1]) for p in wanted]
            result = await asyncio.to_thread(triad.analyse, panel, pairs, range(max_lag + 1))
        except ValueError as error:
            return Response({"detail": str(error), "status_code": 422}, status_code=422)
        return Response(result.to_json(), status_code=200)


api_router = Router(path="/api", route_handlers=[ApiController])
