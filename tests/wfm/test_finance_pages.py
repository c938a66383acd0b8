"""The finance page and its exports on SQLite and PostgreSQL, with a month small enough to check by hand."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from typing import Any

from litestar.testing import TestClient

from tests.helpers import make_user, on_app_loop, sign_in
from wfm.services import costs as cost_service
from wfm.tables import (
    Agent,
    Channel,
    ContactInterval,
    FinanceMonth,
    Outcome,
    Overhead,
    Schedule,
    ScheduleActivity,
    Team,
    WorkedHours,
)

EVIL = "=HYPERLINK(1)"  # a team name a spreadsheet would run


def _seed(client: TestClient[Any]) -> None:
    """January 2026. Team EVIL: 8 worked hours at 300 = 2,400, 100 voice contacts of 300 s (500 minutes).
    Team B: 8 hours at 250 = 2,000, 60 contacts (300 minutes). Overhead 800, by minutes 500 : 300.
    So EVIL costs 2,900 for 100 contacts (29.00), B 2,300 for 60 (38.33); 5,200 in all for 160 contacts,
    1,000 active customers (0.16 contacts and 5.20 a customer) and 100,000 revenue (5.2%)."""

    async def work() -> None:
        evil = (await Team.insert(Team(name=EVIL)).returning(Team.id))[0]["id"]
        b = (await Team.insert(Team(name="B")).returning(Team.id))[0]["id"]
        voice = (await Channel.insert(Channel(name="voice")).returning(Channel.id))[0]["id"]
        await Agent.insert(
            Agent(agent_id="a1", name="A one", team=evil, hourly_cost=300.0),
            Agent(agent_id="b1", name="B one", team=b, hourly_cost=250.0),
        )
        await WorkedHours.insert(
            WorkedHours(agent_id="a1", day=dt.date(2026, 1, 10), channel_id=voice, hours=8.0),
            WorkedHours(agent_id="b1", day=dt.date(2026, 1, 12), channel_id=voice, hours=8.0),
        )
        for day, team, handled in ((10, evil, 100), (12, b, 60)):
            await ContactInterval.insert(
                ContactInterval(
                    interval_start=dt.datetime(2026, 1, day, 10, tzinfo=dt.UTC), channel=voice, team_id=team,
                    offered=handled, handled=handled, aht_seconds=300.0,
                )
            )  # fmt: skip
        await Overhead.insert(Overhead(month="2026-01", category="rent", cost=800.0))
        await FinanceMonth.insert(FinanceMonth(month="2026-01", revenue=100_000.0, active_customers=1_000))
        await Outcome.insert(Outcome(period="2026-01", team_id=b, channel_id=0, fcr_pct=50.0))

    on_app_loop(client, work)


def test_the_cost_of_attrition_counts_the_leave_day_as_employed(client: TestClient[Any]) -> None:
    """Team B in January 2026 (31 days): b1 all month, c1 hired on the 20th (12 days, a newcomer), d1 left on
    the 10th (the last day employed: 10 days). 53 agent-days = 53 / 30.4375 agent-months for B's labour of
    2,000, so a full agent costs 2,000 x 30.4375 / 53 a month. Default assumptions: the leaver costs
    30,000 + 45,000; c1's 12 newcomer days at half output cost 12 / 30.4375 x 0.5 x that = 12,000 / 53 = 226."""
    _seed(client)

    async def more_people() -> None:
        b = await Team.select(Team.id).where(Team.name == "B").first()
        assert b is not None
        await Agent.insert(
            Agent(agent_id="c1", name="C one", team=b["id"], hire_date=dt.date(2026, 1, 20)),
            Agent(agent_id="d1", name="D one", team=b["id"], hire_date=dt.date(2020, 1, 1),
                  leave_date=dt.date(2026, 1, 10), leave_reason="voluntary"),
        )  # fmt: skip

    on_app_loop(client, more_people)
    make_user(client, "finance", "finance")
    sign_in(client, "finance")
    text = client.get("/finance?first=2026-01&last=2026-01&team=B").text
    attrition = text.split('id="attrition"', 1)[1].split("</p>", 1)[0]
    assert "1 leaver in B and 0.4 newcomer-months" in attrition
    assert "replacing them 75,000, their ramp-up 226," in attrition and "75,226" in attrition


