"""Schedule rules (`wfm.scheduling.rules`): one test per rule, each with a small schedule and the minutes expected.

The week is Monday 23 March 2026 in Stockholm, whose clocks go forward on Sunday 29 March, so rest is
measured in elapsed time across a DST change.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from wfm.scheduling import rules as r
from wfm.scheduling import scoring, shifts
from wfm.scheduling.model import Activity, Agent, AvailabilityWindow, Rules, TimeOff, Violation

ZONE = ZoneInfo("Europe/Stockholm")
MONDAY = dt.date(2026, 3, 23)
WEEK_START = dt.datetime.combine(MONDAY, dt.time(), tzinfo=ZONE)
RULES = Rules()
ANNA = Agent("a1", ("voice", "chat"), min_hours_week=32, max_hours_week=40, hourly_cost=300.0)


def at(day: int, hhmm: str) -> dt.datetime:
    """Local wall-clock time on the week's day ``day`` (0 = Monday)."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    return dt.datetime.combine(MONDAY + dt.timedelta(days=day), dt.time(hour, minute), tzinfo=ZONE)


def block(day: int, *parts: tuple[str, str, str], agent: str = "a1", channel: str | None = None) -> list[Activity]:
    """Activities of one day from (start, end, activity) triples."""
    return [Activity(agent, at(day, start), at(day, end), kind, channel) for start, end, kind in parts]


def standard_shift(day: int, agent: str = "a1") -> list[Activity]:
    """08:00-16:30: 8 paid hours, two 15-minute breaks and a 30-minute lunch, within every default rule."""
    return block(
        day,
        ("08:00", "10:00", "work"),
        ("10:00", "10:15", "break"),
        ("10:15", "12:00", "work"),
        ("12:00", "12:30", "lunch"),
        ("12:30", "14:30", "work"),
        ("14:30", "14:45", "break"),
        ("14:45", "16:30", "work"),
        agent=agent,
    )


def week(days: range = range(5)) -> list[Activity]:
    return [a for d in days for a in standard_shift(d)]


def only(violations: list[Violation], rule: str) -> list[float]:
    return [round(v.minutes, 6) for v in violations if v.rule == rule]


def check(activities: list[Activity], **kwargs: object) -> list[Violation]:
    agents = kwargs.pop("agents", {"a1": ANNA})
    return r.check_all(activities, agents, RULES, ZONE, WEEK_START, **kwargs)  # type: ignore[arg-type]


def test_a_standard_week_passes_every_rule() -> None:
    assert check(week()) == []
    shifts = r.shifts_of(week())
    assert len(shifts["a1"]) == 5 and shifts["a1"][0].paid_minutes == 480 and shifts["a1"][0].length_minutes == 510


def test_shift_length() -> None:
    short = block(0, ("08:00", "11:00", "work"))
    long = block(1, ("06:00", "08:30", "work"), ("08:30", "08:45", "break"), ("08:45", "11:00", "work"))
    long += block(1, ("11:00", "11:30", "lunch"), ("11:30", "13:45", "work"), ("13:45", "14:00", "break"))
    long += block(1, ("14:00", "16:30", "work"), ("16:30", "16:45", "break"), ("16:45", "17:00", "work"))
    found = r.shift_length(r.shifts_of(short + long), RULES)
    assert [round(v.minutes) for v in found] == [60, 60]  # 3 h is 1 h short of 4; 11 h is 1 h over 10


def test_shift_window_grid() -> None:
    off = block(0, ("08:05", "12:05", "work"))
    assert only(r.shift_window(r.shifts_of(off), RULES, ZONE), "shift_window") == [5]
    late = Rules(latest_end_minute=20 * 60)
    evening = block(0, ("17:00", "21:00", "work"))
    assert only(r.shift_window(r.shifts_of(evening), late, ZONE), "shift_window") == [60]


def test_one_shift_per_day() -> None:
    split = block(0, ("06:00", "10:00", "work")) + block(0, ("18:00", "22:00", "work"))
    assert only(r.one_shift_per_day(r.shifts_of(split), ZONE), "one_shift_per_day") == [240]


def test_rest_between_shifts_and_across_the_week_boundary() -> None:
    late_then_early = block(0, ("14:00", "22:00", "work")) + block(1, ("07:00", "11:00", "work"))
    assert only(r.rest_between_shifts(r.shifts_of(late_then_early), RULES), "rest_between_shifts") == [120]
    # Last week's Sunday shift ended at 23:00: Monday 08:00 leaves 9 h, 2 h short.
    sunday = [Activity("a1", at(-1, "15:00"), at(-1, "23:00"), "work")]
    found = r.rest_between_shifts(r.shifts_of(standard_shift(0)), RULES, r.shifts_of(sunday))
    assert only(found, "rest_between_shifts") == [120]


