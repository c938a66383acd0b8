"""Forecasts in the app: history from the database -> `forecasting.forecast` -> stored versions.

A run forecasts chosen channels and stores one `ForecastVersion` per channel with its intervals (UTC).
Lead adjustments are stored apart and applied only when shown ("adjusted P50"), never written into a
version. The accuracy ledger compares daily snapshot versions with the actuals that arrived since.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from wfm import charts
from wfm.db import database_url_of, json_object
from wfm.dbapi import DbApi
from wfm.services import audit
from wfm.services.site import get_site
from wfm.tables import Channel, ChannelHours, ForecastAdjustment, ForecastEvent, ForecastInterval, ForecastVersion

if TYPE_CHECKING:
    import forecasting

# Interval start minus generation time, in hours: the ledger's horizon buckets.
HORIZONS: tuple[tuple[str, float, float], ...] = (
    ("day ahead (up to 24 h)", 0.0, 24.0),
    ("week ahead (1-7 days)", 24.0, 24.0 * 7),
    ("beyond a week", 24.0 * 7, float("inf")),
)
Progress = Callable[[int, str], None]
# History older than this is not read: a year and a week covers every holiday once and the seasons,
# while fits and the backtest grow with every extra week.
HISTORY_WEEKS = 53


@dataclass(frozen=True)
class RunResult:
    version_ids: tuple[int, ...]
    warnings: tuple[str, ...]


def _database_url() -> str:
    return database_url_of(ForecastVersion._meta.db)


def _read_history(database_url: str, channel_ids: list[int]) -> pd.DataFrame:
    """All stored history of the channels, teams summed, as ``interval_start`` (UTC), channel name, offered,
    aht_seconds (weighted by handled contacts, else offered)."""
    marks = ", ".join("?" for _ in channel_ids)
    db = DbApi(database_url)
    try:
        frame = db.frame(
            "SELECT h.interval_start, c.name AS channel, SUM(h.offered) AS offered, "
            "SUM(h.aht_seconds * COALESCE(h.handled, h.offered)) AS aht_work, "
            "SUM(CASE WHEN h.aht_seconds IS NULL THEN 0 ELSE COALESCE(h.handled, h.offered) END) AS aht_weight "
            f"FROM contact_interval h JOIN channel c ON c.id = h.channel WHERE h.channel IN ({marks}) "
            "GROUP BY h.interval_start, c.name ORDER BY c.name, h.interval_start",
            channel_ids,
        )
    finally:
        db.close()
    frame["interval_start"] = pd.to_datetime(frame["interval_start"], utc=True, format="ISO8601")
    weight = pd.to_numeric(frame.pop("aht_weight"), errors="coerce")
    work = pd.to_numeric(frame.pop("aht_work"), errors="coerce")
    frame["aht_seconds"] = (work / weight).where(weight > 0)
    frame["offered"] = pd.to_numeric(frame["offered"]).astype(float)
    return frame


def opening_hours_check(rows: list[dict[str, object]]) -> Callable[[int, int], bool]:
    """``is_open(iso_weekday, minute_of_day)`` from a channel's `ChannelHours` rows (no row: closed)."""
    days = {int(str(r["weekday"])): (int(str(r["opens_minute"])), int(str(r["closes_minute"]))) for r in rows}

    def is_open(weekday: int, minute: int) -> bool:
        hours = days.get(weekday)
        return hours is not None and hours[0] <= minute < hours[1]

    return is_open


