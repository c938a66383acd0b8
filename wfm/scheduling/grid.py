"""The week as a grid of equal steps in elapsed time, and every shift template placed on it (pure).

A week runs from Monday 00:00 to the next Monday 00:00 on the site's wall clock, so a DST week has one
step-hour fewer or more. Slot ``i`` is ``[week_start + i x step, week_start + (i + 1) x step)``. Templates are
enumerated per local day on the wall clock (the rules' earliest start, latest end and step), then placed on
the grid in elapsed time; a start that does not exist on the wall clock (the skipped DST hour) is dropped.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from wfm.scheduling.model import Rules
from wfm.scheduling.shifts import with_breaks

UTC = dt.UTC
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


@dataclass(frozen=True)
class WeekGrid:
    """Slots of ``step_minutes`` from ``week_start`` (a local Monday midnight) with ``pad`` slots after the
    week, so a shift that starts on Sunday evening and ends on Monday still fits."""

    week_start: dt.datetime
    zone: ZoneInfo
    step_minutes: int
    slots: int
    pad: int
    day_first_slot: tuple[int, ...]  # 8 entries: local midnights of days 0..7 as slots

    @classmethod
    def of(cls, monday: dt.date, zone: ZoneInfo, step_minutes: int, rules: Rules) -> WeekGrid:
        if monday.isoweekday() != 1:
            raise ValueError(f"the week must start on a Monday; {monday.isoformat()} is a {monday:%A}")
        start = local_midnight(monday, zone)
        minutes = [
            (
                local_midnight(monday + dt.timedelta(days=d), zone).astimezone(UTC) - start.astimezone(UTC)
            ).total_seconds()
            / 60
            for d in range(8)
        ]
        firsts = tuple(int(m // step_minutes) for m in minutes)
        overnight = max(0, rules.latest_end_minute - 24 * 60)
        pad = math.ceil((overnight + 24 * 60) / step_minutes)
        return cls(start, zone, step_minutes, firsts[7], pad, firsts)

    @property
    def size(self) -> int:
        return self.slots + self.pad

    def slot_start(self, i: int) -> dt.datetime:
        """The slot's start, in UTC (elapsed time from the week's start)."""
        return self.week_start.astimezone(UTC) + dt.timedelta(minutes=i * self.step_minutes)

    def slot_of(self, moment: dt.datetime) -> float:
        """Fractional slot index of a moment (negative before the week)."""
        return (moment.astimezone(UTC) - self.week_start.astimezone(UTC)).total_seconds() / 60.0 / self.step_minutes

    def day(self, d: int) -> dt.date:
        """The local date of the week's day ``d`` (0 = Monday)."""
        return self.week_start.date() + dt.timedelta(days=d)


@dataclass(frozen=True)
class Templates:
    """Every allowed shift of the week on the grid, one row per (day, start, length), grouped by day.

    ``work_fraction`` is the share of the shift spent working once its breaks and lunch are placed: the
    search uses it as the shift's expected coverage before the breaks are placed.
    """

    day: IntArray
    start: IntArray  # slot
    end: IntArray  # slot, exclusive
    length_minutes: IntArray
    paid_minutes: IntArray
    work_fraction: FloatArray
    unpopular: BoolArray
    day_slices: tuple[slice, ...]
    fractions: FloatArray  # the distinct work fractions
    fraction_index: IntArray  # per template, index into ``fractions``

    @property
    def size(self) -> int:
        return int(self.start.size)


def _shape(length_minutes: int, rules: Rules) -> tuple[int, int]:
    """(paid, working) minutes of a shift of this length once breaks and lunch are placed."""
    start = dt.datetime(2026, 1, 5, tzinfo=UTC)
    acts = with_breaks("x", start, length_minutes, rules)
    paid = sum(a.minutes for a in acts if a.activity != "lunch")
    work = sum(a.minutes for a in acts if a.activity == "work")
    return round(paid), round(work)


def week_templates(grid: WeekGrid, rules: Rules, evening_minute: int = 18 * 60) -> Templates:
    """Every (day, start, length) the rules allow in the week, with paid and working minutes.

    A template is unpopular when it starts on a Saturday or Sunday or ends after ``evening_minute`` on the wall
    clock (as `wfm.scheduling.scoring.unpopular_shifts` counts them).
    """
    step = rules.step_minutes
    if step % grid.step_minutes:
        raise ValueError(f"the rules' step ({step} min) must be a multiple of the grid's ({grid.step_minutes} min)")
    low = math.ceil(rules.min_shift_hours * 60 / step) * step
    high = int(rules.max_shift_hours * 60) // step * step
    if low > high:
        raise ValueError(f"no shift length between {rules.min_shift_hours:g} h and {rules.max_shift_hours:g} h")
    lengths = list(range(low, high + 1, step))
    shapes = {length: _shape(length, rules) for length in lengths}
    rows: list[tuple[int, int, int, int, int, float, bool]] = []
    slices = []
    for d in range(7):
        first = len(rows)
        day = grid.day(d)
        midnight = local_midnight(day, grid.zone)
        latest = midnight + dt.timedelta(minutes=rules.latest_end_minute)
        evening = midnight + dt.timedelta(minutes=evening_minute)
        for minute in range(rules.earliest_start_minute, 24 * 60, step):
            wall = midnight + dt.timedelta(minutes=minute)
            back = wall.astimezone(UTC).astimezone(grid.zone)
            if (back.date(), back.hour * 60 + back.minute) != (day, minute):
                continue  # a wall-clock time the DST change skips
            slot = grid.slot_of(wall)
            if abs(slot - round(slot)) > 1e-9:
                continue
            for length in lengths:
                end = wall.astimezone(UTC) + dt.timedelta(minutes=length)
                if end > latest:
                    break
                paid, work = shapes[length]
                unpopular = day.isoweekday() >= 6 or end > evening
                rows.append(
                    (d, round(slot), round(slot) + length // grid.step_minutes, length, paid, work / length, unpopular)
                )
        slices.append(slice(first, len(rows)))
    if not rows:
        raise ValueError("the rules allow no shift at all (check the earliest start, latest end and lengths)")
    columns = list(zip(*rows, strict=True))
    fraction = np.array(columns[5], dtype=np.float64)
    fractions, index = np.unique(np.round(fraction, 9), return_inverse=True)
    return Templates(
        day=np.array(columns[0], dtype=np.int64),
        start=np.array(columns[1], dtype=np.int64),
        end=np.array(columns[2], dtype=np.int64),
        length_minutes=np.array(columns[3], dtype=np.int64),
        paid_minutes=np.array(columns[4], dtype=np.int64),
        work_fraction=fraction,
        unpopular=np.array(columns[6], dtype=bool),
        day_slices=tuple(slices),
        fractions=fractions,
        fraction_index=index.astype(np.int64),
    )
