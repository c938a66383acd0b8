"""The requirements page: sets from forecasts, the heatmap, a cell's derivation, CSV, what-if, API (both engines)."""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np
import pandas as pd
from litestar.testing import TestClient

from tests.helpers import csrf_token, make_user, on_app_loop, post_form, sign_in
from tests.wfm.test_forecast_pages import _history
from tests.wfm.test_pages import _run_inline
from wfm import staffing
from wfm.services import requirements
from wfm.tables import Channel, RequirementInterval, RequirementSet


def _forecast(client: TestClient[Any]) -> None:
    """Three weeks of voice history and a 2-day seasonal naive forecast, run as the lead would."""
    _history(client, weeks=3)
    make_user(client, "lena", "lead")
    sign_in(client, "lena")
    started = post_form(client, "/forecast/run", {"channel": "1", "horizon_days": "2", "method": "snaive"})
    job_id = int(started.headers["location"].rsplit("/", 1)[1])
    assert on_app_loop(client, _run_inline(job_id)) == "succeeded"


def test_a_forecast_brings_requirements_that_the_page_explains(client: TestClient[Any]) -> None:
    _forecast(client)
    # The forecast job computed P50 requirements of the new version, once.
    sets = on_app_loop(client, lambda: RequirementSet.select())
    assert len(sets) == 1 and sets[0]["risk"] == "p50"
    page = client.get("/requirements?channel=1")
    assert page.status_code == 200
    assert "staffed to <strong>P50</strong>" in page.text and "Model erlang_a" in page.text
    assert 'class="heatmap"' in page.text and page.text.count("/requirements/cell?set=") >= 2 * 92

    # The stored numbers are those of `wfm.staffing` on the stored forecast.
    frame = on_app_loop(client, lambda: requirements.set_intervals(sets[0]["id"]))
    source = on_app_loop(client, lambda: requirements.inputs(1))
    again = requirements.compute(source, "p50")
    assert list(frame["staff_required"]) == list(again["staff_required"])
    assert (frame["staff_required"] >= frame["agents_required"]).all()
    busiest = frame.iloc[int(np.argmax(frame["staff_required"].to_numpy()))]

    cell = client.get(
        "/requirements/cell",
        params={"set": sets[0]["id"], "start": busiest["interval_start"].isoformat()},
        headers={"HX-Request": "true"},
    )
    assert cell.status_code == 200
    n = int(busiest["agents_required"])
    assert "Erlang A (M/M/n+M)" in cell.text and f"With {n - 1} agents" in cell.text
    assert "misses a target" in cell.text and "meets every target" in cell.text
    assert f"ceil({n} / (1 - 0.3))" in cell.text and f"<td>{int(busiest['staff_required'])}</td>" in cell.text
    assert "Phone lines (trunks)" in cell.text and "1 % blocking" in cell.text
    trail = client.get(
        "/requirements/cell.csv", params={"set": sets[0]["id"], "start": busiest["interval_start"].isoformat()}
    )
    assert trail.status_code == 200 and "attachment" in trail.headers["content-disposition"]
    steps = pd.read_csv(io.StringIO(trail.text))
    assert list(steps.columns) == ["step", "value", "note"]
    assert str(steps.set_index("step").loc["Staff required", "value"]) == str(int(busiest["staff_required"]))
    assert client.get("/requirements/cell", params={"set": 99, "start": "2025-01-01T00:00:00+00:00"}).status_code == 404

    csv = client.get("/requirements/export.csv?channel=1&risk=p50")
    assert csv.status_code == 200 and "attachment" in csv.headers["content-disposition"]
    exported = pd.read_csv(io.StringIO(csv.text))
    assert list(exported.columns) == list(staffing.REQUIREMENT_COLUMNS)
    assert exported["staff_required"].sum() == frame["staff_required"].sum()
    assert exported["interval_start"].iloc[0].endswith("+01:00")  # site-local (Stockholm, winter)


def test_computing_at_p95_and_following_parameter_changes(client: TestClient[Any]) -> None:
    _forecast(client)
    assert "No requirements at P95" in client.get("/requirements?channel=1&risk=p95").text
    done = post_form(client, "/requirements/compute", {"channel": "1", "risk": "p95"})
    assert done.status_code == 302 and "risk=p95" in done.headers["location"]
    sets = on_app_loop(client, lambda: RequirementSet.select().order_by(RequirementSet.id))
    totals = [
        on_app_loop(
            client,
            lambda s=s: RequirementInterval.select(RequirementInterval.staff_required).where(
                RequirementInterval.requirement_set == s["id"]
            ),
        )
        for s in sets
    ]
    p50, p95 = (sum(r["staff_required"] for r in rows) for rows in totals)
    assert p95 > p50
    # A changed target makes the set stale until computed again.
    on_app_loop(client, lambda: Channel.update({Channel.shrinkage: 0.4}).where(Channel.id == 1))
    assert "parameters changed since" in client.get("/requirements?channel=1&risk=p95").text
    on_app_loop(client, lambda: Channel.update({Channel.service_level_target: 1.0}).where(Channel.id == 1))
    refused = post_form(client, "/requirements/compute", {"channel": "1", "risk": "p50"})
    assert refused.status_code == 422 and "service_level_target: 1.0 cannot be met" in refused.text


def test_what_if_compares_without_saving(client: TestClient[Any]) -> None:
    _forecast(client)
    before = on_app_loop(client, lambda: RequirementSet.count())
    answer = post_form(
        client,
        "/requirements/what-if",
        {"channel": "1", "risk": "p50", "service_level_target": "95", "aht_change_pct": "10", "shrinkage": ""},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200
    assert on_app_loop(client, lambda: RequirementSet.count()) == before
    figures = re.search(r"<strong>([\d.]+)</strong> staff-hours instead of ([\d.]+)", answer.text)
    assert figures is not None, answer.text
    then, now = float(figures.group(1)), float(figures.group(2))
    assert then > now  # 95 % and longer calls need more staff-hours
    wrong = post_form(
        client,
        "/requirements/what-if",
        {"channel": "1", "risk": "p50", "max_occupancy": "0", "aht_change_pct": "-100"},
        headers={"HX-Request": "true"},
    )
    assert wrong.status_code == 422 and "AHT change (%): give a number above -100." in wrong.text
    impossible = post_form(
        client,
        "/requirements/what-if",
        {"channel": "1", "risk": "p50", "max_occupancy": "0"},
        headers={"HX-Request": "true"},
    )
    assert impossible.status_code == 422 and "max_occupancy" in impossible.text


def test_the_requirements_api(client: TestClient[Any]) -> None:
    _forecast(client)
    body = client.get("/api/requirements/1").json()
    assert body["set"]["risk"] == "p50" and len(body["intervals"]) >= 2 * 92
    assert {"offered", "agents_required", "staff_required", "service_level"} <= set(body["intervals"][0])
    headers = {"x-csrftoken": csrf_token(client)}
    made = client.post("/api/requirements", json={"channel_id": 1, "risk": "p80"}, headers=headers)
    assert made.status_code == 201 and made.json()["set"]["risk"] == "p80"
    assert client.get("/api/requirements/1?risk=p80").status_code == 200
    assert client.post("/api/requirements", json={"channel_id": 1, "risk": "p99"}, headers=headers).status_code == 400
    missing = client.post("/api/requirements", json={"channel_id": 7}, headers=headers)
    assert missing.status_code == 422 and "No such channel" in missing.json()["detail"]
    agents = np.array([r["agents_required"] for r in body["intervals"]])
    assert (agents >= 0).all() and agents.max() > 0
