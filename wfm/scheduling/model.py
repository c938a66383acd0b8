"""The schedule engine's vocabulary: agents, time off, availability, rules and schedules (pure dataclasses).

Times are timezone-aware `datetime`s: durations and rest are measured in elapsed time, while weekdays and
times of day (availability, shift starts) are read on the site's wall clock (``zone``). Conventions follow
DESIGN.md: paid time = work + short breaks (lunch unpaid); at most one shift per calendar day (a shift is
one contiguous block of work, breaks and lunch); weeks start on Monday; approved time off and declared
unavailability are hard, preferences soft; approved time off counts towards the week's minimum paid hours at
the contract's daily hours (``max_hours_week / max_days_week``) and never towards the maximum.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

ACTIVITIES = ("work", "break", "lunch")
PAID_ACTIVITIES = frozenset({"work", "break"})


@dataclass(frozen=True)
class Agent:
    """One agent's contract and skills (the `agents` file of DESIGN.md)."""

    agent_id: str
    skills: tuple[str, ...]
    min_hours_week: float
    max_hours_week: float
    hourly_cost: float
    max_days_week: int = 5
    team: str = ""

    @property
    def daily_hours(self) -> float:
        """The contract's daily hours, at which approved time off counts towards the weekly minimum."""
        return self.max_hours_week / max(1, self.max_days_week)


@dataclass(frozen=True)
class Activity:
    """One row of a schedule: ``[start, end)`` of work (on a channel, or on any of the agent's skills),
    a short break or a lunch."""

    agent_id: str
    start: dt.datetime
    end: dt.datetime
    activity: str
    channel: str | None = None

    def __post_init__(self) -> None:
        # Kept in UTC so that every difference is elapsed time (same-zone arithmetic in Python is wall time).
        object.__setattr__(self, "start", self.start.astimezone(dt.UTC))
        object.__setattr__(self, "end", self.end.astimezone(dt.UTC))

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60.0


@dataclass(frozen=True)
class TimeOff:
    """Approved absence ``[start, end)`` (hard): no activity may overlap it."""

    agent_id: str
    start: dt.datetime
    end: dt.datetime
    kind: str = "vacation"

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", self.start.astimezone(dt.UTC))
        object.__setattr__(self, "end", self.end.astimezone(dt.UTC))


@dataclass(frozen=True)
class AvailabilityWindow:
    """A weekly window on the wall clock: ISO weekday (1 = Monday), minutes after midnight ``[start, end)``.

    ``kind`` is ``unavailable`` (hard), ``preferred`` or ``avoid`` (soft).
    """

    agent_id: str
    weekday: int
    start_minute: int
    end_minute: int
    kind: str


@dataclass(frozen=True)
class BreakRules:
    """Breaks and lunch inside a shift.

    A shift of at least ``lunch_if_shift_hours`` has one unpaid lunch of ``lunch_minutes`` (min, max), which
    starts no earlier than ``lunch_earliest_hours`` after the shift starts and ends no later than
    ``lunch_latest_hours_before_end`` before it ends. Short paid breaks of ``break_minutes`` are placed so that
    no stretch of work runs longer than ``max_continuous_work_hours``.
    """

    break_minutes: int = 15
    max_continuous_work_hours: float = 2.5
    lunch_if_shift_hours: float = 6.0
    lunch_minutes: tuple[int, int] = (30, 60)
    lunch_earliest_hours: float = 2.5
    lunch_latest_hours_before_end: float = 2.0


@dataclass(frozen=True)
class Rules:
    """Shift, rest and contract rules (the rules file of `wfm schedule`); defaults as DESIGN.md."""

    min_shift_hours: float = 4.0
    max_shift_hours: float = 10.0
    step_minutes: int = 15
    earliest_start_minute: int = 0
    latest_end_minute: int = 24 * 60
    min_rest_between_shifts_hours: float = 11.0
    min_weekly_rest_hours: float = 36.0
    breaks: BreakRules = field(default_factory=BreakRules)


@dataclass(frozen=True)
class Violation:
    """A rule broken by a schedule: which rule, whose, by how many minutes, and a sentence a lead can act on."""

    rule: str
    agent_id: str
    minutes: float
    detail: str
    at: dt.datetime | None = None


@dataclass(frozen=True)
class Shift:
    """An agent's activities of one shift, in time order (work, breaks, lunch), contiguous."""

    agent_id: str
    activities: tuple[Activity, ...]

    @property
    def start(self) -> dt.datetime:
        return self.activities[0].start

    @property
    def end(self) -> dt.datetime:
        return self.activities[-1].end

    @property
    def paid_minutes(self) -> float:
        return sum(a.minutes for a in self.activities if a.activity in PAID_ACTIVITIES)

    @property
    def length_minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60.0
