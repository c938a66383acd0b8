"""Pulse pages: surveys and results for leads and admins; answering a round for anyone on a team's roster.

The submit route logs nothing about the person or the answer (the access log has the path only).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from pulse import questions, results, rounds
from pulse.services import answers, surveys
from pulse.services import results as results_service
from wfm import security
from wfm.forms import FormError
from wfm.routes.common import csv_download, form_values, page
from wfm.services import audit
from wfm.services.site import list_teams

READERS = security.roles(security.ADMIN, security.LEAD)
EVERYONE = security.roles(*security.ALL_ROLES)


async def _readable_teams(user: security.CurrentUser) -> list[tuple[int, str]]:
    """Admins read every team's results, leads their own."""
    return [(t.id, t.name) for t in await list_teams() if user.manages_team(t.id)]


async def _readable_survey(request: Request[Any, Any, Any], survey_id: int) -> surveys.SurveyView:
    survey = await surveys.get_survey(survey_id)
    teams = {t for t, _ in await _readable_teams(request.user)}
    if survey is None or not survey.team_ids & teams:
        raise NotFoundException("No such survey for your teams.")
    return survey


async def _surveys_page(request: Request[Any, Any, Any], status_code: int = 200, **context: Any) -> Template:
    user = request.user
    teams = await _readable_teams(user)
    listed = await surveys.list_surveys(None if user.role == security.ADMIN else user.team_ids)
    today = await surveys.site_today()
    defaults = {"first_opens_on": today.isoformat(), "rounds": "12", "open_days": "5", "cadence": "monthly"}
    return await page(
        request, "pulse/surveys.html", status_code=status_code, surveys=listed, teams=teams,
        drivers=questions.DRIVERS, cadences=questions.CADENCES, values=context.pop("values", defaults),
        errors=context.pop("errors", {}), enps_text=questions.ENPS_TEXT, max_rounds=rounds.MAX_ROUNDS,
        may_manage={s.id: surveys.may_manage(s, user.role, user.team_ids) for s in listed}, **context,
    )  # fmt: skip


class PulseController(Controller):
    path = "/pulse"

    @get("/", name="pulse_surveys", opt=READERS)
    async def show(self, request: Request[Any, Any, Any]) -> Template:
        return await _surveys_page(request)

    @post("/", name="pulse_create", opt=READERS)
    async def create(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        values = await form_values(request, lists=("teams", "drivers"))
        user = request.user
        try:
            form = surveys.parse_survey_form(values)
            allowed = None if user.role == security.ADMIN else user.team_ids
            survey_id = await surveys.create_survey(form, user.username, allowed)
        except FormError as error:
            return await _surveys_page(request, 422, values=values, errors=error.errors)
        return Redirect(request.app.route_reverse("pulse_results", survey_id=survey_id))

    @get("/{survey_id:int}", name="pulse_results", opt=READERS)
    async def results(
        self,
        request: Request[Any, Any, Any],
        survey_id: FromPath[int],
        period: FromQuery[str] = "",
        team: FromQuery[int] = 0,
    ) -> Template:
        survey = await _readable_survey(request, survey_id)
        view = await results_service.survey_results(survey, await _readable_teams(request.user), period, team)
        template = "pulse/partials/results_body.html" if request.headers.get("hx-request") else "pulse/results.html"
        manage = surveys.may_manage(survey, request.user.role, request.user.team_ids)
        return await page(request, template, view=view, manage=manage, all_teams=results.ALL_TEAMS)

    @get("/{survey_id:int}/export.csv", name="pulse_export", opt=READERS)
    async def export(self, request: Request[Any, Any, Any], survey_id: FromPath[int]) -> Response[Any]:
        survey = await _readable_survey(request, survey_id)
        frame = await results_service.export_frame(survey, await _readable_teams(request.user))
        await audit.record(request.user.username, "survey_exported", survey.name)
        return csv_download(frame, f"pulse-{survey.id}-{dt.date.today()}.csv")

    @post("/rounds/{round_id:int}/close", name="pulse_close", opt=READERS)
    async def close(self, request: Request[Any, Any, Any], round_id: FromPath[int]) -> Redirect:
        user = request.user
        listed = await surveys.list_surveys(None if user.role == security.ADMIN else user.team_ids)
        survey = next((s for s in listed if round_id in {r.id for r in s.rounds}), None)
        if survey is None:
            raise NotFoundException("No such round for your teams.")
        if not surveys.may_manage(survey, user.role, user.team_ids):
            raise PermissionDeniedException("This survey also goes to teams that are not yours.")
        await surveys.close_round(round_id, user.username)
        return Redirect(request.app.route_reverse("pulse_results", survey_id=survey.id))


class AnswerController(Controller):
    """A round's answer form; its address is the personal link (it still needs the person to sign in)."""

    path = "/pulse/answer"

    @get("/{round_id:int}", name="pulse_answer", opt=EVERYONE)
    async def form(self, request: Request[Any, Any, Any], round_id: FromPath[int]) -> Template:
        try:
            target = await answers.answerable(round_id, request.user.id)
        except answers.CannotAnswerError as reason:
            return await page(request, "pulse/answer.html", status_code=404, reason=str(reason), target=None)
        return await page(request, "pulse/answer.html", target=target, values={}, **_answer_texts())

    @post("/{round_id:int}", name="pulse_submit", opt=EVERYONE)
    async def submit(self, request: Request[Any, Any, Any], round_id: FromPath[int]) -> Template:
        try:
            target = await answers.answerable(round_id, request.user.id)
        except answers.CannotAnswerError as reason:
            return await page(request, "pulse/answer.html", status_code=409, reason=str(reason), target=None)
        if target.answered:
            return await page(request, "pulse/answer.html", target=target, done=True, repeat=True)
        values = await form_values(request)
        try:
            answer = answers.parse_answer(values, target)
            stored = await answers.submit(target, request.user.id, answer)
        except ValueError as error:
            return await page(
                request, "pulse/answer.html", status_code=422, target=target, values=values, error=str(error),
                **_answer_texts(),
            )  # fmt: skip
        except answers.CannotAnswerError as reason:
            return await page(request, "pulse/answer.html", status_code=409, reason=str(reason), target=None)
        return await page(request, "pulse/answer.html", target=target, done=True, repeat=not stored)


def _answer_texts() -> dict[str, Any]:
    return {"enps_text": questions.ENPS_TEXT, "comment_text": questions.COMMENT_TEXT, "agreement": questions.AGREEMENT}
