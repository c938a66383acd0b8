"""Local wall-clock time as a grid of days x clock slots, and the real intervals of a forecast horizon.

Models see one channel as a `DayMatrix`: one row per local calendar day, one column per clock slot of
``interval_minutes`` from midnight (96 for 15 minutes). Seasonality follows the local clock, so a slot means
the same time of day on every day, whatever the UTC offset. Daylight saving time only changes which slots
exist on two days a year:

- the spring gap (e.g. 02:00-02:59 on the last Sunday of March in Europe/Stockholm) does not exist: those
  cells are NaN in history, and the horizon has no intervals there (a 92-interval day at 15 minutes);
- the repeated autumn hour happens twice: history cells hold the mean of the two passes, and the horizon has
  two intervals that both take the cell's forecast (a 100-interval day).

Values: a number is a count; NaN means unknown (a whole day absent from the history is missing, not zero);
inside a day that has any rows, an absent row is zero (files usually omit empty intervals).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TypeAlias

import numpy as np
import pandas as pd

MINUTES_PER_DAY = 1440
DAYS_PER_WEEK = 7
# An interval-of-week slot with volume in at most this share of the recent weeks is closed (brief: zero in
# at least 75% of the last 8 weeks).
CLOSED_MAX_ACTIVE_SHARE = 0.25
CLOSED_LOOKBACK_WEEKS = 8

OpenSlots: TypeAlias = Callable[[int, int], bool] | np.ndarray
"""Opening hours of a channel: ``f(iso_weekday, minute_of_day) -> bool`` (Monday = 1, the minute the
interval starts, local time), or a boolean array of shape (7, slots per day), Monday first."""


@dataclass(frozen=True)
class DayMatrix:
    """One channel's volumes as local days x clock slots.

    Attributes
    ----------
    values
        Float array (days, slots); NaN = missing.
    first_day
        The local date of row 0, as a naive midnight `pd.Timestamp`.
    interval_minutes
        Slot length; ``slots = 1440 / interval_minutes``.
    """

    values: np.ndarray
    first_day: pd.Timestamp
    interval_minutes: int

    @property
    def slots(self) -> int:
        return MINUTES_PER_DAY // self.interval_minutes

    @property
    def n_days(self) -> int:
        return int(self.values.shape[0])

    @property
    def days(self) -> pd.DatetimeIndex:
        return pd.date_range(self.first_day, periods=self.n_days, freq="D")

    @property
    def last_day(self) -> pd.Timestamp:
        return self.first_day + pd.Timedelta(days=self.n_days - 1)

    @property
    def weekdays(self) -> np.ndarray:
        """Monday = 0 ... Sunday = 6 per row."""
        return np.asarray(self.days.day_of_week)

    def head(self, n_days: int) -> DayMatrix:
        """The first ``n_days`` rows (a training window that ends at a backtest origin)."""
        return replace(self, values=self.values[:n_days])

    def tail(self, n_days: int) -> DayMatrix:
        """The last ``n_days`` rows."""
        n = min(n_days, self.n_days)
        return DayMatrix(
            self.values[self.n_days - n :], self.first_day + pd.Timedelta(days=self.n_days - n), self.interval_minutes
        )

    def day_offsets(self, days: pd.DatetimeIndex) -> np.ndarray:
        """Row numbers of ``days`` counted from ``first_day`` (may lie past the end)."""
        return np.asarray((days.normalize() - self.first_day).days, dtype=np.int64)

    def series(self) -> pd.Series:
        """The grid as a series on naive local interval starts."""
        index = pd.date_range(self.first_day, periods=self.values.size, freq=f"{self.interval_minutes}min")
        return pd.Series(self.values.ravel(), index=index, name="offered")

    @classmethod
    def from_series(cls, series: pd.Series, interval_minutes: int | None = None) -> DayMatrix:
        """Build the grid from a series indexed by naive local interval starts.

        Days without any row are missing (NaN); absent rows inside a day are zero; NaN values stay missing.
        Duplicated times (the two passes of an autumn hour) are averaged.
        """
        if not isinstance(series.index, pd.DatetimeIndex) or series.index.tz is not None:
            raise ValueError("the history series needs a tz-naive DatetimeIndex of local interval starts")
        if series.empty:
            raise ValueError("the history series is empty")
        index = series.index
        if interval_minutes is None:
            steps = np.diff(np.unique(index.as_unit("ns").asi8)) // 60_000_000_000
            interval_minutes = int(np.gcd.reduce(steps)) if steps.size else 60
        if MINUTES_PER_DAY % interval_minutes:
            raise ValueError(f"a {interval_minutes}-minute interval does not divide a day")
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
        if index.has_duplicates:
            grouped = pd.Series(values, index=index).groupby(level=0).mean()
            index, values = pd.DatetimeIndex(grouped.index), grouped.to_numpy(dtype=float)
        first = index.min().normalize()
        day = np.asarray((index.normalize() - first).days, dtype=np.int64)
        slot = np.asarray((index.hour * 60 + index.minute) // interval_minutes, dtype=np.int64)
        n_days = int(day.max()) + 1
        grid = np.full((n_days, MINUTES_PER_DAY // interval_minutes), np.nan)
        present = np.zeros(n_days, dtype=bool)
        present[day] = True
        grid[present] = 0.0
        grid[day, slot] = values
        return cls(grid, pd.Timestamp(first), int(interval_minutes))


def nonexistent_cells(first_day: pd.Timestamp, n_days: int, interval_minutes: int, zone: str | None) -> np.ndarray:
    """Boolean (days, slots): local times that fall in a spring daylight-saving gap of ``zone``."""
    slots = MINUTES_PER_DAY // interval_minutes
    mask = np.zeros((n_days, slots), dtype=bool)
    if zone is None or n_days == 0:
        return mask
    times = pd.date_range(first_day, periods=n_days * slots, freq=f"{interval_minutes}min")
    localised = times.tz_localize(zone, ambiguous=np.ones(len(times), dtype=bool), nonexistent="NaT")
    return np.asarray(localised.isna()).reshape(n_days, slots)


def open_mask_from_slots(open_slots: OpenSlots, interval_minutes: int) -> np.ndarray:
    """Opening hours as a boolean (7, slots) array, Monday first.

    Raises
    ------
    ValueError
        When an array has the wrong shape.
    """
    slots = MINUTES_PER_DAY // interval_minutes
    if callable(open_slots):
        return np.array(
            [[bool(open_slots(weekday + 1, slot * interval_minutes)) for slot in range(slots)] for weekday in range(7)]
        )
    mask = np.asarray(open_slots, dtype=bool)
    if mask.shape != (DAYS_PER_WEEK, slots):
        raise ValueError(
            f"open_slots array must have shape (7, {slots}) at {interval_minutes} minutes, got {mask.shape}"
        )
    return mask


def infer_open_mask(matrix: DayMatrix) -> np.ndarray:
    """Infer opening hours (7, slots) from the last 8 weeks of history.

    A slot of the week is closed when it had volume (> 0) in at most a quarter of its days in the window
    (missing days count as no volume, so a weekday absent from a file, like a weekend in a weekdays-only
    export, is closed). A weekday the window never saw falls back to the same clock slot on all days.
    """
    window = matrix.tail(CLOSED_LOOKBACK_WEEKS * DAYS_PER_WEEK)
    active = np.nan_to_num(window.values, nan=0.0) > 0
    weekdays = window.weekdays
    pooled = active.mean(axis=0) > CLOSED_MAX_ACTIVE_SHARE
    mask = np.empty((DAYS_PER_WEEK, matrix.slots), dtype=bool)
    for weekday in range(DAYS_PER_WEEK):
        rows = active[weekdays == weekday]
        mask[weekday] = rows.mean(axis=0) > CLOSED_MAX_ACTIVE_SHARE if len(rows) else pooled
    return mask


def open_cells(open_mask: np.ndarray, days: pd.DatetimeIndex) -> np.ndarray:
    """Boolean (len(days), slots): the weekly opening hours laid over the given days."""
    return open_mask[np.asarray(days.day_of_week)]


@dataclass(frozen=True)
class HorizonIntervals:
    """The real intervals of a horizon and where each one reads the grid.

    Attributes
    ----------
    local
        Naive local wall-clock starts, in time order (the repeated hour twice, no spring-gap times).
    instants
        The same intervals as aware timestamps in the modelling zone, or None without a zone.
    day, slot
        Row (from the horizon's first day) and column of the grid cell each interval takes its values from.
    """

    local: pd.DatetimeIndex
    instants: pd.DatetimeIndex | None
    day: np.ndarray
    slot: np.ndarray


def horizon_intervals(
    first_day: pd.Timestamp, n_days: int, interval_minutes: int, zone: str | None
) -> HorizonIntervals:
    """The intervals of ``n_days`` local days from ``first_day``, honouring daylight saving time in ``zone``."""
    freq = f"{interval_minutes}min"
    if zone is None:
        local = pd.date_range(first_day, periods=n_days * (MINUTES_PER_DAY // interval_minutes), freq=freq)
        instants = None
    else:
        bounds = pd.DatetimeIndex([first_day, first_day + pd.Timedelta(days=n_days)])
        start, end = bounds.tz_localize(zone, ambiguous=np.array([True, True]), nonexistent="shift_forward")
        instants = pd.date_range(start.tz_convert("UTC"), end.tz_convert("UTC"), freq=freq, inclusive="left")
        instants = instants.tz_convert(zone)
        local = instants.tz_localize(None)
    day = np.asarray((local.normalize() - first_day).days, dtype=np.int64)
    slot = np.asarray((local.hour * 60 + local.minute) // interval_minutes, dtype=np.int64)
    return HorizonIntervals(local, instants, day, slot)


def masks_by_channel(
    open_slots: Mapping[str, OpenSlots] | None, channels: list[str], interval_minutes: int
) -> dict[str, np.ndarray]:
    """Opening-hour masks for the channels that have them (the others are inferred from history)."""
    if not open_slots:
        return {}
    unknown = sorted(set(open_slots) - set(channels))
    if unknown:
        raise ValueError(f"open_slots names channel(s) not in the history: {', '.join(map(repr, unknown))}")
    return {name: open_mask_from_slots(spec, interval_minutes) for name, spec in open_slots.items()}
