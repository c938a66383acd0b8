"""Pulse surveys end to end through the app on SQLite and PostgreSQL: create, answer once, read results.

Answers go in through the answer form as each agent; results are read as a lead and as an admin.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any
from zoneinfo import ZoneInfo

from litestar.testing import TestClient

from pulse.enps import enps
from pulse.tables import PulseParticipation, PulseResponse, PulseRound
from tests.helpers import make_user, on_app_loop, post_form, sign_in
from wfm.tables import Agent, Team, User

DRIVERS = ["workload", "tools"]


def _today() -> dt.date:
    return dt.datetime.now(ZoneInfo("Europe/Stockholm")).date()


def _teams(client: TestClient[Any], sizes: dict[str, int]) -> dict[str, int]:
    """Teams with ``size`` agents each (users ``<team>1``...), a lead of the first team, an admin."""
    names = list(sizes)

    async def work() -> dict[str, int]:
        ids = {}
        for name in names:
            ids[name] = (await Team.insert(Team(name=name)).returning(Team.id))[0]["id"]
        return ids

    ids = on_app_loop(client, work)
    make_user(client, "admin", "admin")
    make_user(client, "lead", "lead", teams=[ids[names[0]]])
    for name, size in sizes.items():
        for i in range(1, size + 1):
            user_id = make_user(client, f"{name.lower()}{i}", "agent")

            async def link(user_id: int = user_id, name: str = name, i: int = i) -> None:
                await Agent.insert(Agent(agent_id=f"{name}-{i}", name=f"{name} {i}", team=ids[name], user=user_id))

            on_app_loop(client, link)
    return ids


def _create(client: TestClient[Any], team_ids: list[int], **extra: Any) -> int:
    data = {
        "name": "Monthly pulse",
        "cadence": "monthly",
        "first_opens_on": _today().isoformat(),
        "rounds": "3",
        "open_days": "7",
        "teams": [str(t) for t in team_ids],
        "drivers": DRIVERS,
        "ask_comment": "on",
        **extra,
    }
    response = post_form(client, "/pulse", data)
    assert response.status_code == 302, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def _first_round(client: TestClient[Any], survey_id: int) -> int:
    async def work() -> int:
        row = (
            await PulseRound.select(PulseRound.id)
            .where((PulseRound.survey == survey_id) & (PulseRound.number == 1))
            .first()
        )
        assert row is not None
        return int(row["id"])

    return on_app_loop(client, work)


def _answer(client: TestClient[Any], username: str, round_id: int, score: int, comment: str = "") -> Any:
    client.cookies.clear()
    sign_in(client, username)
    return post_form(
        client, f"/pulse/answer/{round_id}", {"enps": str(score), "workload": "4", "tools": "2", "comment": comment}
    )


def _counts(client: TestClient[Any]) -> tuple[int, int]:
    async def work() -> tuple[int, int]:
        return await PulseResponse.count(), await PulseParticipation.count()

    return on_app_loop(client, work)


def test_a_lead_creates_a_survey_with_every_round_up_front(client: TestClient[Any]) -> None:
    ids = _teams(client, {"North": 1, "South": 1})
    sign_in(client, "lead")
    bad = post_form(client, "/pulse", {"name": "", "cadence": "weekly", "first_opens_on": "soon", "rounds": "0",
                                        "open_days": "9", "drivers": ["nope"]})  # fmt: skip
    assert bad.status_code == 422
    for message in ("Give the survey a name", "opening day as a date", "from 1 to 104", "from 1 to 7",
                    "Choose at least one team", "unknown drivers: nope"):  # fmt: skip
        assert message in bad.text, message
    # A lead may survey only their own teams.
    other = post_form(client, "/pulse", {"name": "x", "cadence": "weekly", "first_opens_on": "2026-01-05",
                                         "rounds": "2", "open_days": "3", "teams": [str(ids["South"])]})  # fmt: skip
    assert other.status_code == 422 and "only your own teams" in other.text
    survey_id = _create(client, [ids["North"]], first_opens_on="2026-01-31", rounds="3")

    async def rounds() -> list[tuple[dt.date, dt.date]]:
        rows = await PulseRound.select().where(PulseRound.survey == survey_id).order_by(PulseRound.number)
        return [(r["opens_on"], r["closes_on"]) for r in rows]

    # Monthly from 31 January: the short month clamps to its last day; each round open 7 days.
    assert on_app_loop(client, rounds) == [
        (dt.date(2026, 1, 31), dt.date(2026, 2, 6)),
        (dt.date(2026, 2, 28), dt.date(2026, 3, 6)),
        (dt.date(2026, 3, 31), dt.date(2026, 4, 6)),
    ]
    assert "Monthly pulse" in client.get("/pulse").text


def test_an_agent_answers_once_and_others_are_told_why_not(client: TestClient[Any]) -> None:
    ids = _teams(client, {"North": 2, "South": 1})
    sign_in(client, "lead")
    survey_id = _create(client, [ids["North"]])
    round_id = _first_round(client, survey_id)
    client.cookies.clear()
    sign_in(client, "north1")
    home = client.get("/")
    assert f"/pulse/answer/{round_id}" in home.text
    form = client.get(f"/pulse/answer/{round_id}")
    assert form.status_code == 200 and "recommend working here" in form.text
    assert "My workload is manageable." in form.text
    missing = post_form(client, f"/pulse/answer/{round_id}", {"enps": "7", "workload": "4"})
    assert missing.status_code == 422 and "I have the tools" in missing.text
    assert _counts(client) == (0, 0)
    first = _answer(client, "north1", round_id, 9)
    again = _answer(client, "north1", round_id, 2)
    assert "your answer is in" in first.text and "already answered" in again.text
    assert _counts(client) == (1, 1)
    assert "answered, thank you" in client.get("/").text
    # Not this team's survey.
    client.cookies.clear()
    sign_in(client, "south1")
    refused = client.get(f"/pulse/answer/{round_id}")
    assert refused.status_code == 404 and "not for your team" in refused.text
    assert _answer(client, "south1", round_id, 10).status_code == 409
    # The second round has not opened yet; a closed round takes no answers.
    client.cookies.clear()
    sign_in(client, "north2")
    later = client.get(f"/pulse/answer/{round_id + 1}")
    assert later.status_code == 404 and "opens on" in later.text
    client.cookies.clear()
    sign_in(client, "lead")
    assert post_form(client, f"/pulse/rounds/{round_id}/close").status_code == 302
    closed = _answer(client, "north2", round_id, 10)
    assert closed.status_code == 409 and "closed on" in closed.text
    assert _counts(client) == (1, 1)


def test_results_show_only_groups_past_the_threshold(client: TestClient[Any]) -> None:
    """North answers 6 times, East 5, South 2. South is under the threshold of 5; the all-teams total
    minus North and East would give it away, so East (the smallest visible team) is hidden too. Comments
    need 8 answers: the all-teams group (13) shows them, North (6) does not."""
    ids = _teams(client, {"North": 6, "East": 5, "South": 2})
    sign_in(client, "admin")
    survey_id = _create(client, list(ids.values()))
    round_id = _first_round(client, survey_id)
    scores = {"north": [10, 9, 8, 6, 3, 10], "east": [9, 9, 9, 2, 7], "south": [0, 0]}
    for team, values in scores.items():
        for i, score in enumerate(values, 1):
            _answer(client, f"{team}{i}", round_id, score, comment="canteen" if team == "north" and i == 1 else "")
    client.cookies.clear()
    sign_in(client, "admin")
    before = client.get(f"/pulse/{survey_id}")
    assert "results appear when" in before.text and "No closed rounds yet" in before.text
    assert post_form(client, f"/pulse/rounds/{round_id}/close").status_code == 302
    page = client.get(f"/pulse/{survey_id}").text
    everyone, north = enps([v for values in scores.values() for v in values]), enps(scores["north"])
    assert everyone is not None and north is not None
    heat = page.split('id="heat"', 1)[1].split("</table>", 1)[0]
    rows = {m.group(1): m.group(2) for m in re.finditer(r'<th scope="row">([^<]+)</th>(.*?)</tr>', heat, re.S)}
    assert f"{north.score:+.0f}" in rows["North"] and f"{everyone.score:+.0f}" in rows["All teams"]
    assert "hidden" in rows["South"] and "hidden" in rows["East"]
    assert f"<strong>{everyone.score:+.0f}</strong>" in page and "13 answered of 13" in page
    assert "canteen" in page.split('id="comments"', 1)[1]
    north_page = client.get(f"/pulse/{survey_id}?team={ids['North']}").text
    assert f"<strong>{north.score:+.0f}</strong>" in north_page and "6 answered of 6" in north_page
    assert "Comments show for groups of 8" in north_page and "canteen" not in north_page
    east_page = client.get(f"/pulse/{survey_id}?team={ids['East']}").text
    assert "Not enough responses to show: 5 answered" in east_page
    # The export has the same cells, hidden ones without numbers.
    export = client.get(f"/pulse/{survey_id}/export.csv")
    table = list(csv.DictReader(io.StringIO(export.text)))
    by_group = {r["group"]: r for r in table if r["period"].startswith("Round 1")}
    assert by_group["North"]["enps"] == f"{north.score:.1f}" and by_group["North"]["status"] == "shown"
    assert by_group["South"]["enps"] == "" and by_group["South"]["status"] == "hidden"
    assert by_group["East"]["enps"] == "" and by_group["East"]["workload"] == ""
    assert by_group["All teams"]["enps"] == f"{everyone.score:.1f}"


def test_a_lead_reads_only_surveys_of_their_teams(client: TestClient[Any]) -> None:
    ids = _teams(client, {"North": 1, "South": 1})
    sign_in(client, "admin")
    south_only = _create(client, [ids["South"]])
    both = _create(client, [ids["North"], ids["South"]])
    client.cookies.clear()
    sign_in(client, "lead")
    assert client.get(f"/pulse/{south_only}").status_code == 404
    assert client.get(f"/pulse/{south_only}/export.csv").status_code == 404
    shared = client.get(f"/pulse/{both}")
    assert shared.status_code == 200 and '<option value="' + str(ids["South"]) not in shared.text
    # A lead cannot close a round of a survey that also goes to another lead's team.
    assert post_form(client, f"/pulse/rounds/{_first_round(client, both)}/close").status_code == 403
    listing = client.get("/pulse").text
    assert f"/pulse/{both}" in listing and f"/pulse/{south_only}" not in listing


def test_responses_keep_no_person_and_no_time(client: TestClient[Any]) -> None:
    """Schema: a response has a UUID key, its round, the team and the answers; nothing finer."""
    response_columns = {c._meta.db_column_name: type(c).__name__ for c in PulseResponse._meta.columns}
    assert response_columns["id"] == "UUID"
    forbidden = {"user", "user_id", "agent", "agent_id", "created_at", "submitted_at", "at", "updated_at"}
    assert not forbidden & set(response_columns)
    assert not {"Serial", "Timestamp", "Timestamptz", "Time", "Date", "ForeignKey:User"} & {
        t for name, t in response_columns.items() if name != "round"
    }
    assert {c._meta.name: type(c).__name__ for c in PulseParticipation._meta.columns} == {
        "id": "UUID", "round": "ForeignKey", "user": "ForeignKey", "team": "ForeignKey",
    }  # fmt: skip
    targets = [c._foreign_key_meta.resolved_references for c in PulseResponse._meta.foreign_key_columns]
    assert User not in targets
