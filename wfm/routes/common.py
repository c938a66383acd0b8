"""Helpers every page route uses: the page context, form values and template filters."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, Response
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template

from wfm.exports import to_csv
from wfm.forms import minute_text
from wfm.security import CurrentUser
from wfm.services.site import get_site


def me(request: Request[Any, Any, Any]) -> CurrentUser | None:
    user = request.scope.get("user")
    return user if isinstance(user, CurrentUser) else None


def fragment_request(request: Request[Any, Any, Any]) -> bool:
    """An htmx request for a fragment; htmx restoring history after a reload asks for the whole page."""
    return bool(request.headers.get("hx-request")) and not request.headers.get("hx-history-restore-request")


async def page(request: Request[Any, Any, Any], template_name: str, status_code: int = 200, **context: Any) -> Template:
    """Render a page (or a partial) with the signed-in user and the site settings in its context."""
    site = await get_site()
    return Template(
        template_name=template_name,
        context={"me": me(request), "site": site, **context},
        status_code=status_code,
    )


async def form_values(request: Request[Any, Any, Any], lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """Posted form fields as a dict; fields named in ``lists`` keep all their values (checkbox groups)."""
    form = await request.form()
    values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    for name in lists:
        values[name] = [v for v in form.getall(name, []) if isinstance(v, str) and v]
    return values


def client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else ""


def safe_next(target: str) -> str:
    """Only same-site paths may follow a sign-in (no open redirects)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def signed(value: float) -> str:
    """A score with its sign and no decimals (+12, -3); zero without a sign, never "-0"."""
    text = f"{value:+.0f}"
    return "0" if text in ("+0", "-0") else text


def template_globals(engine: JinjaTemplateEngine) -> None:
    env = engine.engine
    env.filters["local_time"] = _local_time
    env.filters["hhmm"] = minute_text
    env.filters["signed"] = signed
    env.globals["weekday_names"] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _local_time(value: dt.datetime | None, time_zone: str) -> str:
    """A stored UTC instant in the site's time zone, as ``YYYY-MM-DD HH:MM``."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m-%d %H:%M")


def csv_download(frame: Any, filename: str) -> Response[str]:
    """A spreadsheet-safe CSV attachment (`wfm.exports.to_csv`)."""
    return Response(
        to_csv(frame),
        media_type="text/csv",  # Litestar adds the charset
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
