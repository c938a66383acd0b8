"""The schedule engine (`wfm.scheduling.engine`): its output passes every rule, honours time off and the
previous week, explains what cannot be met, and its lower bound never exceeds what it achieves."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from tests.schedule_instances import ZONE, instance
from wfm.scheduling.engine import Problem, Requirement, solve
from wfm.scheduling.model import Activity, Agent, AvailabilityWindow, BreakRules, Rules, TimeOff
from wfm.scheduling.rules import check_all, shifts_of
from wfm.scheduling.scoring import coverage

MONDAY = dt.date(2026, 3, 2)


def at(day: int, hhmm: str, zone: ZoneInfo = ZONE, monday: dt.date = MONDAY) -> dt.datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return dt.datetime.combine(monday + dt.timedelta(days=day), dt.time(hour, minute), tzinfo=zone)


def flat(channel: str, staff: float, days: range, first: str = "08:00", last: str = "18:00") -> list[Requirement]:
    """``staff`` on ``channel`` every 15 minutes from ``first`` to ``last`` on ``days``."""
    out = []
    for d in days:
        t = at(d, first)
        while t < at(d, last):
            out.append(Requirement(t, t + dt.timedelta(minutes=15), channel, staff))
            t += dt.timedelta(minutes=15)
    return out


def independent_check(problem: Problem, activities: tuple[Activity, ...]) -> list[str]:
    week_start = dt.datetime.combine(problem.monday, dt.time(), tzinfo=problem.zone)
    violations = check_all(
        activities,
        {a.agent_id: a for a in problem.agents},
        problem.rules,
        problem.zone,
        week_start,
        problem.time_off,
        problem.windows,
        problem.previous,
    )
    return [f"{v.rule} {v.agent_id} {v.minutes:g}: {v.detail}" for v in violations]


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_the_output_passes_every_rule_on_seeded_instances(seed: int) -> None:
    problem = instance(30, channels=3, seed=seed, slack=0.1)
    result = solve(problem, time_limit_seconds=2, seed=seed)
    assert independent_check(problem, result.activities) == []
    assert result.violations == () and result.conflicts == ()
    # The schedule really covers: within 5% of the required agent-hours of the lower bound (the goal).
    assert result.bound_under_hours is not None and result.bound_under_hours <= result.under_hours + 1e-6
    assert result.under_hours <= result.bound_under_hours + 0.05 * result.required_hours
    # Coverage recomputed from the rows agrees with the engine's figure.
    agents = {a.agent_id: a for a in problem.agents}
    recount = coverage(result.activities, agents, result.grid.week_start, result.grid.slots, 15)
    for c, name in enumerate(result.channels):
        assert np.allclose(recount.get(name, np.zeros(result.grid.slots)), result.scheduled[c])
    assert set(result.unpopular) == {a.agent_id for a in problem.agents}


def test_a_dst_week_is_scheduled_in_elapsed_time() -> None:
    """Sunday 29 March 2026 in Stockholm has 23 hours: the grid has 4 slots fewer and the rules still hold."""
    problem = instance(12, channels=2, seed=7, monday=dt.date(2026, 3, 23))
    result = solve(problem, time_limit_seconds=1.5)
    assert result.grid.slots == 7 * 96 - 4
    assert independent_check(problem, result.activities) == []


def test_time_off_and_unavailability_are_never_worked() -> None:
    agents = tuple(Agent(f"a{n}", ("voice",), 30, 40, 25.0) for n in range(4))
    vacation = TimeOff("a0", at(2, "00:00"), at(5, "00:00"))  # Wednesday to Friday
    evenings = AvailabilityWindow("a1", 1, 12 * 60, 24 * 60, "unavailable")  # Monday afternoons
    problem = Problem(
        MONDAY,
        ZONE,
        agents,
        tuple(flat("voice", 3, range(7))),
        Rules(earliest_start_minute=6 * 60, latest_end_minute=22 * 60),
        time_off=(vacation,),
        windows=(evenings,),
    )
    result = solve(problem, time_limit_seconds=1.5)
    assert independent_check(problem, result.activities) == []
    a0 = [a for a in result.activities if a.agent_id == "a0"]
    assert a0 and all(a.end <= vacation.start or a.start >= vacation.end for a in a0)
    a1_monday = [a for a in result.activities if a.agent_id == "a1" and a.start.astimezone(ZONE).weekday() == 0]
    assert all(a.end <= at(0, "12:00") for a in a1_monday)
    # Three days off count towards a0's minimum at 8 h a day: 30 h - 24 h leaves 6 h to work at least.
    a0_paid = sum(a.minutes for a in a0 if a.activity != "lunch") / 60
    assert 6 <= a0_paid <= 40


def test_the_previous_week_keeps_rest_across_the_boundary() -> None:
    """A shift ending at 23:00 on Sunday leaves 11 h: Monday's shift starts at 10:00 at the earliest."""
    agent = Agent("a0", ("voice",), 40, 40, 25.0)  # 40 h take five days (at most 9.5 paid h a day)
    sunday = MONDAY - dt.timedelta(days=1)
    late = dt.datetime.combine(sunday, dt.time(15), tzinfo=ZONE)
    previous = (
        Activity("a0", late, late + dt.timedelta(hours=2), "work", "voice"),
        Activity("a0", late + dt.timedelta(hours=2), late + dt.timedelta(hours=2, minutes=15), "break"),
        Activity("a0", late + dt.timedelta(hours=2, minutes=15), late + dt.timedelta(hours=4), "work", "voice"),
        Activity("a0", late + dt.timedelta(hours=4), late + dt.timedelta(hours=4, minutes=15), "break"),
        Activity("a0", late + dt.timedelta(hours=4, minutes=15), late + dt.timedelta(hours=6), "work", "voice"),
        Activity("a0", late + dt.timedelta(hours=6), late + dt.timedelta(hours=6, minutes=15), "break"),
        Activity("a0", late + dt.timedelta(hours=6, minutes=15), late + dt.timedelta(hours=8), "work", "voice"),
    )
    assert previous[-1].end == dt.datetime.combine(sunday, dt.time(23), tzinfo=ZONE)
    # Monday needs someone from 06:00: the engine must still wait until 10:00.
    problem = Problem(
        MONDAY,
        ZONE,
        (agent,),
        tuple(flat("voice", 1, range(5), "06:00", "14:00")),
        Rules(earliest_start_minute=6 * 60),
        previous=previous,
    )
    result = solve(problem, time_limit_seconds=1)
    assert independent_check(problem, result.activities) == []
    monday = [s for s in shifts_of(result.activities)["a0"] if s.start.astimezone(ZONE).date() == MONDAY]
    assert monday and monday[0].start >= at(0, "10:00")


