"""The lead's time-off desk: pending requests of their teams with the team limit and coverage impact."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from wfm import security
from wfm.routes.common import form_values, page
from wfm.services import swaps, time_off
from wfm.services.site import list_teams

PLANNERS = security.roles(security.ADMIN, security.LEAD)


def _plannable_teams(user: security.CurrentUser, teams: list[Any]) -> list[Any]:
    return [t for t in teams if user.manages_team(t.id)]


async def _desk(request: Request[Any, Any, Any], status_code: int = 200, **context: Any) -> Template:
    teams = _plannable_teams(request.user, await list_teams())
    team_ids = [t.id for t in teams]
    pending = await time_off.listing(team_ids=team_ids, statuses=("pending",))
    decided = await time_off.listing(team_ids=team_ids, statuses=("approved", "declined"))
    impacts = {r.id: await time_off.impact(r) for r in pending}
    limits = await time_off.limits(team_ids)
    agreed = [s for s in await swaps.listing(team_ids=team_ids) if s.status == "agreed"]
    return await page(
        request, "wfm/time_off.html", status_code=status_code, pending=pending, impacts=impacts,
        decided=decided[-20:], teams=teams, limits=limits, swaps=agreed, **context,
    )  # fmt: skip


class TimeOffController(Controller):
    path = "/time-off"

    @get("/", name="time_off", opt=PLANNERS)
    async def show(self, request: Request[Any, Any, Any]) -> Template:
        return await _desk(request)

    @post("/{request_id:int}/decide", name="time_off_decide", opt=PLANNERS)
    async def decide(self, request: Request[Any, Any, Any], request_id: FromPath[int]) -> Template | Redirect:
        view = await time_off.get(request_id)
        teams = {t.id for t in _plannable_teams(request.user, await list_teams())}
        if view is None or view.team_id not in teams:
            raise NotFoundException("No such request in your teams.")
        values = await form_values(request)
        decision = values.get("decision", "")
        if decision not in ("approve", "decline"):
            return await _desk(request, 422, error="Choose approve or decline.")
        try:
            await time_off.decide(request_id, decision == "approve", request.user.username, str(values.get("note", "")))
        except time_off.TimeOffError as error:
            return await _desk(request, 422, error=f"{view.agent_name}: {error}")
        return Redirect(request.app.route_reverse("time_off"))

    @post("/swaps/{swap_id:int}/decide", name="swap_decide", opt=PLANNERS)
    async def decide_swap(self, request: Request[Any, Any, Any], swap_id: FromPath[int]) -> Template | Redirect:
        teams = [t.id for t in _plannable_teams(request.user, await list_teams())]
        if swap_id not in {s.id for s in await swaps.listing(team_ids=teams)}:
            raise NotFoundException("No such swap in your teams.")
        approve = (await form_values(request)).get("decision") == "approve"
        try:
            broken = await swaps.decide(swap_id, approve, request.user.username)
        except swaps.SwapError as error:
            return await _desk(request, 422, error=str(error))
        if broken:
            return await _desk(request, 422, error="Not approved: the swap would break " + "; ".join(broken))
        return Redirect(request.app.route_reverse("time_off"))

    @post("/limit", name="time_off_limit", opt=PLANNERS)
    async def limit(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        values = await form_values(request)
        raw_team, raw_limit = str(values.get("team", "")), str(values.get("limit", ""))
        if not raw_team.isdigit() or not raw_limit.isdigit():
            return await _desk(request, 422, error="Give a team and a whole number.")
        if int(raw_team) not in {t.id for t in _plannable_teams(request.user, await list_teams())}:
            raise PermissionDeniedException("Not one of your teams.")
        try:
            await time_off.set_limit(int(raw_team), int(raw_limit), request.user.username)
        except time_off.TimeOffError as error:
            return await _desk(request, 422, error=str(error))
        return Redirect(request.app.route_reverse("time_off"))
