"""Staffing requirements in the app: a forecast version + channel parameters -> `wfm.staffing` -> stored sets.

A set records the forecast version, the risk level and the channel parameters it came from. Lead
adjustments of the forecast are applied to the volume staffed (they are the lead's plan). The what-if
panel runs the same computation with changed parameters without storing it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from wfm import erlang, staffing
from wfm.db import database_url_of, json_object
from wfm.dbapi import DbApi
from wfm.services import audit, forecasts
from wfm.services.site import get_site
from wfm.tables import Channel, ChannelHours, ContactInterval, RequirementInterval, RequirementSet

# A full-time equivalent is 40 paid hours a week: 8 a day on a 5-day week.
FTE_HOURS_PER_DAY = 8.0
# Phone lines are sized for this blocking probability (Erlang B).
LINE_BLOCKING = 0.01
# Patience is estimated from this many recent weeks of history, when enough contacts abandoned.
PATIENCE_WEEKS = 8
# Stored per interval: the requirements file's columns without the channel, plus the load.
COLUMNS = ("interval_start", "offered", "aht_seconds", "load_erlangs", *staffing.REQUIREMENT_COLUMNS[4:])


def interval_minutes_of(starts: pd.Series, default: int) -> int:
    """The interval length of consecutive interval starts (the shortest step), or ``default`` for one interval."""
    steps = starts.diff().dropna()
    return int(steps.min().total_seconds() // 60) if len(steps) else default


class RequirementsError(ValueError):
    """Nothing to compute from (no forecast yet) or parameters that cannot be staffed."""


def params_of(channel: dict[str, object]) -> staffing.ChannelParams:
    """The staffing parameters stored on a channel row."""

    def number(key: str) -> float | None:
        value = channel.get(key)
        return None if value is None else float(str(value))

    return staffing.ChannelParams(
        model=str(channel["staffing_model"]),
        service_level_target=float(str(channel["service_level_target"])),
        answer_within_seconds=float(str(channel["answer_within_seconds"])),
        max_asa_seconds=number("max_asa_seconds"),
        max_abandon_rate=number("max_abandon_rate"),
        patience_seconds=float(str(channel["patience_seconds"])),
        concurrency=float(str(channel["concurrency"])),
        response_window_hours=float(str(channel["response_window_hours"])),
        max_occupancy=float(str(channel["max_occupancy"])),
        shrinkage=float(str(channel["shrinkage"])),
    )


async def _patience_from_history(channel_id: int) -> tuple[float | None, str]:
    since = dt.datetime.now(dt.UTC) - dt.timedelta(weeks=PATIENCE_WEEKS)
    rows = await ContactInterval.select(ContactInterval.abandoned, ContactInterval.total_wait_seconds).where(
        (ContactInterval.channel == channel_id)
        & (ContactInterval.interval_start >= since)
        & ContactInterval.abandoned.is_not_null()
        & ContactInterval.total_wait_seconds.is_not_null()
    )
    abandoned = float(sum(r["abandoned"] for r in rows))
    waited = float(sum(r["total_wait_seconds"] for r in rows))
    patience = staffing.patience_from_history(abandoned, waited)
    if patience is None:
        return None, ""
    return patience, (
        f"from the last {PATIENCE_WEEKS} weeks of history: {waited:,.0f} s waited / {abandoned:,.0f} abandoned"
    )


@dataclass(frozen=True)
class Inputs:
    """What a computation starts from: the channel, its parameters and the forecast volume to staff."""

    channel_id: int
    channel_name: str
    params: staffing.ChannelParams
    patience_source: str
    version: forecasts.VersionView
    forecast: pd.DataFrame  # interval_start (UTC), offered_p50/p80/p95 (adjusted), aht_seconds
    is_open: pd.Series
    interval_minutes: int
    adjusted_intervals: int


async def inputs(channel_id: int) -> Inputs:
    """The latest forecast of a channel with lead adjustments applied, and the channel's parameters."""
    channel = await Channel.select().where(Channel.id == channel_id).first()
    if channel is None:
        raise RequirementsError("No such channel.")
    version = await forecasts.latest_version(channel_id)
    if version is None:
        raise RequirementsError(f"{channel['name']} has no forecast yet: run one on the Forecast page first.")
    frame = await forecasts.intervals(version.id)
    factor = np.where(
        frame["offered_p50"] > 0, frame["adjusted_p50"] / frame["offered_p50"].where(lambda v: v > 0), 1.0
    )
    factor = np.nan_to_num(factor, nan=1.0)
    for column in ("offered_p50", "offered_p80", "offered_p95"):
        frame[column] = frame[column] * factor
    params = params_of(channel)
    source = ""
    if params.model == "erlang_a":
        estimate, source = await _patience_from_history(channel_id)
        if estimate is not None:
            params = dataclasses.replace(params, patience_seconds=round(estimate, 1))
    site = await get_site()
    hours = await ChannelHours.select().where(ChannelHours.channel == channel_id)
    open_at = forecasts.opening_hours_check(hours)
    local = frame["interval_start"].dt.tz_convert(ZoneInfo(site.time_zone))
    is_open = pd.Series(
        [open_at(t.isoweekday(), t.hour * 60 + t.minute) for t in local] if hours else [True] * len(frame)
    )
    interval_minutes = interval_minutes_of(frame["interval_start"], site.interval_minutes)
    frame["channel"] = channel["name"]
    return Inputs(
        channel_id,
        str(channel["name"]),
        params,
        source,
        version,
        frame,
        is_open,
        interval_minutes,
        int((factor != 1.0).sum()),
    )


