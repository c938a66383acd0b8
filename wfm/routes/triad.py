"""The triad page: customer, employee and company measures side by side, and how they move together."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
from litestar import Controller, Request, get
from litestar.params import FromQuery
from litestar.response import Template

from wfm import security, triad
from wfm.charts import scatter_fit_spec, to_svg
from wfm.routes.common import page
from wfm.services import triad as triad_service
from wfm.services.costs import MONTH_LABEL
from wfm.services.site import list_teams

READERS = security.roles(security.ADMIN, security.LEAD, security.FINANCE)
LABELS = {
    "enps": "eNPS", "participation_rate": "pulse participation", "turnover_rate": "turnover",
    "turnover_voluntary": "voluntary turnover", "turnover_involuntary": "involuntary turnover",
    "newcomer_share": "newcomer share", "absence_rate": "absence", "csat_pct": "CSAT", "nps": "NPS",
    "fcr_pct": "FCR", "service_level": "service level", "cost_per_contact": "cost per contact",
}  # fmt: skip
# The pairs the page shows: an employee measure and the customer or company measure it may lead.
PAIRS = (
    ("enps", "csat_pct"), ("enps", "turnover_rate"), ("turnover_voluntary", "csat_pct"),
    ("enps", "fcr_pct"), ("absence_rate", "csat_pct"), ("enps", "cost_per_contact"),
)  # fmt: skip


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
class PairView:
    x: str
    y: str
    best: triad.PairResult | None
    profile: tuple[triad.PairResult, ...]
    sentence: str
    svg: str


def _months(first: str, last: str) -> tuple[str, str, dict[str, str]]:
    today = dt.date.today().replace(day=1)
    default_last = f"{today - dt.timedelta(days=1):%Y-%m}"
    default_first = f"{today.replace(year=today.year - 1):%Y-%m}"
    errors = {}
    first, last = first or default_first, last or default_last
    if not MONTH_LABEL.match(first) or not MONTH_LABEL.match(last) or first > last:
        errors["period"] = "Give the months as YYYY-MM, the first before the last."
        first, last = default_first, default_last
    return first, last, errors


def _pair_view(panel: pd.DataFrame, result: triad.TriadResult, x: str, y: str) -> PairView:
    profile = tuple(p for p in result.pairs if p.method == "pearson_within" and {p.x, p.y} == {x, y})
    forward = [p for p in profile if p.x == x]
    best = max(forward, key=lambda p: abs(p.r) if p.r == p.r else -1.0, default=None)
    if best is None:
        return PairView(x, y, None, profile, f"Not enough data for {LABELS[x]} and {LABELS[y]}.", "")
    frame = triad.lagged(panel, x, y, best.lag)
    regression = next((r for r in result.regressions if (r.x, r.y, r.lag) == (x, y, best.lag)), None)
    svg = ""
    if regression is not None and regression.coef == regression.coef:
        lag = f" ({best.lag} month{'s' if best.lag != 1 else ''} later)" if best.lag else ""
        spec = scatter_fit_spec(
            triad.demeaned(frame), triad.fitted_line(frame, regression),
            f"{LABELS[x]}, team's own level removed", f"{LABELS[y]}{lag}, team's own level removed",
            f"{LABELS[x]} and {LABELS[y]}",
        )  # fmt: skip
        svg = to_svg(spec)
    return PairView(x, y, best, profile, triad.summary(best, LABELS), svg)


class TriadController(Controller):
    path = "/triad"

    @get("/", name="triad", opt=READERS)
    async def show(
        self, request: Request[Any, Any, Any], first: FromQuery[str] = "", last: FromQuery[str] = ""
    ) -> Template:
        first, last, errors = _months(first, last)
        panel = await triad_service.build_panel(first, last)
        present = [(x, y) for x, y in PAIRS if panel[x].notna().any() and panel[y].notna().any()]
        result = await asyncio.to_thread(triad.analyse, panel, present, (0, 1, 2, 3))
        pairs = [await asyncio.to_thread(_pair_view, panel, result, x, y) for x, y in present]
        user = request.user
        visible = panel if user.role != security.LEAD else panel[panel["team"].isin(await _lead_team_names(user))]
        scorecard = _scorecard(panel, visible, user.role == security.LEAD)
        trend = panel.groupby("period")[list(LABELS)].mean(numeric_only=True).reset_index()
        return await page(
            request, "wfm/triad.html", first=first, last=last, errors=errors, pairs=pairs, result=result,
            scorecard=scorecard, trend=trend.to_dict("records"), labels=LABELS,
        )  # fmt: skip


async def _lead_team_names(user: security.CurrentUser) -> list[str]:
    return [t.name for t in await list_teams() if t.id in user.team_ids]


def _scorecard(panel: pd.DataFrame, visible: pd.DataFrame, lead: bool) -> list[dict[str, Any]]:
    """Each measure's mean over the period for the centre (and the lead's teams), against its target."""
    rows = []
    for measure, label in LABELS.items():
        centre = panel[measure].mean()
        own = visible[measure].mean() if lead else float("nan")
        target = next((t for t in TARGETS if t.measure == measure), None)
        status = ""
        if target is not None and centre == centre:
            below = target.low is not None and centre < target.low
            above = target.high is not None and centre > target.high
            bad_high = measure.startswith("turnover")
            status = "below target" if below else ("above target" if above else "on target")
            if bad_high and above:
                status = "over the limit"
        rows.append({"measure": measure, "label": label, "centre": centre, "own": own,
                     "target": target.note if target else "", "status": status})  # fmt: skip
    return rows
