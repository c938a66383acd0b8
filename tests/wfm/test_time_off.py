"""Time off and availability: an agent asks, the lead sees the team limit and the coverage impact, decides,
and an approved request becomes time off the schedule must respect; agents keep their own availability
(both engines)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from litestar.testing import TestClient

from tests.helpers import make_user, on_app_loop, post_form, sign_in
from tests.wfm.test_pages import _run_inline
from tests.wfm.test_schedule_jobs import _teams
from wfm.services import imports, schedule_edits, schedules, time_off
from wfm.tables import Absence, Agent, Availability, Channel

ZONE = ZoneInfo("Europe/Stockholm")


def _recent_history(client: TestClient[Any]) -> dt.date:
    """Three weeks of voice history up to this week's Monday, so a forecast covers next week; returns
    next week's Monday (site-local)."""
    on_app_loop(client, lambda: Channel.insert(Channel(name="voice", kind="voice", staffing_model="erlang_a")))
    today = dt.datetime.now(ZONE).date()
    this_monday = today - dt.timedelta(days=today.weekday())
    stamps = pd.date_range(end=pd.Timestamp(this_monday, tz="UTC"), periods=3 * 7 * 96, freq="15min", inclusive="left")
    hour = stamps.hour + stamps.minute / 60
    level = 8 + 10 * np.clip(np.sin(np.pi * (np.asarray(hour) - 6) / 12), 0, None)
    offered = np.random.default_rng(5).poisson(level)
    lines = [f"{s:%Y-%m-%dT%H:%MZ},voice,{n},300" for s, n in zip(stamps, offered, strict=True)]
    data = "interval_start,channel,offered,aht_seconds\n" + "\n".join(lines)
    result = on_app_loop(client, lambda: imports.import_file("history", data.encode(), "h.csv", "tester"))
    assert result.ok, result.errors
    return this_monday + dt.timedelta(days=7)


def _job(client: TestClient[Any], path: str, fields: dict[str, Any]) -> None:
    started = post_form(client, path, fields)
    assert started.status_code == 302, started.text
    job_id = int(started.headers["location"].rsplit("/", 1)[1])
    assert on_app_loop(client, _run_inline(job_id)) == "succeeded"


def test_a_request_is_decided_with_the_limit_and_coverage_impact_in_view(client: TestClient[Any]) -> None:
    monday = _recent_history(client)
    north, south = _teams(client)
    make_user(client, "lena", "lead", teams=[north])
    ada = make_user(client, "ada", "agent")
    on_app_loop(client, lambda: Agent.update({Agent.user: ada}).where(Agent.agent_id == "a01"))
    sign_in(client, "lena")
    _job(client, "/forecast/run", {"channel": "1", "horizon_days": "14", "method": "snaive"})
    _job(client, "/schedules/generate", {"team": north, "week": monday.isoformat(), "time_limit_seconds": "10"})
    current = on_app_loop(client, lambda: schedules.listing([north], monday))
    assert post_form(client, f"/schedules/{current[0].id}/publish").status_code == 302

    sign_in(client, "ada")
    friday = monday + dt.timedelta(days=4)
    asked = post_form(client, "/my/time-off", {"first_day": monday, "last_day": friday, "kind": "vacation"})
    assert asked.status_code == 302
    mine = client.get("/my/time-off").text
    assert "pending" in mine and "Withdraw" in mine
    backwards = post_form(client, "/my/time-off", {"first_day": friday, "last_day": monday, "kind": "vacation"})
    assert backwards.status_code == 422 and "the last day is before the first" in backwards.text
    twice = post_form(client, "/my/time-off", {"first_day": monday, "last_day": monday, "kind": "vacation"})
    assert twice.status_code == 422 and "already asked" in twice.text

    sign_in(client, "lena")
    desk = client.get("/time-off").text
    assert "Agent 1" in desk and "1 of 2 allowed" in desk
    hours = re.search(r"takes out ([\d.]+) scheduled h; short ([\d.]+) → ([\d.]+) agent-h", desk)
    assert hours, desk
    # a01 works at least 30 h a week, so most of it falls in these five days; losing them adds shortage.
    assert float(hours.group(1)) >= 20 and float(hours.group(3)) > float(hours.group(2))
    request_id = int(re.search(r"/time-off/(\d+)/decide", desk).group(1))  # type: ignore[union-attr]
    assert post_form(client, "/time-off/limit", {"team": north, "limit": "0"}).status_code == 302
    refused = post_form(client, f"/time-off/{request_id}/decide", {"decision": "approve"})
    assert refused.status_code == 422 and "the limit is 0" in refused.text
    post_form(client, "/time-off/limit", {"team": north, "limit": "2"})
    assert post_form(client, f"/time-off/{request_id}/decide", {"decision": "approve"}).status_code == 302
    absences = on_app_loop(client, lambda: Absence.select().where(Absence.agent_id == "a01"))
    assert len(absences) == 1 and absences[0]["approved"]
    assert absences[0]["start_at"].astimezone(ZONE) == dt.datetime.combine(monday, dt.time(), tzinfo=ZONE)
    # The published week now breaks the time-off rule for a01 until the lead changes it.
    week = client.get("/schedules", params={"team": north, "week": monday.isoformat()}).text
    assert "a01: work during approved vacation" in week

    # Another team's lead cannot decide; a declined request tells the agent why.
    sign_in(client, "ada")
    later = monday + dt.timedelta(days=21)
    post_form(client, "/my/time-off", {"first_day": later, "last_day": later, "kind": "other", "note": "moving"})
    make_user(client, "sven", "lead", teams=[south])
    sign_in(client, "sven")
    second = on_app_loop(client, lambda: time_off.listing(statuses=("pending",)))
    assert post_form(client, f"/time-off/{second[0].id}/decide", {"decision": "approve"}).status_code == 404
    sign_in(client, "lena")
    post_form(client, f"/time-off/{second[0].id}/decide", {"decision": "decline", "note": "peak week"})
    sign_in(client, "ada")
    assert "declined" in client.get("/my/time-off").text and "peak week" in client.get("/my/time-off").text