def compute(source: Inputs, risk: str, params: staffing.ChannelParams | None = None) -> pd.DataFrame:
    """`wfm.staffing.requirements` of the inputs (pure; raises `RequirementsError` on impossible values)."""
    chosen = params or source.params
    try:
        return staffing.requirements(
            source.forecast,
            {source.channel_name: chosen},
            interval_minutes=source.interval_minutes,
            risk=risk,
            is_open=source.is_open,
        )
    except staffing.StaffingInputError as error:
        raise RequirementsError(str(error)) from None


def _store(database_url: str, source: Inputs, risk: str, result: pd.DataFrame, actor: str, at: dt.datetime) -> int:
    payload = {**dataclasses.asdict(source.params), "patience_source": source.patience_source}
    payload["adjusted_intervals"] = source.adjusted_intervals
    db = DbApi(database_url)
    try:
        with db.transaction():
            set_id = int(
                db.one(
                    "INSERT INTO requirement_set (channel, forecast_version, risk, params, created_at, created_by) "
                    "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                    (source.channel_id, source.version.id, risk, json.dumps(payload), db.stamp(at), actor),
                )
            )
            starts = result["interval_start"]
            stamps = starts.dt.strftime("%Y-%m-%d %H:%M:%S+00:00") if db.sqlite else starts.dt.to_pydatetime()

            values = result[list(COLUMNS[1:])].to_numpy(dtype=float)
            whole = {COLUMNS.index(c) - 1 for c in ("agents_required", "staff_required")}
            rows = [
                (
                    set_id,
                    stamp,
                    *(int(v) if i in whole else (float(v) if np.isfinite(v) else None) for i, v in enumerate(line)),
                )
                for stamp, line in zip(stamps, values, strict=True)
            ]
            db.load("requirement_interval", ["requirement_set", *COLUMNS], rows)
    finally:
        db.close()
    return set_id


