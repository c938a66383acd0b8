"""The home page: what each role needs first."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Template

from pulse.services import surveys
from wfm import jobs, security
from wfm.routes.common import page
from wfm.services import roster, site


class HomeController(Controller):
    @get("/", name="home", opt=security.roles(*security.ALL_ROLES))
    async def home(self, request: Request[Any, Any, Any]) -> Template:
        user = request.user
        teams = await roster.visible_teams(user)
        recent_jobs = await jobs.recent(5) if user.role == security.ADMIN else []
        channels = await site.list_channels() if user.role == security.ADMIN else []
        pulse_rounds = await surveys.open_rounds_for(user.id)
        return await page(
            request, "wfm/home.html", teams=teams, recent_jobs=recent_jobs, channels=channels, pulse_rounds=pulse_rounds
        )
