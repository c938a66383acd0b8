"""The lead's schedule week page: generate a draft as a job, read the grid, coverage and cost, publish and
republish with history; who may see and do what (both engines)."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import TestClient

from tests.helpers import make_user, on_app_loop, post_form, sign_in
from tests.wfm.test_forecast_pages import _history
from tests.wfm.test_pages import _run_inline
from tests.wfm.test_schedule_jobs import WEEK, _forecast_and_staff, _teams
from wfm.tables import Schedule, Team


def _generate(client: TestClient[Any], team: int) -> int:
    started = post_form(client, "/schedules/generate", {"team": team, "week": WEEK, "time_limit_seconds": "10"})
    assert started.status_code == 302, started.text
    job_id = int(started.headers["location"].rsplit("/", 1)[1])
    assert on_app_loop(client, _run_inline(job_id)) == "succeeded"
    done = client.get(f"/jobs/{job_id}/progress", headers={"HX-Request": "true"})
    link = re.search(r'href="(/schedules/\d+)">See the schedule', done.text)
    assert link, done.text
    return int(link.group(1).rsplit("/", 1)[1])


def test_a_lead_generates_reads_and_publishes_a_week(client: TestClient[Any]) -> None:
    _history(client, weeks=3)
    north, south = _teams(client)
    make_user(client, "lena", "lead", teams=[north])
    sign_in(client, "lena")
    _forecast_and_staff(client)
    empty = client.get("/schedules", params={"team": north, "week": WEEK})
    assert empty.status_code == 200 and "No schedule for the week of 2025-01-27 yet" in empty.text
    assert "Generate a draft" in empty.text

    first = _generate(client, north)
    shown = client.get(f"/schedules/{first}", follow_redirects=True)
    assert shown.status_code == 200
    text = shown.text
    assert "Week of 2025-01-27: draft" in text and "Publish this version" in text
    assert "Agent 0" in text and "Agent 7" in text and "Agent 8" not in text  # North's agents only
    assert "Projected service level" in text and "<svg" in text
    assert "staffed to P50 of forecast" in text
    # a00's vacation (Tuesday to Thursday) shows in the grid.
    row = re.search(r"<th scope=\"row\">Agent 0</th>(.*?)</tr>", text, re.S)
    assert row and row.group(1).count("vacation") == 3
    paid = re.search(r"<dt>Paid hours</dt><dd>([\d.]+)</dd>", text)
    assert paid and float(paid.group(1)) > 0

    assert post_form(client, f"/schedules/{first}/publish").status_code == 302
    assert "Week of 2025-01-27: published" in client.get(f"/schedules/{first}", follow_redirects=True).text
    second = _generate(client, north)
    assert post_form(client, f"/schedules/{second}/publish").status_code == 302
    statuses = {r["id"]: r["status"] for r in on_app_loop(client, lambda: Schedule.select())}
    assert statuses == {first: "superseded", second: "published"}
    page = client.get("/schedules", params={"team": north, "week": WEEK}).text
    assert "Versions of this week" in page and f"#{first} superseded" in page

    # Another team's lead reads neither the page nor the schedule and cannot publish it.
    make_user(client, "sven", "lead", teams=[south])
    sign_in(client, "sven")
    assert client.get("/schedules", params={"team": north, "week": WEEK}).status_code == 403
    assert client.get(f"/schedules/{first}", follow_redirects=False).status_code == 404
    assert post_form(client, f"/schedules/{second}/publish").status_code == 404
    assert post_form(client, "/schedules/generate", {"team": north, "week": WEEK}).status_code == 403
    # Finance reads every team's week but plans none.
    make_user(client, "fin", "finance")
    sign_in(client, "fin")
    read = client.get("/schedules", params={"team": north, "week": WEEK})
    assert read.status_code == 200 and "Generate a draft" not in read.text and "Labour cost" in read.text


def test_a_week_must_start_on_monday(client: TestClient[Any]) -> None:
    make_user(client, "root", "admin")
    sign_in(client, "root")
    on_app_loop(client, lambda: Team.insert(Team(name="North")))
    refused = client.get("/schedules", params={"week": "2025-01-28"})
    assert refused.status_code == 422 and "weeks start on Monday" in refused.text
    bad = post_form(client, "/schedules/generate", {"team": "1", "week": "2025-01-27", "time_limit_seconds": "7"})
    assert bad.status_code == 422 and "Choose one of 10, 30, 60, 120, 300 seconds" in bad.text
