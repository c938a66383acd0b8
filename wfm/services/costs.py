"""The inputs of cost per contact and cost-to-serve, read from the database for a range of months.

Labour per month comes from imported worked hours where that month has any (actuals), else from the
published schedules (planned: paid activities x the agent's hourly cost); each month says which. Contacts
come from the history (handled, or offered where handled is missing; handled minutes = handled x AHT),
months by the site's calendar. FCR from the imported outcomes (all channels, per team).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd

from wfm import costs
from wfm.db import database_url_of
from wfm.dbapi import DbApi
from wfm.scheduling.model import PAID_ACTIVITIES
from wfm.services.schedules import midnight_utc
from wfm.services.site import get_site
from wfm.tables import (
    Agent,
    AgentSkill,
    Channel,
    ContactInterval,
    FinanceMonth,
    Outcome,
    Overhead,
    Schedule,
    ScheduleActivity,
    Team,
    WorkedHours,
)
from wfm.workforce import DAYS_PER_MONTH, employed_span

LABOUR_COLUMNS = ["month", "team", "channel", "paid_hours", "cost"]
# ``sl_within`` and ``sl_offered`` count only intervals that report answers within the service-level target.
CONTACT_COLUMNS = ["month", "team", "channel", "handled", "handled_minutes", "sl_within", "sl_offered"]
MONTH_LABEL = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class CostInputs:
    months: tuple[str, ...]
    labour: pd.DataFrame
    contacts: pd.DataFrame
    overhead: pd.DataFrame
    finance: pd.DataFrame
    fcr: pd.DataFrame
    headcount: pd.DataFrame
    labour_source: dict[str, str]  # month -> "worked hours", "published schedules" or "none"


MAX_MONTHS = 240  # the longest period a page or export covers


def month_count(first: str, last: str) -> int:
    """How many months ``first`` to ``last`` (``YYYY-MM``, inclusive) span; 0 or less when reversed."""
    return (int(last[:4]) - int(first[:4])) * 12 + int(last[5:7]) - int(first[5:7]) + 1


def month_range(first: str, last: str) -> tuple[str, ...]:
    """``YYYY-MM`` labels from ``first`` to ``last`` inclusive (at most `MAX_MONTHS`)."""
    if month_count(first, last) > MAX_MONTHS:
        raise ValueError(f"at most {MAX_MONTHS // 12} years at a time")
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(out)


def month_days(month: str) -> tuple[dt.date, dt.date]:
    """A ``YYYY-MM`` month's first day and the next month's first day."""
    first = dt.date.fromisoformat(month + "-01")
    return first, (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def months_utc(months: tuple[str, ...], zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants where the first month starts and the last one ends, by the site's calendar."""
    return midnight_utc(month_days(months[0])[0], zone), midnight_utc(month_days(months[-1])[1], zone)


async def load_inputs(first: str, last: str) -> CostInputs:
    """Everything `wfm.costs` needs for the months ``first`` to ``last`` (``YYYY-MM``)."""
    months = month_range(first, last)
    site = await get_site()
    zone = ZoneInfo(site.time_zone)
    teams = {r["id"]: r["name"] for r in await Team.select(Team.id, Team.name)}
    channels = {r["id"]: r["name"] for r in await Channel.select(Channel.id, Channel.name)}
    # Labour and contacts are summed by the database: a year of quarter hours and worked days is a few
    # hundred thousand rows, and building them as ORM rows took seconds.
    sums = await asyncio.to_thread(_read_sums, database_url_of(ContactInterval._meta.db), months, zone)
    worked = _named(sums.worked, teams, channels, LABOUR_COLUMNS)
    planned = _named(sums.planned, teams, None, LABOUR_COLUMNS)  # schedules name their channels
    source = {}
    parts = []
    for month in months:
        actual, plan = worked[worked["month"] == month], planned[planned["month"] == month]
        source[month] = "worked hours" if len(actual) else "published schedules" if len(plan) else "none"
        parts.append(actual if len(actual) else plan)
    labour = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=LABOUR_COLUMNS)
    contacts = _named(sums.contacts, teams, channels, CONTACT_COLUMNS)
    overhead = pd.DataFrame(
        [(r["month"], float(r["cost"])) for r in await Overhead.select().where(Overhead.month.is_in(list(months)))],
        columns=["month", "cost"],
    )
    finance = pd.DataFrame(
        [
            (r["month"], r["revenue"], r["active_customers"])
            for r in await FinanceMonth.select().where(FinanceMonth.month.is_in(list(months)))
        ],
        columns=["month", "revenue", "active_customers"],
    )
    outcomes = await Outcome.select(Outcome.period, Outcome.team_id, Outcome.fcr_pct).where(
        Outcome.period.is_in(list(months)) & (Outcome.channel_id == 0) & Outcome.fcr_pct.is_not_null()
    )
    fcr = pd.DataFrame(
        [(r["period"], teams.get(r["team_id"], ""), float(r["fcr_pct"])) for r in outcomes],
        columns=["month", "team", "fcr_pct"],
    )
    skills = await AgentSkill.select(AgentSkill.agent.team.as_alias("team"), AgentSkill.channel)
    heads: dict[tuple[str, str], int] = defaultdict(int)
    for row in skills:
        heads[(teams.get(row["team"], ""), channels.get(row["channel"], ""))] += 1
    headcount = pd.DataFrame([(t, c, n) for (t, c), n in heads.items()], columns=["team", "channel", "agents"])
    return CostInputs(months, labour, contacts, overhead, finance, fcr, headcount, source)