async def run(
    channel_ids: list[int],
    horizon_days: int,
    method: str,
    actor: str,
    snapshot: bool = False,
    job_id: int = 0,
    progress: Progress | None = None,
    as_of: dt.datetime | None = None,
) -> RunResult:
    """Forecast the channels and store one version each; a job's retry returns the versions it made.

    ``as_of`` (aware) replays the past: only history before it is used, the horizon starts on its local
    day and the version is dated then (the demo builds its accuracy ledger this way).
    """
    if job_id:
        done = await ForecastVersion.select(ForecastVersion.id).where(ForecastVersion.job_id == job_id)
        if done:
            return RunResult(tuple(r["id"] for r in done), ())
    site = await get_site()
    channels = await Channel.select().where(Channel.id.is_in(channel_ids))
    if not channels:
        raise ValueError("no such channels")
    history = await asyncio.to_thread(_read_history, _database_url(), [c["id"] for c in channels])
    names = {c["name"]: c["id"] for c in channels}
    start = None
    if as_of is not None:
        history = history[history["interval_start"] < as_of]
        start = as_of.astimezone(ZoneInfo(site.time_zone)).date()
    if not history.empty:
        # Cut at a local midnight: inside a day, an absent interval counts as zero contacts.
        last = history["interval_start"].max().tz_convert(site.time_zone).date()
        cutoff = dt.datetime.combine(last - dt.timedelta(weeks=HISTORY_WEEKS), dt.time(), ZoneInfo(site.time_zone))
        history = history[history["interval_start"] >= cutoff]
    missing = sorted(set(names) - set(history["channel"]))
    usable = history[history["channel"].isin(names)]
    # Real-time channels follow their opening hours; deferred work arrives around the clock, so its
    # closed slots are learned from history.
    hours = await ChannelHours.select()
    open_slots = {
        c["name"]: opening_hours_check([h for h in hours if h["channel"] == c["id"]])
        for c in channels
        if c["staffing_model"] != "deferred" and any(h["channel"] == c["id"] for h in hours)
    }
    events = await _events(list(names))
    warnings = tuple(f"{name}: no history yet; import history first" for name in missing)
    if usable.empty:
        return RunResult((), warnings)
    import forecasting  # statsmodels takes a second to import: only where forecasts are made

    result = await asyncio.to_thread(
        forecasting.forecast,
        usable,
        horizon_days,
        method=method,
        time_zone=site.time_zone,
        country=site.holiday_country or None,
        events=events,
        open_slots={k: v for k, v in open_slots.items() if k in set(usable["channel"])},
        start=start,
        progress=progress,
    )
    generated_at = as_of or audit.utcnow()
    ids = await asyncio.to_thread(
        _store,
        _database_url(),
        result,
        names,
        generated_at,
        actor,
        method,
        horizon_days,
        snapshot,
        job_id,
        site.time_zone,
    )
    await audit.record(actor, "forecast", ", ".join(sorted(result.reports)), f"{horizon_days} days, {method}")
    return RunResult(ids, warnings + result.warnings)


async def _events(channel_names: list[str]) -> list[forecasting.Event]:
    import forecasting

    rows = await ForecastEvent.select(*ForecastEvent.all_columns(), ForecastEvent.channel.name)
    events = []
    for row in rows:
        events.append(
            forecasting.Event(
                start=row["first_day"],
                end=row["last_day"],
                multiplier=row["multiplier"],
                like_date=row["like_day"],
                channels=(row["channel.name"],) if row["channel.name"] else (),
                name=row["name"],
            )
        )
    return [e for e in events if not e.channels or e.channels[0] in channel_names]