def test_conflicting_rules_are_named_and_a_partial_schedule_returned() -> None:
    """a0 needs 40 h in at most 3 days of at most 9.5 paid hours; a1 is unavailable all week but Monday."""
    agents = (
        Agent("a0", ("voice",), 40, 40, 25.0, max_days_week=3),
        Agent("a1", ("voice",), 30, 40, 25.0),
        Agent("a2", ("voice",), 30, 40, 25.0),
    )
    away = tuple(AvailabilityWindow("a1", day, 0, 24 * 60, "unavailable") for day in range(2, 8))
    problem = Problem(MONDAY, ZONE, agents, tuple(flat("voice", 2, range(7))), Rules(), windows=away)
    result = solve(problem, time_limit_seconds=1.5)
    conflicts = {c.agent_id: c for c in result.conflicts}
    assert set(conflicts) == {"a0", "a1"}
    assert conflicts["a0"].rule == "min_hours_week" and "max_days_week" in conflicts["a0"].conflicts_with
    assert "unavailable" in conflicts["a1"].conflicts_with
    # 3 days x 9.5 paid hours = 28.5 h: a0 is 11.5 h short; the detail says what it needs and has.
    assert conflicts["a0"].minutes == pytest.approx(11.5 * 60)
    assert "40 h" in conflicts["a0"].detail
    assert result.status == "conflicts"
    # Still a schedule: everyone works, and nothing but the minimum hours is broken.
    assert {a.agent_id for a in result.activities} == {"a0", "a1", "a2"}
    broken = independent_check(problem, result.activities)
    assert broken and all(line.startswith("min_hours_week") for line in broken)