def test_weekly_rest_in_elapsed_time() -> None:
    every_day = week(range(7))
    # The longest rest is a night of 15.5 h (16:30 to 08:00); the spring-forward night is an hour shorter.
    assert only(r.weekly_rest(r.shifts_of(every_day), RULES, WEEK_START), "weekly_rest") == [(36 - 15.5) * 60]
    # Monday to Friday leaves Friday 16:30 to the end of Sunday: 55.5 h of clock, 54.5 h elapsed.
    assert r.weekly_rest(r.shifts_of(week()), RULES, WEEK_START) == []


def test_weekly_hours_with_time_off_credit() -> None:
    agents = {"a1": Agent("a1", ("voice",), min_hours_week=40, max_hours_week=38, hourly_cost=1.0)}
    found = r.weekly_hours(r.shifts_of(week()), agents, [], WEEK_START, ZONE)
    assert only(found, "max_hours_week") == [120]
    full_time = {"a1": Agent("a1", ("voice",), min_hours_week=40, max_hours_week=40, hourly_cost=1.0)}
    four_days = week(range(4))
    assert only(r.weekly_hours(r.shifts_of(four_days), full_time, [], WEEK_START, ZONE), "min_hours_week") == [480]
    # A day of approved vacation counts at the contract's daily hours (40 / 5 = 8 h): nothing missing.
    friday_off = [TimeOff("a1", at(4, "00:00"), at(5, "00:00"))]
    assert r.weekly_hours(r.shifts_of(four_days), full_time, friday_off, WEEK_START, ZONE) == []
    # ... and never towards the maximum: 5 shifts of 8 h plus the vacation credit are not over 40.
    assert r.weekly_hours(r.shifts_of(week()), full_time, friday_off, WEEK_START, ZONE) == []


def test_max_days() -> None:
    six = week(range(6))
    assert only(r.max_days(r.shifts_of(six), {"a1": ANNA}, ZONE), "max_days_week") == [480]


def test_time_off_is_hard() -> None:
    tuesday_off = [TimeOff("a1", at(1, "00:00"), at(2, "00:00"), "vacation")]
    found = r.time_off_respected(week(), tuesday_off)
    assert sum(v.minutes for v in found) == 510


def test_unavailability_is_hard() -> None:
    wednesday_evening = [
        AvailabilityWindow("a1", weekday=3, start_minute=15 * 60, end_minute=24 * 60, kind="unavailable")
    ]
    found = r.availability_respected(week(), wednesday_evening, ZONE)
    assert sum(v.minutes for v in found) == 90  # 15:00-16:30 of Wednesday's shift
    preferred = [AvailabilityWindow("a1", 3, 15 * 60, 24 * 60, "avoid")]
    assert r.availability_respected(week(), preferred, ZONE) == []  # soft: scored, not a violation


def test_skills() -> None:
    email = block(0, ("08:00", "10:00", "work"), channel="email")
    assert only(r.skills_respected(email, {"a1": ANNA}), "skills") == [120]
    assert r.skills_respected(block(0, ("08:00", "10:00", "work"), channel="chat"), {"a1": ANNA}) == []
    assert only(r.skills_respected(email, {}), "skills") == [120]


def test_breaks_and_lunch() -> None:
    no_breaks = block(0, ("08:00", "12:00", "work"))
    assert only(r.breaks_and_lunch(r.shifts_of(no_breaks), RULES), "breaks") == [90]  # 4 h in a row, 2.5 allowed
    long_break = block(0, ("08:00", "10:00", "work"), ("10:00", "10:20", "break"), ("10:20", "12:00", "work"))
    assert only(r.breaks_and_lunch(r.shifts_of(long_break), RULES), "breaks") == [5]
    no_lunch = block(
        0,
        ("08:00", "10:00", "work"),
        ("10:00", "10:15", "break"),
        ("10:15", "12:15", "work"),
        ("12:15", "12:30", "break"),
        ("12:30", "14:30", "work"),
    )
    assert only(r.breaks_and_lunch(r.shifts_of(no_lunch), RULES), "lunch") == [30]
    early_long_lunch = block(
        0,
        ("08:00", "09:00", "work"),
        ("09:00", "10:30", "lunch"),
        ("10:30", "12:30", "work"),
        ("12:30", "12:45", "break"),
        ("12:45", "14:30", "work"),
    )
    # 90 minutes is 30 over the hour allowed, and it starts 1.5 h before its window opens (2.5 h in).
    assert sorted(only(r.breaks_and_lunch(r.shifts_of(early_long_lunch), RULES), "lunch")) == [30, 90]


def test_malformed_and_overlapping_activities() -> None:
    clash = block(0, ("08:00", "10:00", "work"), ("09:30", "10:30", "break"), ("11:00", "11:00", "work"))
    found = r.malformed_activities(clash)
    assert only(found, "overlap") == [30] and only(found, "activity") == [0]
    assert only(r.malformed_activities(block(0, ("08:00", "09:00", "nap"))), "activity") == [60]


