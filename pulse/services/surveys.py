"""Surveys and their rounds: create from the question bank with a cadence, list, and what an agent may answer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from pulse import questions, rounds
from pulse.tables import PulseParticipation, PulseRound, PulseSurvey, PulseSurveyTeam
from wfm.db import write_transaction
from wfm.forms import FormError
from wfm.services import audit
from wfm.services.site import get_site
from wfm.tables import Agent, Team


@dataclass(frozen=True)
class SurveyForm:
    name: str
    cadence: str
    first_opens_on: dt.date
    rounds: int
    open_days: int
    team_ids: tuple[int, ...]
    drivers: tuple[str, ...]
    ask_comment: bool


@dataclass(frozen=True)
class RoundView:
    id: int
    survey_id: int
    survey_name: str
    number: int
    opens_on: dt.date
    closes_on: dt.date
    state: str  # upcoming, open, closed (site-local today)
    quarter: str


@dataclass(frozen=True)
class SurveyView:
    id: int
    name: str
    cadence: str
    drivers: tuple[str, ...]
    ask_comment: bool
    open_days: int
    teams: tuple[tuple[int, str], ...]
    rounds: tuple[RoundView, ...]

    @property
    def team_ids(self) -> frozenset[int]:
        return frozenset(t for t, _ in self.teams)

    @property
    def current(self) -> RoundView | None:
        """The open round, else the next one, else the last."""
        for wanted in ("open", "upcoming"):
            for r in self.rounds:
                if r.state == wanted:
                    return r
        return self.rounds[-1] if self.rounds else None


def parse_survey_form(values: dict[str, Any]) -> SurveyForm:
    """Read the create-survey form; every problem names its field."""
    errors: dict[str, str] = {}
    name = str(values.get("name", "")).strip()
    if not name or len(name) > 120:
        errors["name"] = "Give the survey a name of 1 to 120 characters."
    cadence = str(values.get("cadence", ""))
    if cadence not in questions.CADENCES:
        errors["cadence"] = "Choose weekly, every 2 weeks or monthly."
    first: dt.date | None = None
    try:
        first = dt.date.fromisoformat(str(values.get("first_opens_on", "")))
    except ValueError:
        errors["first_opens_on"] = "Give the first round's opening day as a date."
    count = _whole(values.get("rounds"), "rounds", 1, rounds.MAX_ROUNDS, errors)
    longest = rounds.longest_open_days(cadence)
    open_days = _whole(values.get("open_days"), "open_days", 1, longest, errors)
    team_ids = tuple(sorted({int(t) for t in values.get("teams", []) if str(t).isdigit()}))
    if not team_ids:
        errors["teams"] = "Choose at least one team."
    try:
        drivers = questions.parse_drivers(";".join(values.get("drivers", [])))
    except ValueError as error:
        errors["drivers"] = str(error)
        drivers = ()
    if errors:
        raise FormError(errors)
    assert first is not None
    return SurveyForm(name, cadence, first, count, open_days, team_ids, drivers, values.get("ask_comment") == "on")


def _whole(raw: Any, field: str, low: int, high: int, errors: dict[str, str]) -> int:
    text = str(raw or "").strip()
    if not text.isdigit() or not low <= int(text) <= high:
        errors[field] = f"Give a whole number from {low} to {high}."
        return low
    return int(text)


async def site_today() -> dt.date:
    """Today in the site's time zone: rounds open and close by the site's calendar."""
    site = await get_site()
    return dt.datetime.now(ZoneInfo(site.time_zone)).date()


async def create_survey(form: SurveyForm, actor: str, allowed_team_ids: frozenset[int] | None) -> int:
    """Store a survey, its teams and every round up front; ``allowed_team_ids`` None means any team."""
    known = {r["id"] for r in await Team.select(Team.id).where(Team.id.is_in(list(form.team_ids)))}
    missing = set(form.team_ids) - known
    if missing:
        raise FormError({"teams": f"No such team: {sorted(missing)}."})
    if allowed_team_ids is not None and not set(form.team_ids) <= allowed_team_ids:
        raise FormError({"teams": "You may survey only your own teams."})
    dates = rounds.round_dates(form.first_opens_on, form.cadence, form.rounds, form.open_days)
    survey = PulseSurvey(
        name=form.name,
        cadence=form.cadence,
        drivers=";".join(form.drivers),
        ask_comment=form.ask_comment,
        open_days=form.open_days,
        created_by=actor,
        created_at=audit.utcnow(),
    )
    async with write_transaction(PulseSurvey._meta.db):
        await survey.save()
        await PulseSurveyTeam.insert(*[PulseSurveyTeam(survey=survey.id, team=t) for t in form.team_ids])
        await PulseRound.insert(
            *[PulseRound(survey=survey.id, number=d.number, opens_on=d.opens_on, closes_on=d.closes_on) for d in dates]
        )
    detail = f"{form.rounds} {form.cadence} rounds, teams={list(form.team_ids)}"
    await audit.record(actor, "survey_created", form.name, detail)
    return int(survey.id)


async def list_surveys(team_ids: frozenset[int] | None = None) -> list[SurveyView]:
    """Every survey, or those going to at least one of ``team_ids``; newest first."""
    today = await site_today()
    surveys = await PulseSurvey.select().order_by(PulseSurvey.id, ascending=False)
    links = await PulseSurveyTeam.select(
        PulseSurveyTeam.survey, PulseSurveyTeam.team, PulseSurveyTeam.team.name.as_alias("name")
    ).order_by(PulseSurveyTeam.team.name)
    all_rounds = await PulseRound.select().order_by(PulseRound.number)
    out = []
    for s in surveys:
        teams = tuple((link["team"], link["name"]) for link in links if link["survey"] == s["id"])
        if team_ids is not None and not {t for t, _ in teams} & team_ids:
            continue
        own = tuple(round_view(r, s["name"], today) for r in all_rounds if r["survey"] == s["id"])
        out.append(
            SurveyView(
                s["id"], s["name"], s["cadence"], questions.parse_drivers(s["drivers"]), bool(s["ask_comment"]),
                s["open_days"], teams, own,
            )
        )  # fmt: skip
    return out


async def get_survey(survey_id: int) -> SurveyView | None:
    return next((s for s in await list_surveys() if s.id == survey_id), None)


def round_view(row: dict[str, Any], survey_name: str, today: dt.date) -> RoundView:
    state = rounds.state(row["opens_on"], row["closes_on"], today, bool(row["closed_early"]))
    return RoundView(
        row["id"], row["survey"], survey_name, row["number"], row["opens_on"], row["closes_on"],
        state, rounds.quarter_of(row["closes_on"]),
    )  # fmt: skip


async def roster_team(user_id: int) -> int | None:
    """The team the person answers for: their roster row's team (None when not on a team's roster)."""
    row = await Agent.select(Agent.team).where(Agent.user == user_id).first()
    return None if row is None else row["team"]


@dataclass(frozen=True)
class OpenRound:
    round: RoundView
    answered: bool


async def open_rounds_for(user_id: int) -> list[OpenRound]:
    """The open rounds of surveys going to the person's team, each marked when already answered."""
    team = await roster_team(user_id)
    if team is None:
        return []
    mine = await PulseParticipation.select(PulseParticipation.round).where(PulseParticipation.user == user_id)
    answered = {r["round"] for r in mine}
    return [
        OpenRound(r, r.id in answered)
        for s in await list_surveys(frozenset({team}))
        for r in s.rounds
        if r.state == "open"
    ]


async def close_round(round_id: int, actor: str) -> None:
    """Close an open round now (results show only for closed rounds; a closed round never reopens)."""
    await PulseRound.update({PulseRound.closed_early: True}).where(PulseRound.id == round_id)
    await audit.record(actor, "survey_round_closed", f"round {round_id}")


def may_manage(survey: SurveyView, role: str, team_ids: frozenset[int]) -> bool:
    """Admins manage every survey; a lead those going only to their own teams."""
    return role == "admin" or (role == "lead" and survey.team_ids <= team_ids)
