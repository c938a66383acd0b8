"""The triad page: customer, employee and company measures side by side, and how they move together."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, get
from litestar.params import FromQuery
from litestar.response import Template

from wfm import security
from wfm.routes.common import fragment_request, page
from wfm.services import triad as triad_service
from wfm.services.costs import MAX_MONTHS, MONTH_LABEL, month_count
from wfm.services.site import list_teams

READERS = security.roles(security.ADMIN, security.LEAD, security.FINANCE)


def _months(first: str, last: str) -> tuple[str, str, dict[str, str]]:
    """The asked months, or the twelve whole months before this one."""
    today = dt.date.today().replace(day=1)
    default_last = f"{today - dt.timedelta(days=1):%Y-%m}"
    default_first = f"{today.replace(year=today.year - 1):%Y-%m}"
    errors = {}
    first, last = first or default_first, last or default_last
    if not MONTH_LABEL.match(first) or not MONTH_LABEL.match(last) or first > last:
        errors["period"] = "Give the months as YYYY-MM, the first before the last."
    elif month_count(first, last) > MAX_MONTHS:
        errors["period"] = f"Show at most {MAX_MONTHS // 12} years at a time."
    if errors:
        first, last = default_first, default_last
    return first, last, errors


class TriadController(Controller):
    path = "/triad"

    @get("/", name="triad", opt=READERS)
    async def show(
        self, request: Request[Any, Any, Any], first: FromQuery[str] = "", last: FromQuery[str] = ""
    ) -> Template:
        first, last, errors = _months(first, last)
        user = request.user
        own = None
        if user.role == security.LEAD:
            own = tuple(t.name for t in await list_teams() if t.id in user.team_ids)
        view = await triad_service.triad_view(first, last, own)
        template = "wfm/partials/triad_body.html" if fragment_request(request) else "wfm/triad.html"
        return await page(
            request, template, view=view, errors=errors, labels=triad_service.LABELS,
            fractions=triad_service.FRACTIONS, direction=triad_service.direction,
        )  # fmt: skip
