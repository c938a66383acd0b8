"""Shift templates and the breaks inside a shift (pure).

A template is a start (minutes after local midnight) and a length, both on the rules' step grid. Breaks are
placed after the shift is chosen, where the plan has the most staff to spare (Thompson 1995, "Improved
implicit optimal modeling of the labor shift scheduling problem", places breaks inside the model; placing
them afterwards against the coverage surplus is the usual repair): the lunch inside its window, then short
breaks so that no stretch of work runs longer than the rules allow.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass

from wfm.scheduling.model import Activity, Rules

# Surplus of staff over requirement in the interval starting at a moment (higher = a better moment to rest).
Surplus = Callable[[dt.datetime], float]


@dataclass(frozen=True)
class ShiftTemplate:
    """A shift shape: starts ``start_minute`` after local midnight and lasts ``length_minutes`` (lunch included)."""

    start_minute: int
    length_minutes: int

    def paid_minutes(self, rules: Rules) -> int:
        """Paid time: the length without the unpaid lunch (its shortest allowed length) when the shift has one."""
        if self.length_minutes >= rules.breaks.lunch_if_shift_hours * 60:
            return self.length_minutes - rules.breaks.lunch_minutes[0]
        return self.length_minutes


def templates(
    rules: Rules, start_step_minutes: int | None = None, length_step_minutes: int | None = None
) -> list[ShiftTemplate]:
    """Every template the rules allow: starts from the earliest start on a grid, lengths from min to max.

    Coarser grids (``start_step_minutes``, ``length_step_minutes``) give smaller models; they must be whole
    multiples of the rules' step.
    """
    step = rules.step_minutes
    start_step = start_step_minutes or step
    length_step = length_step_minutes or step
    if start_step % step or length_step % step:
        raise ValueError(f"grids must be multiples of the {step}-minute step")
    lengths = range(
        math.ceil(rules.min_shift_hours * 60 / step) * step, int(rules.max_shift_hours * 60) + 1, length_step
    )
    out = []
    for start in range(rules.earliest_start_minute, 24 * 60, start_step):
        for length in lengths:
            if start + length <= rules.latest_end_minute:
                out.append(ShiftTemplate(start, length))
    return out


def _best(candidates: list[dt.datetime], minutes: int, surplus: Surplus, step: int) -> dt.datetime:
    """The candidate start whose rest of ``minutes`` covers the largest surplus (the earliest on ties)."""

    def score(start: dt.datetime) -> float:
        return sum(surplus(start + dt.timedelta(minutes=m)) for m in range(0, minutes, step))

    return max(candidates, key=lambda c: (score(c), -c.timestamp()))


def _grid(first: dt.datetime, last: dt.datetime, step: int) -> list[dt.datetime]:
    out = []
    moment = first
    while moment <= last:
        out.append(moment)
        moment += dt.timedelta(minutes=step)
    return out


def _work_with_breaks(
    agent_id: str, start: dt.datetime, end: dt.datetime, rules: Rules, surplus: Surplus, channel: str | None
) -> list[Activity]:
    """Work from ``start`` to ``end`` with short breaks so no stretch exceeds the rules' maximum."""
    b = rules.breaks
    step = rules.step_minutes
    longest = int(b.max_continuous_work_hours * 60)
    out: list[Activity] = []
    cursor = start
    while (end - cursor).total_seconds() / 60 > longest:
        # The break starts after at least one step of work and at the latest when the stretch hits its
        # maximum, and leaves at least one step of work after it.
        latest = min(cursor + dt.timedelta(minutes=longest), end - dt.timedelta(minutes=b.break_minutes + step))
        first = max(cursor + dt.timedelta(minutes=step), latest - dt.timedelta(minutes=longest // 2))
        if latest < first:
            break
        at = _best(_grid(first, latest, step), b.break_minutes, surplus, step)
        out.append(Activity(agent_id, cursor, at, "work", channel))
        cursor = at + dt.timedelta(minutes=b.break_minutes)
        out.append(Activity(agent_id, at, cursor, "break"))
    out.append(Activity(agent_id, cursor, end, "work", channel))
    return out


def with_breaks(
    agent_id: str,
    start: dt.datetime,
    length_minutes: int,
    rules: Rules,
    surplus: Surplus | None = None,
    channel: str | None = None,
) -> list[Activity]:
    """A shift's activities: work, a lunch inside its window when the shift is long enough, and short breaks.

    ``surplus`` scores moments (staff over requirement); without it, breaks go as early as allowed.
    """
    b = rules.breaks
    step = rules.step_minutes
    score = surplus or (lambda _moment: 0.0)
    start = start.astimezone(dt.UTC)  # lengths are elapsed time, also on a DST day
    end = start + dt.timedelta(minutes=length_minutes)
    if length_minutes < b.lunch_if_shift_hours * 60:
        return _work_with_breaks(agent_id, start, end, rules, score, channel)
    lunch = b.lunch_minutes[0]
    first = start + dt.timedelta(hours=b.lunch_earliest_hours)
    last = end - dt.timedelta(hours=b.lunch_latest_hours_before_end) - dt.timedelta(minutes=lunch)
    # A stretch before or after lunch longer than the break rules allow needs breaks; a lunch near the middle
    # keeps both halves short, so it is tried around there first.
    candidates = _grid(first, last, step) or [
        start + dt.timedelta(minutes=(length_minutes - lunch) // 2 // step * step)
    ]
    at = _best(candidates, lunch, score, step)
    lunch_end = at + dt.timedelta(minutes=lunch)
    return [
        *_work_with_breaks(agent_id, start, at, rules, score, channel),
        Activity(agent_id, at, lunch_end, "lunch"),
        *_work_with_breaks(agent_id, lunch_end, end, rules, score, channel),
    ]