def test_finance_reads_cost_per_contact_and_exports_it_safely(client: TestClient[Any]) -> None:
    _seed(client)
    make_user(client, "finance", "finance")
    sign_in(client, "finance")
    page = client.get("/finance?first=2026-01&last=2026-01")
    assert page.status_code == 200
    text = page.text
    month_row = text.split('id="months"', 1)[1].split("</tr>", 2)[1]
    for figure in ("5,200", "160", "32.50", "0.16", "5.20", "5.2%", "worked hours"):
        assert figure in month_row, figure
    teams = text.split('id="teamsum"', 1)[1].split("</table>", 1)[0]
    assert "29.00" in teams and "38.33" in teams and "76.67" in teams  # B per resolved: 2,300 / 30
    filtered = client.get("/finance?first=2026-01&last=2026-01&team=B").text
    assert "38.33" in filtered.split('id="months"', 1)[1].split("</table>", 1)[0]
    bad = client.get("/finance?first=2026-13&last=2026-01&ramp_months=99")
    assert "From: Give the first month as YYYY-MM." in bad.text and "Months to full output: Give a number" in bad.text
    too_long = client.get("/finance?first=2000-01&last=2026-12")
    assert too_long.status_code == 200 and "To: Show at most 20 years at a time." in too_long.text
    refused = client.get("/finance/export/csv?first=2000-01&last=2026-12")
    assert refused.status_code == 422 and "at most 20 years" in refused.json()["detail"]
    nobody = client.get("/finance?team=Nope&first=2026-01&last=2026-01")
    assert "Team: No team is called &#39;Nope&#39;." in nobody.text

    exported = client.get("/finance/export/csv?first=2026-01&last=2026-01")
    assert exported.status_code == 200, (exported.status_code, exported.text.split("<main", 1)[-1][:400])
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    evil = next(r for r in rows if r["team"].endswith("HYPERLINK(1)"))
    assert evil["team"] == "'" + EVIL  # neutralised for spreadsheets
    assert float(evil["total_cost"]) == 2_900.0 and float(evil["cost_per_contact"]) == 29.0
    workbook = client.get("/finance/export/xlsx?first=2026-01&last=2026-01&hiring_cost=12345")
    assert workbook.status_code == 200
    with zipfile.ZipFile(io.BytesIO(workbook.content)) as book:
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/sheet")]
        assert len(sheets) == 5 and not any(b"<f>" in book.read(n) for n in sheets)  # no formula anywhere
        strings = book.read("xl/sharedStrings.xml").decode()
        assert "'=HYPERLINK(1)" in strings and ">=HYPERLINK" not in strings
        assert b"<v>2900</v>" in book.read("xl/worksheets/sheet4.xml")  # a number, not text
        # The attrition sheet carries the assumption given in the address.
        assert "hiring_cost_per_hire" in strings and b"<v>12345</v>" in book.read("xl/worksheets/sheet5.xml")


