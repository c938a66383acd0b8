"""History browsing: a channel's contacts over a date range per interval, day or week, with a CSV download."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.response import Template

from wfm import history, security
from wfm.routes.common import csv_download, fragment_request, page
from wfm.services import history as history_service
from wfm.services.site import get_site

READERS = security.roles(security.ADMIN, security.LEAD, security.FINANCE)
DEFAULT_DAYS = 28


async def _query(request: Request[Any, Any, Any]) -> tuple[history_service.HistoryQuery | None, dict[str, str]]:
    """The query from the URL, defaulting to the last four weeks with data; errors by field."""
    params = request.query_params
    errors: dict[str, str] = {}
    channels = await history_service.channels()
    if not channels:
        return None, errors
    try:
        channel_id = int(params.get("channel") or channels[0][0])
    except ValueError:
        channel_id, errors["channel"] = channels[0][0], "Choose a channel."
    if channel_id not in {c for c, _ in channels}:
        channel_id, errors["channel"] = channels[0][0], "Choose a channel."
    grain = params.get("grain") or "day"
    if grain not in history.GRAINS:
        grain, errors["grain"] = "day", f"Choose one of: {', '.join(history.GRAINS)}."
    site = await get_site()
    span = await history_service.bounds(channel_id, site.time_zone)
    last = span[1] if span else dt.date.today()
    first = max(last - dt.timedelta(days=DEFAULT_DAYS - 1), span[0]) if span else last
    dates = {}
    for name, default in (("start", first), ("end", last)):
        text = params.get(name) or ""
        try:
            dates[name] = dt.date.fromisoformat(text) if text else default
        except ValueError:
            dates[name], errors[name] = default, "Give a date as YYYY-MM-DD."
    if dates["end"] < dates["start"]:
        errors["end"] = "The end date is before the start date."
        dates["end"] = dates["start"]
    try:
        page_number = max(1, int(params.get("page") or 1))
    except ValueError:
        page_number = 1
    return history_service.HistoryQuery(channel_id, dates["start"], dates["end"], grain, page_number), errors


class HistoryController(Controller):
    path = "/history"

    @get("/", name="history", opt=READERS)
    async def show(self, request: Request[Any, Any, Any]) -> Template:
        query, errors = await _query(request)
        view = await history_service.view(query)
        template = "wfm/partials/history_result.html" if fragment_request(request) else "wfm/history.html"
        return await page(request, template, status_code=422 if errors else 200, view=view, errors=errors)

    @get("/export.csv", name="history_csv", opt=READERS)
    async def export(self, request: Request[Any, Any, Any]) -> Response[str]:
        query, errors = await _query(request)
        if query is None or errors:
            return Response("; ".join(errors.values()) or "No history yet.", status_code=422, media_type="text/plain")
        frame = await history_service.aggregated(query)
        channel = dict(await history_service.channels())[query.channel_id]
        name = f"history-{channel}-{query.first}-{query.last}-{query.grain}.csv"
        return csv_download(frame, name)