@dataclass(frozen=True)
class _Sums:
    """The database's monthly sums, teams and channels still as ids (``channel`` is a name in ``planned``)."""

    worked: pd.DataFrame
    planned: pd.DataFrame
    contacts: pd.DataFrame


def _month_case(db: DbApi, column: str, edges: list[tuple[str, object]]) -> tuple[str, list[object]]:
    """SQL labelling ``column`` with its month, given each month's label and where it ends (ascending)."""
    whens = " ".join(f"WHEN {column} < ? THEN ?" for _ in edges[:-1])
    params: list[object] = [value for label, stop in edges[:-1] for value in (stop, label)]
    return f"CASE {whens} ELSE ? END" if whens else "?", [*params, edges[-1][0]]


def _read_sums(database_url: str, months: tuple[str, ...], zone: ZoneInfo) -> _Sums:
    db = DbApi(database_url)
    try:
        days = [(m, month_days(m)) for m in months]
        day_edges = [(m, db.day(stop)) for m, (_, stop) in days]
        first_day, end_day = db.day(days[0][1][0]), db.day(days[-1][1][1])
        start, end = months_utc(months, zone)
        instant_edges = [(m, db.stamp(midnight_utc(stop, zone))) for m, (_, stop) in days]
        month, params = _month_case(db, "w.day", day_edges)
        worked = db.frame(
            "SELECT month, team, channel, SUM(hours) AS paid_hours, SUM(cost) AS cost FROM ("
            f"SELECT {month} AS month, COALESCE(a.team, 0) AS team, w.channel_id AS channel, w.hours AS hours, "
            "w.hours * COALESCE(a.hourly_cost, 0) AS cost "
            "FROM worked_hours w LEFT JOIN agent a ON a.agent_id = w.agent_id WHERE w.day >= ? AND w.day < ?"
            ") s GROUP BY month, team, channel",
            [*params, first_day, end_day],
        )
        # Paid activities of the published schedules; only work names a channel (breaks carry none).
        month, params = _month_case(db, "sa.start_at", instant_edges)
        paid = ", ".join(f"'{a}'" for a in sorted(PAID_ACTIVITIES))
        planned = db.frame(
            "SELECT month, team, channel, SUM(hours) AS paid_hours, SUM(hours * rate) AS cost FROM ("
            f"SELECT {month} AS month, s.team AS team, "
            "CASE WHEN sa.activity = 'work' THEN COALESCE(sa.channel, '') ELSE '' END AS channel, "
            f"{db.hours_between('sa.start_at', 'sa.end_at')} AS hours, COALESCE(a.hourly_cost, 0) AS rate "
            "FROM schedule_activity sa JOIN schedule s ON s.id = sa.schedule "
            "LEFT JOIN agent a ON a.agent_id = sa.agent_id "
            f"WHERE s.status = 'published' AND sa.activity IN ({paid}) AND sa.start_at >= ? AND sa.start_at < ?"
            ") s GROUP BY month, team, channel",
            [*params, db.stamp(start), db.stamp(end)],
        )
        # Handled falls back to offered; the service-level counts use only intervals that report them.
        month, params = _month_case(db, "h.interval_start", instant_edges)
        contacts = db.frame(
            "SELECT month, team, channel, SUM(handled) AS handled, SUM(handled * aht) / 60.0 AS handled_minutes, "
            "SUM(within) AS sl_within, SUM(sl_offered) AS sl_offered FROM ("
            f"SELECT {month} AS month, h.team_id AS team, h.channel AS channel, "
            "COALESCE(h.handled, h.offered) AS handled, COALESCE(h.aht_seconds, 0) AS aht, "
            "COALESCE(h.answered_within_sl, 0) AS within, "
            "CASE WHEN h.answered_within_sl IS NULL THEN 0 ELSE h.offered END AS sl_offered "
            "FROM contact_interval h WHERE h.interval_start >= ? AND h.interval_start < ?"
            ") s GROUP BY month, team, channel",
            [*params, db.stamp(start), db.stamp(end)],
        )
    finally:
        db.close()
    return _Sums(worked, planned, contacts)


