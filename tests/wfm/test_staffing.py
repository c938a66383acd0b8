"""The staffing math (`wfm.erlang`, `wfm.staffing`): golden values, independent algorithms, edge cases.

The discrete-event simulation that checks the same formulas is in `test_erlang_simulation.py`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_wfm
from wfm import erlang, staffing
from wfm.staffing import ChannelParams, StaffingInputError


def erlang_b_recursion(n: int, load: float) -> float:
    """Erlang B by the textbook recursion B(k) = a B(k-1) / (k + a B(k-1)): an independent algorithm."""
    b = 1.0
    for k in range(1, n + 1):
        b = load * b / (k + load * b)
    return b


def test_erlang_b_matches_published_and_exact_values() -> None:
    # Exact by hand: B(1, 1) = 1/2, B(2, 1) = (1/2) / (1 + 1 + 1/2) = 1/5.
    assert erlang.erlang_b(1, 1.0) == pytest.approx(0.5, abs=1e-15)
    assert erlang.erlang_b(2, 1.0) == pytest.approx(0.2, abs=1e-15)
    # Erlang B tables (e.g. the ITU-T "Teletraffic Engineering Handbook", 2005, table of E1,n(A)):
    # 10 circuits at 5 Erlangs block 1.84 %; 20 circuits at 15 Erlangs block 4.56 %.
    assert erlang.erlang_b(10, 5.0) == pytest.approx(0.018385, abs=5e-6)
    assert erlang.erlang_b(20, 15.0) == pytest.approx(0.04561, abs=5e-5)


@pytest.mark.parametrize(("n", "load"), [(1, 0.3), (7, 3.2), (40, 38.5), (150, 120.0), (500, 450.0), (900, 880.0)])
def test_erlang_b_closed_form_equals_the_recursion_for_hundreds_of_erlangs(n: int, load: float) -> None:
    assert erlang.erlang_b(n, load) == pytest.approx(erlang_b_recursion(n, load), rel=1e-9)


def test_erlang_b_when_the_load_dwarfs_the_lines() -> None:
    # Q(n+1, a) underflows here; the series branch must still give 1/B = 1 + n/a + ...
    assert erlang.erlang_b(10, 5000.0) == pytest.approx(erlang_b_recursion(10, 5000.0), rel=1e-9)
    assert erlang.erlang_b(0, 3.0) == 1.0
    assert erlang.erlang_b(3, 0.0) == 0.0


def test_lines_required_is_the_fewest_with_blocking_under_the_cap() -> None:
    loads = np.array([0.0, 0.5, 5.0, 15.0, 120.0, 800.0])
    lines = erlang.lines_required(loads, 0.01)
    assert lines[0] == 0
    busy = loads > 0
    assert (erlang.erlang_b(lines[busy], loads[busy]) <= 0.01).all()
    assert (erlang.erlang_b(lines[busy] - 1, loads[busy]) > 0.01).all()
    # Erlang B tables: 5 Erlangs at 1 % blocking need 11 lines; 15 Erlangs need 24.
    assert list(lines[2:4]) == [11, 24]
    with pytest.raises(ValueError, match="max_blocking"):
        erlang.lines_required(5.0, 0.0)


def test_erlang_c_matches_closed_forms_of_small_queues() -> None:
    # M/M/1: P(wait) = rho and SL = 1 - rho exp(-(1 - rho) T / AHT).
    m = erlang.erlang_c_metrics(1, 0.6, 100.0, 20.0)
    assert m.wait_probability == pytest.approx(0.6)
    assert m.service_level == pytest.approx(1 - 0.6 * math.exp(-0.4 * 20 / 100))
    assert m.asa_seconds == pytest.approx(0.6 * 100 / 0.4)
    # M/M/2 at a = 1 (rho = 1/2): P(wait) = 2 rho^2 / (1 + rho) = 1/3.
    assert erlang.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # Erlang C tables: 11 agents at 10 Erlangs wait with probability 0.6821.
    assert erlang.erlang_c(11, 10.0) == pytest.approx(0.6821, abs=5e-5)


def test_erlang_c_without_steady_state() -> None:
    m = erlang.erlang_c_metrics(np.array([5.0, 10.0]), np.array([5.0, 12.0]), 300.0, 20.0)
    assert list(m.service_level) == [0.0, 0.0]
    assert np.isinf(m.asa_seconds).all()
    assert list(m.occupancy) == [1.0, 1.0]


def birth_death(n: int, lam: float, aht: float, patience: float, states: int = 4000) -> tuple[float, float]:
    """P(abandon) and P(wait) of M/M/n+M from its truncated birth-death chain: an independent algorithm."""
    log_p = [0.0]
    for k in range(1, states):
        death = min(k, n) / aht + max(k - n, 0) / patience
        log_p.append(log_p[-1] + math.log(lam) - math.log(death))
    p = np.exp(np.array(log_p) - max(log_p))
    p /= p.sum()
    queue = np.maximum(np.arange(states) - n, 0)
    return float((p * queue).sum() / patience / lam), float(p[n:].sum())


@pytest.mark.parametrize(
    ("n", "lam", "aht", "patience"),
    [(1, 0.01, 60.0, 30.0), (10, 1 / 30, 300.0, 120.0), (50, 0.175, 300.0, 600.0), (80, 0.4, 240.0, 90.0)],
)
def test_erlang_a_abandonment_and_waiting_match_the_birth_death_chain(
    n: int, lam: float, aht: float, patience: float
) -> None:
    m = erlang.erlang_a_metrics(n, lam, aht, patience, 20.0)
    abandon, wait = birth_death(n, lam, aht, patience)
    assert m.abandon_rate == pytest.approx(abandon, rel=1e-8)
    assert m.wait_probability == pytest.approx(wait, rel=1e-8)
    # Flow balance: carried load = offered load x (1 - P(abandon)).
    assert m.occupancy == pytest.approx(lam * aht * (1 - abandon) / n, rel=1e-8)


def test_erlang_a_tends_to_erlang_c_as_patience_grows() -> None:
    c = erlang.erlang_c_metrics(11, 10.0, 300.0, 20.0)
    a = erlang.erlang_a_metrics(11, 10.0 / 300.0, 300.0, 1e9, 20.0)
    assert a.service_level == pytest.approx(c.service_level, rel=1e-5)
    assert a.asa_seconds == pytest.approx(c.asa_seconds, rel=1e-5)
    assert a.abandon_rate < 1e-6


def test_erlang_a_is_stable_past_the_load_because_callers_leave() -> None:
    m = erlang.erlang_a_metrics(20, 30 / 300, 300.0, 60.0, 20.0)  # 30 Erlangs on 20 agents
    assert 0.3 < float(m.abandon_rate) < 0.5
    assert float(m.occupancy) <= 1.0
    # Those who never wait are answered within T; those who abandon never are.
    assert 1 - float(m.wait_probability) < float(m.service_level) < 1 - float(m.abandon_rate)


def grid(n: int = 300, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    starts = pd.date_range("2026-01-05", periods=n, freq="15min")
    return pd.DataFrame(
        {
            "interval_start": starts,
            "channel": "q",
            "offered_p50": rng.uniform(0, 400, n),
            "aht_seconds": rng.uniform(180, 600, n),
        }
    )


@pytest.mark.parametrize(
    "params",
    [
        ChannelParams(model="erlang_c", max_occupancy=0.85),
        ChannelParams(model="erlang_c", max_occupancy=1.0, max_asa_seconds=15.0),
        ChannelParams(model="erlang_a", patience_seconds=120.0, max_abandon_rate=0.03, max_occupancy=0.95),
        ChannelParams(model="erlang_c", concurrency=2.0, answer_within_seconds=60.0),
    ],
)
def test_required_agents_are_the_smallest_that_meet_every_target(params: ChannelParams) -> None:
    frame = grid()
    result = staffing.requirements(frame, {"q": params}, interval_minutes=15)
    agents = result["agents_required"].to_numpy(dtype=float)
    lam = frame["offered_p50"].to_numpy() / 900.0
    aht = frame["aht_seconds"].to_numpy()
    patience = np.full(lam.size, params.patience_seconds) if params.model == "erlang_a" else None

    def meets(n: np.ndarray) -> np.ndarray:
        m = staffing.queue_metrics(
            n * params.concurrency, lam, aht, patience, np.full(lam.size, params.answer_within_seconds)
        )
        return staffing.meets_targets(m, staffing.targets_of(params, lam.size))

    assert meets(agents).all()
    # One agent fewer misses a target (with concurrency, one agent less is `concurrency` fewer slots).
    assert not meets(agents - 1).any()
    assert (result["service_level"] >= params.service_level_target - 1e-12).all()
    assert (result["occupancy"] <= params.max_occupancy + 1e-12).all()


def test_staff_required_guards_the_ceil_of_a_float_ratio() -> None:
    # 21 / 0.7 is 30.000000000000004 in floating point: the staff needed is 30, not 31 (DESIGN.md).
    assert staffing.staff_from_agents(np.array([21.0]), 0.3)[0] == 30
    assert staffing.staff_from_agents(np.array([21.0]), 0.0)[0] == 21
    assert staffing.staff_from_agents(np.array([22.0]), 0.3)[0] == 32


def test_risk_levels_staff_to_the_asked_quantile() -> None:
    frame = grid(96)
    frame["offered_p80"] = frame["offered_p50"] * 1.15
    frame["offered_p95"] = frame["offered_p50"] * 1.3
    by_risk = {r: staffing.requirements(frame, {}, interval_minutes=15, risk=r) for r in staffing.RISKS}
    assert (by_risk["p80"]["offered"] == frame["offered_p80"]).all()
    assert (by_risk["p50"]["agents_required"] <= by_risk["p80"]["agents_required"]).all()
    assert (by_risk["p80"]["agents_required"] <= by_risk["p95"]["agents_required"]).all()
    assert by_risk["p95"]["agents_required"].sum() > by_risk["p50"]["agents_required"].sum()


def test_the_reverse_gives_the_service_of_a_given_staffing() -> None:
    frame = grid(96)
    params = {"q": ChannelParams(model="erlang_a")}
    needed = staffing.requirements(frame, params, interval_minutes=15)
    same = staffing.requirements(frame, params, interval_minutes=15, agents=needed["agents_required"])
    pd.testing.assert_series_equal(same["service_level"], needed["service_level"])
    fewer = staffing.requirements(frame, params, interval_minutes=15, agents=needed["agents_required"] - 2)
    busy = frame["offered_p50"] > 20
    assert (fewer["service_level"][busy] < needed["service_level"][busy]).all()
    assert (fewer["abandon_rate"][busy] > needed["abandon_rate"][busy]).all()


def test_idle_and_closed_intervals_need_nobody() -> None:
    frame = grid(4)
    frame.loc[[1, 2], "offered_p50"] = 0.0
    frame.loc[2, "aht_seconds"] = np.nan  # a closed interval has no handle time
    result = staffing.requirements(frame, {}, interval_minutes=15)
    assert list(result["agents_required"][[1, 2]]) == [0, 0]
    assert result["service_level"][[1, 2]].isna().all()
    assert (result["agents_required"][[0, 3]] > 0).all()


def deferred_frame(days: int = 3, per_interval: float = 10.0) -> tuple[pd.DataFrame, pd.Series]:
    starts = pd.date_range("2026-01-05", periods=96 * days, freq="15min")
    frame = pd.DataFrame({"interval_start": starts, "channel": "email", "offered_p50": per_interval})
    frame["aht_seconds"] = 360.0
    is_open = pd.Series((starts.hour >= 8) & (starts.hour < 17))
    return frame, is_open


def test_deferred_work_is_done_within_its_window_on_open_intervals_only() -> None:
    frame, is_open = deferred_frame()
    params = {"email": ChannelParams(model="deferred", response_window_hours=24.0, max_occupancy=0.9)}
    result = staffing.requirements(frame, params, interval_minutes=15, is_open=is_open)
    assert (result["agents_required"][~is_open] == 0).all()
    assert (result["agents_required"][is_open] > 0).all()
    judged = result["service_level"].dropna()
    assert len(judged) > 96 and (judged == 1.0).all()
    # The capacity covers the work: 40 contacts an hour x 6 min = 4 agent-hours per hour, every hour;
    # 24 h of it over 9 open hours at 90 % is 96 / 8.1 = 11.9 agents, so 12 in a steady day.
    steady = result[(frame["interval_start"].dt.day == 6) & is_open]
    assert steady["agents_required"].between(11, 13).all()
    assert result["asa_seconds"].isna().all()
    # Before the first opening the backlog is every contact so far; it never goes negative.
    assert result["backlog"].iloc[31] == pytest.approx(320.0)
    assert (result["backlog"] >= 0).all()


def test_deferred_work_with_a_window_shorter_than_the_night_is_late() -> None:
    frame, is_open = deferred_frame()
    params = {"email": ChannelParams(model="deferred", response_window_hours=4.0)}
    result = staffing.requirements(frame, params, interval_minutes=15, is_open=is_open)
    night = result["interval_start"].dt.hour.isin([0, 1, 2]) & (result["interval_start"].dt.day == 6)
    assert (result["service_level"][night] < 1).all()
    day = (result["interval_start"].dt.hour.isin([10, 11, 12])) & (result["interval_start"].dt.day == 6)
    assert (result["service_level"][day] == 1).all()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (ChannelParams(service_level_target=1.0, answer_within_seconds=0), "service_level_target"),
        (ChannelParams(max_occupancy=0.0), "max_occupancy"),
        (ChannelParams(shrinkage=1.0), "shrinkage"),
        (ChannelParams(model="erlang_a", patience_seconds=0.0), "patience_seconds"),
        (ChannelParams(max_asa_seconds=0.0), "max_asa_seconds"),
        (ChannelParams(concurrency=0.5), "concurrency"),
        (ChannelParams(model="erlang_b"), "model"),
        (ChannelParams(answer_within_seconds=float("nan")), "answer_within_seconds"),
    ],
)
def test_impossible_parameters_get_a_clear_error(params: ChannelParams, field: str) -> None:
    with pytest.raises(StaffingInputError, match=f"channel q, {field}: "):
        staffing.requirements(grid(4), {"q": params}, interval_minutes=15)


def test_bad_forecast_values_are_named_by_row_and_column() -> None:
    frame = grid(4)
    frame.loc[2, "aht_seconds"] = -5.0
    with pytest.raises(StaffingInputError, match=r"row 4, column aht_seconds: -5.0 is not a number >= 0"):
        staffing.requirements(frame, {}, interval_minutes=15)
    frame = grid(4)
    frame.loc[1, "aht_seconds"] = np.nan
    with pytest.raises(StaffingInputError, match=r"row 3, column aht_seconds: empty where offered_p50 is above 0"):
        staffing.requirements(frame, {}, interval_minutes=15)


def test_extreme_targets_are_met_and_unreachable_ones_stop_with_a_message() -> None:
    # 99.9999 % answered at once is reachable, far out in the tail: found, not looped on.
    params = ChannelParams(service_level_target=0.999999, answer_within_seconds=0.0, max_occupancy=1.0)
    result = staffing.requirements(grid(8), {"q": params}, interval_minutes=15)
    assert (result["service_level"] >= 0.999999).all()
    # A share above 1 is never reached (the public API refuses it before searching; the search stops too).
    lam, aht = np.array([0.2]), np.array([300.0])
    targets = staffing.QueueTargets(*(np.array([v]) for v in (1.5, 20.0, np.nan, np.nan, 1.0)))
    with pytest.raises(StaffingInputError, match="no number of agents up to"):
        staffing.required_slots(lam, aht, targets)


def test_patience_from_history() -> None:
    assert staffing.patience_from_history(abandoned=100, total_wait_seconds=12_000) == 120.0
    assert staffing.patience_from_history(abandoned=5, total_wait_seconds=600) is None
    assert staffing.patience_from_history(abandoned=100, total_wait_seconds=0) is None


def test_channels_file_keys_defaults_and_errors() -> None:
    text = """
