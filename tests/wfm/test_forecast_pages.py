"""The forecast page, its job, adjustments and the accuracy ledger (both engines)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from litestar.testing import TestClient

from tests.conftest import run_wfm
from tests.helpers import csrf_token, make_user, on_app_loop, post_form, sign_in
from tests.wfm.test_pages import _run_inline
from wfm.services import forecasts, imports
from wfm.tables import Channel, ForecastInterval, ForecastVersion


def _history(client: TestClient[Any], weeks: int = 5) -> None:
    """Quarter hours in UTC with a daily shape and a quieter weekend, deterministic (seed 3)."""
    on_app_loop(client, lambda: Channel.insert(Channel(name="voice", kind="voice", staffing_model="erlang_a")))
    stamps = pd.date_range("2025-01-06", periods=weeks * 7 * 96, freq="15min", tz="UTC")
    hour = stamps.hour + stamps.minute / 60
    level = 20 + 15 * np.clip(np.sin(np.pi * (np.asarray(hour) - 6) / 12), 0, None) * np.where(
        stamps.day_of_week >= 5, 0.5, 1.0
    )
    offered = np.random.default_rng(3).poisson(level)
    lines = [f"{s:%Y-%m-%dT%H:%MZ},voice,{n},300" for s, n in zip(stamps, offered, strict=True)]
    data = "interval_start,channel,offered,aht_seconds\n" + "\n".join(lines)
    result = on_app_loop(client, lambda: imports.import_file("history", data.encode(), "h.csv", "tester"))
    assert result.ok, result.errors


def test_a_lead_runs_a_forecast_job_and_reads_the_page(client: TestClient[Any]) -> None:
    _history(client)
    make_user(client, "lena", "lead")
    sign_in(client, "lena")
    assert "No forecast for this channel yet" in client.get("/forecast").text
    started = post_form(client, "/forecast/run", {"channel": "1", "horizon_days": "7", "method": "auto"})
    assert started.status_code == 302
    job_id = int(started.headers["location"].rsplit("/", 1)[1])
    assert on_app_loop(client, _run_inline(job_id)) == "succeeded"
    done = client.get(f"/jobs/{job_id}/progress", headers={"HX-Request": "true"})
    assert done.status_code == 286 and "See the forecast" in done.text

    page = client.get("/forecast?channel=1")
    assert page.status_code == 200
    version = on_app_loop(client, lambda: forecasts.latest_version(1))
    assert version is not None and version.model in {"snaive", "ets", "mstl", "regression"}
    assert f"model <strong>{version.model}</strong>" in page.text and "(chosen)" in page.text
    assert "<svg" in page.text and page.text.count("&day=") == 7
    # 7 days after the history's last day (9 Feb 2025, UTC, i.e. local Stockholm 10 Feb 00:45).
    assert on_app_loop(client, lambda: ForecastInterval.count().where(ForecastInterval.version == version.id)) > 600

    refused = post_form(client, "/forecast/run", {"channel": "1", "horizon_days": "0", "method": "auto"})
    assert refused.status_code == 422 and "from 1 to 62" in refused.text


def test_adjustments_change_only_the_adjusted_line(client: TestClient[Any]) -> None:
    _history(client, weeks=4)
    make_user(client, "lena", "lead")
    sign_in(client, "lena")
    on_app_loop(client, lambda: forecasts.run([1], 3, "snaive", "lena"))
    version = on_app_loop(client, lambda: forecasts.latest_version(1))
    assert version is not None
    day = version.first_day + dt.timedelta(days=1)
    added = post_form(
        client,
        "/forecast/adjustments",
        {
            "channel": "1",
            "start": f"{day}T00:00",
            "end": f"{day + dt.timedelta(days=1)}T00:00",
            "percent": "10",
            "reason": "campaign",
        },
    )
    assert added.status_code == 302
    frame = on_app_loop(client, lambda: forecasts.intervals(version.id))
    local_day = frame["interval_start"].dt.tz_convert("Europe/Stockholm").dt.date
    inside = local_day == day
    assert np.allclose(frame.loc[inside, "adjusted_p50"], frame.loc[inside, "offered_p50"] * 1.1)
    assert np.allclose(frame.loc[~inside, "adjusted_p50"], frame.loc[~inside, "offered_p50"])
    page = client.get("/forecast?channel=1").text
    assert "+10 %" in page and "campaign" in page

    wrong = post_form(
        client,
        "/forecast/adjustments",
        {"channel": "1", "start": f"{day}T10:00", "end": f"{day}T09:00", "percent": "5", "reason": "x"},
    )
    assert wrong.status_code == 422 and "The end must be after the start." in wrong.text
    no_reason = post_form(
        client,
        "/forecast/adjustments",
        {"channel": "1", "start": f"{day}T09:00", "end": f"{day}T10:00", "percent": "5", "reason": " "},
    )
    assert no_reason.status_code == 422 and "Give a reason" in no_reason.text
    adjustment_id = on_app_loop(client, lambda: forecasts.adjustments(1))[0].id
    removed = client.post(
        f"/forecast/adjustments/{adjustment_id}/delete",
        data={"_csrf_token": csrf_token(client), "channel": "1"},
        follow_redirects=False,
    )
    assert removed.status_code == 302 and on_app_loop(client, lambda: forecasts.adjustments(1)) == []


def test_a_retried_forecast_job_returns_its_versions(client: TestClient[Any]) -> None:
    _history(client, weeks=3)
    first = on_app_loop(client, lambda: forecasts.run([1], 2, "snaive", "x", job_id=77))
    again = on_app_loop(client, lambda: forecasts.run([1], 2, "snaive", "x", job_id=77))
    assert first.version_ids == again.version_ids
    assert on_app_loop(client, ForecastVersion.count) == 1


def test_ledger_by_horizon() -> None:
    made = pd.Timestamp("2025-03-01T06:00Z")
    frame = pd.DataFrame(
        {
            "version": [1, 1, 1, 1],
            "generated_at": [made] * 4,
            # 2 h and 20 h ahead (day ahead), 3 days and 6 days ahead (week ahead).
            "interval_start": [made + pd.Timedelta(hours=h) for h in (2, 20, 72, 144)],
            "offered_p50": [10.0, 10.0, 20.0, 20.0],
            "offered_p80": [12.0, 12.0, 24.0, 24.0],
            "offered_p95": [15.0, 15.0, 30.0, 30.0],
            "offered": [8, 14, 20, 40],
        }
    )
    day, week = forecasts.ledger_table(frame)
    # Day ahead: |8-10| + |14-10| = 6 over 22 actual; bias (10-8)+(10-14) = -2; 8 <= 12, 14 > 12; both <= 15.
    assert (day.intervals, day.wmape_pct, day.bias_pct) == (2, pytest.approx(27.3), pytest.approx(-9.1))
    assert (day.coverage_p80_pct, day.coverage_p95_pct) == (50.0, 100.0)
    # Week ahead: |20-20| + |40-20| = 20 over 60; 40 is above P95 (30).
    assert (week.wmape_pct, week.coverage_p95_pct) == (pytest.approx(33.3), 50.0)


def test_wfm_forecast_file_to_file_keeps_naive_times(tmp_path: Path) -> None:
    stamps = pd.date_range("2025-01-06", periods=21 * 48, freq="30min")
    offered = np.random.default_rng(5).poisson(30, len(stamps))
    history = pd.DataFrame({"interval_start": stamps.strftime("%Y-%m-%dT%H:%M"), "channel": "chat", "offered": offered})
    source, out = tmp_path / "history.csv", tmp_path / "forecast.csv"
    history.to_csv(source, index=False)
    env = {**os.environ, "TRIAD_DATA_DIR": str(tmp_path)}
    done = run_wfm(
        "forecast", "--history", str(source), "--horizon-days", "2", "--out", str(out), "--method", "snaive", env=env
    )
    assert done.returncode == 0, done.stderr
    result = pd.read_csv(out)
    assert list(result.columns) == [
        "interval_start",
        "channel",
        "offered_p50",
        "offered_p80",
        "offered_p95",
        "aht_seconds",
        "model",
    ]
    assert len(result) == 2 * 48 and result["interval_start"].iloc[0] == "2025-01-27T00:00:00"
    assert (result["offered_p50"] <= result["offered_p80"]).all() and (
        result["offered_p80"] <= result["offered_p95"]
    ).all()

    history.iloc[[0, 0]].to_csv(source, index=False)
    refused = run_wfm("forecast", "--history", str(source), "--horizon-days", "2", "--out", str(out), env=env)
    assert refused.returncode == 1 and "history.csv:" in refused.stderr


def test_a_past_snapshot_fills_the_ledger_from_the_actuals(client: TestClient[Any]) -> None:
    _history(client, weeks=4)
    # The history ends 2 Feb 2025 (UTC); replay a snapshot made at local midnight on 27 January.
    as_of = dt.datetime(2025, 1, 27, tzinfo=ZoneInfo("Europe/Stockholm"))
    on_app_loop(client, lambda: forecasts.run([1], 7, "snaive", "demo", snapshot=True, as_of=as_of))
    version = on_app_loop(client, lambda: forecasts.latest_version(1))
    # Local days, although the intervals are stored in UTC (local midnight is 23:00 UTC the day before).
    assert version is not None and (version.first_day, version.last_day) == (dt.date(2025, 1, 27), dt.date(2025, 2, 2))
    rows = on_app_loop(client, lambda: forecasts.ledger(1))
    assert [r.horizon for r in rows] == ["day ahead (up to 24 h)", "week ahead (1-7 days)"]
    assert rows[0].intervals == 96 and rows[0].snapshots == 1
    assert all(r.wmape_pct is not None and 0 < r.wmape_pct < 60 for r in rows)
    make_user(client, "fred", "finance")
    sign_in(client, "fred")
    page = client.get("/forecast?channel=1").text
    assert "day ahead (up to 24 h)" in page and "Run a forecast" not in page


def test_the_forecast_api(client: TestClient[Any]) -> None:
    _history(client, weeks=3)
    make_user(client, "lena", "lead")
    sign_in(client, "lena")
    assert client.get("/api/forecasts/1").status_code == 404
    headers = {"x-csrftoken": csrf_token(client)}
    started = client.post(
        "/api/forecasts", json={"channel_ids": [1], "horizon_days": 2, "method": "snaive"}, headers=headers
    )
    assert started.status_code == 201 and started.json()["kind"] == "forecast"
    assert on_app_loop(client, _run_inline(started.json()["id"])) == "succeeded"
    body = client.get("/api/forecasts/1").json()
    assert body["version"]["model"] == "snaive" and len(body["intervals"]) >= 2 * 92
    assert {"interval_start", "offered_p50", "offered_p80", "offered_p95", "adjusted_p50"} <= set(body["intervals"][0])
    bad = client.post("/api/forecasts", json={"channel_ids": [1], "horizon_days": 100}, headers=headers)
    assert bad.status_code == 400


def test_a_special_day_doubles_the_next_forecast_of_that_day(client: TestClient[Any]) -> None:
    _history(client, weeks=3)
    make_user(client, "lena", "lead")
    sign_in(client, "lena")
    on_app_loop(client, lambda: forecasts.run([1], 3, "snaive", "lena"))
    plain = on_app_loop(client, lambda: forecasts.latest_version(1))
    assert plain is not None
    day = plain.first_day + dt.timedelta(days=1)
    both = post_form(
        client, "/forecast/events", {"name": "x", "first_day": str(day), "multiplier": "2", "like_day": str(day)}
    )
    assert both.status_code == 422 and "either a multiplier or a day to copy" in both.text
    added = post_form(client, "/forecast/events", {"name": "Campaign", "first_day": str(day), "multiplier": "2"})
    assert added.status_code == 302 and "Campaign" in client.get("/forecast").text
    on_app_loop(client, lambda: forecasts.run([1], 3, "snaive", "lena"))
    doubled = on_app_loop(client, lambda: forecasts.latest_version(1))
    assert doubled is not None and doubled.id != plain.id

    def day_total(version_id: int) -> float:
        frame = on_app_loop(client, lambda: forecasts.intervals(version_id))
        local = frame["interval_start"].dt.tz_convert("Europe/Stockholm").dt.date
        return float(frame.loc[local == day, "offered_p50"].sum())

    assert day_total(doubled.id) == pytest.approx(2 * day_total(plain.id), rel=1e-6)


def test_the_page_offers_the_library_methods() -> None:
    import forecasting
    from wfm.routes import forecasts as forecast_routes

    assert tuple(forecasting.METHODS) == forecast_routes.METHODS