async def create(channel_id: int, risk: str, actor: str, source: Inputs | None = None) -> int:
    """Compute and store a channel's requirements from its latest forecast; returns the set id."""
    source = source or await inputs(channel_id)
    result = compute(source, risk)
    set_id = await asyncio.to_thread(
        _store, database_url_of(RequirementSet._meta.db), source, risk, result, actor, dt.datetime.now(dt.UTC)
    )
    await audit.record(actor, "requirements", f"channel {source.channel_name}", f"set {set_id}, {risk}")
    return set_id


async def follow_forecasts(version_ids: tuple[int, ...], actor: str) -> list[int]:
    """P50 requirements for new forecast versions that have none yet (a retried job adds no second set).

    A channel whose parameters cannot be staffed is skipped: its page offers to compute and shows why.
    """
    made = []
    for version_id in version_ids:
        channel_id = await forecasts.version_channel(version_id)
        if channel_id is None or await RequirementSet.exists().where(
            (RequirementSet.forecast_version == version_id) & (RequirementSet.risk == "p50")
        ):
            continue
        source = await inputs(channel_id)
        if source.version.id != version_id:
            continue  # a newer forecast came meanwhile; it gets its own
        try:
            made.append(await create(channel_id, "p50", actor, source))
        except RequirementsError:
            continue
    return made


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetView:
    id: int
    channel_id: int
    forecast_version: int
    risk: str
    params: dict[str, object]
    created_at: dt.datetime
    created_by: str


async def latest_set(channel_id: int, risk: str | None = None) -> SetView | None:
    query = RequirementSet.select().where(RequirementSet.channel == channel_id)
    if risk:
        query = query.where(RequirementSet.risk == risk)
    row = (
        await query.order_by(RequirementSet.created_at, ascending=False)
        .order_by(RequirementSet.id, ascending=False)
        .first()
    )
    if row is None:
        return None
    params = json_object(row["params"])
    return SetView(
        row["id"], row["channel"], row["forecast_version"], row["risk"], params, row["created_at"], row["created_by"]
    )


async def set_intervals(set_id: int) -> pd.DataFrame:
    rows = (
        await RequirementInterval.select(*(getattr(RequirementInterval, c) for c in COLUMNS))
        .where(RequirementInterval.requirement_set == set_id)
        .order_by(RequirementInterval.interval_start)
    )
    frame = pd.DataFrame.from_records(rows, columns=list(COLUMNS))
    frame["interval_start"] = pd.to_datetime(frame["interval_start"], utc=True)
    return frame


@dataclass(frozen=True)
class HeatCell:
    interval_start: str  # UTC ISO, the drill-down key
    staff: int
    shade: int  # 0-100: share of the page's peak


@dataclass(frozen=True)
class DayTotals:
    day: dt.date
    offered: float
    agent_hours: float
    staff_hours: float
    fte: float
    peak_staff: int


@dataclass(frozen=True)
class RequirementsPage:
    channels: tuple[tuple[int, str], ...]
    channel_id: int | None
    risk: str
    set: SetView | None
    version: forecasts.VersionView | None
    stale: str  # why the set no longer matches the latest forecast or parameters ("" when current)
    times: tuple[str, ...]  # local interval-of-day labels, the heatmap's columns
    heatmap: tuple[tuple[dt.date, tuple[HeatCell | None, ...]], ...]
    days: tuple[DayTotals, ...]
    interval_minutes: int


def day_totals(frame: pd.DataFrame, zone: ZoneInfo, interval_minutes: int) -> tuple[DayTotals, ...]:
    """Per local day: contacts, productive agent-hours, staff-hours to schedule and their FTE."""
    if frame.empty:
        return ()
    hours = interval_minutes / 60.0
    days = frame["interval_start"].dt.tz_convert(zone).dt.date
    grouped = frame.assign(day=days).groupby("day")
    out = []
    for day, rows in grouped:
        staff_hours = float(rows["staff_required"].sum()) * hours
        out.append(
            DayTotals(
                day=day,  # type: ignore[arg-type]
                offered=round(float(rows["offered"].sum()), 1),
                agent_hours=round(float(rows["agents_required"].sum()) * hours, 1),
                staff_hours=round(staff_hours, 1),
                fte=round(staff_hours / FTE_HOURS_PER_DAY, 1),
                peak_staff=int(rows["staff_required"].max()),
            )
        )
    return tuple(out)


