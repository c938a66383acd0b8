"""The lead's schedule week page: generate a draft as a job, read the grid, coverage and cost, publish and
republish with history; who may see and do what (both engines)."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from litestar.testing import TestClient

from tests.helpers import make_user, on_app_loop, post_form, sign_in
from tests.wfm.test_forecast_pages import _history
from tests.wfm.test_pages import _run_inline
from tests.wfm.test_schedule_jobs import WEEK, _forecast_and_staff, _teams
from wfm.services import schedules
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
    # The centre's view: only North has a schedule, so all of voice's scheduled hours are North's.
    voice = re.search(r"<tr><td>voice</td><td>([\d.]+)</td><td>([\d.]+)</td><td>([\d.]+)</td>", text)
    assert voice and float(voice.group(2)) == float(voice.group(3)) > 0

    assert post_form(client, f"/schedules/{first}/publish").status_code == 302
    assert "Week of 2025-01-27: published" in client.get(f"/schedules/{first}", follow_redirects=True).text
    # The team's week as CSV (site time with offsets) and as a printable page.
    csv = client.get(f"/schedules/{first}/export.csv")
    assert csv.status_code == 200 and "attachment" in csv.headers["content-disposition"]
    rows = pd.read_csv(io.StringIO(csv.text))
    assert list(rows.columns) == ["agent_id", "name", "start", "end", "activity", "channel"]
    assert len(rows) == len(on_app_loop(client, lambda: schedules.activities([first])))
    assert rows["start"].str.endswith("+01:00").all() and set(rows["activity"]) <= {"work", "break", "lunch"}
    printable = client.get(f"/schedules/{first}/print")
    assert printable.status_code == 200 and "Agent 0" in printable.text and 'aria-label="Main"' not in printable.text
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


def _edit(client: TestClient[Any], schedule_id: int, **fields: str) -> Any:
    return post_form(client, f"/schedules/{schedule_id}/edit", fields)


def test_hand_edits_are_checked_on_the_spot_and_publish_needs_a_reason(client: TestClient[Any]) -> None:
    _history(client, weeks=3)
    north, _ = _teams(client)
    make_user(client, "lena", "lead", teams=[north])
    sign_in(client, "lena")
    _forecast_and_staff(client)
    first = _generate(client, north)
    assert post_form(client, f"/schedules/{first}/publish").status_code == 302

    # Each change names the rule it breaks. The first one makes a draft copy; the publish stays as it was.
    long = _edit(client, first, action="shift", agent="a01", day="2025-01-27", start="06:00", end="18:00")
    assert long.status_code == 200 and "but this change breaks" in long.text and "shift_length: a01" in long.text
    draft = int(re.search(r"Saved in draft #(\d+)", long.text).group(1))  # type: ignore[union-attr]
    assert draft != first
    statuses = {r["id"]: r["status"] for r in on_app_loop(client, lambda: Schedule.select())}
    assert statuses == {first: "published", draft: "draft"}
    cases = [
        ({"agent": "a00", "day": "2025-01-29", "start": "08:00", "end": "16:00"}, "time_off: a00"),
        ({"agent": "a02", "day": "2025-01-27", "start": "14:00", "end": "23:45"}, None),
        ({"agent": "a02", "day": "2025-01-28", "start": "06:00", "end": "14:00"}, "rest_between_shifts: a02"),
        ({"agent": "a03", "day": "2025-01-27", "start": "08:00", "end": "16:00", "channel": "chat"}, "skills: a03"),
    ]
    for fields, expected in cases:
        answer = _edit(client, draft, action="shift", **fields)
        assert answer.status_code == 200
        if expected:
            assert expected in answer.text, (fields, answer.text[-3000:])
    # Working every day breaks the days and weekly-rest rules; a day off can break the minimum hours.
    for day in range(27, 32):
        _edit(client, draft, action="shift", agent="a04", day=f"2025-01-{day}", start="08:00", end="16:30")
    weekend = [
        _edit(client, draft, action="shift", agent="a04", day=day, start="08:00", end="16:30").text
        for day in ("2025-02-01", "2025-02-02")
    ]
    assert "max_days_week: a04" in weekend[0] and "weekly_rest: a04" in weekend[1]
    off = _edit(client, draft, action="off", agent="a05", day="2025-01-27")
    for day in range(28, 32):
        off = _edit(client, draft, action="off", agent="a05", day=f"2025-01-{day}")
    assert "min_hours_week: a05" in off.text
    bad = _edit(client, draft, action="shift", agent="zz", day="2025-01-27", start="08:00", end="16:00")
    assert bad.status_code == 422 and "zz is not in this team" in bad.text

    # Publishing a version that breaks rules needs a reason, which is kept and shown.
    refused = post_form(client, f"/schedules/{draft}/publish")
    assert refused.status_code == 422 and "give the reason you publish it anyway" in refused.text
    assert post_form(client, f"/schedules/{draft}/publish", {"reason": "Agreed with the team"}).status_code == 302
    page = client.get("/schedules", params={"team": north, "week": WEEK}).text
    assert "Week of 2025-01-27: published" in page and "Agreed with the team" in page
    # What changed since the last publish is marked, day by day.
    assert f"differ from version #{first}" in page
    row = re.search(r"<th scope=\"row\">Agent 1</th>(.*?)</tr>", page, re.S)
    assert row and row.group(1).count("changed-mark") == 1

    # Swapping two agents' Mondays exchanges their shifts (in a new draft: the week is published).
    swapped = _edit(client, draft, action="swap", agent="a01", other="a02", day="2025-01-27")
    assert swapped.status_code == 200 and "Saved in draft" in swapped.text
    newest = int(re.search(r"Saved in draft #(\d+)", swapped.text).group(1))  # type: ignore[union-attr]
    rows = on_app_loop(client, lambda: schedules.activities([draft]))
    swapped_rows = on_app_loop(client, lambda: schedules.activities([newest]))

    def monday(acts: list[Any], agent: str) -> list[tuple[Any, ...]]:
        local = ZoneInfo("Europe/Stockholm")
        return [
            (a.start, a.end, a.activity) for a in acts if a.agent_id == agent and a.start.astimezone(local).day == 27
        ]

    assert monday(swapped_rows, "a01") == monday(rows, "a02") and monday(swapped_rows, "a02") == monday(rows, "a01")


def test_copying_last_week_moves_it_on_by_seven_days(client: TestClient[Any]) -> None:
    _history(client, weeks=3)
    north, _ = _teams(client)
    make_user(client, "lena", "lead", teams=[north])
    sign_in(client, "lena")
    _forecast_and_staff(client)
    # A second forecast reaching the next week too, so the copy can be read against requirements.
    started = post_form(client, "/forecast/run", {"channel": "1", "horizon_days": "14", "method": "snaive"})
    assert on_app_loop(client, _run_inline(int(started.headers["location"].rsplit("/", 1)[1]))) == "succeeded"
    first = _generate(client, north)
    copied = post_form(client, "/schedules/copy", {"team": north, "week": "2025-02-03"})
    assert copied.status_code == 302
    shown = client.get("/schedules", params={"team": north, "week": "2025-02-03"})
    assert shown.status_code == 200 and "Week of 2025-02-03: draft" in shown.text and "copied from #" in shown.text
    assert "Projected service level" in shown.text
    rows = on_app_loop(client, lambda: Schedule.select().where(Schedule.week_start == dt.date(2025, 2, 3)))
    assert len(rows) == 1 and rows[0]["status"] == "draft"
    old = on_app_loop(client, lambda: schedules.activities([first]))
    new = on_app_loop(client, lambda: schedules.activities([rows[0]["id"]]))
    assert len(new) == len(old) > 0
    assert all((b.start - a.start).days == 7 for a, b in zip(old, new, strict=True))
    nothing = post_form(client, "/schedules/copy", {"team": north, "week": "2025-03-03"})
    assert nothing.status_code == 422 and "no schedule to copy" in nothing.text