[channels.voice]
service_level_target = 0.9
max_abandon_rate = 0.05

[channels.email]
opening_hours = "08:00-17:00"
response_window_hours = 8
"""
    entries = staffing.read_channels_file(text, "c.toml")
    assert entries["voice"].params.model == "erlang_a"  # the kind's default model stays
    assert entries["voice"].params.service_level_target == 0.9
    assert entries["email"].params.model == "deferred"
    assert entries["email"].opening_minutes == (480, 1020)
    for bad, message in [
        ("[channels.voice]\nsl = 1", "c.toml, \\[channels.voice\\]: unknown key 'sl'"),
        ("[channels.voice]\nmax_occupancy = 'x'", "max_occupancy: 'x' is not a number"),
        ("[channels.voice]\nmax_occupancy = 1.5", "max_occupancy: 1.5 must be above 0"),
        ("[channels.email]\nopening_hours = '17:00-08:00'", "opening_hours: '17:00-08:00' is not HH:MM-HH:MM"),
        ("[channel.voice]\n", "unknown table"),
        ("[channels.voice\n", "c.toml: "),
    ]:
        with pytest.raises(StaffingInputError, match=message):
            staffing.read_channels_file(bad, "c.toml")


def test_wfm_staff_file_to_file(tmp_path: Path) -> None:
    # Two days around the spring DST change in Stockholm, with offsets as `wfm forecast` writes them.
    starts = pd.date_range("2026-03-28", periods=96 * 2, freq="15min", tz="Europe/Stockholm")
    rows = []
    for channel, base in [("voice", 40.0), ("email", 12.0)]:
        rows.append(
            pd.DataFrame(
                {
                    "interval_start": [s.isoformat() for s in starts],
                    "channel": channel,
                    "offered_p50": base,
                    "offered_p80": base * 1.2,
                    "offered_p95": base * 1.4,
                    "aht_seconds": 300.0,
                    "model": "snaive",
                }
            )
        )
    forecast = tmp_path / "forecast.csv"
    pd.concat(rows).to_csv(forecast, index=False)
    channels = tmp_path / "channels.toml"
    channels.write_text('[channels.email]\nopening_hours = "08:00-17:00"\n')
    out = tmp_path / "req.csv"
    done = run_wfm(
        "staff", "--forecast", str(forecast), "--out", str(out), "--channels", str(channels), "--risk", "p80", env={}
    )
    assert done.returncode == 0, done.stderr
    result = pd.read_csv(out)
    assert list(result.columns) == list(staffing.REQUIREMENT_COLUMNS)
    assert result["interval_start"].iloc[0] == "2026-03-28T00:00:00+01:00"
    assert result["interval_start"].iloc[96] == "2026-03-29T00:00:00+01:00"
    assert (result["offered"][result["channel"] == "voice"] == 48.0).all()
    email = result[result["channel"] == "email"]
    hours = email["interval_start"].str[11:13].astype(int)
    # Opening hours are read on the file's wall clock, on both sides of the DST change.
    assert (email["agents_required"][(hours < 8) | (hours >= 17)] == 0).all()
    assert (email["agents_required"][(hours >= 8) & (hours < 17)] > 0).all()
    bad = tmp_path / "bad.toml"
    bad.write_text("[channels.voice]\nservice_level_target = 1.0\n")
    refused = run_wfm(
        "staff", "--forecast", str(forecast), "--out", str(tmp_path / "x.csv"), "--channels", str(bad), env={}
    )
    assert refused.returncode == 1
    assert "bad.toml, [channels.voice], service_level_target: 1.0 cannot be met" in refused.stderr
    assert not (tmp_path / "x.csv").exists()
