"""Schedule rules as pure functions: one per rule, each returning its violations in minutes.

Each function checks any schedule, generated or edited by hand, and never assumes the engine made it.
`check_all` runs them all. Conventions: see `wfm.scheduling.model`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from zoneinfo import ZoneInfo

from wfm.scheduling.model import (
    ACTIVITIES,
    Activity,
    Agent,
    AvailabilityWindow,
    Rules,
    Shift,
    TimeOff,
    Violation,
)

DAY = dt.timedelta(days=1)


def _elapsed(start: dt.datetime, end: dt.datetime) -> float:
    """Minutes from ``start`` to ``end`` in elapsed time (Python subtracts same-zone datetimes on the wall clock)."""
    return (end.astimezone(dt.UTC) - start.astimezone(dt.UTC)).total_seconds() / 60.0


def _overlap(a_start: dt.datetime, a_end: dt.datetime, b_start: dt.datetime, b_end: dt.datetime) -> float:
    return max(0.0, _elapsed(max(a_start, b_start), min(a_end, b_end)))


def shifts_of(activities: Iterable[Activity]) -> dict[str, list[Shift]]:
    """Each agent's shifts: activities in time order, joined while each starts where the previous ended."""
    by_agent: dict[str, list[Activity]] = defaultdict(list)
    for a in activities:
        by_agent[a.agent_id].append(a)
    out: dict[str, list[Shift]] = {}
    for agent_id, rows in by_agent.items():
        rows.sort(key=lambda a: (a.start, a.end))
        shifts: list[list[Activity]] = []
        for a in rows:
            if shifts and a.start <= shifts[-1][-1].end:
                shifts[-1].append(a)
            else:
                shifts.append([a])
        out[agent_id] = [Shift(agent_id, tuple(s)) for s in shifts]
    return out


def malformed_activities(activities: Iterable[Activity]) -> list[Violation]:
    """Unknown activity kinds, empty or reversed intervals, and activities of one agent that overlap."""
    out = []
    by_agent: dict[str, list[Activity]] = defaultdict(list)
    for a in activities:
        if a.activity not in ACTIVITIES:
            out.append(Violation("activity", a.agent_id, a.minutes, f"unknown activity {a.activity!r}", a.start))
        if a.end <= a.start:
            out.append(Violation("activity", a.agent_id, abs(a.minutes), "ends before it starts", a.start))
        by_agent[a.agent_id].append(a)
    for agent_id, rows in by_agent.items():
        rows.sort(key=lambda a: a.start)
        for before, after in pairwise(rows):
            if after.start < before.end:
                minutes = _overlap(before.start, before.end, after.start, after.end)
                out.append(Violation("overlap", agent_id, minutes, "two activities at the same time", after.start))
    return out


def shift_length(shifts: Mapping[str, list[Shift]], rules: Rules) -> list[Violation]:
    """Shifts shorter than ``min_shift_hours`` or longer than ``max_shift_hours`` (start to end, lunch included)."""
    out = []
    low, high = rules.min_shift_hours * 60, rules.max_shift_hours * 60
    for agent_id, rows in shifts.items():
        for s in rows:
            if s.length_minutes < low:
                out.append(
                    Violation(
                        "shift_length",
                        agent_id,
                        low - s.length_minutes,
                        f"shift under {rules.min_shift_hours:g} h",
                        s.start,
                    )
                )
            elif s.length_minutes > high:
                out.append(
                    Violation(
                        "shift_length",
                        agent_id,
                        s.length_minutes - high,
                        f"shift over {rules.max_shift_hours:g} h",
                        s.start,
                    )
                )
    return out


def shift_window(shifts: Mapping[str, list[Shift]], rules: Rules, zone: ZoneInfo) -> list[Violation]:
    """Starts off the ``step_minutes`` grid, before the earliest start or ending after the latest end (wall clock)."""
    out = []
    for agent_id, rows in shifts.items():
        for s in rows:
            local = s.start.astimezone(zone)
            minute = local.hour * 60 + local.minute
            off_grid = minute % rules.step_minutes + local.second / 60
            if off_grid:
                out.append(
                    Violation(
                        "shift_window", agent_id, off_grid, f"start off the {rules.step_minutes}-minute grid", s.start
                    )
                )
            if minute < rules.earliest_start_minute:
                out.append(
                    Violation(
                        "shift_window", agent_id, rules.earliest_start_minute - minute, "starts too early", s.start
                    )
                )
            local_midnight = dt.datetime.combine(local.date(), dt.time(), tzinfo=zone)
            latest = local_midnight + dt.timedelta(minutes=rules.latest_end_minute)
            if s.end.astimezone(zone) > latest:
                out.append(Violation("shift_window", agent_id, _elapsed(latest, s.end), "ends too late", s.start))
    return out


