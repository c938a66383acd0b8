"""A survey's results as the pages and exports show them: anonymity applied once for the whole survey.

Only closed rounds count: watching an open round's figures change as answers arrive would expose each
new answer. Leads read their own teams and the all-teams figures; admins every team.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from piccolo.columns import Column

from pulse import questions
from pulse.drivers import KeyDriver
from pulse.results import (
    ALL_TEAMS,
    QUARTER,
    ROUND,
    Answer,
    Cell,
    CellResult,
    RoundRef,
    Suppression,
    cell_key_drivers,
    cell_result,
    headcounts_by_cell,
    suppress,
)
from pulse.services.surveys import RoundView, SurveyView
from pulse.tables import PulseResponse, score_column
from wfm.services.site import get_site
from wfm.tables import Agent


@dataclass(frozen=True)
class Row:
    """One line of a table of results: a cell with its label and participation."""

    label: str
    result: CellResult
    eligible: int

    @property
    def participation(self) -> float | None:
        return self.result.n / self.eligible if self.eligible else None


@dataclass(frozen=True)
class Period:
    kind: str  # ROUND or QUARTER
    key: str  # round id as text, or the quarter label
    label: str


@dataclass(frozen=True)
class SurveyResults:
    survey: SurveyView
    period: Period | None
    team_id: int
    headline: Row | None
    trend: tuple[Row, ...]
    heatmap: tuple[Row, ...]
    key_drivers: tuple[KeyDriver, ...]
    periods: tuple[Period, ...]
    teams: tuple[tuple[int, str], ...]
    score_threshold: int
    comment_threshold: int
    open_rounds: tuple[RoundView, ...]

    @property
    def drivers(self) -> tuple[questions.Driver, ...]:
        return tuple(questions.BY_KEY[k] for k in self.survey.drivers)


@dataclass(frozen=True)
class _Loaded:
    answers: list[Answer]
    refs: list[RoundRef]
    suppression: Suppression
    eligible: dict[Cell, int]


def round_label(r: RoundView) -> str:
    return f"Round {r.number} ({r.opens_on:%d %b} – {r.closes_on:%d %b %Y})"


async def load(survey: SurveyView) -> _Loaded:
    closed = [r for r in survey.rounds if r.state == "closed"]
    refs = [RoundRef(r.id, r.number, r.quarter) for r in closed]
    columns: list[Column] = [PulseResponse.round, PulseResponse.team, PulseResponse.enps, PulseResponse.comment]
    columns += [PulseResponse._meta.get_column_by_name(score_column(k)) for k in survey.drivers]
    rows = await PulseResponse.select(*columns).where(PulseResponse.round.is_in([r.id for r in closed] or [-1]))
    answers = [
        Answer(
            row["round"], row["team"] or ALL_TEAMS, row["enps"],
            {k: row[score_column(k)] for k in survey.drivers}, row["comment"] or "",
        )
        for row in rows
    ]  # fmt: skip
    site = await get_site()
    suppression = suppress(answers, refs, survey.team_ids, site.score_threshold, site.comment_threshold)
    eligible = headcounts_by_cell(await _eligible(survey, closed), refs)
    return _Loaded(answers, refs, suppression, eligible)


async def _eligible(survey: SurveyView, closed: list[RoundView]) -> dict[tuple[int, int], int]:
    """People who could answer each (round, team): on the team's roster with an account during the round.

    From the roster as it is now (team moves are not kept), so past rates are approximate.
    """
    agents = await Agent.select(Agent.team, Agent.hire_date, Agent.leave_date).where(
        Agent.team.is_in(list(survey.team_ids) or [-1]) & Agent.user.is_not_null()
    )
    out: dict[tuple[int, int], int] = {}
    for r in closed:
        for a in agents:
            hired = a["hire_date"] is None or a["hire_date"] <= r.closes_on
            stayed = a["leave_date"] is None or a["leave_date"] >= r.opens_on
            if hired and stayed:
                out[(r.id, a["team"])] = out.get((r.id, a["team"]), 0) + 1
    return out


def periods_of(survey: SurveyView) -> list[Period]:
    """Closed rounds (newest first), then the quarters they make up (newest first)."""
    closed = [r for r in survey.rounds if r.state == "closed"]
    out = [Period(ROUND, str(r.id), round_label(r)) for r in reversed(closed)]
    quarters = sorted({r.quarter for r in closed}, reverse=True)
    return out + [Period(QUARTER, q, f"Quarter {q} (rounds closing in it)") for q in quarters]


def _cell(period: Period, team: int) -> Cell:
    return (ROUND, int(period.key), team) if period.kind == ROUND else (QUARTER, period.key, team)


async def survey_results(
    survey: SurveyView, visible_teams: list[tuple[int, str]], period_key: str = "", team_id: int = ALL_TEAMS
) -> SurveyResults:
    """The results page of ``survey`` for one period and one team (or all teams)."""
    site = await get_site()
    periods = periods_of(survey)
    teams = tuple((t, name) for t, name in survey.teams if t in {v for v, _ in visible_teams})
    if team_id != ALL_TEAMS and team_id not in {t for t, _ in teams}:
        team_id = ALL_TEAMS
    period = next((p for p in periods if p.key == period_key), periods[0] if periods else None)
    open_rounds = tuple(r for r in survey.rounds if r.state == "open")
    if period is None:
        return SurveyResults(
            survey, None, team_id, None, (), (), (), (), teams,
            site.score_threshold, site.comment_threshold, open_rounds,
        )  # fmt: skip
    data = await load(survey)
    drivers = survey.drivers

    def row(label: str, cell: Cell) -> Row:
        result = cell_result(cell, data.answers, data.refs, data.suppression, drivers)
        return Row(label, result, data.eligible.get(cell, 0))

    cell = _cell(period, team_id)
    headline = row(period.label, cell)
    closed = [r for r in survey.rounds if r.state == "closed"]
    trend = tuple(row(round_label(r), (ROUND, r.id, team_id)) for r in closed)
    heatmap = (row("All teams", _cell(period, ALL_TEAMS)), *(row(name, _cell(period, t)) for t, name in teams))
    found = cell_key_drivers(cell, data.answers, data.refs, data.suppression, drivers)
    return SurveyResults(
        survey, period, team_id, headline, trend, heatmap, tuple(found), tuple(periods), teams,
        site.score_threshold, site.comment_threshold, open_rounds,
    )  # fmt: skip


async def export_frame(survey: SurveyView, visible_teams: list[tuple[int, str]]) -> pd.DataFrame:
    """Every period x group the viewer may read, one row each; hidden cells carry no numbers."""
    data = await load(survey)
    seen = {v for v, _ in visible_teams}
    groups = [(ALL_TEAMS, "All teams")] + [(t, name) for t, name in survey.teams if t in seen]
    records = []
    for period in periods_of(survey):
        for team, name in groups:
            cell = _cell(period, team)
            result = cell_result(cell, data.answers, data.refs, data.suppression, survey.drivers)
            score = result.enps
            record: dict[str, object] = {
                "period": period.label,
                "group": name,
                "responses": result.n,
                "eligible": data.eligible.get(cell, 0),
                "status": "shown" if result.shown else "hidden" if result.hidden else "no responses",
                "enps": round(score.score, 1) if score else None,
                "enps_ci_low": round(score.ci_low, 1) if score else None,
                "enps_ci_high": round(score.ci_high, 1) if score else None,
            }
            for key in survey.drivers:
                mean = result.drivers.get(key)
                record[key] = round(mean, 2) if mean is not None else None
            records.append(record)
    return pd.DataFrame.from_records(records)
