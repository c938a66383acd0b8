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

import asyncio
import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

import pandas as pd

from pulse.enps import enps
from pulse.results import ROUND
from pulse.services import results as pulse_results
from pulse.services.surveys import list_surveys
from wfm import costs, triad
from wfm.charts import lag_profile_spec, scatter_fit_spec, to_svg, trend_facets_spec
from wfm.services import costs as cost_service
from wfm.services.site import get_site
from wfm.tables import Absence, Agent, Outcome, Team
from wfm.workforce import employed_span

LABELS = {
    "enps": "eNPS", "participation_rate": "pulse participation", "turnover_rate": "turnover",
    "turnover_voluntary": "voluntary turnover", "turnover_involuntary": "involuntary turnover",
    "newcomer_share": "newcomer share", "absence_rate": "absence", "csat_pct": "CSAT", "nps": "NPS",
    "fcr_pct": "FCR", "service_level": "service level", "cost_per_contact": "cost per contact",
}  # fmt: skip
# Shares of 0-1 shown as percentages; the other measures carry their own unit.
FRACTIONS = frozenset(
    {"participation_rate", "turnover_rate", "turnover_voluntary", "turnover_involuntary", "newcomer_share",
     "absence_rate", "service_level"}
)  # fmt: skip
# The pairs the page shows: an employee measure and the customer or company measure it may lead.
PAIRS = (
    ("enps", "csat_pct"), ("enps", "turnover_rate"), ("turnover_voluntary", "csat_pct"),
    ("enps", "fcr_pct"), ("absence_rate", "csat_pct"), ("enps", "cost_per_contact"),
)  # fmt: skip
TREND_MEASURES = ("enps", "csat_pct", "fcr_pct", "turnover_rate", "absence_rate", "service_level", "cost_per_contact")

NEWCOMER_DAYS = 183
Rows = dict[tuple[str, str], dict[str, float]]
PANEL_COLUMNS = [
    "period", "team", "enps", "pulse_responses", "participation_rate", "turnover_rate", "turnover_voluntary",
    "turnover_involuntary", "newcomer_share", "absence_rate", "csat_pct", "nps", "fcr_pct", "service_level",
    "cost_per_contact",
]  # fmt: skip


@dataclass(frozen=True)
class Target:
    measure: str
    low: float | None
    high: float | None
    note: str


# Common contact-centre targets (CSAT 75-85 %, FCR 70 %); a site's own targets are a later setting.
TARGETS = (
    Target("csat_pct", 75.0, 85.0, "CSAT 75-85 %"),
    Target("fcr_pct", 70.0, None, "FCR at least 70 %"),
    Target("enps", 0.0, None, "eNPS above 0"),
    Target("turnover_rate", None, 0.03, "turnover under 3 % a month"),
)


@dataclass(frozen=True)
class ScoreRow:
    """One measure's mean over the period: the centre's, the lead's own teams' (NaN for others), its target."""

    measure: str
    label: str
    centre: float
    own: float
    target: str
    status: str  # the centre's: '', "on target", "below target", "above target" or "over the limit"
    own_status: str  # the same for the lead's teams ('' for other roles)


@dataclass(frozen=True)
class PairView:
    x: str
    y: str
    best: triad.PairResult | None
    profile: tuple[triad.PairResult, ...]
    sentence: str
    svg: str
    points: int = 0  # team-months drawn (a lead's own teams only)
    profile_svg: str = ""


@dataclass(frozen=True)
class TrendRow:
    period: str
    series: str  # "centre" or "your teams"
    values: tuple[float, ...]  # in the order of `TriadView.trend_measures`; NaN where there is none


@dataclass(frozen=True)
class TriadView:
    first: str
    last: str
    own_teams: tuple[str, ...] | None  # a lead's teams; None for roles that see every team alike
    scorecard: tuple[ScoreRow, ...]
    pairs: tuple[PairView, ...]
    result: triad.TriadResult
    trend_measures: tuple[str, ...]  # labels, unit included
    trend: tuple[TrendRow, ...]
    trend_svg: str


