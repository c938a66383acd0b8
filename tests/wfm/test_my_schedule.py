"""My schedule: an agent sees only their own published shifts, with changes since last seen marked; the
.ics file parses with a real calendar library and keeps site wall-clock times across DST; the private
subscription link serves only while the account is active (both engines for the pages)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from litestar.testing import TestClient

from tests.helpers import make_user, on_app_loop, post_form, sign_in
from wfm.scheduling.ics import calendar
from wfm.scheduling.model import Rules
from wfm.scheduling.rules import shifts_of
from wfm.scheduling.shifts import with_breaks
from wfm.tables import Agent, Schedule, ScheduleActivity, Team, User

ZONE = ZoneInfo("Europe/Stockholm")


def _shift(agent_id: str, day: dt.date, hour: int, hours: float = 8.5) -> list[Any]:
    start = dt.datetime.combine(day, dt.time(hour), tzinfo=ZONE)
    return with_breaks(agent_id, start, int(hours * 60), Rules(), channel="voice")


def _publish(client: TestClient[Any], team: int, monday: dt.date, rows: list[Any]) -> int:
    """Store a published schedule (the earlier publish of the week becomes superseded)."""

    async def work() -> int:
        await Schedule.update({Schedule.status: "superseded"}).where(
            (Schedule.team == team) & (Schedule.week_start == monday) & (Schedule.status == "published")
        )
        made = await Schedule.insert(
            Schedule(
                team=team, week_start=monday, status="published", created_at=dt.datetime.now(dt.UTC),
                created_by="lena", report=json.dumps({}), published_at=dt.datetime.now(dt.UTC), published_by="lena",
            )
        ).returning(Schedule.id)  # fmt: skip
        schedule_id = int(made[0]["id"])
        for a in rows:
            await ScheduleActivity.insert(
                ScheduleActivity(
                    schedule=schedule_id, agent_id=a.agent_id, start_at=a.start, end_at=a.end, activity=a.activity,
                    channel=a.channel or "",
                )
            )  # fmt: skip
        return schedule_id

    return on_app_loop(client, work)


def _setup(client: TestClient[Any]) -> tuple[int, dt.date]:
    async def work() -> int:
        team = int((await Team.insert(Team(name="North")).returning(Team.id))[0]["id"])
        for agent_id in ("a00", "a01"):
            await Agent.insert(Agent(agent_id=agent_id, name=agent_id.upper(), team=team, skills="voice"))
        return team

    team = on_app_loop(client, work)
    ada = make_user(client, "ada", "agent")
    on_app_loop(client, lambda: Agent.update({Agent.user: ada}).where(Agent.agent_id == "a00"))
    today = dt.datetime.now(ZONE).date()
    return team, today + dt.timedelta(days=7 - today.weekday())


def test_an_agent_sees_own_published_shifts_and_what_changed(client: TestClient[Any]) -> None:
    team, monday = _setup(client)
    week = [monday + dt.timedelta(days=d) for d in range(5)]
    first = [a for day in week for a in _shift("a00", day, 8)] + [a for a in _shift("a01", week[0], 12)]
    _publish(client, team, monday, first)
    sign_in(client, "ada")
    page = client.get("/my/schedule")
    assert page.status_code == 200
    assert page.text.count("08:00-16:30 voice") == 5 and "12:00-20:30" not in page.text  # not a01's shift
    assert "changed" not in page.text.split("<h1>My schedule</h1>")[1].split("Calendar subscription")[0]

    # The lead moves Wednesday to 10:00 and publishes again: ada sees that day marked, once.
    second = [a for day in week for a in _shift("a00", day, 10 if day == week[2] else 8)]
    _publish(client, team, monday, second)
    again = client.get("/my/schedule").text
    assert "1 changed" in again and again.count('<span class="changed-mark">changed</span>') == 1
    assert "10:00-18:30 voice" in again
    assert "1 changed" not in client.get("/my/schedule").text

    # The .ics has her five shifts at the planned wall-clock times.
    ics = client.get("/my/schedule.ics")
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    events = [e for e in icalendar.Calendar.from_ical(ics.content).walk("VEVENT")]
    starts = sorted(e.decoded("DTSTART").astimezone(ZONE) for e in events)
    assert [s.hour for s in starts] == [8, 8, 10, 8, 8] and starts[0].date() == monday

    # The subscription link works without a session, only while the account is active; a new link
    # retires the old one.
    made = post_form(client, "/my/calendar-link")
    link = made.text.split('<code class="break">')[1].split("</code>")[0]
    path = link[link.index("/calendar/") :]
    client.cookies.clear()
    feed = client.get(path)
    assert feed.status_code == 200 and b"BEGIN:VEVENT" in feed.content
    sign_in(client, "ada")
    newer = post_form(client, "/my/calendar-link").text.split('<code class="break">')[1].split("</code>")[0]
    client.cookies.clear()
    assert client.get(path).status_code == 404
    newer_path = newer[newer.index("/calendar/") :]
    assert client.get(newer_path).status_code == 200
    on_app_loop(client, lambda: User.update({User.active: False}).where(User.username == "ada"))
    assert client.get(newer_path).status_code == 404

    make_user(client, "lena", "lead", teams=[team])
    sign_in(client, "lena")
    assert "You are not on the roster" in client.get("/my/schedule").text
    assert client.get("/my/schedule.ics").status_code == 404


def test_the_ics_keeps_wall_clock_times_across_dst_and_folds_long_lines() -> None:
    """Week of 23 March 2026: Stockholm moves to summer time on Sunday 29 March at 02:00."""
    monday = dt.date(2026, 3, 23)
    rows = [a for d in range(7) for a in _shift("a00", monday + dt.timedelta(days=d), 8)]
    # A long channel name with a comma and a semicolon, to exercise escaping and folding.
    rows = [
        a if a.activity != "work" else type(a)(a.agent_id, a.start, a.end, "work", "voice, Nordic; " + "x" * 80)
        for a in rows
    ]
    text = calendar(shifts_of(rows)["a00"], "Triad: my shifts", ZONE, dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    parsed = icalendar.Calendar.from_ical(text)
    events = sorted(parsed.walk("VEVENT"), key=lambda e: e.decoded("DTSTART"))
    assert len(events) == 7
    for d, event in enumerate(events):
        start = event.decoded("DTSTART").astimezone(ZONE)
        end = event.decoded("DTEND").astimezone(ZONE)
        assert (start.date(), start.hour, end.hour, end.minute) == (monday + dt.timedelta(days=d), 8, 16, 30)
    # Before the change Stockholm is UTC+1, after it UTC+2: the same 08:00 is 07:00Z then 06:00Z.
    assert events[5].decoded("DTSTART").hour == 7 and events[6].decoded("DTSTART").hour == 6
    assert "voice, Nordic; " + "x" * 80 in str(events[0]["SUMMARY"])
    assert len({str(e["UID"]) for e in events}) == 7