def _store(
    database_url: str,
    result: forecasting.ForecastResult,
    names: dict[str, int],
    generated_at: dt.datetime,
    actor: str,
    method: str,
    horizon_days: int,
    snapshot: bool,
    job_id: int,
    time_zone: str,
) -> tuple[int, ...]:
    """One version per channel and its intervals, in one short transaction."""
    frame = result.frame.copy()
    frame["interval_start"] = pd.to_datetime(frame["interval_start"], utc=True)
    db = DbApi(database_url)
    ids = []
    try:
        with db.transaction():
            for channel, report in result.reports.items():
                rows = frame[frame["channel"] == channel]
                if rows.empty:
                    continue
                local_days = rows["interval_start"].dt.tz_convert(time_zone).dt.date
                payload = {
                    "reason": report.reason,
                    "quantiles": report.quantiles,
                    "warnings": list(report.warnings),
                    "special_days": list(report.special_days),
                    "backtest": json.loads(report.backtest.to_json(orient="records")),
                    "backtest_seconds": report.backtest_seconds,
                    "fit_seconds": report.fit_seconds,
                }
                version_id = int(
                    db.one(
                        "INSERT INTO forecast_version (channel, generated_at, created_by, method, model, horizon_days, "
                        "first_day, last_day, snapshot, report, job_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                        "RETURNING id",
                        (
                            names[channel],
                            db.stamp(generated_at),
                            actor,
                            method,
                            report.model,
                            horizon_days,
                            local_days.min().isoformat(),
                            local_days.max().isoformat(),
                            snapshot,
                            json.dumps(payload),
                            job_id,
                        ),
                    )
                )
                stamps = rows["interval_start"].dt.strftime("%Y-%m-%d %H:%M:%S+00:00")
                values = list(
                    zip(
                        [version_id] * len(rows),
                        stamps if db.sqlite else rows["interval_start"].dt.to_pydatetime(),
                        rows["offered_p50"].astype(float),
                        rows["offered_p80"].astype(float),
                        rows["offered_p95"].astype(float),
                        [None if pd.isna(v) else float(v) for v in rows["aht_seconds"]],
                        rows["model"].astype(str),
                        strict=True,
                    )
                )
                db.load(
                    "forecast_interval",
                    ["version", "interval_start", "offered_p50", "offered_p80", "offered_p95", "aht_seconds", "model"],
                    values,
                )
                ids.append(version_id)
    finally:
        db.close()
    return tuple(ids)


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionView:
    id: int
    channel_id: int
    generated_at: dt.datetime
    created_by: str
    method: str
    model: str
    horizon_days: int
    first_day: dt.date
    last_day: dt.date
    snapshot: bool
    reason: str
    quantiles: str
    warnings: tuple[str, ...]
    special_days: tuple[str, ...]
    backtest: tuple[dict[str, object], ...]


async def latest_version(channel_id: int) -> VersionView | None:
    row = (
        await ForecastVersion.select()
        .where(ForecastVersion.channel == channel_id)
        .order_by(ForecastVersion.generated_at, ascending=False)
        .order_by(ForecastVersion.id, ascending=False)
        .first()
    )
    if row is None:
        return None
    report = json_object(row["report"])
    return VersionView(
        id=row["id"],
        channel_id=row["channel"],
        generated_at=row["generated_at"],
        created_by=row["created_by"],
        method=row["method"],
        model=row["model"],
        horizon_days=row["horizon_days"],
        first_day=row["first_day"],
        last_day=row["last_day"],
        snapshot=row["snapshot"],
        reason=report.get("reason", ""),
        quantiles=report.get("quantiles", ""),
        warnings=tuple(report.get("warnings", ())),
        special_days=tuple(report.get("special_days", ())),
        backtest=tuple(report.get("backtest", ())),
    )


async def version_channel(version_id: int) -> int | None:
    """The channel a forecast version belongs to, or None if there is no such version."""
    row = await ForecastVersion.select(ForecastVersion.channel).where(ForecastVersion.id == version_id).first()
    return None if row is None else int(row["channel"])