async def triad_view(first: str, last: str, own_teams: tuple[str, ...] | None) -> TriadView:
    """The triad page for months ``first`` to ``last``: the statistics are the centre's (every team);
    ``own_teams`` (a lead's) adds their figures beside the centre's and limits the scatter points to them."""
    panel = await build_panel(first, last)
    present = [(x, y) for x, y in PAIRS if panel[x].notna().any() and panel[y].notna().any()]
    result = _within_family(await asyncio.to_thread(triad.analyse, panel, present, (0, 1, 2, 3)))
    pairs = tuple([await asyncio.to_thread(pair_view, panel, result, x, y, own_teams) for x, y in present])
    own = None if own_teams is None else panel[panel["team"].isin(own_teams)]
    currency = (await get_site()).currency
    trend = _trend(panel, own, currency)
    trend_svg = ""
    if trend["value"].notna().any():
        spec = trend_facets_spec(trend.dropna(subset=["value"]), "Month", "Mean over teams, by month")
        trend_svg = await asyncio.to_thread(to_svg, spec)
    scorecard = _scorecard(panel, own)
    measures = tuple(dict.fromkeys(trend["measure"]))
    wide = trend.pivot_table(index=["period", "series"], columns="measure", values="value", dropna=False)
    wide = wide.reindex(columns=list(measures)).reset_index()
    rows = tuple(
        TrendRow(str(r["period"]), str(r["series"]), tuple(float(r[m]) for m in measures))
        for r in wide.to_dict("records")
    )
    return TriadView(first, last, own_teams, scorecard, pairs, result, measures, rows, trend_svg)


def _within_family(result: triad.TriadResult) -> triad.TriadResult:
    """The page shows the within-team Pearson rows only: their q-values are corrected over those (every
    pair, lag and direction shown), not over the pooled and Spearman rows the page leaves out. Warnings
    name measures by their labels."""
    shown = [p for p in result.pairs if p.method == "pearson_within"]
    q = triad.bh_qvalues([p.p for p in shown])
    pairs = tuple(replace(p, q=qv) for p, qv in zip(shown, q, strict=True))
    names = sorted(LABELS, key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(names) + r")\b")
    within = [w for w in result.warnings if "pooled" not in w and "spearman" not in w]  # rows not shown
    warnings = tuple(pattern.sub(lambda m: LABELS[m[1]], w) for w in within)
    return triad.TriadResult(pairs, result.regressions, warnings)


def pair_view(
    panel: pd.DataFrame, result: triad.TriadResult, x: str, y: str, own_teams: tuple[str, ...] | None
) -> PairView:
    """One pair on the page: its most convincing within-team link (lowest q, then largest |r|, in either
    direction) with its sentence and scatter, and the whole lag profile."""
    profile = tuple(p for p in result.pairs if p.method == "pearson_within" and {p.x, p.y} == {x, y})
    known = [p for p in profile if p.r == p.r]
    if not known:
        months = max((p.n for p in profile), default=0)
        sentence = f"Too little data to tell how {LABELS[x]} and {LABELS[y]} move together ({months} team-months)."
        return PairView(x, y, None, profile, sentence, "")
    best = min(known, key=lambda p: (p.q, -abs(p.r)))
    frame = triad.lagged(panel, best.x, best.y, best.lag)
    regression = next((r for r in result.regressions if (r.x, r.y, r.lag) == (best.x, best.y, best.lag)), None)
    points, scatter = pd.DataFrame(), ""
    if regression is not None and regression.coef == regression.coef:
        points = triad.demeaned(frame)
        if own_teams is not None:
            # A lead sees only their own teams' points, and the line spans only their range.
            points = points[points["team"].isin(own_teams)]
        line = triad.fitted_line(frame, regression, teams=own_teams)
        bx, by = LABELS[best.x], LABELS[best.y]
        lag = f" ({best.lag} month{'s' if best.lag != 1 else ''} later)" if best.lag else ""
        spec = scatter_fit_spec(
            points, line, f"{bx}, team's own level removed", f"{by}{lag}, team's own level removed", f"{bx} and {by}"
        )
        scatter = to_svg(spec)
    profile_svg = _profile_svg(profile, x, y)
    return PairView(x, y, best, profile, triad.summary(best, LABELS), scatter, len(points), profile_svg)


def direction(result: triad.PairResult) -> str:
    """Which measure leads, in words: "same month" at lag 0."""
    return f"{LABELS[result.x]} leads {LABELS[result.y]}" if result.lag else "same month"


def _profile_svg(profile: tuple[triad.PairResult, ...], x: str, y: str) -> str:
    """The lag profile as a chart: r and its interval per lag, each direction in its own colour."""
    known = [p for p in profile if p.r == p.r]
    if not known:
        return ""
    frame = pd.DataFrame(
        {
            "lag": [p.lag for p in known],
            "direction": [direction(p) for p in known],
            "r": [p.r for p in known],
            "low": [p.ci_low for p in known],
            "high": [p.ci_high for p in known],
        }
    )
    order = ("same month", f"{LABELS[x]} leads {LABELS[y]}", f"{LABELS[y]} leads {LABELS[x]}")
    return to_svg(lag_profile_spec(frame, f"{LABELS[x]} and {LABELS[y]}: r by lag", order))


