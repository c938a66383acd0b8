"""Pure tests of the demo generator: determinism, the file contract, exact local time, shapes, planted links."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from wfm.demo_data import CHANNELS, PLANTED, TEAMS, DemoData, enps_answers, generate

END = dt.date(2026, 10, 31)
# Seeds for the planted-correlation check: fixed, so the test is deterministic.
CORRELATION_SEEDS = (1, 2, 3, 4, 5)

# Column lists typed out from DESIGN.md "Files" (not imported from the module under test).
DESIGN_COLUMNS = {
    "history": [
        "interval_start",
        "channel",
        "offered",
        "handled",
        "abandoned",
        "aht_seconds",
        "answered_within_sl",
        "total_wait_seconds",
    ],
    "agents": [
        "agent_id",
        "name",
        "team",
        "skills",
        "min_hours_week",
        "max_hours_week",
        "hourly_cost",
        "max_days_week",
        "hire_date",
        "leave_date",
        "leave_reason",
        "email",
    ],
    "absences": ["agent_id", "start", "end", "kind", "approved"],
    "availability": ["agent_id", "weekday", "start", "end", "kind"],
    "outcomes": ["period", "team", "channel", "csat_pct", "nps", "fcr_pct", "responses"],
    "finance": ["month", "revenue", "active_customers"],
    "overhead": ["month", "category", "cost"],
    "worked_hours": ["agent_id", "date", "hours", "channel"],
}


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return generate(7, end=END)


@pytest.fixture(scope="module")
def history(demo: DemoData) -> pd.DataFrame:
    frame = demo.history.copy()
    frame["utc"] = pd.to_datetime(frame["interval_start"], utc=True, format="ISO8601")
    frame["local"] = frame["interval_start"].str[:19]
    frame["date"] = frame["interval_start"].str[:10]
    frame["clock"] = frame["interval_start"].str[11:16]
    frame["weekday"] = pd.to_datetime(frame["date"]).dt.day_of_week + 1
    return frame


def _daily_headcount(agents: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """teams x days: agents employed on the day (leave_date is the last day employed)."""
    days = pd.date_range(start, end, freq="D").to_numpy()
    hire = pd.to_datetime(agents["hire_date"]).to_numpy()
    leave = pd.to_datetime(agents["leave_date"].replace("", "2999-12-31")).to_numpy()
    employed = (hire[:, None] <= days[None, :]) & (days[None, :] <= leave[:, None])
    return pd.DataFrame(employed, index=agents["team"].to_numpy()).groupby(level=0).sum()


# --- determinism and the file contract ----------------------------------------------------------------------


def test_same_seed_same_output_and_another_seed_differs(demo: DemoData) -> None:
    again = generate(7, end=END)
    other = generate(8, end=END)
    for kind in [*DESIGN_COLUMNS, "engagement"]:
        pd.testing.assert_frame_equal(getattr(demo, kind), getattr(again, kind))
    assert not demo.history["offered"].equals(other.history["offered"])
    assert not demo.agents["name"].equals(other.agents["name"])


def test_every_frame_has_exactly_the_design_columns(demo: DemoData) -> None:
    for kind, columns in DESIGN_COLUMNS.items():
        assert list(getattr(demo, kind).columns) == columns, kind
    assert demo.files()[0][0] == "agents"  # agents before the files that name agents
    assert list(demo.engagement.columns[:3]) == ["period", "team", "engagement"]


def test_settings_teams_and_channels(demo: DemoData) -> None:
    assert len(demo.teams) == 20 and len(set(demo.teams)) == 20
    voice, chat, email, social = demo.channels
    assert (voice.staffing_model, voice.service_level_target, voice.answer_within_seconds) == ("erlang_a", 0.8, 20)
    assert voice.hours_on(1) == (8 * 60, 20 * 60) and voice.hours_on(7) == (10 * 60, 16 * 60)
    assert (chat.staffing_model, chat.concurrency, chat.hours_on(6)) == ("erlang_c", 2.0, (10 * 60, 18 * 60))
    assert (email.staffing_model, email.response_window_hours, email.hours_on(6)) == ("deferred", 24.0, None)
    assert (social.response_window_hours, social.hours_on(7)) == (4.0, (8 * 60, 20 * 60))


# --- history: exact local time ------------------------------------------------------------------------------


def test_history_has_every_local_quarter_hour(history: pd.DataFrame) -> None:
    # 2024-11-01..2026-10-31 is 730 local days; two spring days lose 4 quarter-hours and two autumn days gain 4,
    # so 730 * 96 = 70,080 intervals, times 4 channels.
    assert len(history) == 280_320
    for _, rows in history.groupby("channel"):
        steps = rows["utc"].diff().dropna()
        assert (steps == pd.Timedelta(minutes=15)).all()


def test_no_spring_gap_times(history: pd.DataFrame) -> None:
    for day in ("2025-03-30", "2026-03-29"):
        rows = history[history["date"] == day]
        assert len(rows) == 92 * 4
        assert not rows["clock"].str.startswith("02:").any()
        assert set(rows[rows["clock"] == "01:45"]["interval_start"].str[19:]) == {"+01:00"}
        assert set(rows[rows["clock"] == "03:00"]["interval_start"].str[19:]) == {"+02:00"}


def test_autumn_repeated_quarter_hours_appear_twice_with_their_offsets(history: pd.DataFrame) -> None:
    for day in ("2025-10-26", "2026-10-25"):
        rows = history[history["date"] == day]
        assert len(rows) == 100 * 4
        for clock in ("02:00", "02:15", "02:30", "02:45"):
            repeated = rows[rows["clock"] == clock]
            for channel in ("voice", "chat", "email", "social"):
                offsets = repeated[repeated["channel"] == channel]["interval_start"].str[19:]
                assert list(offsets) == ["+02:00", "+01:00"]  # first pass in summer time, in file order


# --- history: calendar and shape ----------------------------------------------------------------------------


def test_voice_and_chat_closed_on_public_holidays_and_outside_hours(history: pd.DataFrame) -> None:
    live = history[history["channel"].isin(["voice", "chat"])]
    for holiday in ("2025-12-25", "2025-04-18", "2026-06-20"):  # Christmas Day, Good Friday, Midsummer Day
        assert live[live["date"] == holiday]["offered"].sum() == 0
    assert live[live["date"] == "2026-06-19"]["offered"].sum() > 0  # Midsummer Eve: open, at half volume
    voice = history[history["channel"] == "voice"]
    weekday = voice["weekday"] <= 5
    assert voice[weekday & ((voice["clock"] < "08:00") | (voice["clock"] >= "20:00"))]["offered"].sum() == 0
    weekend = voice[~weekday]
    assert weekend[(weekend["clock"] < "10:00") | (weekend["clock"] >= "16:00")]["offered"].sum() == 0
    night_email = history[(history["channel"] == "email") & (history["clock"] < "06:00")]
    assert night_email["offered"].sum() > 0  # customers write at night


def test_weekly_intraday_and_yearly_shape(history: pd.DataFrame) -> None:
    voice = history[history["channel"] == "voice"]
    daily = voice.groupby(["date", "weekday"], as_index=False)["offered"].sum()
    by_weekday = daily.groupby("weekday")["offered"].mean()
    assert by_weekday[1] == by_weekday.max() and by_weekday[1] > 3 * by_weekday[6]
    working_days = daily[daily["weekday"] <= 5]
    by_clock = voice[voice["weekday"] <= 5].groupby("clock")["offered"].mean()
    assert by_clock["10:00"] > by_clock["12:00"] < by_clock["14:00"]  # double peak
    assert by_clock["10:00"] > by_clock["07:45"] == 0
    month = working_days["date"].str[5:7]
    assert working_days[month == "01"]["offered"].mean() > 1.2 * working_days[month == "07"]["offered"].mean()


def test_weekday_volumes_size_a_staff_of_about_300(history: pd.DataFrame) -> None:
    weekdays = history[history["weekday"] <= 5].groupby(["channel", "date"])["offered"].sum()
    mean = weekdays.groupby(level=0).mean()
    assert 6_000 <= mean["voice"] <= 9_000
    assert 1_500 <= mean["chat"] <= 2_500
    assert 1_100 <= mean["email"] <= 1_900
    assert 300 <= mean["social"] <= 500


def test_interval_counts_are_consistent(history: pd.DataFrame) -> None:
    live = history[history["channel"].isin(["voice", "chat"])]
    assert (live["handled"] + live["abandoned"] == live["offered"]).all()
    deferred = history[history["channel"].isin(["email", "social"])]
    assert (deferred["abandoned"] == 0).all()
    assert abs(deferred["offered"].sum() - deferred["handled"].sum()) < 0.01 * deferred["offered"].sum()
    assert (history["answered_within_sl"] <= history["handled"]).all()
    assert (history["total_wait_seconds"] >= 0).all()
    assert ((history["aht_seconds"] > 0) == (history["handled"] > 0)).all()
    totals = history.assign(work=history["aht_seconds"] * history["handled"]).groupby("channel").sum(numeric_only=True)
    aht = totals["work"] / totals["handled"]
    assert 320 <= aht["voice"] <= 360 and 480 <= aht["chat"] <= 540
    assert 400 <= aht["email"] <= 440 and 225 <= aht["social"] <= 260
    abandon_rate = totals["abandoned"] / totals["offered"]
    assert 0.01 <= abandon_rate["voice"] <= 0.08 and 0.005 <= abandon_rate["chat"] <= 0.06
    service_level = totals["answered_within_sl"] / totals["handled"]
    assert 0.7 <= service_level["voice"] <= 0.9 and 0.8 <= service_level["email"] <= 0.95
    voice = history[(history["channel"] == "voice") & (history["handled"] > 50)]
    evening = voice[voice["clock"] >= "17:00"]["aht_seconds"].mean()
    assert evening > voice[voice["clock"] < "17:00"]["aht_seconds"].mean() + 30


# --- people -------------------------------------------------------------------------------------------------


def test_agents_are_well_formed(demo: DemoData) -> None:
    agents = demo.agents
    assert agents["agent_id"].is_unique and agents["agent_id"].iloc[0] == "A0001"
    assert (
        agents["email"].is_unique and agents["email"].str.fullmatch(r"[a-z]+\.[a-z]+\.\d+@demo\.triad\.example").all()
    )
    assert set(agents["team"]) == set(TEAMS)
    channel_names = {channel.name for channel in CHANNELS}
    assert all(set(skills.split(";")) <= channel_names for skills in agents["skills"])
    assert (agents["skills"].str.split(";").str[0] == "voice").mean() > 0.5
    assert agents["hourly_cost"].min() >= 280 and agents["hourly_cost"].max() <= 420
    full_time = agents["max_hours_week"] == 40
    assert 0.7 <= full_time.mean() <= 0.9
    assert (agents[full_time][["min_hours_week", "max_days_week"]] == [32, 5]).all().all()
    assert agents[~full_time]["max_hours_week"].between(20, 30).all()
    left = agents[agents["leave_date"] != ""]
    assert set(left["leave_reason"]) == {"voluntary", "involuntary", "other"}
    assert (left["leave_date"] >= left["hire_date"]).all()
    assert (agents[agents["leave_date"] == ""]["leave_reason"] == "").all()


def test_headcount_per_team_stays_in_range(demo: DemoData) -> None:
    heads = _daily_headcount(demo.agents, demo.start, demo.end).to_numpy()
    assert heads.min() >= 9 and heads.max() <= 17
    assert ((heads >= 12) & (heads <= 16)).mean() >= 0.95
    assert heads.sum(axis=0).min() >= 250 and heads.sum(axis=0).max() <= 310


def test_turnover_per_year_in_range(demo: DemoData) -> None:
    heads = _daily_headcount(demo.agents, demo.start, demo.end).to_numpy().sum(axis=0)
    leavers = (demo.agents["leave_date"] != "").sum()
    assert 0.25 <= leavers / heads.mean() / 2 <= 0.35
    reasons = demo.agents["leave_reason"].value_counts()
    assert reasons["voluntary"] > reasons["involuntary"] > 0


def test_absences_do_not_overlap_and_follow_the_seasons(demo: DemoData) -> None:
    absences = demo.absences
    assert set(absences["kind"]) == {"vacation", "sick", "other"}
    assert set(absences["approved"]) == {"true", "false"}
    assert absences["start"].str.fullmatch(r"\d{4}-\d\d-\d\dT00:00:00").all()
    start, end = pd.to_datetime(absences["start"]), pd.to_datetime(absences["end"])
    assert (end > start).all()
    ordered = absences.assign(start=start, end=end).sort_values(["agent_id", "start"])
    following = ordered.groupby("agent_id")["start"].shift(-1)
    assert (following.isna() | (following >= ordered["end"])).all()
    pending = absences[absences["approved"] == "false"]
    assert (pd.to_datetime(pending["start"]).dt.date > demo.end).all()
    vacation = absences[absences["kind"] == "vacation"]
    assert (pd.to_datetime(vacation["start"]).dt.month == 7).mean() > 0.3
    sick = absences[(absences["kind"] == "sick")].assign(month=start.dt.month)
    assert (sick["month"] <= 3).sum() > 1.5 * sick["month"].between(6, 8).sum()
    assert ((end - start).dt.days[absences["kind"] == "sick"] <= 10).all()


def test_worked_hours_skip_absences_and_holidays_and_use_skills(demo: DemoData) -> None:
    worked = demo.worked_hours
    assert worked[["agent_id", "date", "channel"]].duplicated().sum() == 0
    assert worked["hours"].min() >= 3 and worked["hours"].max() <= 10
    assert not worked["date"].isin(["2025-12-25", "2026-01-01"]).any()
    skills = demo.agents.set_index("agent_id")["skills"].str.split(";")
    assert all(channel in skills[agent] for agent, channel in zip(worked["agent_id"], worked["channel"], strict=True))
    sick = demo.absences[demo.absences["kind"] == "sick"].head(200)
    days = [
        (agent, day.strftime("%Y-%m-%d"))
        for agent, start, end in zip(sick["agent_id"], sick["start"], sick["end"], strict=True)
        for day in pd.date_range(str(start), str(end), inclusive="left")
    ]
    assert not pd.MultiIndex.from_frame(worked[["agent_id", "date"]]).isin(days).any()
    per_day = worked.groupby("date").size()
    assert 150 <= per_day[pd.to_datetime(per_day.index).day_of_week < 5].mean() <= 260


def test_availability_outcomes_and_money_are_plausible(demo: DemoData) -> None:
    availability = demo.availability
    assert availability[["agent_id", "weekday", "start"]].duplicated().sum() == 0
    assert set(availability["kind"]) <= {"unavailable", "preferred", "avoid"}
    active = (demo.agents["leave_date"] == "").sum()
    assert 0.2 <= availability["agent_id"].nunique() / active <= 0.4
    outcomes = demo.outcomes
    assert len(outcomes) == 20 * 24 and (outcomes["channel"] == "").all()
    assert outcomes["csat_pct"].between(0, 100).all() and outcomes["nps"].between(-100, 100).all()
    assert 70 <= outcomes["csat_pct"].mean() <= 90 and outcomes["responses"].min() > 100
    assert demo.finance["revenue"].between(120e6, 160e6).all()
    assert demo.finance["active_customers"].between(230_000, 270_000).all()
    assert set(demo.overhead["category"]) == {"facilities", "IT and telephony", "management", "training", "recruitment"}
    assert (demo.overhead["cost"] > 0).all()


def test_engagement_is_standardised_and_persistent(demo: DemoData) -> None:
    engagement = demo.engagement
    assert len(engagement) == 20 * 24
    assert engagement["engagement"].mean() == pytest.approx(0.0, abs=1e-9)
    assert engagement["engagement"].std(ddof=0) == pytest.approx(1.0)
    assert 9 <= engagement["respondents"].mean() <= 14


def test_enps_answers_are_on_the_scale_and_follow_engagement() -> None:
    rng = np.random.default_rng(0)
    answers = enps_answers(np.array([-1.0, 0.0, 1.0]), 20_000, rng)
    assert answers.shape == (3, 20_000) and answers.min() >= 0 and answers.max() <= 10
    enps = 100 * ((answers >= 9).mean(axis=1) - (answers <= 6).mean(axis=1))
    # Closed form at engagement 0: P(latent >= 8.5) = P(latent < 6.5) = 1 / (1 + exp(1 / 1.1)) = 0.287, eNPS 0.
    assert enps[1] == pytest.approx(0.0, abs=2.0)
    assert enps[0] < -30 and enps[2] > 30
    assert enps_answers(0.5, 12, rng).shape == (12,)


# --- planted relationships ----------------------------------------------------------------------------------


def _panel(data: DemoData, rng: np.random.Generator) -> pd.DataFrame:
    """team x month: eNPS measured from pulse answers, turnover rate and CSAT, as the triad pages will."""
    panel = data.engagement[["period", "team", "engagement", "respondents"]].copy()
    most = int(panel["respondents"].max())
    answers = enps_answers(panel["engagement"].to_numpy(), most, rng)
    counted = np.arange(most)[None, :] < panel["respondents"].to_numpy()[:, None]
    promoters = ((answers >= 9) & counted).sum(axis=1)
    detractors = ((answers <= 6) & counted).sum(axis=1)
    panel["enps"] = 100 * (promoters - detractors) / panel["respondents"].to_numpy()

    daily = _daily_headcount(data.agents, data.start, data.end)
    months = pd.date_range(data.start, data.end, freq="D").strftime("%Y-%m")
    headcount = daily.T.groupby(months).mean().stack()  # (period, team) -> mean daily headcount
    agents = data.agents[data.agents["leave_date"] != ""]
    leavers = agents.groupby([agents["leave_date"].str[:7], agents["team"]]).size()
    key = pd.MultiIndex.from_frame(panel[["period", "team"]])
    panel["turnover_rate"] = leavers.reindex(key, fill_value=0).to_numpy() / headcount.reindex(key).to_numpy()
    outcomes = data.outcomes.set_index(["period", "team"])
    panel["csat"] = outcomes["csat_pct"].reindex(key).to_numpy()
    panel = panel.sort_values(["team", "period"])
    panel["csat_next"] = panel.groupby("team")["csat"].shift(-1)
    return panel


def _within_team_r(panel: pd.DataFrame, x: str, y: str) -> float:
    pairs = panel[["team", x, y]].dropna()
    demeaned = pairs[[x, y]] - pairs.groupby("team")[[x, y]].transform("mean")
    return float(np.corrcoef(demeaned[x], demeaned[y])[0, 1])


def test_planted_correlations_are_observed_within_the_published_band() -> None:
    # Expected from 40 seeds (module docstring, docs/demo.md): +0.27 (sd 0.05) and -0.27 (sd 0.04) per seed;
    # the mean of five seeds has an sd of about 0.02, so the band has about three sd of room either side.
    csat, turnover, autocorrelation = [], [], []
    for seed in CORRELATION_SEEDS:
        panel = _panel(generate(seed, end=END), np.random.default_rng(10_000 + seed))
        csat.append(_within_team_r(panel, "enps", "csat_next"))
        turnover.append(_within_team_r(panel, "enps", "turnover_rate"))
        panel["engagement_before"] = panel.groupby("team")["engagement"].shift(1)
        autocorrelation.append(_within_team_r(panel, "engagement_before", "engagement"))
    assert 0.2 <= np.mean(csat) <= 0.35
    assert -0.35 <= np.mean(turnover) <= -0.2
    assert np.mean(autocorrelation) == pytest.approx(PLANTED.engagement_autocorrelation, abs=0.15)
