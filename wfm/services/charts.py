"""Chart view models: query, shape the numbers, render the SVG off the event loop."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

import pandas as pd

from wfm.charts import Series, bar_chart_spec, to_svg
from wfm.services import audit


@dataclass(frozen=True)
class ChartView:
    """An SVG chart and the same numbers as a table (every chart is paired with its numbers)."""

    svg: str
    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]


async def audit_chart(first: dt.date, last: dt.date) -> ChartView | None:
    """Audit events per day and action from the daily summary; None before the first rollup."""
    counts = await audit.daily_counts(first, last)
    if not counts:
        return None
    frame = pd.DataFrame(
        {
            "day": [c.day.isoformat() for c in counts],
            "action": [c.action for c in counts],
            "events": [c.events for c in counts],
        }
    )
    spec = bar_chart_spec(Series(frame, "day", "events", "action", "Day", "Events"), "Audit events per day")
    svg = await asyncio.to_thread(to_svg, spec)
    table = frame.pivot_table(index="day", columns="action", values="events", fill_value=0, aggfunc="sum")
    return ChartView(
        svg=svg,
        columns=("day", *[str(c) for c in table.columns]),
        rows=tuple((day, *[int(v) for v in values]) for day, values in zip(table.index, table.to_numpy(), strict=True)),
    )