def _trend(panel: pd.DataFrame, own: pd.DataFrame | None, currency: str) -> pd.DataFrame:
    """Each trend measure's mean over teams per period, long form, for the centre and the lead's teams;
    fractions as percentages so that the chart's axes read as the tables do."""
    parts = [("centre", panel)] + ([("your teams", own)] if own is not None else [])
    frames = []
    for series, frame in parts:
        means = frame.groupby("period")[list(TREND_MEASURES)].mean(numeric_only=True)
        long = means.reset_index().melt(id_vars="period", var_name="measure", value_name="value")
        long["value"] = long["value"].where(~long["measure"].isin(FRACTIONS), long["value"] * 100)
        long["series"] = series
        frames.append(long)
    out = pd.concat(frames, ignore_index=True)
    units = {m: " (%)" for m in FRACTIONS} | {"cost_per_contact": f" ({currency})"}
    out["measure"] = out["measure"].map(lambda m: LABELS[m] + units.get(m, ""))
    return out[["period", "measure", "series", "value"]]


def _status(measure: str, value: float) -> str:
    """Where a measure's value stands against its target ('' without a target or a value)."""
    target = next((t for t in TARGETS if t.measure == measure), None)
    if target is None or value != value:
        return ""
    if target.low is not None and value < target.low:
        return "below target"
    if target.high is not None and value > target.high:
        return "over the limit" if measure.startswith("turnover") else "above target"
    return "on target"


def _scorecard(panel: pd.DataFrame, own: pd.DataFrame | None) -> tuple[ScoreRow, ...]:
    """Each measure's mean over the period for the centre (and the lead's teams), against its target."""
    rows = []
    for measure, label in LABELS.items():
        centre = float(panel[measure].mean())
        own_mean = float(own[measure].mean()) if own is not None else float("nan")
        target = next((t.note for t in TARGETS if t.measure == measure), "")
        own_status = _status(measure, own_mean) if own is not None else ""
        rows.append(ScoreRow(measure, label, centre, own_mean, target, _status(measure, centre), own_status))
    return tuple(rows)


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
    """eNPS, answers and participation per team and month over every survey's rounds that closed in it."""
    answers: dict[tuple[str, int], list[int]] = defaultdict(list)
    answered: dict[tuple[str, int], int] = defaultdict(int)
    eligible: dict[tuple[str, int], int] = defaultdict(int)
    hidden: set[tuple[str, int]] = set()
    for survey in await list_surveys():
        closed = {r.id: f"{r.closes_on:%Y-%m}" for r in survey.rounds if r.state == "closed"}
        closed = {rid: month for rid, month in closed.items() if month in months}
        if not closed:
            continue
        data = await pulse_results.load(survey)
        for round_id, month in closed.items():
            for team_id in teams:
                cell = (ROUND, round_id, team_id)
                answered[(month, team_id)] += data.suppression.counts.get(cell, 0)
                eligible[(month, team_id)] += data.eligible.get(cell, 0)
                if cell in data.suppression.hidden:
                    hidden.add((month, team_id))  # a hidden round hides its month
        for a in data.answers:
            if a.round_id in closed and a.team_id in teams:
                answers[(closed[a.round_id], a.team_id)].append(a.enps)
    for (month, team_id), count in answered.items():
        if count == 0 or (month, team_id) in hidden:
            continue
        measures = rows[(month, teams[team_id])]
        measures["pulse_responses"] = float(count)
        score = enps(answers[(month, team_id)])
        if score is not None:
            measures["enps"] = score.score
        if eligible[(month, team_id)]:
            measures["participation_rate"] = count / eligible[(month, team_id)]


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
    today = dt.datetime.now(zone).date()
    for month in months:
        start, stop = cost_service.month_days(month)
        if start > today:
            continue  # a month to come has no turnover, absence or newcomers yet
        span = (stop - start).days
        days: dict[int, float] = defaultdict(float)
        new_days: dict[int, float] = defaultdict(float)
        off: dict[int, float] = defaultdict(float)
        leavers: dict[tuple[int, str], int] = defaultdict(int)
        for a in agents:
            if a["team"] not in teams:
                continue
            employed = employed_span(a["hire_date"], a["leave_date"], start, stop)
            if employed is None:
                continue
            begin, finish = employed
            days[a["team"]] += (finish - begin).days
            if a["hire_date"]:
                newcomer_end = min(finish, a["hire_date"] + dt.timedelta(days=NEWCOMER_DAYS))
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
