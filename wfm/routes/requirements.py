"""The requirements page: agents and staff per interval from the latest forecast, a heatmap, daily totals,
the derivation of any cell, a CSV export and a what-if panel."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from wfm import security, staffing
from wfm.routes.common import csv_download, form_values, page
from wfm.services import requirements
from wfm.services.site import get_site

READERS = security.roles(security.ADMIN, security.LEAD, security.FINANCE)
PLANNERS = security.roles(security.ADMIN, security.LEAD)
# What-if fields: (form name, label, ChannelParams field, scale from the form's unit to the field's).
WHAT_IF_FIELDS = (
    ("service_level_target", "Service level target (%)", "service_level_target", 0.01),
    ("answer_within_seconds", "Answered within (s)", "answer_within_seconds", 1.0),
    ("max_occupancy", "Maximum occupancy (%)", "max_occupancy", 0.01),
    ("shrinkage", "Shrinkage (%)", "shrinkage", 0.01),
)


def _channel_and_risk(params: Any) -> tuple[int | None, str]:
    raw = params.get("channel", "")
    channel_id = int(raw) if str(raw).isdigit() else None
    risk = params.get("risk", "p50")
    return channel_id, risk if risk in staffing.RISKS else "p50"


async def _page(request: Request[Any, Any, Any], status_code: int = 200, **context: Any) -> Template:
    channel_id, risk = _channel_and_risk(request.query_params)
    channel_id = context.pop("channel_id", channel_id)
    risk = context.pop("risk", risk)
    view = await requirements.page(channel_id, risk)
    return await page(
        request,
        "wfm/requirements.html",
        status_code=status_code,
        view=view,
        risks=staffing.RISKS,
        what_if_fields=WHAT_IF_FIELDS,
        may_plan=request.user.role in (security.ADMIN, security.LEAD),
        errors=context.pop("errors", {}),
        **context,
    )


class RequirementsController(Controller):
    path = "/requirements"

    @get("/", name="requirements", opt=READERS)
    async def show(self, request: Request[Any, Any, Any]) -> Template:
        return await _page(request)

    @post("/compute", name="requirements_compute", opt=PLANNERS)
    async def compute(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        values = await form_values(request)
        channel_id, risk = _channel_and_risk(values)
        if channel_id is None:
            return await _page(request, 422, errors={"compute": "Choose a channel."})
        try:
            await requirements.create(channel_id, risk, request.user.username)
        except requirements.RequirementsError as error:
            return await _page(request, 422, errors={"compute": str(error)}, channel_id=channel_id, risk=risk)
        return Redirect(request.app.route_reverse("requirements") + f"?channel={channel_id}&risk={risk}")

    @get("/cell", name="requirements_cell", opt=READERS)
    async def cell(self, request: Request[Any, Any, Any]) -> Template:
        params = request.query_params
        derivation = None
        try:
            set_id = int(params.get("set", ""))
            start = dt.datetime.fromisoformat(params.get("start", ""))
        except ValueError:
            pass
        else:
            derivation = await requirements.derivation(set_id, start)
        return await page(
            request,
            "wfm/partials/requirement_cell.html",
            status_code=200 if derivation else 404,
            derivation=derivation,
            set_id=params.get("set", ""),
        )

    @get("/cell.csv", name="requirements_cell_csv", opt=READERS)
    async def cell_csv(self, request: Request[Any, Any, Any]) -> Response[str]:
        params = request.query_params
        try:
            derivation = await requirements.derivation(
                int(params.get("set", "")), dt.datetime.fromisoformat(params.get("start", ""))
            )
        except ValueError:
            derivation = None
        if derivation is None:
            return Response("No such interval in these requirements.", status_code=404, media_type="text/plain")
        frame = pd.DataFrame([(s.label, s.value, s.note) for s in derivation.steps], columns=["step", "value", "note"])
        name = f"derivation-{derivation.local_start.replace(' ', 'T').replace(':', '')}.csv"
        return csv_download(frame, name)

    @get("/export.csv", name="requirements_csv", opt=READERS)
    async def export(self, request: Request[Any, Any, Any]) -> Response[str]:
        channel_id, risk = _channel_and_risk(request.query_params)
        view = await requirements.page(channel_id, risk)
        if view.set is None or view.channel_id is None:
            return Response("No requirements for this channel yet.", status_code=404, media_type="text/plain")
        site = await get_site()
        frame = await requirements.set_intervals(view.set.id)
        name = dict(view.channels)[view.channel_id]
        out = requirements.export_frame(frame, ZoneInfo(site.time_zone), name)
        return csv_download(out, f"requirements-{name}-{risk}-set{view.set.id}.csv")

    @post("/what-if", name="requirements_what_if", opt=READERS)
    async def what_if(self, request: Request[Any, Any, Any]) -> Template:
        values = await form_values(request)
        channel_id, risk = _channel_and_risk(values)
        errors: dict[str, str] = {}
        result = None
        try:
            if channel_id is None:
                raise requirements.RequirementsError("Choose a channel.")
            source = await requirements.inputs(channel_id)
            changes: dict[str, float] = {}
            for name, label, field, scale in WHAT_IF_FIELDS:
                text = values.get(name, "").strip()
                if text:
                    try:
                        changes[field] = float(text) * scale
                    except ValueError:
                        errors[name] = f"{label}: give a number."
            aht_change = values.get("aht_change_pct", "").strip()
            factor = 1.0
            if aht_change:
                try:
                    factor = 1 + float(aht_change) / 100
                    if not factor > 0:
                        raise ValueError
                except ValueError:
                    errors["aht_change_pct"] = "AHT change (%): give a number above -100."
            if not errors:
                params = staffing.with_overrides(source.params, **changes)
                result = await requirements.what_if(source, risk, params, factor)
        except requirements.RequirementsError as error:
            errors["what_if"] = str(error)
        return await page(
            request,
            "wfm/partials/requirements_what_if.html",
            status_code=422 if errors else 200,
            result=result,
            errors=errors,
        )