def heatmap(
    frame: pd.DataFrame, zone: ZoneInfo
) -> tuple[tuple[str, ...], tuple[tuple[dt.date, tuple[HeatCell | None, ...]], ...]]:
    """Day x local time-of-day cells of staff required, between the first and last staffed time of day."""
    if frame.empty:
        return (), ()
    local = frame["interval_start"].dt.tz_convert(zone)
    labels = local.dt.strftime("%H:%M")
    staffed = labels[frame["staff_required"] > 0]
    all_times = sorted(labels.unique())
    times = [t for t in all_times if staffed.empty or staffed.min() <= t <= staffed.max()]
    peak = max(1, int(frame["staff_required"].max()))
    cells: dict[dt.date, dict[str, HeatCell]] = {}
    for start, day, label, staff in zip(
        frame["interval_start"], local.dt.date, labels, frame["staff_required"], strict=True
    ):
        # The repeated autumn hour shows its larger requirement; the drill-down has both.
        known = cells.setdefault(day, {}).get(label)
        if known is None or staff > known.staff:
            cells[day][label] = HeatCell(start.isoformat(), int(staff), round(100 * int(staff) / peak))
    rows = tuple((day, tuple(cells[day].get(t) for t in times)) for day in sorted(cells))
    return tuple(times), rows


async def page(channel_id: int | None, risk: str) -> RequirementsPage:
    from wfm.services import history as history_service

    site = await get_site()
    zone = ZoneInfo(site.time_zone)
    channels = tuple(await history_service.channels())
    if channel_id is None and channels:
        channel_id = channels[0][0]
    empty = RequirementsPage(channels, channel_id, risk, None, None, "", (), (), (), site.interval_minutes)
    if channel_id is None:
        return empty
    version = await forecasts.latest_version(channel_id)
    chosen = await latest_set(channel_id, risk)
    if chosen is None:
        return dataclasses.replace(empty, version=version)
    frame = await set_intervals(chosen.id)
    minutes = interval_minutes_of(frame["interval_start"], site.interval_minutes)
    channel = await Channel.select().where(Channel.id == channel_id).first()
    stale = ""
    if version is not None and version.id != chosen.forecast_version:
        stale = "A newer forecast exists."
    elif channel is not None:
        current = dataclasses.asdict(params_of(channel))
        used = {k: chosen.params.get(k) for k in current}
        if chosen.params.get("patience_source"):
            used["patience_seconds"] = current["patience_seconds"]
        if used != current:
            stale = "The channel's staffing parameters changed since."
    times, cells = heatmap(frame, zone)
    return RequirementsPage(
        channels, channel_id, risk, chosen, version, stale, times, cells, day_totals(frame, zone, minutes), minutes
    )


@dataclass(frozen=True)
class Step:
    label: str
    value: str
    note: str = ""


@dataclass(frozen=True)
class Derivation:
    interval_start: dt.datetime
    local_start: str
    model: str
    steps: tuple[Step, ...]


def _pct(value: float | None) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{100 * value:.1f} %"


def _secs(value: float | None) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{value:.1f} s"


