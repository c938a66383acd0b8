"""Server-side SVG charts (Vega-Lite through altair, rendered by vl-convert): no script, no CDN."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import altair as alt
import pandas as pd
import vl_convert


@dataclass(frozen=True)
class Series:
    """A chart's data in long form: one row per (x, series) point."""

    frame: pd.DataFrame
    x: str
    y: str
    color: str = ""
    x_title: str = ""
    y_title: str = ""


def bar_chart_spec(series: Series, title: str, width: int = 640, height: int = 220) -> dict[str, object]:
    """A Vega-Lite spec of stacked bars per x (dates or categories) and optional colour."""
    encoding: dict[str, object] = {
        "x": alt.X(series.x, type="ordinal", title=series.x_title or series.x),
        "y": alt.Y(series.y, type="quantitative", title=series.y_title or series.y, stack="zero"),
    }
    if series.color:
        encoding["color"] = alt.Color(series.color, type="nominal", title=series.color)
    chart = alt.Chart(series.frame, title=title, width=width, height=height).mark_bar().encode(**encoding)
    return chart.to_dict()


_TRANSLATE = re.compile(r'transform="translate\((-?[\d.]+(?:e-?\d+)?),(-?[\d.]+(?:e-?\d+)?)\)"')


def to_svg(spec: dict[str, object]) -> str:
    """Render a Vega-Lite spec to an SVG string (deterministic; text is escaped by the renderer).

    Mark positions come with 15 decimals; a tenth of a pixel is plenty and halves a scatter's weight.
    """
    svg = str(vl_convert.vegalite_to_svg(spec))
    return _TRANSLATE.sub(lambda m: f'transform="translate({float(m[1]):.1f},{float(m[2]):.1f})"', svg)


def line_chart_spec(
    series: Series, title: str, temporal: bool, time_format: str = "", width: int = 640, height: int = 220
) -> dict[str, object]:
    """A Vega-Lite spec of one line per colour over x (times when ``temporal``, else ordered labels).

    ``time_format`` is a d3 time format for the x labels (24-hour clock, e.g. ``%H:%M``).
    """
    axis = alt.Axis(format=time_format) if time_format else alt.Axis()
    encoding: dict[str, object] = {
        "x": alt.X(series.x, type="temporal" if temporal else "ordinal", title=series.x_title or series.x, axis=axis),
        "y": alt.Y(series.y, type="quantitative", title=series.y_title or series.y),
    }
    if series.color:
        encoding["color"] = alt.Color(series.color, type="nominal", title=series.color)
    chart = alt.Chart(series.frame, title=title, width=width, height=height).mark_line().encode(**encoding)
    return chart.to_dict()


def forecast_chart_spec(
    actual: pd.DataFrame, forecast: pd.DataFrame, title: str, width: int = 720, height: int = 240
) -> dict[str, object]:
    """Actuals as a line, the forecast as a P50 line with a P50-P95 band and a dashed P80 line
    (DESIGN.md, Quantiles). Frames: ``time`` (local, naive) and ``offered``; ``p50, p80, p95``."""
    x = alt.X("time:T", title="Local time", axis=alt.Axis(format="%d %b %H:%M"))
    band = alt.Chart(forecast).mark_area(opacity=0.25).encode(x=x, y=alt.Y("p50:Q", title="Contacts"), y2="p95:Q")
    p80 = alt.Chart(forecast).mark_line(strokeDash=[4, 3]).encode(x=x, y="p80:Q")
    p50 = alt.Chart(forecast).mark_line().encode(x=x, y="p50:Q")
    layers = [band, p80, p50]
    if not actual.empty:
        layers.insert(0, alt.Chart(actual).mark_line(color="#555").encode(x=x, y="offered:Q"))
    chart = alt.layer(*layers).properties(title=title, width=width, height=height)
    return chart.to_dict()


def coverage_chart_spec(frame: pd.DataFrame, title: str, width: int = 720, height: int = 200) -> dict[str, object]:
    """Scheduled staff (line) against required staff (dashed), with the shortfall shaded red.

    ``frame``: ``time`` (local, naive), ``required``, ``scheduled``."""
    x = alt.X("time:T", title="Local time", axis=alt.Axis(format="%a %H:%M"))
    short = frame.assign(low=frame[["required", "scheduled"]].min(axis=1))
    gap = (
        alt.Chart(short)
        .mark_area(color="#c0392b", opacity=0.35, interpolate="step-after")
        .encode(x=x, y=alt.Y("low:Q", title="Staff"), y2="required:Q")
    )
    need = (
        alt.Chart(frame)
        .mark_line(color="#555", strokeDash=[4, 3], interpolate="step-after")
        .encode(x=x, y="required:Q")
    )
    have = alt.Chart(frame).mark_line(color="#1f5fa8", interpolate="step-after").encode(x=x, y="scheduled:Q")
    return alt.layer(gap, need, have).properties(title=title, width=width, height=height).to_dict()


