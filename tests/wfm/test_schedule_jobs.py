"""Generating schedules in the app: the JSON API starts a job, the stored schedule passes every rule, a retry
returns it, teams planned one after another share the requirement, and only the right people see it
(both engines)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from litestar.testing import TestClient

from tests.helpers import csrf_token, make_user, on_app_loop, post_form, sign_in
from tests.wfm.test_forecast_pages import _history
from tests.wfm.test_pages import _run_inline
from wfm import jobs
from wfm.scheduling.model import Rules
from wfm.scheduling.rules import check_all
from wfm.services import schedules
from wfm.tables import Absence, Agent, Schedule, Team

WEEK = "2025-01-27"  # the Monday after three weeks of history


def _teams(client: TestClient[Any]) -> tuple[int, int]:
    async def work() -> tuple[int, int]:
        north = (await Team.insert(Team(name="North")).returning(Team.id))[0]["id"]
        south = (await Team.insert(Team(name="South")).returning(Team.id))[0]["id"]
        for n in range(14):
            team = north if n < 8 else south
            await Agent.insert(
                Agent(
                    agent_id=f"a{n:02d}", name=f"Agent {n}", team=team, skills="voice", min_hours_week=30,
                    max_hours_week=40, max_days_week=5, hourly_cost=250.0,
                )
            )  # fmt: skip
        # a00 is on vacation from Tuesday to Thursday (site-local days).
        zone = ZoneInfo("Europe/Stockholm")
        await Absence.insert(
            Absence(
                agent_id="a00",
                start_at=dt.datetime(2025, 1, 28, tzinfo=zone),
                end_at=dt.datetime(2025, 1, 31, tzinfo=zone),
                kind="vacation",
                approved=True,
            )
        )
        return int(north), int(south)

    return on_app_loop(client, work)


def _forecast_and_staff(client: TestClient[Any]) -> None:
    started = post_form(client, "/forecast/run", {"channel": "1", "horizon_days": "7", "method": "snaive"})
    job_id = int(started.headers["location"].rsplit("/", 1)[1])
    assert on_app_loop(client, _run_inline(job_id)) == "succeeded"


def test_a_lead_generates_a_schedule_through_the_api(client: TestClient[Any]) -> None:
    _history(client, weeks=3)
    north, south = _teams(client)
    make_user(client, "lena", "lead", teams=[north])
    sign_in(client, "lena")
    _forecast_and_staff(client)
    headers = {"x-csrftoken": csrf_token(client)}
    started = client.post(
        "/api/schedules", json={"team_ids": [north], "week": WEEK, "time_limit_seconds": 5}, headers=headers
    )
    assert started.status_code == 201, started.text
    job = started.json()
    assert job["kind"] == "schedule"
    assert on_app_loop(client, _run_inline(job["id"])) == "succeeded"
    view = on_app_loop(client, lambda: jobs.get(job["id"]))
    assert view is not None and view.result_ref.startswith("schedules:")
    schedule_id = int(view.result_ref.split(":")[1])

    body = client.get(f"/api/schedules/{schedule_id}").json()
    assert body["schedule"]["team_id"] == north and body["schedule"]["status"] == "draft"
    report = body["schedule"]["report"]
    assert report["violations"] == [] and report["conflicts"] == []
    assert report["solver"]["bound"]["under_hours"] <= report["under_hours"] + 1e-6
    assert {r["agent_id"] for r in body["activities"]} <= {f"a{n:02d}" for n in range(8)}
    # The stored rows pass every rule on their own, a00's vacation included.
    stored = on_app_loop(client, lambda: schedules.activities([schedule_id]))
    inputs = on_app_loop(client, lambda: schedules.inputs([north], dt.date(2025, 1, 27)))
    agents = {a.agent_id: a for a in inputs.problem.agents}
    zone = ZoneInfo("Europe/Stockholm")
    week_start = dt.datetime(2025, 1, 27, tzinfo=zone)
    assert check_all(stored, agents, Rules(), zone, week_start, inputs.problem.time_off) == []
    assert not [a for a in stored if a.agent_id == "a00" and 28 <= a.start.astimezone(zone).day <= 30]
    assert len(client.get("/api/schedules", params={"team_id": north, "week": WEEK}).json()) == 1

    # A retried job finds its schedule instead of solving again.
    again = on_app_loop(client, lambda: schedules.generate([north], dt.date(2025, 1, 27), 5, "lena", job_id=job["id"]))
    assert again == [schedule_id]
    assert len(on_app_loop(client, lambda: Schedule.select())) == 1

    # South, planned next, is asked only for what North does not already cover.
    south_inputs = on_app_loop(client, lambda: schedules.inputs([south], dt.date(2025, 1, 27)))
    north_need = sum(r.staff for r in inputs.problem.requirements)
    south_need = sum(r.staff for r in south_inputs.problem.requirements)
    assert 0 <= south_need < north_need

    # Wrong weeks and teams are refused; a lead cannot schedule or read another team.
    week_bad = client.post("/api/schedules", json={"team_ids": [north], "week": "2025-01-28"}, headers=headers)
    assert week_bad.status_code == 400 and "Monday" in week_bad.text
    assert client.post("/api/schedules", json={"team_ids": [south], "week": WEEK}, headers=headers).status_code == 403
    assert client.get("/api/schedules", params={"team_id": south}).status_code == 403
    make_user(client, "sven", "lead", teams=[south])
    sign_in(client, "sven")
    assert client.get(f"/api/schedules/{schedule_id}").status_code == 404
    assert client.get("/api/schedules").json() == []
    make_user(client, "ada", "agent")
    sign_in(client, "ada")
    assert client.get(f"/api/schedules/{schedule_id}").status_code == 403


def test_a_team_without_agents_fails_with_a_clear_message(client: TestClient[Any]) -> None:
    _history(client, weeks=3)
    empty = on_app_loop(client, lambda: Team.insert(Team(name="Empty")).returning(Team.id))[0]["id"]
    make_user(client, "root", "admin")
    sign_in(client, "root")
    headers = {"x-csrftoken": csrf_token(client)}
    started = client.post("/api/schedules", json={"team_ids": [empty], "week": WEEK}, headers=headers)
    assert started.status_code == 201
    assert on_app_loop(client, _run_inline(started.json()["id"])) == "failed"
    view = on_app_loop(client, lambda: jobs.get(started.json()["id"]))
    assert view is not None and "no agents" in view.message
    unknown = client.post("/api/schedules", json={"team_ids": [999], "week": WEEK}, headers=headers)
    assert unknown.status_code == 400 and "unknown team" in unknown.text