def one_shift_per_day(shifts: Mapping[str, list[Shift]], zone: ZoneInfo) -> list[Violation]:
    """A second (or further) shift starting on the same local calendar day; minutes = that shift's length."""
    out = []
    for agent_id, rows in shifts.items():
        seen: set[dt.date] = set()
        for s in rows:
            day = s.start.astimezone(zone).date()
            if day in seen:
                out.append(
                    Violation("one_shift_per_day", agent_id, s.length_minutes, f"a second shift on {day}", s.start)
                )
            seen.add(day)
    return out


def rest_between_shifts(
    shifts: Mapping[str, list[Shift]], rules: Rules, previous: Mapping[str, list[Shift]] | None = None
) -> list[Violation]:
    """Less than ``min_rest_between_shifts_hours`` between one shift's end and the next one's start.

    ``previous`` holds the shifts of the week before, so the rule holds across the week boundary.
    """
    out = []
    need = rules.min_rest_between_shifts_hours * 60
    for agent_id, rows in shifts.items():
        before = (previous or {}).get(agent_id, [])
        ordered = sorted([*before[-1:], *rows], key=lambda s: s.start)
        for a, b in pairwise(ordered):
            rest = _elapsed(a.end, b.start)
            if rest < need:
                out.append(
                    Violation(
                        "rest_between_shifts",
                        agent_id,
                        need - rest,
                        f"{rest / 60:.1f} h rest before this shift, {rules.min_rest_between_shifts_hours:g} h needed",
                        b.start,
                    )
                )
    return out


def weekly_rest(
    shifts: Mapping[str, list[Shift]],
    rules: Rules,
    week_start: dt.datetime,
    previous: Mapping[str, list[Shift]] | None = None,
    agents: Iterable[str] = (),
) -> list[Violation]:
    """No continuous rest of ``min_weekly_rest_hours`` inside the week ``[week_start, week_start + 7 days)``.

    A shift of the week before that runs into this week shortens the first rest.
    """
    out = []
    need = rules.min_weekly_rest_hours * 60
    week_end = week_start + 7 * DAY
    for agent_id in set(shifts) | set(agents):
        busy = sorted(
            [(s.start, s.end) for s in [*(previous or {}).get(agent_id, []), *shifts.get(agent_id, [])]],
        )
        longest, free_from = 0.0, week_start
        for start, end in busy:
            if end <= week_start or start >= week_end:
                continue
            longest = max(longest, _elapsed(free_from, max(start, week_start)))
            free_from = max(free_from, min(end, week_end))
        longest = max(longest, _elapsed(free_from, week_end))
        if longest < need:
            out.append(
                Violation(
                    "weekly_rest",
                    agent_id,
                    need - longest,
                    f"longest rest of the week {longest / 60:.1f} h, {rules.min_weekly_rest_hours:g} h needed",
                    week_start,
                )
            )
    return out


def time_off_credit_minutes(
    agent: Agent, time_off: Iterable[TimeOff], week_start: dt.datetime, zone: ZoneInfo
) -> float:
    """Approved time off in the week, counted per local day up to the contract's daily hours."""
    credit = 0.0
    days = [
        dt.datetime.combine((week_start.astimezone(zone) + i * DAY).date(), dt.time(), tzinfo=zone) for i in range(7)
    ]
    for day in days:
        off = sum(_overlap(t.start, t.end, day, day + DAY) for t in time_off if t.agent_id == agent.agent_id)
        credit += min(off, agent.daily_hours * 60)
    return credit


