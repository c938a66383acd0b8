"""History browsing: read a channel's intervals for a local date range, aggregate, chart and page them."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd

from wfm import history
from wfm.charts import Series, line_chart_spec, to_svg
from wfm.db import database_url_of
from wfm.dbapi import DbApi
from wfm.services.site import get_site
from wfm.tables import Channel, ContactInterval

PAGE_ROWS = 96
# More points than this make an unreadable line and a slow SVG: the chart then shows days.
CHART_POINTS = 1500


@dataclass(frozen=True)
class HistoryQuery:
    channel_id: int
    first: dt.date
    last: dt.date
    grain: str
    page: int = 1


@dataclass(frozen=True)
class HistoryView:
    channels: tuple[tuple[int, str], ...]
    query: HistoryQuery | None
    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]
    total_rows: int
    pages: int
    svg: str
    chart_note: str
    offered_total: int
    data_first: dt.date | None
    data_last: dt.date | None

    @property
    def empty(self) -> bool:
        return self.total_rows == 0


async def channels() -> tuple[tuple[int, str], ...]:
    rows = await Channel.select(Channel.id, Channel.name).order_by(Channel.name)
    return tuple((r["id"], r["name"]) for r in rows)


async def bounds(channel_id: int, time_zone: str) -> tuple[dt.date, dt.date] | None:
    """First and last local day with history for the channel (two indexed lookups), or None."""
    first = (
        await ContactInterval.select(ContactInterval.interval_start)
        .where(ContactInterval.channel == channel_id)
        .order_by(ContactInterval.interval_start)
        .first()
    )
    if first is None:
        return None
    last = (
        await ContactInterval.select(ContactInterval.interval_start)
        .where(ContactInterval.channel == channel_id)
        .order_by(ContactInterval.interval_start, ascending=False)
        .first()
    )
    assert last is not None
    zone = ZoneInfo(time_zone)
    return first["interval_start"].astimezone(zone).date(), last["interval_start"].astimezone(zone).date()


async def intervals(channel_id: int, first: dt.date, last: dt.date, time_zone: str) -> pd.DataFrame:
    """Stored rows of the channel (all teams) from local midnight of ``first`` to the end of ``last``.

    Read with plain DB-API into a frame: two years of quarter hours are 70,000 rows, and building an
    ORM dict per row took most of a second.
    """
    zone = ZoneInfo(time_zone)
    start = dt.datetime.combine(first, dt.time(), zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone)
    return await asyncio.to_thread(_read_intervals, database_url_of(ContactInterval._meta.db), channel_id, start, end)


def _read_intervals(database_url: str, channel_id: int, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    db = DbApi(database_url)
    try:
        frame = db.frame(
            "SELECT interval_start, offered, handled, abandoned, aht_seconds, answered_within_sl "
            "FROM contact_interval WHERE channel = ? AND interval_start >= ? AND interval_start < ? "
            "ORDER BY interval_start",
            (channel_id, db.stamp(start), db.stamp(end)),
        )
    finally:
        db.close()
    frame["interval_start"] = pd.to_datetime(frame["interval_start"], utc=True, format="ISO8601")
    for column in ("offered", "handled", "abandoned", "aht_seconds", "answered_within_sl"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


async def aggregated(query: HistoryQuery) -> pd.DataFrame:
    site = await get_site()
    raw = await intervals(query.channel_id, query.first, query.last, site.time_zone)
    return await asyncio.to_thread(history.aggregate, raw, query.grain, site.time_zone)


async def view(query: HistoryQuery | None) -> HistoryView:
    """The page's view model: the chosen range aggregated, one page of the table, and the chart."""
    site = await get_site()
    known = await channels()
    span = await bounds(query.channel_id, site.time_zone) if query else None
    if query is None or span is None:
        return HistoryView(known, query, history.COLUMNS, (), 0, 0, "", "", 0, None, None)
    raw = await intervals(query.channel_id, query.first, query.last, site.time_zone)
    table = await asyncio.to_thread(history.aggregate, raw, query.grain, site.time_zone)
    pages = max(1, math.ceil(len(table) / PAGE_ROWS))
    page = min(max(query.page, 1), pages)
    shown = table.iloc[(page - 1) * PAGE_ROWS : page * PAGE_ROWS]
    svg, note = await _chart(raw, table, query, site.time_zone)
    return HistoryView(
        channels=known,
        query=HistoryQuery(query.channel_id, query.first, query.last, query.grain, page),
        columns=history.COLUMNS,
        rows=tuple(tuple(None if pd.isna(v) else v for v in row) for row in shown.itertuples(index=False, name=None)),
        total_rows=len(table),
        pages=pages,
        svg=svg,
        chart_note=note,
        offered_total=int(table["offered"].sum()) if len(table) else 0,
        data_first=span[0],
        data_last=span[1],
    )


async def _chart(raw: pd.DataFrame, table: pd.DataFrame, query: HistoryQuery, time_zone: str) -> tuple[str, str]:
    if table.empty:
        return "", ""
    grain, note = query.grain, ""
    if len(table) > CHART_POINTS:
        grain, note = (
            "day",
            f"The chart shows daily totals ({len(table)} {query.grain}s are too many to draw); "
            f"the table has every {query.grain}.",
        )
        table = await asyncio.to_thread(history.aggregate, raw, grain, time_zone)
    frame = pd.DataFrame({"period": table["period"], "offered": table["offered"]})
    x_title = {"interval": "Interval start (local)", "day": "Day", "week": "ISO week"}[grain]
    spec = line_chart_spec(
        Series(frame, "period", "offered", x_title=x_title, y_title="Offered contacts"),
        f"Offered contacts per {grain}",
        temporal=grain != "week",
        time_format={"interval": "%d %b %H:%M", "day": "%d %b %Y"}.get(grain, ""),
    )
    return await asyncio.to_thread(to_svg, spec), note
