"""The triad panel from the database: one row per team and month with the employee, customer and company
measures of DESIGN.md ("triad panel"), ready for `wfm.triad.analyse`.

Pulse figures use only what the pulse pages may show: a team-month takes the answers of the rounds that
closed in it, and is empty when any of those rounds is hidden for the team (threshold or complementary
suppression). Definitions, per team and month:

* ``enps``, ``pulse_responses``, ``participation_rate``: from the closed rounds (answered / eligible);
* ``turnover_rate`` (all leavers), ``turnover_voluntary``, ``turnover_involuntary``: leavers in the month
  over the mean headcount (agent-days employed / days in the month);
* ``newcomer_share``: agent-days of people in their first 6 months over all agent-days;
* ``absence_rate``: sick and other absence days (vacation excluded) over agent-days;
* ``csat_pct``, ``nps``, ``fcr_pct``: the imported outcomes (all channels);
* ``service_level``: contacts answered within the target over contacts offered; where the history names no
  team, each queue's counts are shared by the teams' paid hours on it (see `_service_level`);
* ``cost_per_contact``: `wfm.costs`, allocated by handled minutes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

import pandas as pd

from pulse.enps import enps
from pulse.results import ROUND
from pulse.services import results as pulse_results
from pulse.services.surveys import list_surveys
from wfm import costs
from wfm.services import costs as cost_service
from wfm.services.site import get_site
from wfm.tables import Absence, Agent, Outcome, Team

NEWCOMER_DAYS = 183
Rows = dict[tuple[str, str], dict[str, float]]
PANEL_COLUMNS = [
    "period", "team", "enps", "pulse_responses", "participation_rate", "turnover_rate", "turnover_voluntary",
    "turnover_involuntary", "newcomer_share", "absence_rate", "csat_pct", "nps", "fcr_pct", "service_level",
    "cost_per_contact",
]  # fmt: skip


async def build_panel(first: str, last: str) -> pd.DataFrame:
    """The panel for months ``first`` to ``last`` (``YYYY-MM``), every team, in `PANEL_COLUMNS`."""
    months = cost_service.month_range(first, last)
    teams = {r["id"]: r["name"] for r in await Team.select(Team.id, Team.name).order_by(Team.name)}
    rows: Rows = {(m, name): {} for m in months for name in teams.values()}
    await _pulse(rows, months, teams)
    await _people(rows, months, teams)
    await _outcomes(rows, months, teams)
    # One read of the contact history serves both the service level and the cost per contact.
    inputs = await cost_service.load_inputs(first, last)
    _service_level(rows, inputs)
    cells, _ = cost_service.report(inputs, "handled_minutes")
    per_team = cells.groupby(["month", "team"], as_index=False)[["total_cost", "handled"]].sum()
    for cell in per_team.to_dict("records"):
        key = (str(cell["month"]), str(cell["team"]))
        if key in rows and float(cell["handled"]) > 0:
            rows[key]["cost_per_contact"] = float(cell["total_cost"]) / float(cell["handled"])
    records = [{"period": m, "team": t, **measures} for (m, t), measures in rows.items()]
    return pd.DataFrame.from_records(records).reindex(columns=PANEL_COLUMNS)


async def _pulse(rows: Rows, months: tuple[str, ...], teams: dict[int, str]) -> None:
    every_team = [(t, name) for t, name in teams.items()]
    for survey in await list_surveys():
        closed = [r for r in survey.rounds if r.state == "closed" and f"{r.closes_on:%Y-%m}" in months]
        if not closed:
            continue
        data = await pulse_results.load(survey)
        by_month: dict[tuple[str, int], list[int]] = defaultdict(list)
        for r in closed:
            for team_id, _ in every_team:
                by_month[(f"{r.closes_on:%Y-%m}", team_id)].append(r.id)
        for (month, team_id), round_ids in by_month.items():
            cells = [(ROUND, rid, team_id) for rid in round_ids]
            answered = sum(data.suppression.counts.get(c, 0) for c in cells)
            eligible = sum(data.eligible.get(c, 0) for c in cells)
            if answered == 0 or any(c in data.suppression.hidden for c in cells):
                continue  # nothing to show, or a hidden round: the month is hidden too
            answers = [a.enps for a in data.answers if a.round_id in round_ids and a.team_id == team_id]
            score = enps(answers)
            measures = rows[(month, teams[team_id])]
            measures["pulse_responses"] = float(answered)
            if score is not None:
                measures["enps"] = score.score
            if eligible:
                measures["participation_rate"] = answered / eligible


async def _people(rows: Rows, months: tuple[str, ...], teams: dict[int, str]) -> None:
    agents = await Agent.select(Agent.agent_id, Agent.team, Agent.hire_date, Agent.leave_date, Agent.leave_reason)
    site = await get_site()
    zone = ZoneInfo(site.time_zone)
    start_at, end_at = cost_service.months_utc(months, zone)
    # Approved sick and other days (vacation is planned, not absence in this sense).
    window = (Absence.end_at > start_at) & (Absence.start_at < end_at)
    absences = [
        a
        for a in await Absence.select(
            Absence.agent_id, Absence.start_at, Absence.end_at, Absence.kind, Absence.approved
        ).where(window)
        if a["kind"] != "vacation" and a["approved"]
    ]
    absent_days: dict[str, set[dt.date]] = defaultdict(set)
    for a in absences:
        day = a["start_at"].astimezone(zone).date()
        last = (a["end_at"].astimezone(zone) - dt.timedelta(seconds=1)).date()
        while day <= last:
            absent_days[a["agent_id"]].add(day)
            day += dt.timedelta(days=1)
    for month in months:
        start, stop = cost_service.month_days(month)
        span = (stop - start).days
        days: dict[int, float] = defaultdict(float)
        new_days: dict[int, float] = defaultdict(float)
        off: dict[int, float] = defaultdict(float)
        leavers: dict[tuple[int, str], int] = defaultdict(int)
        for a in agents:
            if a["team"] not in teams:
                continue
            hired = a["hire_date"] or dt.date.min
            left = a["leave_date"] or dt.date(9998, 12, 31)
            begin, finish = max(start, hired), min(stop, left + dt.timedelta(days=1))
            if finish <= begin:
                continue
            days[a["team"]] += (finish - begin).days
            if a["hire_date"]:
                newcomer_end = min(finish, hired + dt.timedelta(days=NEWCOMER_DAYS))
                new_days[a["team"]] += max(0, (newcomer_end - begin).days)
            off[a["team"]] += sum(1 for d in absent_days.get(a["agent_id"], ()) if begin <= d < finish)
            if a["leave_date"] and start <= a["leave_date"] < stop:
                leavers[(a["team"], a["leave_reason"] or "other")] += 1
        for team_id, name in teams.items():
            if days[team_id] == 0:
                continue
            headcount = days[team_id] / span
            measures = rows[(month, name)]
            total = sum(n for (t, _), n in leavers.items() if t == team_id)
            measures["turnover_rate"] = total / headcount
            measures["turnover_voluntary"] = leavers[(team_id, "voluntary")] / headcount
            measures["turnover_involuntary"] = leavers[(team_id, "involuntary")] / headcount
            measures["newcomer_share"] = new_days[team_id] / days[team_id]
            measures["absence_rate"] = off[team_id] / days[team_id]


async def _outcomes(rows: Rows, months: tuple[str, ...], teams: dict[int, str]) -> None:
    outcomes = await Outcome.select().where(Outcome.period.is_in(list(months)) & (Outcome.channel_id == 0))
    for o in outcomes:
        name = teams.get(o["team_id"])
        if name is None:
            continue
        for column in ("csat_pct", "nps", "fcr_pct"):
            if o[column] is not None:
                rows[(o["period"], name)][column] = float(o[column])


def _service_level(rows: Rows, inputs: cost_service.CostInputs) -> None:
    """Answered within target over offered, per team and month. Where the history names no team, a team
    takes each queue's counts in its share of the paid hours worked on that queue (as contacts reach teams
    for the cost per contact), so its figure is the service level of the queues it served, weighted by how
    much it served each."""
    counted = inputs.contacts[inputs.contacts["sl_offered"] > 0]
    shared = costs.assign_contacts_to_teams(counted, inputs.labour, ("sl_within", "sl_offered"))
    sums = shared[shared["team"] != ""].groupby(["month", "team"], as_index=False)[["sl_within", "sl_offered"]].sum()
    for cell in sums.to_dict("records"):
        key = (str(cell["month"]), str(cell["team"]))
        if key in rows and float(cell["sl_offered"]) > 0:
            rows[key]["service_level"] = float(cell["sl_within"]) / float(cell["sl_offered"])