@pytest.mark.parametrize("rule", ["shift_length", "rest_between_shifts", "weekly_rest", "time_off", "lunch"])
def test_check_all_reports_each_rule(rule: str) -> None:
    cases = {
        "shift_length": block(0, ("08:00", "10:00", "work")) + week(range(1, 5)),
        "rest_between_shifts": week(range(4)) + block(4, ("02:00", "06:00", "work")),
        "weekly_rest": week(range(7)),
        "time_off": week(),
        "lunch": week(range(4))
        + block(4, ("08:00", "10:00", "work"), ("10:00", "10:15", "break"), ("10:15", "12:15", "work"))
        + block(4, ("12:15", "12:30", "break"), ("12:30", "14:45", "work"), ("14:45", "15:00", "break"))
        + block(4, ("15:00", "16:00", "work")),
    }
    time_off = [TimeOff("a1", at(2, "12:00"), at(2, "13:00"))] if rule == "time_off" else []
    assert rule in {v.rule for v in check(cases[rule], time_off=time_off)}


@pytest.mark.parametrize("length_hours", [4.0, 5.0, 6.0, 7.5, 8.5, 10.0])
@pytest.mark.parametrize("start", ["06:00", "09:15", "14:00"])
def test_generated_breaks_pass_the_break_and_lunch_rules(length_hours: float, start: str) -> None:
    activities = shifts.with_breaks("a1", at(0, start), int(length_hours * 60), RULES)
    assert activities[0].start == at(0, start) and activities[-1].end == at(0, start) + dt.timedelta(hours=length_hours)
    assert r.malformed_activities(activities) == []
    found = r.breaks_and_lunch(r.shifts_of(activities), RULES)
    assert found == [], found
    kinds = [a.activity for a in activities]
    assert kinds.count("lunch") == (1 if length_hours >= 6 else 0)


def test_breaks_go_where_staff_is_to_spare() -> None:
    # A surplus of staff from 12:30 to 13:30: an 8.5-hour shift from 08:00 takes its lunch there.
    def surplus(moment: dt.datetime) -> float:
        return 5.0 if at(0, "12:30") <= moment < at(0, "13:30") else 0.0

    activities = shifts.with_breaks("a1", at(0, "08:00"), 510, RULES, surplus)
    lunch = next(a for a in activities if a.activity == "lunch")
    assert at(0, "12:30") <= lunch.start and lunch.end <= at(0, "13:30")


def test_templates_follow_the_rules() -> None:
    rules = Rules(min_shift_hours=4, max_shift_hours=10, earliest_start_minute=6 * 60, latest_end_minute=22 * 60)
    found = shifts.templates(rules, start_step_minutes=30, length_step_minutes=60)
    assert {t.length_minutes for t in found} == {240, 300, 360, 420, 480, 540, 600}
    assert min(t.start_minute for t in found) == 360
    assert all(t.start_minute + t.length_minutes <= 22 * 60 and t.start_minute % 30 == 0 for t in found)
    assert shifts.ShiftTemplate(480, 510).paid_minutes(rules) == 480
    assert shifts.ShiftTemplate(480, 300).paid_minutes(rules) == 300
    with pytest.raises(ValueError, match="multiples"):
        shifts.templates(rules, start_step_minutes=20)


def test_coverage_counts_multi_skill_work_in_shares() -> None:
    bea = Agent("b1", ("voice",), 0, 40, 200.0)
    agents = {"a1": ANNA, "b1": bea}
    rows = [
        Activity("a1", at(0, "08:00"), at(0, "09:00"), "work"),  # voice and chat: half each
        Activity("b1", at(0, "08:00"), at(0, "08:30"), "work", "voice"),
        Activity("b1", at(0, "08:30"), at(0, "08:45"), "break"),
        Activity("b1", at(0, "08:45"), at(0, "08:55"), "work", "voice"),  # 10 of 15 minutes
    ]
    found = scoring.coverage(rows, agents, at(0, "08:00"), 4, 15)
    assert list(found["chat"]) == [0.5, 0.5, 0.5, 0.5]
    assert [round(v, 6) for v in found["voice"]] == [1.5, 1.5, 0.5, round(0.5 + 10 / 15, 6)]
    cost = scoring.paid_cost(rows, agents)
    assert cost.paid_hours == pytest.approx(1 + 0.5 + 0.25 + 10 / 60)
    assert cost.labour_cost == pytest.approx(300.0 + 200.0 * (0.5 + 0.25 + 10 / 60))


def test_gini_and_unpopular_shifts() -> None:
    assert scoring.gini([2, 2, 2, 2]) == 0.0
    assert scoring.gini([0, 0, 0, 1]) == pytest.approx(0.75)  # one of four has all: 1 - 1/4
    assert scoring.gini([]) == 0.0 and scoring.gini([0, 0]) == 0.0
    evening = block(2, ("13:00", "15:00", "work"), ("15:00", "15:15", "break"), ("15:15", "17:30", "work"))
    evening += block(2, ("17:30", "18:00", "lunch"), ("18:00", "19:00", "work"))
    saturday = block(5, ("09:00", "11:00", "work"))
    counts = scoring.unpopular_shifts([*week(range(2)), *evening, *saturday], ["a1", "b1"], ZONE)
    assert counts == {"a1": 2, "b1": 0}
