"""Imports through the service, on SQLite and PostgreSQL: validation, idempotence, batches and rollback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from wfm.forms import FormError
from wfm.services import imports, site
from wfm.services.imports import ImportRefusedError
from wfm.settings import Settings
from wfm.tables import (
    Absence,
    Agent,
    AgentSkill,
    Availability,
    Channel,
    ContactInterval,
    FinanceMonth,
    ImportBatch,
    Outcome,
    Overhead,
    Site,
    Team,
    User,
    WorkedHours,
)

BANK = Path(__file__).resolve().parents[3] / "shared" / "data" / "us-bank-calls-5min" / "bank_calls_5min.csv"


async def _setup(time_zone: str = "Europe/Stockholm") -> None:
    await Site.update({Site.time_zone: time_zone, Site.interval_minutes: 15}).where(Site.id == 1)
    await Channel.insert(Channel(name="voice", kind="voice"), Channel(name="chat", kind="chat"))
    await Team.insert(Team(name="North"), Team(name="South"))


async def one(query: Any) -> dict[str, Any]:
    row = await query.first()
    assert row is not None
    return dict(row)


def csv(text: str) -> bytes:
    return "\n".join(line.strip() for line in text.strip().splitlines()).encode() + b"\n"


async def _import(kind: str, text: str | bytes, name: str = "file.csv") -> imports.ImportResult:
    data = text if isinstance(text, bytes) else csv(text)
    return await imports.import_file(kind, data, name, "tester")


# --- history -------------------------------------------------------------------------------------


@pytest.mark.skipif(not BANK.exists(), reason=f"the real data set is not at {BANK}")
async def test_real_bank_calls_import_aggregate_and_reimport_unchanged(db: Settings) -> None:
    # PROVENANCE: the `Z` stamps are local call-centre time, so the mapping drops the `Z`.
    await _setup("America/New_York")
    raw = pd.read_csv(BANK)
    mapped = pd.DataFrame(
        {"interval_start": raw["DateTime"].str.rstrip("Z"), "channel": "voice", "offered": raw["Calls"]}
    )
    data = mapped.to_csv(index=False).encode()

    first = await _import("history", data, "bank.csv")
    assert first.ok, first.errors
    # 169 five-minute intervals a day (07:00-21:00) make 57 quarter hours: 56 full ones and 21:00 alone.
    assert first.rows == 27_716 and first.changed == 164 * 57
    assert await ContactInterval.count() == 164 * 57
    total = await ContactInterval.select(ContactInterval.offered).run()
    assert sum(r["offered"] for r in total) == int(raw["Calls"].sum())
    opening = await ContactInterval.select().where(ContactInterval.offered == 111 + 113 + 76).first()
    assert opening is not None and opening["interval_start"].isoformat() == "2003-03-03T12:00:00+00:00"  # 07:00 EST

    again = await _import("history", data, "bank.csv")
    assert again.ok and again.changed == 0 and await ContactInterval.count() == 164 * 57
    assert [b.changed for b in await imports.batches()] == [0, 164 * 57]


async def test_history_errors_name_row_column_and_reason_and_save_nothing(db: Settings) -> None:
    await _setup()
    result = await _import(
        "history",
        """
        interval_start,channel,offered,handled,colour
        2025-01-07T10:00,voice,5,5,red
        2025-01-07T10:00,voice,6,6,red
        2025-01-07T10:15,phone,3,3,red
        2025-01-07T10:30,voice,-1,0,red
        2025-01-07T10:45,voice,2.5,2,red
        2025-03-30T02:30,voice,1,1,red
        2025-10-26T02:30,voice,1,1,red
        2025-01-07T11:00,voice,,1,red
        """,
    )
    assert not result.ok
    assert result.errors == (
        "row 3, column interval_start: repeats the key of row 2",
        "row 4, column channel: is not a known channel (known: chat, voice)",
        "row 5, column offered: is below 0 (negative)",
        "row 6, column offered: is not a whole number",
        "row 7, column interval_start: does not exist in the site time zone (the clocks go forward then)",
        "row 8, column interval_start: is ambiguous in the site time zone (the clocks go back then): add its UTC "
        "offset, or give both passes of the hour in file order",
        "row 9, column offered: is empty",
    )
    assert result.error_count == 7
    assert result.warnings and "'colour'" in result.warnings[0]
    assert await ContactInterval.count() == 0 and await ImportBatch.count() == 0


@pytest.mark.parametrize(
    ("starts", "message"),
    [
        (
            ["10:00", "11:00", "12:00"],
            "row 3, column interval_start: the data is in 60-minute intervals, which are coarser",
        ),
        (
            ["10:00", "10:10", "10:20"],
            "row 3, column interval_start: the data is in 10-minute intervals, which do not divide",
        ),
        (["10:00", "10:05", "10:12"], "row 4, column interval_start: is not on the 5-minute grid"),
    ],
)
async def test_history_interval_length_must_divide_the_planning_interval(
    db: Settings, starts: list[str], message: str
) -> None:
    await _setup()
    rows = "\n".join(f"2025-01-07T{start},voice,4" for start in starts)
    result = await _import("history", "interval_start,channel,offered\n" + rows)
    assert not result.ok and result.errors[0].startswith(message), result.errors
    assert await ContactInterval.count() == 0


async def test_autumn_hour_in_file_order_and_offsets_are_exact(db: Settings) -> None:
    await _setup()
    result = await _import(
        "history",
        """
        interval_start,channel,offered
        2025-10-26T02:00,voice,1
        2025-10-26T02:15,voice,2
        2025-10-26T02:30,voice,3
        2025-10-26T02:45,voice,4
        2025-10-26T02:00,voice,5
        2025-10-26T02:15,voice,6
        2025-10-26T02:30,voice,7
        2025-10-26T02:45,voice,8
        2025-10-26T03:00+01:00,chat,9
        """,
    )
    assert result.ok, result.errors
    rows = await ContactInterval.select().order_by(ContactInterval.interval_start)
    stamps = [(r["interval_start"].strftime("%H:%M"), r["offered"]) for r in rows]
    # First pass is summer time (UTC+2): 02:00 local = 00:00 UTC; the second pass is UTC+1.
    assert stamps == [
        ("00:00", 1),
        ("00:15", 2),
        ("00:30", 3),
        ("00:45", 4),
        ("01:00", 5),
        ("01:15", 6),
        ("01:30", 7),
        ("01:45", 8),
        ("02:00", 9),
    ]


async def test_five_minute_history_aggregates_with_weighted_handle_time(db: Settings) -> None:
    await _setup()
    result = await _import(
        "history",
        """
        interval_start,channel,offered,handled,aht_seconds,team
        2025-01-07T10:00,voice,10,10,100,North
        2025-01-07T10:05,voice,20,30,200,North
        2025-01-07T10:10,voice,0,0,,North
        2025-01-07T10:15,voice,4,4,300,North
        """,
    )
    assert result.ok, result.errors
    rows = await ContactInterval.select().order_by(ContactInterval.interval_start)
    north = (await one(Team.select(Team.id).where(Team.name == "North")))["id"]
    assert [(r["offered"], r["handled"], r["team_id"]) for r in rows] == [(30, 40, north), (4, 4, north)]
    # Handle time weighted by handled contacts: (10 x 100 + 30 x 200) / 40.
    assert rows[0]["aht_seconds"] == pytest.approx(175.0)


async def test_reimport_rollback_and_the_latest_batch_rule(db: Settings) -> None:
    await _setup()
    header = "interval_start,channel,offered\n"
    first = await _import("history", header + "2025-01-07T10:00,voice,5\n2025-01-07T10:15,voice,6", "a.csv")
    second = await _import("history", header + "2025-01-07T10:15,voice,60\n2025-01-07T10:30,voice,7", "b.csv")
    assert (first.changed, second.changed) == (2, 2)
    assert sorted(r["offered"] for r in await ContactInterval.select(ContactInterval.offered)) == [5, 7, 60]

    with pytest.raises(ImportRefusedError, match=f"batch {second.batch_id} later changed rows"):
        await imports.rollback(first.batch_id, "tester")

    undone = await imports.rollback(second.batch_id, "tester")
    assert (undone.restored, undone.removed) == (1, 1)
    assert sorted(r["offered"] for r in await ContactInterval.select(ContactInterval.offered)) == [5, 6]
    with pytest.raises(ImportRefusedError, match="already rolled back"):
        await imports.rollback(second.batch_id, "tester")

    await imports.rollback(first.batch_id, "tester")
    assert await ContactInterval.count() == 0
    assert [b.status for b in await imports.batches()] == ["rolled_back", "rolled_back"]


# --- agents and the other kinds ------------------------------------------------------------------


AGENTS = """
agent_id,name,team,skills,min_hours_week,max_hours_week,hourly_cost,email
A1,Anna Berg,North,voice;chat,30,40,310.5,anna@example.com
A2,Bo Ek,East,voice,20,30,290,
"""


async def test_agents_import_creates_accounts_teams_and_skills_and_rolls_back(db: Settings) -> None:
    await _setup()
    await User.insert(User(username="anna", password="x", email="anna@example.com", role="agent"))
    result = await _import("agents", AGENTS)
    assert result.ok, result.errors
    assert "new team created: East" in result.warnings
    agents = {r["agent_id"]: r for r in await Agent.select(Agent.agent_id, Agent.user.username)}
    assert agents["A1"]["user.username"] == "anna"  # linked by email
    assert agents["A2"]["user.username"] == "A2"  # created, without a usable password
    created = await one(User.select(User.password, User.role).where(User.username == "A2"))
    assert created["role"] == "agent" and created["password"].endswith("$-")
    assert await AgentSkill.count() == 3
    assert await Team.exists().where(Team.name == "East")

    assert (await _import("agents", AGENTS)).changed == 0
    changed = await _import("agents", AGENTS.replace("voice;chat", "chat"))
    assert changed.changed == 1 and await AgentSkill.count() == 2
    await imports.rollback(changed.batch_id, "tester")
    assert await AgentSkill.count() == 3
    assert (await one(Agent.select(Agent.skills).where(Agent.agent_id == "A1")))["skills"] == "voice;chat"


async def test_agent_file_errors(db: Settings) -> None:
    await _setup()
    result = await _import(
        "agents",
        """
        agent_id,name,team,skills,min_hours_week,max_hours_week,hourly_cost,leave_date,hire_date,email
        A1,Anna,North,voice;fax,40,30,-5,2024-01-01,2025-01-01,not-an-email
        A1,,North,,20,30,300,,,
        """,
    )
    assert result.errors == (
        "row 2, column email: is not an email address",
        "row 2, column hourly_cost: is below 0 (negative)",
        "row 2, column leave_date: is before hire_date",
        "row 2, column min_hours_week: is above max_hours_week",
        "row 2, column skills: has unknown channels: fax (known: chat, voice)",
        "row 3, column name: is empty",
        "row 3, column skills: is empty (give the channels the agent works, separated by ';')",
    )
    assert await Agent.count() == 0 and await User.count() == 0


async def test_every_other_kind_imports_once_and_reimports_unchanged(db: Settings) -> None:
    await _setup()
    assert (await _import("agents", AGENTS)).ok
    files = {
        "absences": "agent_id,start,end,kind\nA1,2025-07-01,2025-07-15,vacation\nA2,2025-02-03T08:00,2025-02-04,sick",
        "availability": "agent_id,weekday,start,end,kind\nA1,3,16:00,24:00,unavailable\nA2,1,08:00,12:00,preferred",
        "outcomes": "period,team,csat_pct,nps,fcr_pct,responses\n2025-01,North,82.5,31,71,240\n2025-W05,South,80,,,",
        "finance": "month,revenue,active_customers\n2025-01,1250000.5,250000\n2025-02,,",
        "overhead": "month,category,cost\n2025-01,facilities,120000\n2025-01,IT,80000",
        "worked_hours": "agent_id,date,hours\nA1,2025-01-07,8\nA2,2025-01-07,6.5",
    }
    tables = {
        "absences": Absence,
        "availability": Availability,
        "outcomes": Outcome,
        "finance": FinanceMonth,
        "overhead": Overhead,
        "worked_hours": WorkedHours,
    }
    for kind, text in files.items():
        first = await _import(kind, text)
        assert first.ok and first.changed == 2, (kind, first.errors)
        again = await _import(kind, text)
        assert again.ok and again.changed == 0, kind
        assert await tables[kind].count() == 2, kind
    absence = await one(Absence.select().where(Absence.agent_id == "A1"))
    assert absence["start_at"].isoformat() == "2025-06-30T22:00:00+00:00" and absence["approved"] is True


async def test_errors_of_the_other_kinds(db: Settings) -> None:
    await _setup()
    assert (await _import("agents", AGENTS)).ok
    cases = {
        "absences": (
            "agent_id,start,end,kind\nA9,2025-07-01,2025-07-15,vacation\nA1,2025-07-15,2025-07-01,holiday",
            [
                "row 2, column agent_id: is not a known agent; import agents first",
                "row 3, column end: is not after start (end is exclusive)",
                "row 3, column kind: must be one of vacation, sick, other",
            ],
        ),
        "availability": (
            "agent_id,weekday,start,end,kind\nA1,8,16:00,15:00,never",
            [
                "row 2, column end: is not after start",
                "row 2, column kind: must be one of unavailable, preferred, avoid",
                "row 2, column weekday: is above 7",
            ],
        ),
        "outcomes": (
            "period,team,csat_pct,nps\n2025-13,West,101,-101",
            [
                "row 2, column csat_pct: is above 100",
                "row 2, column nps: is below -100",
                "row 2, column period: is not a period (YYYY, YYYY-MM or YYYY-Www)",
                "row 2, column team: is not a known team (known: East, North, South)",
            ],
        ),
        "overhead": ("month,cost\n2025-01,5", ["column category: the required column 'category' is missing"]),
        "worked_hours": (
            "agent_id,date,hours\nA1,2025-02-30,25",
            ["row 2, column date: is not a date (YYYY-MM-DD)", "row 2, column hours: is above 24"],
        ),
    }
    for kind, (text, expected) in cases.items():
        result = await _import(kind, text)
        assert list(result.errors) == expected, kind
    assert await ImportBatch.count() == 1  # only the agents


async def test_large_upload_imports_once_even_when_the_job_runs_twice(db: Settings) -> None:
    await _setup()
    text = "interval_start,channel,offered\n" + "\n".join(
        f"2025-01-07T{h:02d}:{m:02d},voice,{h}" for h in range(24) for m in (0, 15, 30, 45)
    )
    upload = await imports.save_upload("history", text.encode(), "day.csv", "tester")
    first = await imports.import_upload(upload)
    second = await imports.import_upload(upload)  # a retried job
    assert first.ok and first.changed == 96 and second.batch_id == first.batch_id
    assert await ImportBatch.count() == 1 and await ContactInterval.count() == 96
    stored = await imports.upload_result(upload)
    assert stored is not None and stored.changed == 96


async def test_a_team_with_imported_outcomes_cannot_be_deleted(db: Settings) -> None:
    await _setup()
    assert (await _import("outcomes", "period,team,csat_pct\n2025-01,North,80")).ok
    north = (await one(Team.select(Team.id).where(Team.name == "North")))["id"]
    with pytest.raises(FormError, match="roll those imports back first"):
        await site.delete_team(north, "tester")
    assert await Team.exists().where(Team.id == north)