def test_the_week_table_sets_a_pending_draft_beside_the_published_and_worked_cost(client: TestClient[Any]) -> None:
    """This week, team B (b1 at 250 an hour): published 8 paid hours (2,000), a newer draft with 10 (2,500),
    6 hours worked so far (1,500); an older draft than the published one is not a pending plan."""
    _seed(client)
    monday = dt.date.today() - dt.timedelta(days=dt.date.today().weekday())
    start = dt.datetime.combine(monday, dt.time(8), dt.UTC)

    async def work() -> None:
        b = (await Team.select(Team.id).where(Team.name == "B").first() or {})["id"]
        for status, hours in (("draft", 12), ("published", 8), ("draft", 10)):
            schedule = await Schedule.insert(
                Schedule(team=b, week_start=monday, status=status, created_at=start)
            ).returning(Schedule.id)
            await ScheduleActivity.insert(
                ScheduleActivity(schedule=schedule[0]["id"], agent_id="b1", start_at=start,
                                 end_at=start + dt.timedelta(hours=hours), activity="work", channel="voice")
            )  # fmt: skip
        await WorkedHours.insert(WorkedHours(agent_id="b1", day=monday, channel_id=0, hours=6.0))

    on_app_loop(client, work)
    make_user(client, "finance", "finance")
    sign_in(client, "finance")
    section = client.get("/finance").text.split('id="planned"', 1)[1].split("</table>", 1)[0]
    row = section.split(f"<td>{monday}</td><td>B</td>", 1)[1].split("</tr>", 1)[0]
    assert [cell.split(">")[1].split("<")[0] for cell in row.split("<td")[1:]] == ["2,500", "2,000", "1,500"]


def test_months_follow_the_site_calendar_at_midnight_and_across_daylight_saving(client: TestClient[Any]) -> None:
    """Europe/Stockholm. Contacts at 21:30 and 22:30 UTC on 31 March 2026 (summer time since the 29th) are
    23:30 on the 31st (March) and 00:30 on 1 April (April); worked days are dates. A published shift's
    15-minute blocks at 22:45 and 23:00 UTC on 31 October (winter time since the 25th) are 23:45 on the
    31st (October) and midnight on 1 November (November), a quarter of an hour each."""

    async def work() -> None:
        team = (await Team.insert(Team(name="N")).returning(Team.id))[0]["id"]
        voice = (await Channel.insert(Channel(name="voice")).returning(Channel.id))[0]["id"]
        await Agent.insert(Agent(agent_id="n1", name="N one", team=team, hourly_cost=100.0))
        for hour, minute, offered in ((21, 30, 10), (22, 30, 30)):
            await ContactInterval.insert(
                ContactInterval(interval_start=dt.datetime(2026, 3, 31, hour, minute, tzinfo=dt.UTC), channel=voice,
                                team_id=team, offered=offered, handled=offered, aht_seconds=60.0)
            )  # fmt: skip
        for day, hours in ((dt.date(2026, 3, 31), 7.0), (dt.date(2026, 4, 1), 5.0)):
            await WorkedHours.insert(WorkedHours(agent_id="n1", day=day, channel_id=voice, hours=hours))
        schedule = await Schedule.insert(
            Schedule(
                team=team, week_start=dt.date(2026, 10, 26), status="published", created_at=dt.datetime.now(dt.UTC)
            )
        ).returning(Schedule.id)
        for hour, minute in ((22, 45), (23, 0)):
            start = dt.datetime(2026, 10, 31, hour, minute, tzinfo=dt.UTC)
            await ScheduleActivity.insert(
                ScheduleActivity(schedule=schedule[0]["id"], agent_id="n1", start_at=start,
                                 end_at=start + dt.timedelta(minutes=15), activity="work", channel="voice")
            )  # fmt: skip

    on_app_loop(client, work)
    spring = on_app_loop(client, lambda: cost_service.load_inputs("2026-03", "2026-04"))
    assert spring.contacts.set_index("month")["handled"].to_dict() == {"2026-03": 10.0, "2026-04": 30.0}
    assert spring.labour.set_index("month")["paid_hours"].to_dict() == {"2026-03": 7.0, "2026-04": 5.0}
    assert spring.labour_source == {"2026-03": "worked hours", "2026-04": "worked hours"}
    autumn = on_app_loop(client, lambda: cost_service.load_inputs("2026-10", "2026-11"))
    assert autumn.labour.set_index("month")["paid_hours"].to_dict() == {"2026-10": 0.25, "2026-11": 0.25}
    assert autumn.labour.set_index("month")["cost"].to_dict() == {"2026-10": 25.0, "2026-11": 25.0}
    assert autumn.labour_source == {"2026-10": "published schedules", "2026-11": "published schedules"}
