"""The triad panel from the database and the triad page, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import numpy as np
import pandas as pd
import pytest
from litestar.testing import TestClient

from pulse.questions import DRIVER_KEYS
from pulse.services.surveys import SurveyForm, create_survey
from pulse.tables import PulseParticipation, PulseResponse, PulseRound
from tests.helpers import make_user, on_app_loop, sign_in
from wfm import triad
from wfm.services import triad as triad_service
from wfm.tables import Agent, Channel, ContactInterval, Outcome, Team, User, WorkedHours


def _seed(client: TestClient[Any]) -> dict[str, int]:
    """Teams North (lead "lead") and South; 12 months of outcomes (CSAT 80 + the month's index for North,
    70 for South); a monthly survey with two closed rounds: round 1 (January 2026) North 6 answers and
    South 2, round 2 (February) North 6 and South 6."""
    make_user(client, "lead", "lead")
    users = [make_user(client, f"agent{n}", "agent") for n in range(16)]

    async def work() -> dict[str, int]:
        north = (await Team.insert(Team(name="North")).returning(Team.id))[0]["id"]
        south = (await Team.insert(Team(name="South")).returning(Team.id))[0]["id"]
        lead = await User.select(User.id).where(User.username == "lead").first()
        assert lead is not None
        from wfm.tables import TeamMember

        await TeamMember.insert(TeamMember(user=lead["id"], team=north))
        for i, team in enumerate((north, south)):
            await Agent.insert(
                *[
                    Agent(
                        agent_id=f"a{i}-{n}", name=f"A {i} {n}", team=team, user=users[8 * i + n],
                        hire_date=dt.date(2024, 1, 1),
                    )
                    for n in range(8)
                ]
            )  # fmt: skip
        for m in range(1, 13):
            for team, csat in ((north, 80.0 + m), (south, 70.0)):
                await Outcome.insert(Outcome(period=f"2025-{m:02d}", team_id=team, csat_pct=csat, fcr_pct=72.0))
        # March 2025, North's queue: 100 offered, 80 within target; an interval without that count is left out.
        voice = (await Channel.insert(Channel(name="voice")).returning(Channel.id))[0]["id"]
        for day, within in ((3, 80), (4, None)):
            await ContactInterval.insert(
                ContactInterval(interval_start=dt.datetime(2025, 3, day, 9, tzinfo=dt.UTC), channel=voice,
                                team_id=north, offered=100, handled=100, aht_seconds=200.0,
                                answered_within_sl=within)
            )  # fmt: skip
        form = SurveyForm("Pulse", "monthly", dt.date(2026, 1, 5), 2, 7, (north, south), DRIVER_KEYS[:1], False)
        survey = await create_survey(form, "test", None)
        rounds = await PulseRound.select().where(PulseRound.survey == survey).order_by(PulseRound.number)
        for r, sizes in zip(rounds, ({north: 6, south: 2}, {north: 6, south: 6}), strict=True):
            for team, n in sizes.items():
                for k in range(n):
                    await PulseResponse.insert(
                        PulseResponse(id=uuid.uuid4(), round=r["id"], team=team, enps=10 if k % 2 else 5)
                    )
                    await PulseParticipation.insert(PulseParticipation(id=uuid.uuid4(), round=r["id"], team=team))
        return {"north": north, "south": south}

    return on_app_loop(client, work)


def test_the_panel_shows_pulse_figures_only_where_the_pulse_pages_do(client: TestClient[Any]) -> None:
    _seed(client)
    panel = on_app_loop(client, lambda: triad_service.build_panel("2025-01", "2026-02")).set_index(["period", "team"])
    # Round 1: South has 2 answers (hidden), so North's 6 are hidden too (all teams minus North would give
    # South away); round 2 shows both. Three promoters (10) and three detractors (5) of six: eNPS 0.
    assert panel["enps"].isna()[("2026-01", "North")] and panel["enps"].isna()[("2026-01", "South")]
    assert panel.loc[("2026-02", "North"), "enps"] == pytest.approx(0.0)
    assert panel.loc[("2026-02", "South"), "pulse_responses"] == 6
    assert panel.loc[("2026-02", "North"), "participation_rate"] == pytest.approx(6 / 8)
    assert panel.loc[("2025-03", "North"), "csat_pct"] == 83.0
    assert panel.loc[("2025-03", "North"), "service_level"] == pytest.approx(0.8)
    assert panel["service_level"].notna().sum() == 1
    assert panel.loc[("2025-03", "South"), "turnover_rate"] == 0.0 and panel["newcomer_share"].max() == 0.0
    # Months to come have no people measures yet (not a turnover of 0).
    future = on_app_loop(client, lambda: triad_service.build_panel("2099-01", "2099-02"))
    assert future[["turnover_rate", "absence_rate", "newcomer_share"]].isna().all().all()


def test_a_month_with_two_surveys_counts_the_answers_of_both(client: TestClient[Any]) -> None:
    """North answers a second survey in February 2026 (five answers of 10). With the first survey's six
    (three 10s, three 5s) the month has 11 answers: 8 promoters and 3 detractors, eNPS 100 x 5 / 11."""
    ids = _seed(client)

    async def second() -> None:
        form = SurveyForm("Check-in", "monthly", dt.date(2026, 2, 2), 1, 7, (ids["north"],), DRIVER_KEYS[:1], False)
        survey = await create_survey(form, "test", None)
        round_id = (await PulseRound.select(PulseRound.id).where(PulseRound.survey == survey).first() or {})["id"]
        for _ in range(5):
            await PulseResponse.insert(PulseResponse(id=uuid.uuid4(), round=round_id, team=ids["north"], enps=10))
            await PulseParticipation.insert(PulseParticipation(id=uuid.uuid4(), round=round_id, team=ids["north"]))

    on_app_loop(client, second)
    panel = on_app_loop(client, lambda: triad_service.build_panel("2026-02", "2026-02")).set_index("team")
    assert panel.loc["North", "pulse_responses"] == 11
    assert panel.loc["North", "enps"] == pytest.approx(100 * 5 / 11)
    assert panel.loc["South", "pulse_responses"] == 6


def test_service_level_of_a_history_without_teams_follows_the_hours_each_team_worked(
    client: TestClient[Any],
) -> None:
    """April 2025: voice 100 offered, 60 within target; chat 100 offered, 90 within, neither naming a team.
    North worked voice 30 h and chat 10 h, South chat 20 h (worked hours). Hand-checked: North takes all
    of voice and 1/3 of chat, (60 + 30) / (100 + 33.3) = 0.675; South 2/3 of chat, 60 / 66.7 = 0.9."""

    async def work() -> None:
        north = (await Team.insert(Team(name="North")).returning(Team.id))[0]["id"]
        south = (await Team.insert(Team(name="South")).returning(Team.id))[0]["id"]
        voice = (await Channel.insert(Channel(name="voice")).returning(Channel.id))[0]["id"]
        chat = (await Channel.insert(Channel(name="chat")).returning(Channel.id))[0]["id"]
        await Agent.insert(Agent(agent_id="n1", name="N", team=north), Agent(agent_id="s1", name="S", team=south))
        for agent, channel, hours in (("n1", voice, 30.0), ("n1", chat, 10.0), ("s1", chat, 20.0)):
            await WorkedHours.insert(
                WorkedHours(agent_id=agent, day=dt.date(2025, 4, 8), channel_id=channel, hours=hours)
            )
        for channel, within in ((voice, 60), (chat, 90)):
            await ContactInterval.insert(
                ContactInterval(interval_start=dt.datetime(2025, 4, 8, 9, tzinfo=dt.UTC), channel=channel,
                                offered=100, handled=100, aht_seconds=300.0, answered_within_sl=within)
            )  # fmt: skip

    on_app_loop(client, work)
    panel = on_app_loop(client, lambda: triad_service.build_panel("2025-04", "2025-04")).set_index("team")
    assert panel.loc["North", "service_level"] == pytest.approx(0.675)
    assert panel.loc["South", "service_level"] == pytest.approx(0.9)


def test_the_triad_page_shows_the_scorecard_and_says_moves_with(client: TestClient[Any]) -> None:
    _seed(client)
    sign_in(client, "lead")
    page = client.get("/triad?first=2025-01&last=2025-12")
    assert page.status_code == 200
    score = page.text.split('id="score"', 1)[1].split("</table>", 1)[0]
    csat_row = score.split("<td>CSAT</td>", 1)[1].split("</tr>", 1)[0]
    # Centre: North 81..92 (mean 86.5) and South 70 -> 78.25; the lead's team North alone 86.5.
    assert "78.2" in csat_row and "86.5" in csat_row
    assert "centre: on target" in csat_row and "yours: above target" in csat_row  # 75-85 %
    assert "Your teams" in score
    assert re.search(r"\bcaus(e|es|ed|ing|al|ally)\b", page.text) is None
    # The trend: a chart and its numbers, the centre's and the lead's teams' rows per month (CSAT column).
    trend = page.text.split('id="trend"', 1)[1]
    assert "<svg" in trend.split("</figure>", 1)[0]
    march = [row for row in trend.split("<tr>") if row.startswith("<td>2025-03</td>")]
    assert [row.split("</td>")[1] for row in march] == ["<td>centre", "<td>your teams"]
    assert ">76.5<" in march[0] and ">83.0<" in march[1]  # the seed: North 80 + 3, South 70; mean 76.5
    fragment = client.get("/triad?first=2025-01&last=2025-12", headers={"hx-request": "true"})
    assert "<html" not in fragment.text
    assert 'id="triad" hx-target="this"' in fragment.text
    bad = client.get("/triad?first=2025-13&last=2025-01")
    assert bad.status_code == 200 and "Give the months as YYYY-MM" in bad.text


def test_the_api_runs_the_statistics_on_a_posted_panel(client: TestClient[Any]) -> None:
    from tests.helpers import csrf_token

    make_user(client, "finance", "finance")
    sign_in(client, "finance")
    lines = ["period,team,enps,csat_pct"] + [
        f"2025-{m:02d},{team},{(m * 7 + len(team)) % 11 - 5},{70 + (m * 3 + len(team)) % 9}"
        for team in ("North", "South", "East")
        for m in range(1, 13)
    ]
    headers = {"x-csrftoken": csrf_token(client), "content-type": "text/csv"}
    done = client.post("/api/triad?max_lag=1", content="\n".join(lines), headers=headers)
    assert done.status_code == 200, done.text
    body = done.json()
    assert {p["method"] for p in body["pairs"]} == {"pearson_within", "spearman_within", "pearson_pooled"}
    assert {(p["x"], p["lag"]) for p in body["pairs"]} == {("enps", 0), ("enps", 1), ("csat_pct", 1)}
    broken = "\n".join([*lines[:3], "2025-03,North,lots,70", *lines[4:]])
    refused = client.post("/api/triad", content=broken, headers=headers)
    assert refused.status_code == 422 and "panel row 4, column enps: 'lots' is not a number" in refused.json()["detail"]


def test_a_leads_scatter_draws_only_their_own_teams_points_beside_the_centres_line() -> None:
    """Six teams x 12 months of eNPS and CSAT with a planted same-month link: the statistics use all 72
    team-months; a lead of T0 and T1 sees 24 points, and everyone else 72."""
    rng = np.random.default_rng(3)
    rows = []
    for team in range(6):
        enps = rng.normal(0, 20, 12)
        for month in range(12):
            rows.append({"period": f"2025-{month + 1:02d}", "team": f"T{team}", "enps": enps[month],
                         "csat_pct": 80 + 0.1 * enps[month] + rng.normal(0, 1)})  # fmt: skip
    panel = pd.DataFrame(rows)
    result = triad.analyse(panel, [("enps", "csat_pct")], (0, 1))
    lead = triad_service.pair_view(panel, result, "enps", "csat_pct", ("T0", "T1"))
    everyone = triad_service.pair_view(panel, result, "enps", "csat_pct", None)
    assert lead.best is not None and lead.best.lag == 0 and lead.best.n == 72
    assert (lead.points, everyone.points) == (24, 72)
    assert lead.svg.count("<path") < everyone.svg.count("<path")
    # The lag profile: lags 0-1 forward and lag 1 back, each drawn with its interval.
    assert [(p.x, p.lag) for p in lead.profile] == [("enps", 0), ("enps", 1), ("csat_pct", 1)]
    assert "<svg" in lead.profile_svg and "r by lag" in lead.profile_svg


def test_each_pair_is_summed_up_by_its_most_convincing_link_in_either_direction() -> None:
    """CSAT this month moves next month's eNPS (planted 0.6 within teams), nothing the other way: the pair
    eNPS-CSAT is told by 'CSAT leads eNPS' at lag 1, and the page's q are corrected over its own rows."""
    rng = np.random.default_rng(8)
    rows = []
    for team in range(10):
        csat = rng.normal(0, 1, 25)
        enps = np.r_[rng.normal(), 0.6 * csat[:-1] + 0.8 * rng.normal(size=24)]
        rows += [{"period": f"p{m:02d}", "team": f"T{team}", "enps": 20 * enps[m], "csat_pct": 80 + 3 * csat[m]}
                 for m in range(25)]  # fmt: skip
    panel = pd.DataFrame(rows)
    result = triad_service._within_family(triad.analyse(panel, [("enps", "csat_pct")], (0, 1, 2, 3)))
    assert {p.method for p in result.pairs} == {"pearson_within"}
    assert [p.q for p in result.pairs] == pytest.approx(triad.bh_qvalues([p.p for p in result.pairs]), nan_ok=True)
    view = triad_service.pair_view(panel, result, "enps", "csat_pct", None)
    assert view.best is not None and (view.best.x, view.best.lag) == ("csat_pct", 1)
    assert view.sentence.startswith("When a team's CSAT is above its usual level, its eNPS 1 month later")
    assert triad_service.direction(view.best) == "CSAT leads eNPS"
