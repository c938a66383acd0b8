"""The finance page: cost per contact and cost-to-serve by month, channel and team, with exports."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pandas as pd
from litestar import Controller, Request, Response, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from wfm import costs, security
from wfm.charts import Series, line_chart_spec, to_svg
from wfm.exports import to_xlsx
from wfm.routes.common import csv_download, fragment_request, page
from wfm.services import audit
from wfm.services import costs as cost_service
from wfm.services.site import list_channels, list_teams

READERS = security.roles(security.ADMIN, security.FINANCE)
DRIVER_LABELS = {"handled_minutes": "handled minutes", "fte": "paid hours (FTE)", "headcount": "headcount"}
# What each query field is called on the page, for its error messages.
FIELD_LABELS = {"first": "From", "last": "To", "channel": "Channel", "team": "Team", "driver": "Allocate by",
                "hiring_cost": "Hiring cost per hire", "training_cost": "Training cost per hire",
                "ramp_months": "Months to full output", "ramp_productivity": "Output while ramping"}  # fmt: skip


def _default_months() -> tuple[str, str]:
    """The last three whole months: a month under way has its whole overhead but only part of its work."""
    this_month = dt.date.today().replace(day=1)
    last = this_month - dt.timedelta(days=1)
    first = (last.replace(day=1) - dt.timedelta(days=50)).replace(day=1)
    return f"{first:%Y-%m}", f"{last:%Y-%m}"


def _query(first: str, last: str, driver: str) -> tuple[str, str, str, dict[str, str]]:
    errors = {}
    default_first, default_last = _default_months()
    first, last = first or default_first, last or default_last
    if not cost_service.MONTH_LABEL.match(first):
        errors["first"] = "Give the first month as YYYY-MM."
    if not cost_service.MONTH_LABEL.match(last):
        errors["last"] = "Give the last month as YYYY-MM."
    if not errors and first > last:
        errors["last"] = "The last month is before the first."
    elif not errors and cost_service.month_count(first, last) > cost_service.MAX_MONTHS:
        errors["last"] = f"Show at most {cost_service.MAX_MONTHS // 12} years at a time."
    if driver not in costs.DRIVERS:
        errors["driver"] = f"Choose one of: {', '.join(DRIVER_LABELS.values())}."
    if errors:
        first, last, driver = default_first, default_last, "handled_minutes"
    return first, last, driver, errors


def _assumptions(values: dict[str, str], errors: dict[str, str]) -> costs.AttritionAssumptions:
    base = costs.AttritionAssumptions()
    out = {}
    for name, low, high in (("hiring_cost", 0, 10_000_000), ("training_cost", 0, 10_000_000), ("ramp_months", 0, 24),
                            ("ramp_productivity", 0, 1)):  # fmt: skip
        raw = values.get(name, "")
        if raw == "":
            continue
        try:
            number = float(raw)
        except ValueError:
            number = float("nan")
        if not low <= number <= high:
            errors[name] = f"Give a number from {low:,} to {high:,}."
            continue
        out[name] = number
    return costs.AttritionAssumptions(**{**base.__dict__, **out})


async def _view(params: dict[str, str], channels: list[str], teams: list[str]) -> tuple[Any, dict[str, str]]:
    """The view for the query, and its errors; ``channels`` and ``teams`` are the names that exist."""
    first, last, driver, errors = _query(params["first"], params["last"], params["driver"])
    assumptions = _assumptions(params, errors)
    channel, team = params["channel"], params["team"]
    if channel and channel not in channels:
        errors["channel"], channel = f"No channel is called {channel!r}.", ""
    if team and team not in teams:
        errors["team"], team = f"No team is called {team!r}.", ""
    view = await cost_service.finance_view(first, last, driver, channel, team, assumptions)
    return view, errors


async def _names() -> tuple[list[str], list[str]]:
    return [c.name for c in await list_channels()], [t.name for t in await list_teams()]


def _attrition_frame(view: cost_service.FinanceView) -> pd.DataFrame:
    """The cost of attrition with its inputs and assumptions, one figure a row, for the workbook."""
    a = view.assumptions
    rows = [
        ("leavers", view.leavers), ("newcomer_months", view.newcomer_months),
        ("hiring_cost_per_hire", a.hiring_cost), ("training_cost_per_hire", a.training_cost),
        ("ramp_months", a.ramp_months), ("ramp_productivity", a.ramp_productivity),
        ("replacing", view.attrition["replacing"]), ("ramp_up", view.attrition["ramp_up"]),
        ("total", view.attrition["total"]),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["figure", "value"])


class FinanceController(Controller):
    path = "/finance"

    @get("/", name="finance", opt=READERS)
    async def show(
        self,
        request: Request[Any, Any, Any],
        first: FromQuery[str] = "",
        last: FromQuery[str] = "",
        driver: FromQuery[str] = "handled_minutes",
        channel: FromQuery[str] = "",
        team: FromQuery[str] = "",
        hiring_cost: FromQuery[str] = "",
        training_cost: FromQuery[str] = "",
        ramp_months: FromQuery[str] = "",
        ramp_productivity: FromQuery[str] = "",
    ) -> Template:
        params = {"first": first, "last": last, "driver": driver, "channel": channel, "team": team,
                  "hiring_cost": hiring_cost, "training_cost": training_cost, "ramp_months": ramp_months,
                  "ramp_productivity": ramp_productivity}  # fmt: skip
        channels, teams = await _names()
        view, errors = await _view(params, channels, teams)
        chart = ""
        trend = view.by_channel.dropna(subset=["cost_per_contact"])
        if not trend.empty:
            series = Series(trend, "month", "cost_per_contact", "channel", "Month", "Cost per contact")
            chart = await asyncio.to_thread(to_svg, line_chart_spec(series, "Cost per contact by channel", False))
        since = dt.date.today() - dt.timedelta(days=28)
        planned = await cost_service.planned_vs_actual(since - dt.timedelta(days=since.weekday()), view.team)
        template = "wfm/partials/finance_body.html" if fragment_request(request) else "wfm/finance.html"
        return await page(
            request, template, view=view, errors=errors, chart=chart, definitions=cost_service.DEFINITIONS,
            channels=channels, teams=teams,
            drivers=DRIVER_LABELS, query=request.url.query, planned=planned, field_labels=FIELD_LABELS,
            this_month=f"{dt.date.today():%Y-%m}",
        )  # fmt: skip

    @get("/export/{kind:str}", name="finance_export", opt=READERS)
    async def export(
        self,
        request: Request[Any, Any, Any],
        kind: FromPath[str],
        first: FromQuery[str] = "",
        last: FromQuery[str] = "",
        driver: FromQuery[str] = "handled_minutes",
        channel: FromQuery[str] = "",
        team: FromQuery[str] = "",
        hiring_cost: FromQuery[str] = "",
        training_cost: FromQuery[str] = "",
        ramp_months: FromQuery[str] = "",
        ramp_productivity: FromQuery[str] = "",
    ) -> Response[Any]:
        if kind not in ("csv", "xlsx"):
            return Response({"detail": "Export as csv or xlsx."}, status_code=404)
        params = {"first": first, "last": last, "driver": driver, "channel": channel, "team": team,
                  "hiring_cost": hiring_cost, "training_cost": training_cost, "ramp_months": ramp_months,
                  "ramp_productivity": ramp_productivity}  # fmt: skip
        view, errors = await _view(params, *await _names())
        if errors:
            problems = "; ".join(f"{FIELD_LABELS.get(k, k)}: {v}" for k, v in errors.items())
            return Response({"detail": f"Nothing exported. {problems}"}, status_code=422)
        name = f"cost-{view.inputs.months[0]}-{view.inputs.months[-1]}"
        await audit.record(request.user.username, "finance_exported", name, kind)
        if kind == "csv":
            return csv_download(view.cells, f"{name}.csv")
        workbook = to_xlsx({"by month": view.by_month, "by channel": view.by_channel, "by team": view.by_team,
                            "cells": view.cells, "attrition": _attrition_frame(view)})  # fmt: skip
        return Response(
            workbook,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