SCATTER_MAX_POINTS = 400  # above this many, points are drawn as a 2-D histogram


def scatter_fit_spec(
    points: pd.DataFrame,
    line: pd.DataFrame,
    x_title: str,
    y_title: str,
    title: str,
    width: int = 320,
    height: int = 240,
) -> dict[str, object]:
    """Points (``x``, ``y``) with a fitted line (``x``, ``fit``) and its band (``low``, ``high``).

    Beyond `SCATTER_MAX_POINTS` the points become shaded bins (darker = more points): a page of thousands of
    dots weighs megabytes and shows no more. No aria-label per point either; the page gives the numbers.
    """
    x = alt.X("x:Q", title=x_title)
    y = alt.Y("y:Q", title=y_title)
    if len(points) > SCATTER_MAX_POINTS:
        dots = (
            alt.Chart(points)
            .mark_rect(aria=False)
            .encode(
                x=alt.X("x:Q", bin=alt.Bin(maxbins=30), title=x_title),
                y=alt.Y("y:Q", bin=alt.Bin(maxbins=24), title=y_title),
                color=alt.Color("count():Q", scale=alt.Scale(scheme="blues"), title="team-months"),
            )
        )
    else:
        dots = alt.Chart(points).mark_circle(size=18, opacity=0.45, aria=False).encode(x=x, y=y)
    band = alt.Chart(line).mark_area(opacity=0.2).encode(x=x, y="low:Q", y2="high:Q")
    fit = alt.Chart(line).mark_line(color="#b03a2e").encode(x=x, y="fit:Q")
    return alt.layer(dots, band, fit).properties(title=title, width=width, height=height).to_dict()


def trend_facets_spec(frame: pd.DataFrame, x_title: str, title: str, width: int = 560) -> dict[str, object]:
    """One small line chart per measure, stacked, each with its own y scale; colour by ``series``.

    ``frame``: ``period`` (ordered labels), ``measure`` (its label, unit included), ``series``, ``value``.
    """
    lines = (
        alt.Chart(frame)
        .mark_line(point=alt.OverlayMarkDef(size=14, aria=False))
        .encode(
            x=alt.X("period:O", title=x_title),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
            color=alt.Color("series:N", title=None, legend=alt.Legend(orient="top")),
        )
        .properties(width=width, height=70)
    )
    header = alt.Header(labelAngle=0, labelAlign="left", labelAnchor="start", labelOrient="top", title=None)
    measures = list(dict.fromkeys(frame["measure"]))
    facets = lines.facet(row=alt.Row("measure:N", header=header, sort=measures), title=title)
    return facets.resolve_scale(y="independent").to_dict()


DIRECTION_COLOURS = ("#e45756", "#4c78a8", "#f58518")


def lag_profile_spec(
    frame: pd.DataFrame, title: str, directions: Sequence[str], width: int = 300, height: int = 160
) -> dict[str, object]:
    """Correlation by lag with its 95% interval, one colour per direction, and the zero line.

    ``frame``: ``lag`` (steps), ``direction`` (which measure leads), ``r``, ``low``, ``high``; ``directions``
    (up to three) fixes each direction's colour, so that every pair's chart reads alike.
    """
    x = alt.X("lag:O", title="Lag (months)", axis=alt.Axis(labelAngle=0))
    offset = alt.XOffset("direction:N", sort=list(directions))
    scale = alt.Scale(domain=list(directions), range=list(DIRECTION_COLOURS[: len(directions)]))
    legend = alt.Legend(orient="bottom", direction="vertical")
    colour = alt.Color("direction:N", title=None, scale=scale, legend=legend)
    bars = alt.Chart(frame).mark_rule(strokeWidth=2).encode(x=x, xOffset=offset, y="low:Q", y2="high:Q", color=colour)
    dots = (
        alt.Chart(frame)
        .mark_point(filled=True, size=40)
        .encode(x=x, xOffset=offset, y=alt.Y("r:Q", title="r (within teams)"), color=colour)
    )
    zero = alt.Chart(pd.DataFrame({"zero": [0.0]})).mark_rule(color="#888", strokeDash=[3, 3]).encode(y="zero:Q")
    return alt.layer(zero, bars, dots).properties(title=title, width=width, height=height).to_dict()
