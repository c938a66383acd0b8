"""The forecast page: a channel's latest forecast with its band, why its model was chosen, the lead's
adjustments and the accuracy ledger; running a forecast is a job."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from wfm import jobs, security
from wfm.routes.common import form_values, page
from wfm.services import forecasts
from wfm.services.site import get_site

READERS = security.roles(security.ADMIN, security.LEAD, security.FINANCE)
PLANNERS = security.roles(security.ADMIN, security.LEAD)
MAX_HORIZON_DAYS = 62
# METHODS, named here so the web process need not import statsmodels to draw a form.
METHODS = ("auto", "snaive", "ets", "mstl", "regression")


async def _page(request: Request[Any, Any, Any], status_code: int = 200, **context: Any) -> Template:
    params = request.query_params
    try:
        channel_id = int(params["channel"]) if params.get("channel") else None
    except ValueError:
        channel_id = None
    if channel_id is None and params.get("version", "").isdigit():
        # The job page links to the versions it made; show the channel of the first.
        channel_id = await forecasts.version_channel(int(params["version"]))
    channel_id = context.pop("channel_id", channel_id)
    try:
        day = dt.date.fromisoformat(params["day"]) if params.get("day") else None
    except ValueError:
        day = None
    view = await forecasts.page(channel_id, day)
    special_days = await forecasts.events()
    return await page(
        request,
        "wfm/forecast.html",
        status_code=status_code,
        view=view,
        special_days=special_days,
        methods=METHODS,
        may_plan=request.user.role in (security.ADMIN, security.LEAD),
        errors=context.pop("errors", {}),
        **context,
    )


class ForecastController(Controller):
    path = "/forecast"

    @get("/", name="forecast", opt=READERS)
    async def show(self, request: Request[Any, Any, Any]) -> Template:
        return await _page(request)

    @post("/run", name="forecast_run", opt=PLANNERS)
    async def start(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        values = await form_values(request)
        errors = {}
        try:
            channel_id = int(values.get("channel", ""))
        except ValueError:
            channel_id, errors["channel"] = None, "Choose a channel."
        try:
            horizon = int(values.get("horizon_days", ""))
            if not 1 <= horizon <= MAX_HORIZON_DAYS:
                raise ValueError
        except ValueError:
            horizon, errors["horizon_days"] = 14, f"Give a whole number of days from 1 to {MAX_HORIZON_DAYS}."
        method = values.get("method", "auto")
        if method not in METHODS:
            errors["method"] = f"Choose one of {', '.join(METHODS)}."
        if errors:
            return await _page(request, 422, errors=errors, channel_id=channel_id)
        inputs = {
            "channel_ids": [channel_id],
            "horizon_days": horizon,
            "method": method,
            "actor": request.user.username,
        }
        job_id = await jobs.submit(request.app.state.queue, "forecast", inputs, request.user.username)
        return Redirect(request.app.route_reverse("job", job_id=job_id))

    @post("/adjustments", name="forecast_adjust", opt=PLANNERS)
    async def adjust(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        values = await form_values(request)
        site = await get_site()
        zone = ZoneInfo(site.time_zone)
        errors: dict[str, str] = {}
        channel_id = None
        try:
            channel_id = int(values.get("channel", ""))
            first = dt.datetime.fromisoformat(values.get("start", "")).replace(tzinfo=zone)
            end = dt.datetime.fromisoformat(values.get("end", "")).replace(tzinfo=zone)
            percent = float(values.get("percent", ""))
            await forecasts.add_adjustment(
                channel_id, first, end, percent, values.get("reason", ""), request.user.username
            )
        except ValueError as error:
            text = str(error)
            errors["adjustment"] = text if text[:1].isupper() else "Give a start, an end, a change in % and a reason."
            return await _page(request, 422, errors=errors, channel_id=channel_id, entered=values)
        return Redirect(request.app.route_reverse("forecast") + f"?channel={channel_id}")

    @post("/adjustments/{adjustment_id:int}/delete", name="forecast_adjust_delete", opt=PLANNERS)
    async def remove(self, request: Request[Any, Any, Any], adjustment_id: FromPath[int]) -> Redirect:
        values = await form_values(request)
        await forecasts.delete_adjustment(adjustment_id, request.user.username)
        return Redirect(request.app.route_reverse("forecast") + f"?channel={values.get('channel', '')}")

    @post("/events", name="forecast_event_add", opt=PLANNERS)
    async def add_event(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        values = await form_values(request)
        try:
            first = dt.date.fromisoformat(values.get("first_day", ""))
            last = dt.date.fromisoformat(values.get("last_day") or values.get("first_day", ""))
            multiplier = float(values["multiplier"]) if values.get("multiplier") else None
            like_day = dt.date.fromisoformat(values["like_day"]) if values.get("like_day") else None
            channel_id = int(values["event_channel"]) if values.get("event_channel") else None
            await forecasts.add_event(
                values.get("name", ""), first, last, multiplier, like_day, channel_id, request.user.username
            )
        except ValueError as error:
            text = str(error)
            message = text if text[:1].isupper() else "Give a name, dates as YYYY-MM-DD and a multiplier or a day."
            return await _page(request, 422, errors={"event": message}, event_entered=values)
        return Redirect(request.app.route_reverse("forecast") + f"?channel={values.get('channel', '')}")

    @post("/events/{event_id:int}/delete", name="forecast_event_delete", opt=PLANNERS)
    async def remove_event(self, request: Request[Any, Any, Any], event_id: FromPath[int]) -> Redirect:
        values = await form_values(request)
        await forecasts.delete_event(event_id, request.user.username)
        return Redirect(request.app.route_reverse("forecast") + f"?channel={values.get('channel', '')}")