def test_weekends_and_evenings_are_spread_using_history() -> None:
    """Identical agents; one already worked many unpopular shifts in the last weeks and gets none now."""
    agents = tuple(Agent(f"a{n}", ("voice",), 16, 40, 25.0) for n in range(4))
    requirements = [*flat("voice", 2, range(5)), *flat("voice", 1, range(5, 7), "10:00", "16:00")]
    problem = Problem(
        MONDAY,
        ZONE,
        agents,
        tuple(requirements),
        Rules(),
        unpopular_history={"a0": 8, "a1": 0, "a2": 0, "a3": 0},
    )
    result = solve(problem, time_limit_seconds=2)
    assert independent_check(problem, result.activities) == []
    assert result.unpopular["a0"] == 0
    assert sum(result.unpopular.values()) >= 2  # both weekend days are worked by someone


def test_avoid_windows_are_respected_when_it_costs_nothing() -> None:
    """07:00-17:00 needs one agent: a morning and an afternoon shift of 5 h (no break needed under these
    rules) cover it exactly, and a0, who avoids mornings, gets the afternoons."""
    agents = (Agent("a0", ("voice",), 20, 40, 25.0), Agent("a1", ("voice",), 20, 40, 25.0))
    avoid = tuple(AvailabilityWindow("a0", day, 0, 12 * 60, "avoid") for day in range(1, 8))
    rules = Rules(breaks=BreakRules(max_continuous_work_hours=5))
    problem = Problem(MONDAY, ZONE, agents, tuple(flat("voice", 1, range(5), "07:00", "17:00")), rules, windows=avoid)
    result = solve(problem, time_limit_seconds=1.5)
    assert independent_check(problem, result.activities) == []
    assert result.under_hours == 0
    mornings = [a for a in result.activities if a.agent_id == "a0" and a.start.astimezone(ZONE).hour < 12]
    assert mornings == []
    assert {c.rule for c in result.soft_costs} == {"preferences", "fairness"}


def test_multi_skilled_agents_cover_the_channel_that_needs_them() -> None:
    """Chat needs 2 and only the two multi-skilled agents can take it; voice has voice-only agents."""
    agents = (
        Agent("v0", ("voice",), 30, 40, 25.0),
        Agent("v1", ("voice",), 30, 40, 25.0),
        Agent("m0", ("voice", "chat"), 30, 40, 25.0),
        Agent("m1", ("voice", "chat"), 30, 40, 25.0),
    )
    requirements = [*flat("voice", 1, range(5), "09:00", "17:00"), *flat("chat", 1, range(5), "09:00", "17:00")]
    problem = Problem(MONDAY, ZONE, agents, tuple(requirements), Rules())
    result = solve(problem, time_limit_seconds=2)
    assert independent_check(problem, result.activities) == []
    chat = [a for a in result.activities if a.channel == "chat"]
    assert chat and {a.agent_id for a in chat} <= {"m0", "m1"}
    chat_row = result.channels.index("chat")
    assert result.scheduled[chat_row].sum() > 0.8 * result.required[chat_row].sum()


def test_an_empty_team_or_requirement_is_not_an_error() -> None:
    empty = solve(Problem(MONDAY, ZONE, (), tuple(flat("voice", 1, range(1)))), time_limit_seconds=0.5)
    assert empty.activities == () and empty.under_hours == pytest.approx(10 * 1.0)
    assert empty.shortfalls and empty.shortfalls[0].channel == "voice"
    nothing = solve(Problem(MONDAY, ZONE, (Agent("a0", ("voice",), 0, 40, 25.0),), ()), time_limit_seconds=0.5)
    assert nothing.activities == () and nothing.required_hours == 0


def test_bad_problems_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="Monday"):
        solve(Problem(dt.date(2026, 3, 3), ZONE, (), ()), time_limit_seconds=0.5)
    twice = (Agent("a0", ("voice",), 0, 40, 25.0), Agent("a0", ("voice",), 0, 40, 25.0))
    with pytest.raises(ValueError, match="twice"):
        solve(Problem(MONDAY, ZONE, twice, ()), time_limit_seconds=0.5)
    upside_down = (Agent("a0", ("voice",), 41, 40, 25.0),)
    with pytest.raises(ValueError, match="min_hours_week"):
        solve(Problem(MONDAY, ZONE, upside_down, ()), time_limit_seconds=0.5)
    with pytest.raises(ValueError, match="no shift length"):
        solve(
            dataclasses.replace(instance(2, 1), rules=Rules(min_shift_hours=9, max_shift_hours=8)),
            time_limit_seconds=0.5,
        )