def derive_cell(
    row: dict[str, float], params: staffing.ChannelParams, interval_minutes: int, patience_source: str = ""
) -> tuple[Step, ...]:
    """The audit trail of one interval's requirement: inputs, the queue at n - 1 and n, and shrinkage.

    ``patience_source`` says where an Erlang A patience came from, when history estimated it.
    """
    p = params
    offered, aht = float(row["offered"]), float(row["aht_seconds"])
    agents, staff = int(row["agents_required"]), int(row["staff_required"])
    seconds = interval_minutes * 60.0
    steps = [
        Step("Volume offered", f"{offered:.2f} contacts", f"in {interval_minutes} minutes"),
        Step("Average handle time", _secs(aht)),
    ]
    if p.model == "deferred":
        work = offered * aht
        steps += [
            Step("Model", "deferred work", f"due within {p.response_window_hours:g} h, spread over open intervals"),
            Step("Work arriving", f"{work / 3600:.2f} agent-hours", "volume x AHT"),
            Step("Maximum occupancy", _pct(p.max_occupancy)),
            Step(
                "Agents required",
                str(agents),
                f"ceil(work spread into this interval / ({interval_minutes} min x {p.max_occupancy:g}))",
            ),
            Step("Handled within the window", _pct(row.get("service_level")), "first in, first out over the plan"),
            Step("Backlog after this interval", f"{float(row.get('backlog') or 0):.1f} contacts"),
        ]
    else:
        lam = offered / seconds
        load = lam * aht
        erlang_a = p.model == "erlang_a"
        name = "Erlang A (M/M/n+M)" if erlang_a else "Erlang C (M/M/n)"
        steps += [
            Step("Arrival rate", f"{lam * 3600:.2f} per hour"),
            Step("Offered load", f"{load:.3f} Erlangs", "arrival rate x AHT"),
            *([Step("Patience", _secs(p.patience_seconds), patience_source)] if patience_source and erlang_a else []),
            Step("Model", name, f"patience {p.patience_seconds:g} s" if erlang_a else ""),
            Step(
                "Targets",
                f"{_pct(p.service_level_target)} within {p.answer_within_seconds:g} s",
                ", ".join(
                    part
                    for part in (
                        f"ASA at most {p.max_asa_seconds:g} s" if p.max_asa_seconds else "",
                        f"abandonment at most {_pct(p.max_abandon_rate)}"
                        if p.max_abandon_rate and p.model == "erlang_a"
                        else "",
                        f"occupancy at most {_pct(p.max_occupancy)}",
                    )
                    if part
                ),
            ),
        ]
        if p.concurrency > 1:
            steps.append(Step("Concurrency", f"{p.concurrency:g} conversations per agent", "servers = agents x this"))
        at_answer = None
        if load > 0:
            patience = np.array([p.patience_seconds]) if erlang_a else None
            for n in (agents - 1, agents):
                if n < 0:
                    continue
                m = staffing.queue_metrics(
                    np.array([n * p.concurrency], dtype=float),
                    np.array([lam]),
                    np.array([aht]),
                    patience,
                    np.array([p.answer_within_seconds]),
                )
                meets = bool(staffing.meets_targets(m, staffing.targets_of(p, 1))[0])
                at_answer = m
                steps.append(
                    Step(
                        f"With {n} agents",
                        f"service level {_pct(float(m.service_level[0]))}, ASA {_secs(float(m.asa_seconds[0]))}, "
                        f"abandonment {_pct(float(m.abandon_rate[0]))}, occupancy {_pct(float(m.occupancy[0]))}",
                        "meets every target" if meets else "misses a target",
                    )
                )
        steps.append(Step("Agents required", str(agents), "the fewest agents meeting every target"))
        if erlang_a and at_answer is not None and agents > 0:
            # A caller holds a line while queued too: mean wait of all callers = P(abandon) x patience.
            abandon = float(at_answer.abandon_rate[0])
            held = aht * (1 - abandon) + abandon * p.patience_seconds
            lines = int(erlang.lines_required(lam * held, LINE_BLOCKING))
            steps.append(
                Step(
                    "Phone lines (trunks)",
                    str(lines),
                    f"Erlang B at {100 * LINE_BLOCKING:g} % blocking on {lam * held:.2f} Erlangs held",
                )
            )
    steps += [
        Step("Shrinkage", _pct(p.shrinkage), "absence, meetings, training: time not scheduled as work"),
        Step("Staff required", str(staff), f"ceil({agents} / (1 - {p.shrinkage:g}))"),
    ]
    return tuple(steps)


