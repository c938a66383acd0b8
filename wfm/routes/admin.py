"""Admin pages: site settings, users and their roles and teams, teams, channels, the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from wfm import jobs, security
from wfm.forms import ChannelForm, FormError, NewUser, SiteForm, TeamForm, UserUpdate, parse_form, parse_hours
from wfm.routes.common import form_values, fragment_request, page
from wfm.services import accounts, audit, site
from wfm.services.charts import audit_chart

ADMIN_ONLY = security.roles(security.ADMIN)


class SiteController(Controller):
    path = "/admin/site"

    @get("/", name="site", opt=ADMIN_ONLY)
    async def show(self, request: Request[Any, Any, Any]) -> Template:
        return await page(request, "wfm/site.html", form=await site.get_site(), errors={}, saved=False)

    @post("/", name="site_submit", opt=ADMIN_ONLY)
    async def save(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        values = await form_values(request)
        template = "wfm/partials/site_form.html" if fragment_request(request) else "wfm/site.html"
        try:
            saved = await site.update_site(parse_form(SiteForm, values), request.user.username)
        except FormError as error:
            return await page(request, template, status_code=422, form=values, errors=error.errors, saved=False)
        return await page(request, template, form=saved, errors={}, saved=True)


class UsersController(Controller):
    path = "/admin/users"

    @get("/", name="users", opt=ADMIN_ONLY)
    async def list(self, request: Request[Any, Any, Any]) -> Template:
        return await self._list(request, errors={}, form={})

    async def _list(
        self, request: Request[Any, Any, Any], errors: dict[str, str], form: dict[str, Any], status: int = 200
    ) -> Template:
        return await page(
            request,
            "wfm/users.html",
            status_code=status,
            users=await accounts.list_users(),
            teams=await site.list_teams(),
            errors=errors,
            form=form,
        )

    @post("/", name="user_create", opt=ADMIN_ONLY)
    async def create(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        values = await form_values(request, lists=("teams",))
        try:
            user_id = await accounts.create_user(parse_form(NewUser, values), request.user.username)
        except FormError as error:
            return await self._list(request, errors=error.errors, form=values, status=422)
        return Redirect(request.app.route_reverse("user", user_id=user_id))

    @get("/{user_id:int}", name="user", opt=ADMIN_ONLY)
    async def show(self, request: Request[Any, Any, Any], user_id: FromPath[int]) -> Template:
        return await self._show(request, user_id, errors={}, link="")

    async def _show(
        self,
        request: Request[Any, Any, Any],
        user_id: FromPath[int],
        errors: dict[str, str],
        link: str,
        status: int = 200,
    ) -> Template:
        user = await accounts.get_user(user_id)
        if user is None:
            raise NotFoundException()
        return await page(
            request,
            "wfm/user.html",
            status_code=status,
            user=user,
            teams=await site.list_teams(),
            errors=errors,
            link=link,
        )

    @post("/{user_id:int}", name="user_update", opt=ADMIN_ONLY)
    async def update(self, request: Request[Any, Any, Any], user_id: FromPath[int]) -> Template | Redirect:
        try:
            form = parse_form(UserUpdate, await form_values(request, lists=("teams",)))
            await accounts.update_user(user_id, form, request.user)
        except FormError as error:
            return await self._show(request, user_id, errors=error.errors, link="", status=422)
        return Redirect(request.app.route_reverse("user", user_id=user_id))

    @post("/{user_id:int}/link", name="user_link", opt=ADMIN_ONLY)
    async def link(self, request: Request[Any, Any, Any], user_id: FromPath[int]) -> Template:
        token = await accounts.issue_set_password_link(user_id, request.user.username)
        link = str(request.base_url).rstrip("/") + request.app.route_reverse("set_password", token=token)
        return await self._show(request, user_id, errors={}, link=link)


class TeamsController(Controller):
    path = "/admin/teams"

    @get("/", name="teams_admin", opt=ADMIN_ONLY)
    async def list(self, request: Request[Any, Any, Any]) -> Template:
        return await self._list(request, errors={})

    async def _list(self, request: Request[Any, Any, Any], errors: dict[str, str], status: int = 200) -> Template:
        teams = await site.list_teams()
        return await page(request, "wfm/teams_admin.html", status_code=status, teams=teams, errors=errors)

    @post("/", name="team_create", opt=ADMIN_ONLY)
    async def create(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        try:
            await site.create_team(parse_form(TeamForm, await form_values(request)), request.user.username)
        except FormError as error:
            return await self._list(request, error.errors, 422)
        return Redirect(request.app.route_reverse("teams_admin"))

    @post("/{team_id:int}", name="team_rename", opt=ADMIN_ONLY)
    async def rename(self, request: Request[Any, Any, Any], team_id: FromPath[int]) -> Template | Redirect:
        try:
            form = parse_form(TeamForm, await form_values(request))
            await site.rename_team(team_id, form, request.user.username)
        except FormError as error:
            return await self._list(request, error.errors, 422)
        return Redirect(request.app.route_reverse("teams_admin"))

    @post("/{team_id:int}/delete", name="team_delete", opt=ADMIN_ONLY)
    async def delete(self, request: Request[Any, Any, Any], team_id: FromPath[int]) -> Template | Redirect:
        try:
            await site.delete_team(team_id, request.user.username)
        except FormError as error:
            return await self._list(request, error.errors, 422)
        return Redirect(request.app.route_reverse("teams_admin"))


OPTIONAL_CAPS = ("max_asa_seconds", "max_abandon_rate")


class ChannelsController(Controller):
    path = "/admin/channels"

    @get("/", name="channels", opt=ADMIN_ONLY)
    async def list(self, request: Request[Any, Any, Any]) -> Template:
        return await page(request, "wfm/channels.html", channels=await site.list_channels())

    @get("/new", name="channel_new", opt=ADMIN_ONLY)
    async def new(self, request: Request[Any, Any, Any]) -> Template:
        return await page(request, "wfm/channel.html", channel=None, form={}, errors={})

    @post("/", name="channel_create", opt=ADMIN_ONLY)
    async def create(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        return await self._save(request, None)

    @get("/{channel_id:int}", name="channel", opt=ADMIN_ONLY)
    async def show(self, request: Request[Any, Any, Any], channel_id: FromPath[int]) -> Template:
        channel = await site.get_channel(channel_id)
        if channel is None:
            raise NotFoundException()
        return await page(request, "wfm/channel.html", channel=channel, form={}, errors={})

    @post("/{channel_id:int}", name="channel_update", opt=ADMIN_ONLY)
    async def update(self, request: Request[Any, Any, Any], channel_id: FromPath[int]) -> Template | Redirect:
        if await site.get_channel(channel_id) is None:
            raise NotFoundException()
        return await self._save(request, channel_id)

    async def _save(self, request: Request[Any, Any, Any], channel_id: int | None) -> Template | Redirect:
        values = await form_values(request)
        try:
            # An empty optional cap means "no cap".
            form = parse_form(ChannelForm, {k: v for k, v in values.items() if v != "" or k not in OPTIONAL_CAPS})
            hours = parse_hours(values)
            await site.save_channel(channel_id, form, hours, request.user.username)
        except FormError as error:
            channel = await site.get_channel(channel_id) if channel_id else None
            return await page(
                request, "wfm/channel.html", status_code=422, channel=channel, form=values, errors=error.errors
            )
        return Redirect(request.app.route_reverse("channels"))


class AuditController(Controller):
    path = "/admin/audit"

    @get("/", name="audit", opt=ADMIN_ONLY)
    async def show(
        self, request: Request[Any, Any, Any], page_number: FromQuery[int] = 1, action: FromQuery[str] = ""
    ) -> Template:
        today = audit.utcnow().date()
        chart = await audit_chart(today - dt.timedelta(days=29), today)
        return await page(
            request,
            "wfm/audit.html",
            log=await audit.page(page_number, action[:40]),
            chart=chart,
            jobs=await jobs.recent(5),
        )

    @post("/rollup", name="audit_rollup", opt=ADMIN_ONLY)
    async def rollup(self, request: Request[Any, Any, Any]) -> Redirect:
        job_id = await jobs.submit(request.app.state.queue, "audit_rollup", {"days": 30}, request.user.username)
        return Redirect(request.app.route_reverse("job", job_id=job_id))