async def intervals(version_id: int) -> pd.DataFrame:
    """A version's intervals with the lead adjustments that cover them (``adjusted_p50``)."""
    rows = (
        await ForecastInterval.select(
            ForecastInterval.interval_start,
            ForecastInterval.offered_p50,
            ForecastInterval.offered_p80,
            ForecastInterval.offered_p95,
            ForecastInterval.aht_seconds,
            ForecastInterval.model,
        )
        .where(ForecastInterval.version == version_id)
        .order_by(ForecastInterval.interval_start)
    )
    frame = pd.DataFrame.from_records(
        rows, columns=["interval_start", "offered_p50", "offered_p80", "offered_p95", "aht_seconds", "model"]
    )
    version = await ForecastVersion.select(ForecastVersion.channel).where(ForecastVersion.id == version_id).first()
    if version is None or frame.empty:
        frame["adjusted_p50"] = frame.get("offered_p50", pd.Series(dtype=float))
        return frame
    frame["interval_start"] = pd.to_datetime(frame["interval_start"], utc=True)
    factor = np.ones(len(frame))
    for adjustment in await adjustments(version["channel"]):
        inside = (frame["interval_start"] >= adjustment.start_at) & (frame["interval_start"] < adjustment.end_at)
        factor = np.where(inside, factor * (1 + adjustment.percent / 100), factor)
    frame["adjusted_p50"] = frame["offered_p50"] * factor
    return frame


@dataclass(frozen=True)
class AdjustmentView:
    id: int
    start_at: dt.datetime
    end_at: dt.datetime
    percent: float
    reason: str
    created_by: str
    created_at: dt.datetime


async def adjustments(channel_id: int) -> list[AdjustmentView]:
    rows = (
        await ForecastAdjustment.select()
        .where(ForecastAdjustment.channel == channel_id)
        .order_by(ForecastAdjustment.start_at)
    )
    return [
        AdjustmentView(r["id"], r["start_at"], r["end_at"], r["percent"], r["reason"], r["created_by"], r["created_at"])
        for r in rows
    ]


async def add_adjustment(
    channel_id: int, first: dt.datetime, end: dt.datetime, percent: float, reason: str, actor: str
) -> int:
    """Store a manual adjustment (``[first, end)`` as aware datetimes); audited."""
    if end <= first:
        raise ValueError("The end must be after the start.")
    if not -100 <= percent <= 1000:
        raise ValueError("The change must be between -100 % and +1000 %.")
    if not reason.strip():
        raise ValueError("Give a reason: others read it next to the forecast.")
    rows = await ForecastAdjustment.insert(
        ForecastAdjustment(
            channel=channel_id,
            start_at=first,
            end_at=end,
            percent=percent,
            reason=reason.strip()[:500],
            created_by=actor,
            created_at=audit.utcnow(),
        )
    ).returning(ForecastAdjustment.id)
    await audit.record(actor, "forecast_adjusted", f"channel {channel_id}", f"{percent:+g} % from {first} to {end}")
    return int(rows[0]["id"])


async def delete_adjustment(adjustment_id: int, actor: str) -> None:
    await ForecastAdjustment.delete().where(ForecastAdjustment.id == adjustment_id)
    await audit.record(actor, "forecast_adjustment_removed", f"adjustment {adjustment_id}")


# --- accuracy ledger ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerRow:
    horizon: str
    snapshots: int
    intervals: int
    wmape_pct: float | None
    bias_pct: float | None
    coverage_p80_pct: float | None
    coverage_p95_pct: float | None


def _read_ledger(database_url: str, channel_id: int) -> pd.DataFrame:
    db = DbApi(database_url)
    try:
        frame = db.frame(
            "SELECT v.id AS version, v.generated_at, f.interval_start, f.offered_p50, f.offered_p80, f.offered_p95, "
            "a.offered FROM forecast_version v JOIN forecast_interval f ON f.version = v.id "
            "JOIN (SELECT interval_start, channel, SUM(offered) AS offered FROM contact_interval "
            "WHERE channel = ? GROUP BY interval_start, channel) a "
            "ON a.interval_start = f.interval_start AND a.channel = v.channel "
            "WHERE v.channel = ? AND v.snapshot = ?",
            (channel_id, channel_id, True),
        )
    finally:
        db.close()
    return frame