def _named(
    frame: pd.DataFrame, teams: dict[int, str], channels: dict[int, str] | None, columns: list[str]
) -> pd.DataFrame:
    """The sums with team (and, unless ``channels`` is None, channel) ids as names; amounts as floats."""
    if frame.empty:
        return pd.DataFrame(columns=columns)
    out = frame.copy()
    out["team"] = [teams.get(int(t), "") for t in out["team"]]
    if channels is not None:
        out["channel"] = [channels.get(int(c), "") if c is not None else "" for c in out["channel"]]
    for column in columns[3:]:
        out[column] = pd.to_numeric(out[column]).astype(float)
    # Two ids may share a name ('' for unknown teams): sum them into one cell.
    return out.groupby(columns[:3], as_index=False)[columns[3:]].sum().reindex(columns=columns)


def report(inputs: CostInputs, driver: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The allocated cells with their unit costs, and the monthly cost-to-serve."""
    allocated = costs.allocate(inputs.labour, inputs.contacts, inputs.overhead, driver, inputs.headcount)
    cells = costs.unit_costs(allocated, inputs.fcr)
    return cells, costs.cost_to_serve(allocated, inputs.finance)


@dataclass(frozen=True)
class Definition:
    name: str
    numerator: str
    denominator: str


DEFINITIONS = (
    Definition("Cost per contact", "labour + allocated overhead", "contacts handled"),
    Definition("Cost per resolved contact", "labour + allocated overhead", "contacts handled x FCR"),
    Definition("Cost per handled minute", "labour + allocated overhead", "handled minutes (handled x AHT)"),
    Definition("Contact rate", "contacts handled", "active customers"),
    Definition("Cost-to-serve per customer", "labour + overhead", "active customers"),
    Definition("Cost-to-serve share of revenue", "labour + overhead", "revenue"),
    Definition("Cost of attrition", "leavers x (hiring + training) + newcomer-months x (1 - ramp output) x "
               "monthly cost per agent", "the period"),
)  # fmt: skip


@dataclass(frozen=True)
class FinanceView:
    inputs: CostInputs
    driver: str
    channel: str
    team: str
    cells: pd.DataFrame  # month x team x channel, filtered
    by_month: pd.DataFrame
    by_channel: pd.DataFrame
    by_team: pd.DataFrame
    attrition: dict[str, float]
    leavers: int
    newcomer_months: float
    assumptions: costs.AttritionAssumptions


def _summarise(cells: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    sums = cells.groupby(keys, as_index=False)[
        ["labour_cost", "overhead_cost", "total_cost", "paid_hours", "handled", "handled_minutes", "resolved"]
    ].sum(min_count=1)
    sums["cost_per_contact"] = sums["total_cost"] / sums["handled"].where(sums["handled"] > 0)
    sums["cost_per_resolved"] = sums["total_cost"] / sums["resolved"].where(sums["resolved"] > 0)
    sums["cost_per_minute"] = sums["total_cost"] / sums["handled_minutes"].where(sums["handled_minutes"] > 0)
    return sums


async def finance_view(
    first: str, last: str, driver: str, channel: str, team: str, assumptions: costs.AttritionAssumptions
) -> FinanceView:
    """The finance page: the allocation for the months, filtered to a channel and team ('' = all)."""
    inputs = await load_inputs(first, last)
    cells, serve = report(inputs, driver)
    if channel:
        cells = cells[cells["channel"] == channel]
    if team:
        cells = cells[cells["team"] == team]
    by_month = _summarise(cells, ["month"]).merge(
        serve[["month", "active_customers", "revenue", "contact_rate", "cost_per_customer", "cost_share_of_revenue"]],
        on="month",
        how="left",
    )
    if channel or team:
        # Cost-to-serve is the centre's: it is not shown for a part of it.
        by_month[["contact_rate", "cost_per_customer", "cost_share_of_revenue"]] = float("nan")
    by_month["labour_source"] = by_month["month"].map(inputs.labour_source)
    leavers, newcomer_months, per_agent = await _attrition_inputs(inputs, team, assumptions.ramp_months)
    attrition = costs.attrition_cost(leavers, newcomer_months, per_agent, assumptions)
    return FinanceView(
        inputs, driver, channel, team, cells.reset_index(drop=True), by_month,
        _summarise(cells, ["month", "channel"]), _summarise(cells, ["month", "team"]),
        attrition, leavers, newcomer_months, assumptions,
    )  # fmt: skip


async def _attrition_inputs(inputs: CostInputs, team: str, ramp_months: float) -> tuple[int, float, float]:
    """Leavers in the period, newcomer agent-months (the first ``ramp_months`` of tenure) inside it, and the
    mean monthly labour cost per agent employed."""
    first, _ = month_days(inputs.months[0])
    _, end = month_days(inputs.months[-1])
    rows = await Agent.select(Agent.team.name.as_alias("team"), Agent.hire_date, Agent.leave_date)
    if team:
        rows = [r for r in rows if r["team"] == team]
    leavers = sum(1 for r in rows if r["leave_date"] and first <= r["leave_date"] < end)
    newcomer_days = 0.0
    agent_days = 0.0
    for r in rows:
        span = employed_span(r["hire_date"], r["leave_date"], first, end)
        if span is None:
            continue
        start, stop = span
        agent_days += (stop - start).days
        if r["hire_date"]:
            ramp_end = min(stop, r["hire_date"] + dt.timedelta(days=round(ramp_months * DAYS_PER_MONTH)))
            newcomer_days += max(0, (ramp_end - start).days)
    labour = inputs.labour if not team else inputs.labour[inputs.labour["team"] == team]
    agent_months = agent_days / DAYS_PER_MONTH
    per_agent = float(labour["cost"].sum()) / agent_months if agent_months else 0.0
    return leavers, newcomer_days / DAYS_PER_MONTH, per_agent


@dataclass(frozen=True)
class PlannedWeek:
    """A team's week: the labour cost of its newest draft, of its published schedule, and of the hours
    actually worked (imported), each None when there is none."""

    week_start: dt.date
    team: str
    draft_cost: float | None
    published_cost: float | None
    worked_cost: float | None


async def planned_vs_actual(since: dt.date, team: str = "") -> list[PlannedWeek]:
    """Weeks from ``since`` that have a draft, published or worked cost, newest first."""
    rows = (
        await Schedule.select(Schedule.id, Schedule.week_start, Schedule.status, Schedule.team.name.as_alias("team"))
        .where(Schedule.week_start >= since)
        .order_by(Schedule.id)
    )
    if team:
        rows = [r for r in rows if r["team"] == team]
    rates = {r["agent_id"]: (float(r["hourly_cost"]), r["team"]) for r in
             await Agent.select(Agent.agent_id, Agent.hourly_cost, Agent.team.name.as_alias("team"))}  # fmt: skip
    latest: dict[tuple[dt.date, str, str], int] = {}
    for r in rows:  # ordered by id: the newest row of each kind wins
        if r["status"] in ("draft", "published"):
            latest[(r["week_start"], r["team"], r["status"])] = r["id"]
    for week, t, status in list(latest):
        published_id = latest.get((week, t, "published"), 0)
        if status == "draft" and latest[(week, t, status)] < published_id:
            del latest[(week, t, status)]  # an older draft, not a pending plan
    cost: dict[int, float] = defaultdict(float)
    if latest:
        activities = await ScheduleActivity.select(
            ScheduleActivity.schedule, ScheduleActivity.agent_id, ScheduleActivity.start_at, ScheduleActivity.end_at
        ).where(
            ScheduleActivity.schedule.is_in(list(latest.values()))
            & ScheduleActivity.activity.is_in(sorted(PAID_ACTIVITIES))
        )
        for a in activities:
            hours = (a["end_at"] - a["start_at"]).total_seconds() / 3600
            cost[a["schedule"]] += hours * rates.get(a["agent_id"], (0.0, ""))[0]
    worked: dict[tuple[dt.date, str], float] = defaultdict(float)
    for w in await WorkedHours.select().where(WorkedHours.day >= since):
        rate, agent_team = rates.get(w["agent_id"], (0.0, ""))
        if not team or agent_team == team:
            monday = w["day"] - dt.timedelta(days=w["day"].weekday())
            worked[(monday, agent_team)] += float(w["hours"]) * rate
    keys = {(week, t) for week, t, _ in latest} | set(worked)
    out = []
    for week, t in sorted(keys, key=lambda k: (k[0], k[1] or ""), reverse=True):
        draft, published = latest.get((week, t, "draft")), latest.get((week, t, "published"))
        out.append(
            PlannedWeek(
                week, t or "", cost.get(draft, 0.0) if draft else None,
                cost.get(published, 0.0) if published else None, worked.get((week, t)),
            )
        )  # fmt: skip
    return out
