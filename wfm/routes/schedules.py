"""The team lead's schedule week: the grid, coverage and cost, generating a draft as a job, and publishing."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from wfm import jobs, security
from wfm.routes.common import csv_download, form_values, page
from wfm.services import schedule_edits, schedule_week, schedules
from wfm.services.site import get_site, list_teams

READERS = security.roles(security.ADMIN, security.LEAD, security.FINANCE)
PLANNERS = security.roles(security.ADMIN, security.LEAD)
TIME_LIMITS = (10, 30, 60, 120, 300)


async def _week_page(
    request: Request[Any, Any, Any], team_id: int | None, monday: dt.date | None, status_code: int = 200, **context: Any
) -> Template:
    user: security.CurrentUser = request.user
    readable = [(t.id, t.name) for t in await list_teams() if user.can_read_team(t.id)]
    if team_id is None and readable:
        team_id = readable[0][0]
    if team_id is not None and team_id not in {t for t, _ in readable}:
        raise PermissionDeniedException("Not one of your teams.")
    site = await get_site()
    today = dt.datetime.now(ZoneInfo(site.time_zone)).date()
    monday = monday or schedule_week.next_monday(today)
    view = await schedule_week.page(team_id, monday, readable)
    return await page(
        request,
        "wfm/schedules.html",
        status_code=status_code,
        view=view,
        may_plan=team_id is not None and user.manages_team(team_id),
        time_limits=TIME_LIMITS,
        previous_week=monday - dt.timedelta(days=7),
        next_week=monday + dt.timedelta(days=7),
        errors=context.pop("errors", {}),
        **context,
    )


def _team_and_week(values: Any) -> tuple[int | None, dt.date | None, str]:
    raw_team = str(values.get("team", ""))
    team_id = int(raw_team) if raw_team.isdigit() else None
    raw_week = str(values.get("week", ""))
    if not raw_week:
        return team_id, None, ""
    try:
        return team_id, schedules.monday_of(raw_week), ""
    except schedules.ScheduleError as error:
        return team_id, None, str(error)


class SchedulesController(Controller):
    path = "/schedules"

    @get("/", name="schedules", opt=READERS)
    async def show(self, request: Request[Any, Any, Any]) -> Template:
        team_id, monday, problem = _team_and_week(request.query_params)
        errors = {"week": problem} if problem else {}
        return await _week_page(request, team_id, monday, 422 if problem else 200, errors=errors)

    @get("/{schedule_id:int}", name="schedule", opt=READERS)
    async def one(self, request: Request[Any, Any, Any], schedule_id: FromPath[int]) -> Redirect:
        found = await _readable(request, schedule_id)
        return Redirect(request.app.route_reverse("schedules") + f"?team={found.team_id}&week={found.week_start}")

    @get("/{schedule_id:int}/export.csv", name="schedule_csv", opt=READERS)
    async def export(self, request: Request[Any, Any, Any], schedule_id: FromPath[int]) -> Response[str]:
        """The week's rows in site time, one per activity (spreadsheet-safe)."""
        found = await _readable(request, schedule_id)
        frame = await schedule_week.export_frame(schedule_id)
        return csv_download(frame, f"schedule-{found.team_name}-{found.week_start}.csv")

    @get("/{schedule_id:int}/print", name="schedule_print", opt=READERS)
    async def printable(self, request: Request[Any, Any, Any], schedule_id: FromPath[int]) -> Template:
        """The agents x days grid on its own, for paper or a wall screen."""
        found = await _readable(request, schedule_id)
        readable = [(found.team_id, found.team_name)]
        view = await schedule_week.page(found.team_id, found.week_start, readable, schedule_id=schedule_id)
        return await page(request, "wfm/schedule_print.html", view=view)

    @post("/generate", name="schedules_generate", opt=PLANNERS)
    async def generate(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        values = await form_values(request)
        team_id, monday, problem = _team_and_week(values)
        if team_id is None:
            return await _week_page(request, None, monday, 422, errors={"week": "Choose a team."})
        if not request.user.manages_team(team_id):
            raise PermissionDeniedException("Leads schedule only their own teams.")
        raw_limit = str(values.get("time_limit_seconds", "60"))
        limit = int(raw_limit) if raw_limit.isdigit() else 0
        errors = {}
        if monday is None:
            errors["week"] = problem or "Choose the week's Monday."
        if limit not in TIME_LIMITS:
            errors["time_limit_seconds"] = f"Choose one of {', '.join(str(t) for t in TIME_LIMITS)} seconds."
        if errors:
            return await _week_page(request, team_id, monday, 422, errors=errors)
        assert monday is not None
        inputs = {
            "team_ids": [team_id],
            "week": monday.isoformat(),
            "time_limit_seconds": limit,
            "actor": request.user.username,
        }
        job_id = await jobs.submit(request.app.state.queue, "schedule", inputs, request.user.username)
        return Redirect(request.app.route_reverse("job", job_id=job_id))

    @post("/{schedule_id:int}/publish", name="schedules_publish", opt=PLANNERS)
    async def publish(self, request: Request[Any, Any, Any], schedule_id: FromPath[int]) -> Template | Redirect:
        found = await _plannable(request, schedule_id)
        reason = str((await form_values(request)).get("reason", "")).strip()
        broken = await schedule_week.violations_of(schedule_id)
        if broken and not reason:
            message = f"This version breaks {len(broken)} rule(s): give the reason you publish it anyway."
            return await _week_page(request, found.team_id, found.week_start, 422, errors={"publish": message})
        if broken:
            await schedule_edits.acknowledge(schedule_id, reason[:500], request.user.username)
        await schedule_week.publish(schedule_id, request.user.username)
        return Redirect(request.app.route_reverse("schedules") + f"?team={found.team_id}&week={found.week_start}")

    @post("/{schedule_id:int}/edit", name="schedules_edit", opt=PLANNERS)
    async def edit(self, request: Request[Any, Any, Any], schedule_id: FromPath[int]) -> Template:
        """Change one agent-day (or swap two agents' days) and answer with what the change breaks."""
        found = await _plannable(request, schedule_id)
        values = await form_values(request)
        action = values.get("action", "")
        agent = str(values.get("agent", ""))
        try:
            day = dt.date.fromisoformat(str(values.get("day", "")))
        except ValueError:
            return await _week_page(request, found.team_id, found.week_start, 422, errors={"edit": "Choose a day."})
        actor = request.user.username
        try:
            if action == "shift":
                result = await schedule_edits.set_shift(
                    schedule_id, agent, day, str(values.get("start", "")), str(values.get("end", "")),
                    str(values.get("channel", "")), actor,
                )  # fmt: skip
            elif action == "off":
                result = await schedule_edits.day_off(schedule_id, agent, day, actor)
            elif action == "swap":
                result = await schedule_edits.swap(schedule_id, agent, str(values.get("other", "")), day, actor)
            else:
                raise schedule_edits.EditError("Choose what to change.")
        except (schedule_edits.EditError, schedules.ScheduleError) as error:
            return await _week_page(request, found.team_id, found.week_start, 422, errors={"edit": str(error)})
        return await _week_page(request, found.team_id, found.week_start, edit_result=result)

    @post("/copy", name="schedules_copy", opt=PLANNERS)
    async def copy(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        """Start the week from last week's schedule (a draft)."""
        team_id, monday, problem = _team_and_week(await form_values(request))
        if team_id is None or monday is None:
            return await _week_page(
                request, team_id, monday, 422, errors={"week": problem or "Choose a team and week."}
            )
        if not request.user.manages_team(team_id):
            raise PermissionDeniedException("Leads schedule only their own teams.")
        try:
            await schedule_edits.copy_week(team_id, monday, request.user.username)
        except (schedule_edits.EditError, schedules.ScheduleError) as error:
            return await _week_page(request, team_id, monday, 422, errors={"copy_week": str(error)})
        return Redirect(request.app.route_reverse("schedules") + f"?team={team_id}&week={monday}")


async def _readable(request: Request[Any, Any, Any], schedule_id: int) -> schedules.ScheduleView:
    found = await schedules.get(schedule_id)
    if found is None or not request.user.can_read_team(found.team_id):
        raise NotFoundException("No such schedule among your teams.")
    return found


async def _plannable(request: Request[Any, Any, Any], schedule_id: int) -> schedules.ScheduleView:
    """The schedule, if the user's teams include it (else 404) and the user may plan it (else 403)."""
    found = await _readable(request, schedule_id)
    if not request.user.manages_team(found.team_id):
        raise PermissionDeniedException("Leads change only their own teams' schedules.")
    return found