def ledger_table(frame: pd.DataFrame) -> list[LedgerRow]:
    """Accuracy by horizon bucket over open intervals.

    wMAPE = sum|actual - P50| / sum actual; bias = sum(P50 - actual) / sum actual; coverage = the share
    of actuals at or below P80 and P95 (DESIGN.md, Quantiles).
    """
    if frame.empty:
        return []
    # Closed intervals (nothing forecast, nothing came) would flatter the coverage: leave them out.
    actual_all = pd.to_numeric(frame["offered"]).astype(float)
    frame = frame[~((frame["offered_p95"].astype(float) == 0) & (actual_all == 0))]
    start = pd.to_datetime(frame["interval_start"], utc=True, format="ISO8601")
    made = pd.to_datetime(frame["generated_at"], utc=True, format="ISO8601")
    lead_hours = (start - made).dt.total_seconds() / 3600
    actual = pd.to_numeric(frame["offered"]).astype(float)
    rows = []
    for label, low, high in HORIZONS:
        inside = (lead_hours >= low) & (lead_hours < high)
        if not inside.any():
            continue
        a = actual[inside]
        p50 = frame.loc[inside, "offered_p50"].astype(float)
        total = a.sum()
        rows.append(
            LedgerRow(
                horizon=label,
                snapshots=int(frame.loc[inside, "version"].nunique()),
                intervals=int(inside.sum()),
                wmape_pct=round(100 * float((a - p50).abs().sum() / total), 1) if total else None,
                bias_pct=round(100 * float((p50 - a).sum() / total), 1) if total else None,
                coverage_p80_pct=round(100 * float((a <= frame.loc[inside, "offered_p80"]).mean()), 1),
                coverage_p95_pct=round(100 * float((a <= frame.loc[inside, "offered_p95"]).mean()), 1),
            )
        )
    return rows


async def ledger(channel_id: int) -> list[LedgerRow]:
    frame = await asyncio.to_thread(_read_ledger, _database_url(), channel_id)
    return ledger_table(frame)


async def snapshot_due(time_zone: str) -> bool:
    """True when no snapshot was made today (site-local): the daily tick then starts one."""
    today = dt.datetime.now(ZoneInfo(time_zone)).date()
    midnight = dt.datetime.combine(today, dt.time(), ZoneInfo(time_zone))
    return not await ForecastVersion.exists().where(
        (ForecastVersion.snapshot == True) & (ForecastVersion.generated_at >= midnight)  # noqa: E712
    )


# --- the page -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForecastPage:
    channels: tuple[tuple[int, str], ...]
    channel_id: int | None
    version: VersionView | None
    svg: str
    days: tuple[tuple[object, ...], ...]  # day, sum P50, sum adjusted P50, sum P80, sum P95, mean AHT
    day: dt.date | None
    intervals: tuple[tuple[object, ...], ...]  # local time, P50, adjusted, P80, P95, AHT
    adjustments: tuple[AdjustmentView, ...]
    ledger: tuple[LedgerRow, ...]


