"""Holidays, user-defined events and the special-day layer shared by all models.

Special days are handled the same way whatever the model, so that choosing a model is not confounded with
handling holidays:

In history (`special_history_days`), these days are left out of fitting and of backtest scores (set
missing):

- public holidays of the site's country (the `holidays` package);
- days covered by an `Event`;
- the first open day after a *closure*, i.e. a holiday or a whole missing day on a weekday that is normally
  open: customers who could not get through come back then, so the day is not a normal one.

In the horizon (`apply_special_days`), in this order:

1. With the default rule ``auto``, a holiday on an open weekday is forecast from past holidays when the
   history holds at least `MIN_LEARNED_HOLIDAYS` observed ones: its total is the model's total for that date
   times the median ratio of past holidays to the same weekday one and two weeks around them, spread by the
   pooled intraday shape of past holidays (slots that had no volume on any past holiday are closed).
   Otherwise it is forecast **like the Sunday of its week** (the model's forecast and opening hours for that
   Sunday: closed if Sundays are closed). Other rules: ``like_sunday`` always, ``closed``, or ``normal`` (a
   holiday is forecast as any other day).
2. The first open day after such a holiday is multiplied by the median ratio of past post-closure days to
   their reference days, when there are at least two such days in history (no change otherwise).
3. Events, in the order given: ``multiplier`` scales the forecast of its days (closed slots stay closed);
   ``like_date`` replaces each day with the day named (its actual volumes if it lies in the history, the
   model's forecast if it lies in the future), interval by interval by local time of day.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import holidays as holidays_package
import numpy as np
import pandas as pd

from forecasting.timegrid import DAYS_PER_WEEK, DayMatrix, open_cells

MIN_LEARNED_HOLIDAYS = 2
HOLIDAY_RULES = ("auto", "like_sunday", "closed", "normal")
MIN_LEARNED_POST_CLOSURE = 2
SUNDAY = 6


def _as_date(value: object, what: str) -> dt.date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{what} must be a date (YYYY-MM-DD), got {value!r}")


@dataclass(frozen=True)
class Event:
    """A user-defined special period in local dates.

    Parameters
    ----------
    start, end
        First and last local date (inclusive); ``end`` defaults to ``start``. Dates or ``YYYY-MM-DD``.
    multiplier
        Scale the forecast of these days (e.g. 1.3 for a campaign, 0 to close).
    like_date
        Forecast each of these days like this date: its volumes interval by interval by local time of day
        (actuals when the date is in the history, the forecast when it is in the future).
    channels
        Channels it applies to; empty = all channels.
    name
        Shown in reports.

    Exactly one of ``multiplier`` and ``like_date`` must be given.
    """

    start: dt.date
    end: dt.date | None = None
    multiplier: float | None = None
    like_date: dt.date | None = None
    channels: tuple[str, ...] = ()
    name: str = ""
    _dates: tuple[dt.date, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        start = _as_date(self.start, "Event start")
        end = start if self.end is None else _as_date(self.end, "Event end")
        if end < start:
            raise ValueError(f"Event {self.label}: end {end} is before start {start}")
        if (self.multiplier is None) == (self.like_date is None):
            raise ValueError(f"Event {self.label}: give exactly one of multiplier and like_date")
        if self.multiplier is not None and (not np.isfinite(self.multiplier) or self.multiplier < 0):
            raise ValueError(f"Event {self.label}: multiplier must be a number >= 0, got {self.multiplier!r}")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        if self.like_date is not None:
            object.__setattr__(self, "like_date", _as_date(self.like_date, "Event like_date"))
        object.__setattr__(self, "channels", tuple(str(c) for c in self.channels))
        object.__setattr__(self, "_dates", tuple(start + dt.timedelta(days=k) for k in range((end - start).days + 1)))

    @property
    def label(self) -> str:
        return self.name or f"from {self.start}"

    @property
    def dates(self) -> tuple[dt.date, ...]:
        """Every local date the event covers."""
        return self._dates

    def applies_to(self, channel: str) -> bool:
        return not self.channels or channel in self.channels


def holiday_calendar(country: str | None, years: Iterable[int]) -> dict[dt.date, str]:
    """Public holidays of ``country`` (ISO 3166 code, optionally with a subdivision: ``DE-BY``).

    Countries whose calendar in `holidays` lists every Sunday as a holiday (Sweden, Norway) are built with
    ``include_sundays=False``: a Sunday is an ordinary (weekly) closed or quiet day, not a holiday.

    Raises
    ------
    ValueError
        For a code the `holidays` package does not know.
    """
    if not country:
        return {}
    code, _, subdivision = str(country).strip().upper().partition("-")
    supported = holidays_package.list_supported_countries()
    if code not in supported:
        raise ValueError(f"country {country!r} is not an ISO 3166 code known to the holidays package")
    if subdivision and subdivision not in supported[code]:
        raise ValueError(f"country {country!r}: {subdivision!r} is not a subdivision of {code}")
    cls = holidays_package.country_holidays(code).__class__
    calendar: holidays_package.HolidayBase
    if "include_sundays" in inspect.signature(cls.__init__).parameters:
        calendar = cls(years=sorted(set(years)), subdiv=subdivision or None, include_sundays=False)  # type: ignore[call-arg]
    else:
        calendar = cls(years=sorted(set(years)), subdiv=subdivision or None)
    return {day: str(name) for day, name in calendar.items()}


@dataclass(frozen=True)
class SpecialHistory:
    """Which history days are special, and why (for fitting and for learning their effects)."""

    holiday: np.ndarray
    event: np.ndarray
    closure: np.ndarray
    post_closure: np.ndarray

    @property
    def special(self) -> np.ndarray:
        """Days left out of fitting and scoring."""
        return self.holiday | self.event | self.post_closure


def special_history_days(
    matrix: DayMatrix, open_mask: np.ndarray, holidays: dict[dt.date, str], events: Sequence[Event]
) -> SpecialHistory:
    """Flag holidays, event days and first open days after closures in ``matrix`` (see the module docstring)."""
    dates = [d.date() for d in matrix.days]
    holiday = np.array([d in holidays for d in dates], dtype=bool)
    event_dates = {d for e in events for d in e.dates}
    event = np.array([d in event_dates for d in dates], dtype=bool)
    open_weekday = np.asarray(open_mask.any(axis=1), dtype=bool)[matrix.weekdays]
    missing = np.isnan(matrix.values).all(axis=1)
    closure = open_weekday & (holiday | missing)
    post = np.zeros(matrix.n_days, dtype=bool)
    for i in np.flatnonzero(closure):
        j = _next_open_day(int(i), open_weekday, closure)
        if j is not None:
            post[j] = True
    return SpecialHistory(holiday, event, closure, post)


def _next_open_day(i: int, open_weekday: np.ndarray, closure: np.ndarray) -> int | None:
    for j in range(i + 1, min(i + DAYS_PER_WEEK + 1, len(open_weekday))):
        if closure[j]:
            return None  # the run of closures continues; its last day sets the post-closure day
        if open_weekday[j]:
            return j
    return None


@dataclass(frozen=True)
class SpecialDayEffects:
    """What the history says about holidays and post-closure days."""

    holiday_ratio: float | None
    holiday_shape: np.ndarray | None
    holidays_learned: int
    post_closure_ratio: float | None
    post_closures_learned: int


def learn_special_effects(matrix: DayMatrix, special: SpecialHistory) -> SpecialDayEffects:
    """Median ratios of past holidays and post-closure days to the same weekday 1-2 weeks around them."""
    totals = np.where(np.isnan(matrix.values).all(axis=1), np.nan, np.nansum(matrix.values, axis=1))
    normal = ~special.special & ~special.closure & np.isfinite(totals)

    def reference(i: int) -> float:
        near = [i + k * DAYS_PER_WEEK for k in (-2, -1, 1, 2)]
        values = [totals[j] for j in near if 0 <= j < len(totals) and normal[j]]
        return float(np.mean(values)) if values else float("nan")

    observed_holidays = [i for i in np.flatnonzero(special.holiday) if np.isfinite(totals[i])]
    ratios, shapes = [], []
    for i in observed_holidays:
        ref = reference(int(i))
        if np.isfinite(ref) and ref > 0:
            ratios.append(totals[i] / ref)
            shapes.append(np.nan_to_num(matrix.values[i], nan=0.0))
    holiday_ratio = holiday_shape = None
    if len(ratios) >= MIN_LEARNED_HOLIDAYS:
        holiday_ratio = float(np.median(ratios))
        pooled = np.sum(shapes, axis=0)
        holiday_shape = pooled / pooled.sum() if pooled.sum() > 0 else None
    post_ratios = []
    for i in np.flatnonzero(special.post_closure & ~special.holiday & ~special.event):
        ref = reference(int(i))
        if np.isfinite(totals[i]) and np.isfinite(ref) and ref > 0:
            post_ratios.append(totals[i] / ref)
    post_ratio = float(np.median(post_ratios)) if len(post_ratios) >= MIN_LEARNED_POST_CLOSURE else None
    return SpecialDayEffects(holiday_ratio, holiday_shape, len(ratios), post_ratio, len(post_ratios))


def apply_special_days(
    point: np.ndarray,
    closed: np.ndarray,
    days: pd.DatetimeIndex,
    *,
    history: DayMatrix,
    open_mask: np.ndarray,
    holidays: dict[dt.date, str],
    events: Sequence[Event],
    effects: SpecialDayEffects,
    point_for: Callable[[pd.DatetimeIndex], np.ndarray],
    holiday_rule: str = "auto",
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Apply holidays, post-holiday days and events to a horizon (see the module docstring).

    Parameters
    ----------
    point, closed
        The model's forecast (days, slots) and closed cells for ``days``.
    history
        The raw history (holidays included), for ``like_date`` in the past.
    point_for
        The model's forecast for any future days (zero in closed slots), for "like a Sunday" and
        ``like_date`` in the future.
    holiday_rule
        One of `HOLIDAY_RULES`: ``auto`` (learned from past holidays when there are enough, else like a
        Sunday), ``like_sunday``, ``closed`` or ``normal`` (no change, and no post-holiday adjustment).

    Returns
    -------
    point, closed, notes
        Adjusted copies and one line per adjusted day.
    """
    point = point.copy()
    closed = closed.copy()
    notes: list[str] = []
    dates = [d.date() for d in days]
    weekday_open = np.asarray(open_mask.any(axis=1), dtype=bool)
    for i, date in enumerate(dates):
        if holiday_rule == "normal" or date not in holidays or not weekday_open[days[i].day_of_week]:
            continue
        name = holidays[date]
        if holiday_rule == "closed":
            point[i] = 0.0
            closed[i] = True
            notes.append(f"{date} {name}: closed")
        elif holiday_rule == "auto" and effects.holiday_ratio is not None and effects.holiday_shape is not None:
            total = point[i].sum() * effects.holiday_ratio
            point[i] = total * effects.holiday_shape
            closed[i] = effects.holiday_shape <= 0
            notes.append(
                f"{date} {name}: {effects.holiday_ratio:.0%} of a normal day, shaped like "
                f"{effects.holidays_learned} past holidays"
            )
        else:
            sunday = pd.DatetimeIndex([days[i] + pd.Timedelta(days=SUNDAY - days[i].day_of_week)])
            point[i] = point_for(sunday)[0]
            closed[i] = ~open_cells(open_mask, sunday)[0]
            state = "closed" if closed[i].all() else f"{point[i].sum():.0f} contacts"
            notes.append(f"{date} {name}: like a Sunday ({state})")
        following = _next_open_day(i, weekday_open[np.asarray(days.day_of_week)], np.zeros(len(days), dtype=bool))
        if effects.post_closure_ratio is not None and following is not None and dates[following] not in holidays:
            point[following] = point[following] * effects.post_closure_ratio
            notes.append(
                f"{dates[following]} after {name}: x{effects.post_closure_ratio:.2f} "
                f"(median of {effects.post_closures_learned} past days after a closure)"
            )
    for event in events:
        for date in event.dates:
            if not (days[0].date() <= date <= days[-1].date()):
                continue
            i = (date - days[0].date()).days
            if event.multiplier is not None:
                point[i] = point[i] * event.multiplier
                notes.append(f"{date} {event.label}: x{event.multiplier:g}")
                continue
            assert event.like_date is not None
            source = pd.Timestamp(event.like_date)
            if source <= history.last_day:
                row = (source - history.first_day).days
                if row < 0 or np.isnan(history.values[row]).all():
                    notes.append(f"{date} {event.label}: like {event.like_date} ignored (no history that day)")
                    continue
                point[i] = np.nan_to_num(history.values[row], nan=0.0)
            else:
                point[i] = point_for(pd.DatetimeIndex([source]))[0]
            closed[i] = ~open_cells(open_mask, pd.DatetimeIndex([source]))[0]
            notes.append(f"{date} {event.label}: like {event.like_date} ({point[i].sum():.0f} contacts)")
    point[closed] = 0.0
    return point, closed, notes