def weekly_hours(
    shifts: Mapping[str, list[Shift]],
    agents: Mapping[str, Agent],
    time_off: Sequence[TimeOff],
    week_start: dt.datetime,
    zone: ZoneInfo,
) -> list[Violation]:
    """Paid hours above ``max_hours_week``, or paid hours plus time-off credit below ``min_hours_week``."""
    out = []
    for agent_id, agent in agents.items():
        paid = sum(s.paid_minutes for s in shifts.get(agent_id, []))
        if paid > agent.max_hours_week * 60 + 1e-9:
            out.append(
                Violation(
                    "max_hours_week",
                    agent_id,
                    paid - agent.max_hours_week * 60,
                    f"{paid / 60:.2f} paid hours, at most {agent.max_hours_week:g}",
                    week_start,
                )
            )
        credit = time_off_credit_minutes(agent, time_off, week_start, zone)
        counted = paid + credit
        if counted < agent.min_hours_week * 60 - 1e-9:
            out.append(
                Violation(
                    "min_hours_week",
                    agent_id,
                    agent.min_hours_week * 60 - counted,
                    f"{paid / 60:.2f} paid h + {credit / 60:.2f} h time off, at least {agent.min_hours_week:g}",
                    week_start,
                )
            )
    return out


def max_days(shifts: Mapping[str, list[Shift]], agents: Mapping[str, Agent], zone: ZoneInfo) -> list[Violation]:
    """More working days than ``max_days_week``; minutes = paid minutes of the shortest extra shifts."""
    out = []
    for agent_id, rows in shifts.items():
        agent = agents.get(agent_id)
        if agent is None or len(rows) <= agent.max_days_week:
            continue
        days = {s.start.astimezone(zone).date() for s in rows}
        if len(days) <= agent.max_days_week:
            continue
        extra = sorted(s.paid_minutes for s in rows)[: len(days) - agent.max_days_week]
        out.append(
            Violation(
                "max_days_week",
                agent_id,
                sum(extra),
                f"{len(days)} working days, at most {agent.max_days_week}",
                rows[0].start,
            )
        )
    return out


def time_off_respected(activities: Iterable[Activity], time_off: Sequence[TimeOff]) -> list[Violation]:
    """Any activity overlapping approved time off."""
    by_agent: dict[str, list[TimeOff]] = defaultdict(list)
    for t in time_off:
        by_agent[t.agent_id].append(t)
    out = []
    for a in activities:
        for t in by_agent.get(a.agent_id, []):
            minutes = _overlap(a.start, a.end, t.start, t.end)
            if minutes > 0:
                out.append(
                    Violation("time_off", a.agent_id, minutes, f"{a.activity} during approved {t.kind}", a.start)
                )
    return out


def _window_overlap(a: Activity, w: AvailabilityWindow, zone: ZoneInfo) -> float:
    """Minutes of an activity inside a weekly wall-clock window (checked on each local day it touches)."""
    minutes = 0.0
    first = a.start.astimezone(zone).date() - DAY
    last = a.end.astimezone(zone).date()
    day = first
    while day <= last:
        if day.isoweekday() == w.weekday:
            midnight = dt.datetime.combine(day, dt.time(), tzinfo=zone)
            start = midnight + dt.timedelta(minutes=w.start_minute)
            end = midnight + dt.timedelta(minutes=w.end_minute)
            minutes += _overlap(a.start, a.end, start, end)
        day += DAY
    return minutes


def availability_respected(
    activities: Iterable[Activity], windows: Sequence[AvailabilityWindow], zone: ZoneInfo
) -> list[Violation]:
    """Any activity inside a declared ``unavailable`` window (hard)."""
    unavailable: dict[str, list[AvailabilityWindow]] = defaultdict(list)
    for w in windows:
        if w.kind == "unavailable":
            unavailable[w.agent_id].append(w)
    out = []
    for a in activities:
        for w in unavailable.get(a.agent_id, []):
            minutes = _window_overlap(a, w, zone)
            if minutes > 0:
                out.append(
                    Violation("unavailable", a.agent_id, minutes, f"{a.activity} while declared unavailable", a.start)
                )
    return out


