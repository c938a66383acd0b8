"""An agent's own pages: My schedule, its .ics download and the private calendar subscription link."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from wfm import security
from wfm.routes.common import form_values, page
from wfm.services import availability, my_schedule, swaps, time_off
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


async def _my_page(request: Request[Any, Any, Any], link: str = "", status_code: int = 200, **context: Any) -> Template:
    user: security.CurrentUser = request.user
    weeks = await my_schedule.weeks(user.agent_id, await _today()) if user.agent_id else ()
    return await page(
        request,
        "wfm/my_schedule.html",
        status_code=status_code,
        weeks=weeks,
        link=link,
        has_link=await my_schedule.has_calendar_link(user.id),
        swaps=await swaps.listing(agent_id=user.agent_id) if user.agent_id else [],
        teammates=await swaps.teammates(user.agent_id) if user.agent_id else [],
        **context,
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

    @post("/swaps", name="my_swap_ask", opt=EVERYONE)
    async def swap_ask(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        values = await form_values(request)
        day = _date(values, "day")
        if day is None:
            return await _my_page(request, status_code=422, swap_error="Choose the day.")
        try:
            await swaps.ask(request.user.agent_id, str(values.get("partner", "")), day, await _today())
        except swaps.SwapError as error:
            return await _my_page(request, status_code=422, swap_error=str(error))
        return Redirect(request.app.route_reverse("my_schedule"))

    @post("/swaps/{swap_id:int}/answer", name="my_swap_answer", opt=EVERYONE)
    async def swap_answer(self, request: Request[Any, Any, Any], swap_id: FromPath[int]) -> Template | Redirect:
        values = await form_values(request)
        try:
            await swaps.answer(swap_id, request.user.agent_id, values.get("answer") == "agree")
        except swaps.SwapError as error:
            return await _my_page(request, status_code=422, swap_error=str(error))
        return Redirect(request.app.route_reverse("my_schedule"))

    @post("/swaps/{swap_id:int}/cancel", name="my_swap_cancel", opt=EVERYONE)
    async def swap_cancel(self, request: Request[Any, Any, Any], swap_id: FromPath[int]) -> Template | Redirect:
        try:
            await swaps.cancel(swap_id, request.user.agent_id)
        except swaps.SwapError as error:
            return await _my_page(request, status_code=422, swap_error=str(error))
        return Redirect(request.app.route_reverse("my_schedule"))

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


def _date(values: Any, name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(values.get(name, "")))
    except ValueError:
        return None


async def _time_off_page(request: Request[Any, Any, Any], status_code: int = 200, **context: Any) -> Template:
    agent_id = request.user.agent_id
    requests = await time_off.listing(agent_ids=[agent_id]) if agent_id else []
    return await page(
        request, "wfm/my_time_off.html", status_code=status_code, requests=requests, kinds=time_off.KINDS, **context
    )


async def _availability_page(request: Request[Any, Any, Any], status_code: int = 200, **context: Any) -> Template:
    agent_id = request.user.agent_id
    rows = await availability.of_agent(agent_id) if agent_id else []
    return await page(
        request, "wfm/my_availability.html", status_code=status_code, windows=rows, kinds=availability.KINDS,
        weekdays=availability.WEEKDAYS, **context,
    )  # fmt: skip


class MyRequestsController(Controller):
    """Time off and availability, each agent their own."""

    path = "/my"

    @get("/time-off", name="my_time_off", opt=EVERYONE)
    async def time_off_page(self, request: Request[Any, Any, Any]) -> Template:
        return await _time_off_page(request)

    @post("/time-off", name="my_time_off_request", opt=EVERYONE)
    async def ask(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        if not request.user.agent_id:
            raise NotFoundException("You are not on the roster.")
        values = await form_values(request)
        first, last = _date(values, "first_day"), _date(values, "last_day")
        if first is None or last is None:
            return await _time_off_page(request, 422, error="Give the first and last day.")
        try:
            await time_off.request(
                request.user.agent_id, first, last, str(values.get("kind", "vacation")), str(values.get("note", "")),
                await _today(),
            )  # fmt: skip
        except time_off.TimeOffError as error:
            return await _time_off_page(request, 422, error=str(error))
        return Redirect(request.app.route_reverse("my_time_off"))

    @post("/time-off/{request_id:int}/cancel", name="my_time_off_cancel", opt=EVERYONE)
    async def cancel(self, request: Request[Any, Any, Any], request_id: FromPath[int]) -> Template | Redirect:
        try:
            await time_off.cancel(request_id, request.user.agent_id)
        except time_off.TimeOffError as error:
            return await _time_off_page(request, 422, error=str(error))
        return Redirect(request.app.route_reverse("my_time_off"))

    @get("/availability", name="my_availability", opt=EVERYONE)
    async def availability_page(self, request: Request[Any, Any, Any]) -> Template:
        return await _availability_page(request)

    @post("/availability", name="my_availability_add", opt=EVERYONE)
    async def add_window(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        if not request.user.agent_id:
            raise NotFoundException("You are not on the roster.")
        values = await form_values(request)
        try:
            await availability.add(
                request.user.agent_id, str(values.get("weekday", "")), str(values.get("start", "")),
                str(values.get("end", "")), str(values.get("kind", "")),
            )  # fmt: skip
        except availability.AvailabilityError as error:
            return await _availability_page(request, 422, error=str(error))
        return Redirect(request.app.route_reverse("my_availability"))

    @post("/availability/{window_id:int}/delete", name="my_availability_delete", opt=EVERYONE)
    async def delete_window(self, request: Request[Any, Any, Any], window_id: FromPath[int]) -> Redirect:
        await availability.delete(window_id, request.user.agent_id)
        return Redirect(request.app.route_reverse("my_availability"))