async def page(channel_id: int | None, day: dt.date | None) -> ForecastPage:
    from wfm.services import history as history_service

    site = await get_site()
    zone = ZoneInfo(site.time_zone)
    channels = await history_service.channels()
    if channel_id is None and channels:
        channel_id = channels[0][0]
    if channel_id is None:
        return ForecastPage(channels, None, None, "", (), None, (), (), ())
    version = await latest_version(channel_id)
    changes = tuple(await adjustments(channel_id))
    rows = tuple(await ledger(channel_id))
    if version is None:
        return ForecastPage(channels, channel_id, None, "", (), None, (), changes, rows)
    frame = await intervals(version.id)
    frame["local"] = frame["interval_start"].dt.tz_convert(zone).dt.tz_localize(None)
    frame["day"] = frame["local"].dt.date
    daily = frame.groupby("day").agg(
        p50=("offered_p50", "sum"),
        adjusted=("adjusted_p50", "sum"),
        p80=("offered_p80", "sum"),
        p95=("offered_p95", "sum"),
        aht=("aht_seconds", "mean"),
    )
    chosen = day if day in set(frame["day"]) else frame["day"].iloc[0]
    one_day = frame[frame["day"] == chosen]
    actual_start = version.first_day - dt.timedelta(days=7)
    actual = await history_service.intervals(
        channel_id, actual_start, version.first_day - dt.timedelta(days=1), site.time_zone
    )
    actual_frame = pd.DataFrame(
        {
            "time": actual["interval_start"].dt.tz_convert(zone).dt.tz_localize(None) if not actual.empty else [],
            "offered": actual["offered"] if not actual.empty else [],
        }
    )
    forecast_frame = pd.DataFrame(
        {"time": frame["local"], "p50": frame["adjusted_p50"], "p80": frame["offered_p80"], "p95": frame["offered_p95"]}
    )
    spec = charts.forecast_chart_spec(actual_frame, forecast_frame, "Last week's actuals and the forecast")
    svg = await asyncio.to_thread(charts.to_svg, spec)

    return ForecastPage(
        channels=channels,
        channel_id=channel_id,
        version=version,
        svg=svg,
        days=_rows(
            [pd.Series(daily.index, index=daily.index), *(daily[c] for c in ("p50", "adjusted", "p80", "p95", "aht"))]
        ),
        day=chosen,
        intervals=_rows(
            [
                one_day["local"].dt.strftime("%H:%M"),
                *(one_day[c] for c in ("offered_p50", "adjusted_p50", "offered_p80", "offered_p95", "aht_seconds")),
            ]
        ),
        adjustments=changes,
        ledger=rows,
    )


def _rows(columns: list[pd.Series]) -> tuple[tuple[object, ...], ...]:
    """Table rows for a template: numbers rounded to 0.1, missing values as None."""
    cleaned = []
    for column in columns:
        if pd.api.types.is_numeric_dtype(column):
            cleaned.append([None if pd.isna(v) else round(float(v), 1) for v in column.tolist()])
        else:
            cleaned.append(column.tolist())
    return tuple(zip(*cleaned, strict=True))


# --- special days -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventView:
    id: int
    name: str
    first_day: dt.date
    last_day: dt.date
    multiplier: float | None
    like_day: dt.date | None
    channel: str


async def events() -> list[EventView]:
    rows = await ForecastEvent.select(*ForecastEvent.all_columns(), ForecastEvent.channel.name).order_by(
        ForecastEvent.first_day
    )
    return [
        EventView(
            r["id"], r["name"], r["first_day"], r["last_day"], r["multiplier"], r["like_day"], r["channel.name"] or ""
        )
        for r in rows
    ]


async def add_event(
    name: str,
    first_day: dt.date,
    last_day: dt.date,
    multiplier: float | None,
    like_day: dt.date | None,
    channel_id: int | None,
    actor: str,
) -> int:
    """A special period the next forecasts use: exactly one of a multiplier and a "like day"."""
    if not name.strip():
        raise ValueError("Give the event a name.")
    if last_day < first_day:
        raise ValueError("The last day is before the first day.")
    if (multiplier is None) == (like_day is None):
        raise ValueError("Give either a multiplier or a day to copy, not both.")
    if multiplier is not None and not 0 <= multiplier <= 10:
        raise ValueError("The multiplier must be between 0 and 10.")
    import forecasting

    forecasting.Event(start=first_day, end=last_day, multiplier=multiplier, like_date=like_day)  # its own checks
    rows = await ForecastEvent.insert(
        ForecastEvent(
            name=name.strip()[:80],
            first_day=first_day,
            last_day=last_day,
            multiplier=multiplier,
            like_day=like_day,
            channel=channel_id,
            created_by=actor,
        )
    ).returning(ForecastEvent.id)
    await audit.record(actor, "forecast_event_added", name.strip()[:80], f"{first_day}..{last_day}")
    return int(rows[0]["id"])


async def delete_event(event_id: int, actor: str) -> None:
    await ForecastEvent.delete().where(ForecastEvent.id == event_id)
    await audit.record(actor, "forecast_event_removed", f"event {event_id}")
