"""An agent's own pages: My schedule, its .ics download and the private calendar subscription link."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Template

from wfm import security
from wfm.routes.common import page
from wfm.services import my_schedule
from wfm.services.site import get_site

EVERYONE = security.roles(*security.ALL_ROLES)
ICS = "text/calendar; charset=utf-8"


async def _today() -> dt.date:
    return dt.datetime.now(ZoneInfo((await get_site()).time_zone)).date()


def _ics(text: str, filename: str) -> Response[str]:
    return Response(
        text,
        media_type=ICS,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"},
    )


async def _my_page(request: Request[Any, Any, Any], link: str = "") -> Template:
    user: security.CurrentUser = request.user
    weeks = await my_schedule.weeks(user.agent_id, await _today()) if user.agent_id else ()
    return await page(
        request,
        "wfm/my_schedule.html",
        weeks=weeks,
        link=link,
        has_link=await my_schedule.has_calendar_link(user.id),
    )


class MyController(Controller):
    path = "/my"

    @get("/schedule", name="my_schedule", opt=EVERYONE)
    async def schedule(self, request: Request[Any, Any, Any]) -> Template:
        return await _my_page(request)

    @get("/schedule.ics", name="my_schedule_ics", opt=EVERYONE)
    async def download(self, request: Request[Any, Any, Any]) -> Response[str]:
        agent_id = request.user.agent_id
        if not agent_id:
            raise NotFoundException("You are not on the roster, so you have no shifts.")
        return _ics(await my_schedule.ics(agent_id, await _today()), "my-shifts.ics")

    @post("/calendar-link", name="my_calendar_link", opt=EVERYONE)
    async def calendar_link(self, request: Request[Any, Any, Any]) -> Template:
        token = await my_schedule.new_calendar_link(request.user.id)
        return await _my_page(request, link=str(request.base_url).rstrip("/") + f"/calendar/{token}.ics")


class CalendarController(Controller):
    path = "/calendar"

    @get("/{token:str}", name="calendar_feed", opt=security.public())
    async def feed(self, token: FromPath[str]) -> Response[str]:
        """The subscription feed: no session, the token is the key; it serves only its own user's shifts
        and stops when the account is deactivated or leaves the roster."""
        agent_id = await my_schedule.agent_for_token(token.removesuffix(".ics"))
        if agent_id is None:
            raise NotFoundException("No such calendar.")
        return _ics(await my_schedule.ics(agent_id, await _today()), "shifts.ics")