def skills_respected(activities: Iterable[Activity], agents: Mapping[str, Agent]) -> list[Violation]:
    """Work on a channel the agent has no skill for, or by someone who is not an agent of the plan."""
    out = []
    for a in activities:
        if a.activity != "work":
            continue
        agent = agents.get(a.agent_id)
        if agent is None:
            out.append(Violation("skills", a.agent_id, a.minutes, "not an agent of this plan", a.start))
        elif a.channel is not None and a.channel not in agent.skills:
            out.append(Violation("skills", a.agent_id, a.minutes, f"works {a.channel} without the skill", a.start))
        elif a.channel is None and not agent.skills:
            out.append(Violation("skills", a.agent_id, a.minutes, "has no skills to work", a.start))
    return out


def breaks_and_lunch(shifts: Mapping[str, list[Shift]], rules: Rules) -> list[Violation]:
    """Work stretches longer than allowed without a break, and a missing, misplaced or mis-sized lunch."""
    b = rules.breaks
    out = []
    for agent_id, rows in shifts.items():
        for s in rows:
            stretch_start: dt.datetime | None = None
            for a in [*s.activities, None]:
                if a is not None and a.activity == "work":
                    stretch_start = stretch_start or a.start
                    stretch_end = a.end
                    continue
                if stretch_start is not None:
                    stretch = _elapsed(stretch_start, stretch_end)
                    if stretch > b.max_continuous_work_hours * 60 + 1e-9:
                        out.append(
                            Violation(
                                "breaks",
                                agent_id,
                                stretch - b.max_continuous_work_hours * 60,
                                f"{stretch / 60:.2f} h of work in a row, at most {b.max_continuous_work_hours:g} h",
                                stretch_start,
                            )
                        )
                stretch_start = None
            for a in s.activities:
                if a.activity == "break" and abs(a.minutes - b.break_minutes) > 1e-9:
                    out.append(
                        Violation(
                            "breaks",
                            agent_id,
                            abs(a.minutes - b.break_minutes),
                            f"a break of {a.minutes:g} min, not {b.break_minutes}",
                            a.start,
                        )
                    )
            lunches = [a for a in s.activities if a.activity == "lunch"]
            low, high = b.lunch_minutes
            if s.length_minutes >= b.lunch_if_shift_hours * 60 and not lunches:
                out.append(
                    Violation(
                        "lunch", agent_id, float(low), f"no lunch in a shift of {s.length_minutes / 60:.2f} h", s.start
                    )
                )
            for extra in lunches[1:]:
                out.append(Violation("lunch", agent_id, extra.minutes, "a second lunch", extra.start))
            for lunch in lunches[:1]:
                if lunch.minutes < low or lunch.minutes > high:
                    off = low - lunch.minutes if lunch.minutes < low else lunch.minutes - high
                    out.append(
                        Violation(
                            "lunch",
                            agent_id,
                            off,
                            f"a lunch of {lunch.minutes:g} min, {low}-{high} allowed",
                            lunch.start,
                        )
                    )
                earliest = s.start + dt.timedelta(hours=b.lunch_earliest_hours)
                latest = s.end - dt.timedelta(hours=b.lunch_latest_hours_before_end)
                early = max(0.0, _elapsed(lunch.start, earliest))
                late = max(0.0, _elapsed(latest, lunch.end))
                if early + late > 0:
                    out.append(
                        Violation("lunch", agent_id, early + late, "lunch outside its window in the shift", lunch.start)
                    )
    return out


def check_all(
    activities: Sequence[Activity],
    agents: Mapping[str, Agent],
    rules: Rules,
    zone: ZoneInfo,
    week_start: dt.datetime,
    time_off: Sequence[TimeOff] = (),
    windows: Sequence[AvailabilityWindow] = (),
    previous: Sequence[Activity] = (),
) -> list[Violation]:
    """Every rule on a week's schedule; an empty list means the schedule is valid."""
    shifts = shifts_of(activities)
    before = shifts_of(previous)
    return [
        *malformed_activities(activities),
        *shift_length(shifts, rules),
        *shift_window(shifts, rules, zone),
        *one_shift_per_day(shifts, zone),
        *rest_between_shifts(shifts, rules, before),
        *weekly_rest(shifts, rules, week_start, before, agents=agents),
        *weekly_hours(shifts, agents, time_off, week_start, zone),
        *max_days(shifts, agents, zone),
        *time_off_respected(activities, time_off),
        *availability_respected(activities, windows, zone),
        *skills_respected(activities, agents),
        *breaks_and_lunch(shifts, rules),
    ]