async def derivation(set_id: int, interval_start: dt.datetime) -> Derivation | None:
    chosen = await RequirementSet.select().where(RequirementSet.id == set_id).first()
    if chosen is None:
        return None
    row = (
        await RequirementInterval.select(*(getattr(RequirementInterval, c) for c in COLUMNS))
        .where((RequirementInterval.requirement_set == set_id) & (RequirementInterval.interval_start == interval_start))
        .first()
    )
    if row is None:
        return None
    stored = json_object(chosen["params"])
    params = staffing.ChannelParams(**{k: stored[k] for k in staffing.PARAM_KEYS if k in stored})
    # The first two starts give the interval length; the set's other intervals are not needed.
    first = (
        await RequirementInterval.select(RequirementInterval.interval_start)
        .where(RequirementInterval.requirement_set == set_id)
        .order_by(RequirementInterval.interval_start)
        .limit(2)
    )
    site = await get_site()
    starts = pd.Series(pd.to_datetime([r["interval_start"] for r in first], utc=True))
    minutes = interval_minutes_of(starts, site.interval_minutes)
    local = row["interval_start"].astimezone(ZoneInfo(site.time_zone))
    trail = derive_cell(row, params, minutes, str(stored.get("patience_source") or ""))
    return Derivation(row["interval_start"], local.strftime("%Y-%m-%d %H:%M"), params.model, trail)


def export_frame(frame: pd.DataFrame, zone: ZoneInfo, channel: str) -> pd.DataFrame:
    """The requirements file of DESIGN.md for a stored set, times in site-local ISO 8601 with offsets."""
    out = frame.copy()
    out["interval_start"] = [t.isoformat() for t in out["interval_start"].dt.tz_convert(zone)]
    out["channel"] = channel
    return out[list(staffing.REQUIREMENT_COLUMNS)]


@dataclass(frozen=True)
class WhatIf:
    """Requirements under changed parameters next to those of the channel's own parameters."""

    risk: str
    params: staffing.ChannelParams
    days: tuple[tuple[DayTotals, DayTotals], ...]  # (as configured, what-if) per day
    staff_hours: tuple[float, float]
    service_level: tuple[float | None, float | None]  # volume-weighted over the horizon


def _weighted_service_level(frame: pd.DataFrame) -> float | None:
    judged = frame["service_level"].notna() & (frame["offered"] > 0)
    if not judged.any():
        return None
    return float(
        (frame.loc[judged, "service_level"] * frame.loc[judged, "offered"]).sum() / frame.loc[judged, "offered"].sum()
    )


async def what_if(source: Inputs, risk: str, params: staffing.ChannelParams, aht_factor: float = 1.0) -> WhatIf:
    """Compute both the configured and the changed requirements (nothing stored); ``aht_factor`` scales AHT."""
    problems = params.problems()
    if problems:
        raise RequirementsError(f"{problems[0][0]}: {problems[0][1]}")
    site = await get_site()
    zone = ZoneInfo(site.time_zone)
    changed_source = dataclasses.replace(
        source, forecast=source.forecast.assign(aht_seconds=source.forecast["aht_seconds"] * aht_factor)
    )
    base, changed = await asyncio.to_thread(lambda: (compute(source, risk), compute(changed_source, risk, params)))
    base_days = day_totals(base, zone, source.interval_minutes)
    changed_days = day_totals(changed, zone, source.interval_minutes)
    hours = source.interval_minutes / 60.0
    return WhatIf(
        risk,
        params,
        tuple(zip(base_days, changed_days, strict=True)),
        (float(base["staff_required"].sum()) * hours, float(changed["staff_required"].sum()) * hours),
        (_weighted_service_level(base), _weighted_service_level(changed)),
    )
