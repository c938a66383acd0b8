"""History aggregation (pure) and the history page with its CSV download (both engines)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
import pytest
from litestar.testing import TestClient

from tests.helpers import make_user, on_app_loop, sign_in
from wfm.history import aggregate
from wfm.services import imports
from wfm.tables import Channel


def _frame(start: str, end: str, **values: float) -> pd.DataFrame:
    stamps = pd.date_range(start, end, freq="15min", tz="UTC", inclusive="left")
    frame = pd.DataFrame({"interval_start": stamps})
    for column in ("offered", "handled", "abandoned", "aht_seconds", "answered_within_sl"):
        frame[column] = values.get(column, np.nan)
    return frame


def test_local_days_follow_daylight_saving() -> None:
    # Europe/Stockholm: 30 March 2025 has 23 hours (92 quarter hours), 26 October 25 hours (100).
    spring = aggregate(_frame("2025-03-29T23:00", "2025-03-30T22:00", offered=1), "day", "Europe/Stockholm")
    autumn = aggregate(_frame("2025-10-25T22:00", "2025-10-26T23:00", offered=1), "day", "Europe/Stockholm")
    assert spring[["period", "offered"]].values.tolist() == [["2025-03-30", 92]]
    assert autumn[["period", "offered"]].values.tolist() == [["2025-10-26", 100]]


def test_weeks_are_iso_weeks_and_rates_use_their_own_denominators() -> None:
    # 22:00-01:00 UTC = 23:00 Sunday 29 Dec to 02:00 Monday 30 Dec 2024 in Stockholm (UTC+1).
    frame = _frame("2024-12-29T22:00", "2024-12-30T01:00", offered=10, handled=8, abandoned=2, answered_within_sl=6)
    frame["aht_seconds"] = [100.0] * 8 + [300.0] * 4
    frame.loc[8:, ["handled", "answered_within_sl"]] = [2, 1]
    weeks = aggregate(frame, "week", "Europe/Stockholm")
    # Sunday 29 Dec 2024 is in ISO week 2024-W52, Monday 30 Dec 2024 in 2025-W01.
    assert weeks["period"].tolist() == ["2024-W52", "2025-W01"]
    monday = weeks.iloc[1]
    assert (monday["offered"], monday["handled"], monday["abandoned"]) == (80, 4 * 8 + 4 * 2, 16)
    # AHT weighted by handled: (32 x 100 + 8 x 300) / 40; service level = answered / handled = 28 / 40;
    # abandonment = abandoned / offered = 16 / 80.
    assert monday["aht_seconds"] == pytest.approx(140.0)
    assert monday["service_level_pct"] == pytest.approx(70.0)
    assert monday["abandon_rate_pct"] == pytest.approx(20.0)


def test_unknown_grain_is_refused() -> None:
    with pytest.raises(ValueError, match="grain must be one of"):
        aggregate(_frame("2025-01-01", "2025-01-02", offered=1), "month", "UTC")


def _seed_history(client: TestClient[Any], days: int = 40) -> None:
    on_app_loop(client, lambda: Channel.insert(Channel(name="voice", kind="voice")))
    stamps = pd.date_range("2025-01-01", periods=days * 96, freq="15min", tz="UTC").strftime("%Y-%m-%dT%H:%MZ")
    data = "interval_start,channel,offered,handled,aht_seconds\n" + "\n".join(f"{s},voice,4,4,200" for s in stamps)
    result = on_app_loop(client, lambda: imports.import_file("history", data.encode(), "h.csv", "tester"))
    assert result.ok, result.errors


def test_history_page_defaults_to_the_last_four_weeks_and_pages_intervals(client: TestClient[Any]) -> None:
    make_user(client, "lena", "lead")
    sign_in(client, "lena")
    empty = client.get("/history")
    assert "No history for this channel yet" in empty.text or "No channels yet" in empty.text
    _seed_history(client)
    page = client.get("/history")
    assert page.status_code == 200
    # The data ends at 23:45 UTC on 9 Feb 2025, which is 00:45 on 10 Feb in Stockholm: the default range is
    # the 28 local days ending on the last day with data.
    assert 'value="2025-01-14"' in page.text and 'value="2025-02-10"' in page.text
    assert "<svg" in page.text and page.text.count("<tr>") == 28 + 1

    intervals = client.get("/history?channel=1&start=2025-01-06&end=2025-01-07&grain=interval")
    assert "192 intervals" in intervals.text and "Page 1 of 2" in intervals.text
    second = client.get(
        "/history?channel=1&start=2025-01-06&end=2025-01-07&grain=interval&page=2", headers={"HX-Request": "true"}
    )
    assert "<html" not in second.text and second.text.count('id="history"') == 1  # the fragment alone
    assert "2025-01-07 23:45" in second.text and "Page 2 of 2" in second.text

    weeks = client.get("/history?channel=1&start=2025-01-06&end=2025-01-19&grain=week")
    assert "2025-W02" in weeks.text and "2025-W03" in weeks.text and "2 weeks" in weeks.text


def test_history_csv_download_and_bad_dates(client: TestClient[Any]) -> None:
    make_user(client, "root", "admin")
    sign_in(client, "root")
    _seed_history(client, days=10)
    download = client.get("/history/export.csv?channel=1&start=2025-01-02&end=2025-01-03&grain=day")
    assert download.status_code == 200 and download.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="history-voice-2025-01-02-2025-01-03-day.csv"' in download.headers["content-disposition"]
    frame = pd.read_csv(io.StringIO(download.text))
    assert frame["period"].tolist() == ["2025-01-02", "2025-01-03"]
    assert frame["offered"].tolist() == [96 * 4, 96 * 4] and frame["aht_seconds"].tolist() == [200.0, 200.0]

    bad = client.get("/history?channel=1&start=2025-13-01&end=2025-01-01")
    assert bad.status_code == 422 and "start: Give a date as YYYY-MM-DD." in bad.text
    backwards = client.get("/history?channel=1&start=2025-01-05&end=2025-01-01")
    assert backwards.status_code == 422 and "The end date is before the start date." in backwards.text


def test_the_repeated_autumn_hour_stays_two_intervals_with_their_offsets() -> None:
    # 00:00-02:00 UTC on 26 Oct 2025 = 02:00-02:59 local twice (summer time, then winter time).
    table = aggregate(_frame("2025-10-26T00:00", "2025-10-26T02:00", offered=1), "interval", "Europe/Stockholm")
    assert len(table) == 8 and table["offered"].tolist() == [1] * 8
    assert table["period"].tolist()[:2] == ["2025-10-26 02:00+02:00", "2025-10-26 02:15+02:00"]
    assert table["period"].tolist()[4:6] == ["2025-10-26 02:00+01:00", "2025-10-26 02:15+01:00"]