def test_agents_keep_their_own_availability(client: TestClient[Any]) -> None:
    _teams(client)
    ada = make_user(client, "ada", "agent")
    bo = make_user(client, "bo", "agent")
    on_app_loop(client, lambda: Agent.update({Agent.user: ada}).where(Agent.agent_id == "a01"))
    on_app_loop(client, lambda: Agent.update({Agent.user: bo}).where(Agent.agent_id == "a02"))
    sign_in(client, "ada")
    added = post_form(
        client, "/my/availability", {"weekday": "1", "start": "17:00", "end": "24:00", "kind": "unavailable"}
    )
    assert added.status_code == 302
    overlap = post_form(client, "/my/availability", {"weekday": "1", "start": "18:00", "end": "20:00", "kind": "avoid"})
    assert overlap.status_code == 422 and "overlaps" in overlap.text
    backwards = post_form(
        client, "/my/availability", {"weekday": "2", "start": "18:00", "end": "08:00", "kind": "avoid"}
    )
    assert backwards.status_code == 422 and "must be after" in backwards.text
    assert "Monday 17:00-24:00: unavailable" in client.get("/my/availability").text
    rows = on_app_loop(client, lambda: Availability.select())
    assert [(r["agent_id"], r["weekday"], r["start_minute"], r["end_minute"]) for r in rows] == [("a01", 1, 1020, 1440)]
    # Bo cannot delete Ada's window; Ada can.
    sign_in(client, "bo")
    post_form(client, f"/my/availability/{rows[0]['id']}/delete")
    assert len(on_app_loop(client, lambda: Availability.select())) == 1
    sign_in(client, "ada")
    post_form(client, f"/my/availability/{rows[0]['id']}/delete")
    assert on_app_loop(client, lambda: Availability.select()) == []


def test_a_swap_both_agree_is_published_when_the_rules_hold(client: TestClient[Any]) -> None:
    monday = _recent_history(client)
    north, _ = _teams(client)
    make_user(client, "lena", "lead", teams=[north])
    sign_in(client, "lena")
    _job(client, "/forecast/run", {"channel": "1", "horizon_days": "14", "method": "snaive"})
    _job(client, "/schedules/generate", {"team": north, "week": monday.isoformat(), "time_limit_seconds": "10"})
    published = on_app_loop(client, lambda: schedules.listing([north], monday))[0].id
    assert post_form(client, f"/schedules/{published}/publish").status_code == 302
    # A pair and a day whose exchange breaks no rule (found with the same check the lead's approval runs).
    pair = None
    for day in (monday + dt.timedelta(days=d) for d in range(5)):
        for first, second in (("a01", "a02"), ("a02", "a03"), ("a03", "a04"), ("a01", "a05")):
            check = on_app_loop(
                client, lambda f=first, s=second, d=day: schedule_edits.swap(published, f, s, d, "t", save=False)
            )
            if not check.new_violations:
                pair = (first, second, day)
                break
        if pair:
            break
    assert pair, "no rule-keeping swap among the candidates"
    first, second, day = pair
    for username, agent_id in (("ada", first), ("bo", second)):
        user = make_user(client, username, "agent")
        on_app_loop(client, lambda u=user, a=agent_id: Agent.update({Agent.user: u}).where(Agent.agent_id == a))
    before = on_app_loop(client, lambda: schedules.activities([published]))

    sign_in(client, "ada")
    assert post_form(client, "/my/swaps", {"day": day, "partner": second}).status_code == 302
    assert "proposed" in client.get("/my/schedule").text
    sign_in(client, "bo")
    mine = client.get("/my/schedule").text
    swap_id = int(re.search(r"/my/swaps/(\d+)/answer", mine).group(1))  # type: ignore[union-attr]
    assert post_form(client, f"/my/swaps/{swap_id}/answer", {"answer": "agree"}).status_code == 302
    sign_in(client, "lena")
    assert "Swaps both agents agreed" in client.get("/time-off").text
    assert post_form(client, f"/time-off/swaps/{swap_id}/decide", {"decision": "approve"}).status_code == 302
    now = on_app_loop(client, lambda: schedules.listing([north], monday))
    assert now[0].status == "published" and now[0].id != published
    after = on_app_loop(client, lambda: schedules.activities([now[0].id]))

    def on(acts: list[Any], agent: str) -> list[tuple[Any, ...]]:
        return [
            (a.start, a.end, a.activity) for a in acts if a.agent_id == agent and a.start.astimezone(ZONE).date() == day
        ]

    assert on(after, first) == on(before, second) and on(after, second) == on(before, first)
    # Asking someone outside the team is refused.
    sign_in(client, "ada")
    outside = post_form(client, "/my/swaps", {"day": day, "partner": "a12"})
    assert outside.status_code == 422 and "your own team" in outside.text
