"""`forecast`: contact volume (P50/P80/P95) and handle time per channel and interval.

The steps, per channel:

1. validate and express the history in local wall-clock time (`forecasting.validation`), aggregate to
   ``interval_minutes``, lay it out as days x clock slots (`forecasting.timegrid`);
2. opening hours from ``open_slots`` or inferred from the last 8 weeks; special days (holidays, events,
   first days after closures) left out of fitting (`forecasting.calendar`);
3. a rolling-origin backtest of the candidate models (`forecasting.backtest`), which scores them and
   calibrates their quantiles (`forecasting.quantiles`); ``method="auto"`` picks the model by its rule;
4. the chosen model fitted on the whole history forecasts the horizon; holidays and events are applied,
   closed intervals get zero, P80/P95 come from the calibration, handle time from
   `forecasting.handle_time`; the local grid is mapped to the real intervals (daylight saving time).

Short or odd histories degrade with a warning in the channel's report instead of an error: under 3 weeks
only the seasonal naive is used, under one week the previous day's intervals, and an all-zero channel is
forecast as zeros.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from forecasting.backtest import (
    SCORE_COLUMNS,
    BacktestResult,
    backtest,
    backtest_origins,
    choose_model,
    describe_scores,
)
from forecasting.calendar import (
    HOLIDAY_RULES,
    Event,
    apply_special_days,
    holiday_calendar,
    learn_special_effects,
    special_history_days,
)
from forecasting.handle_time import aht_by_slot
from forecasting.models import MODELS, ForecastModel, SeasonalNaive
from forecasting.quantiles import Calibration
from forecasting.timegrid import (
    DAYS_PER_WEEK,
    DayMatrix,
    OpenSlots,
    horizon_intervals,
    infer_open_mask,
    masks_by_channel,
    nonexistent_cells,
    open_cells,
)
from forecasting.validation import aggregate, validate_history

METHODS = ("auto", *MODELS)
FORECAST_COLUMNS = ("interval_start", "channel", "offered_p50", "offered_p80", "offered_p95", "aht_seconds", "model")
MIN_DAYS_FULL = 3 * DAYS_PER_WEEK
MAX_HORIZON_DAYS = 366
# The last day counts as incomplete when, on the median recent day, this share of the volume came after
# the last interval the last day has.
PARTIAL_DAY_SHARE = 0.1
Progress = Callable[[int, str], None]


@dataclass(frozen=True)
class ChannelReport:
    """How one channel was forecast.

    Attributes
    ----------
    channel
        The channel's name.
    model
        The model used (``snaive``, ``ets``, ``mstl``, ``regression``, ``previous_day`` or ``zero``).
    reason
        Why that model, in words.
    backtest
        ``model, wmape, mase, coverage_p80, coverage_p95, origins`` per model backtested (shares 0-1; empty
        when the history was too short).
    quantiles
        How P80/P95 were calibrated, in words.
    special_days
        One line per horizon day changed by a holiday or an event.
    warnings
        Degradations and repairs, in words.
    backtest_seconds, fit_seconds
        Wall time of the backtest, and of fitting the chosen model and forecasting the horizon.
    """

    channel: str
    model: str
    reason: str
    backtest: pd.DataFrame
    quantiles: str
    special_days: tuple[str, ...]
    warnings: tuple[str, ...]
    backtest_seconds: float
    fit_seconds: float


@dataclass(frozen=True)
class ForecastResult:
    """A forecast and how it was made.

    Attributes
    ----------
    frame
        ``interval_start, channel, offered_p50, offered_p80, offered_p95, aht_seconds, model`` (DESIGN.md
        forecast file); ``interval_start`` naive local for naive input, aware in the input's zone otherwise.
    reports
        Per channel, a `ChannelReport`.
    interval_minutes
        Interval of the forecast.
    warnings
        Warnings about the input as a whole (each channel's are in its report).
    """

    frame: pd.DataFrame
    reports: Mapping[str, ChannelReport]
    interval_minutes: int
    warnings: tuple[str, ...]


def forecast(
    history: pd.DataFrame,
    horizon_days: int,
    *,
    interval_minutes: int | None = None,
    method: str = "auto",
    time_zone: str | None = None,
    country: str | None = None,
    events: Sequence[Event] = (),
    open_slots: Mapping[str, OpenSlots] | None = None,
    start: dt.date | str | None = None,
    progress: Progress | None = None,
    holiday_rule: str = "auto",
) -> ForecastResult:
    """Forecast offered contacts (P50/P80/P95) and handle time per channel and interval.

    Parameters
    ----------
    history
        ``interval_start, channel, offered[, aht_seconds]`` at one regular interval (see
        `forecasting.validation.validate_history`). A whole day absent is missing, not zero; inside a day
        an absent interval is zero.
    horizon_days
        Whole local days to forecast, 1-366.
    interval_minutes
        Aggregate to this interval (a multiple of the input's that divides a day); default the input's.
    method
        ``auto`` (backtest and choose per channel), or one of ``snaive``, ``ets``, ``mstl``, ``regression``.
    time_zone
        IANA zone of the site: the clock the seasonality follows. Aware input is converted to it; naive
        input is read as local time in it. None: aware input stays in its own zone, naive input has no
        daylight saving time.
    country
        ISO code for public holidays (``SE``, ``US``, ``DE-BY``); None = no holiday calendar.
    events
        User-defined special days.
    open_slots
        Per channel, opening hours as ``f(iso_weekday, minute_of_day) -> bool`` (Monday = 1, the local
        minute an interval starts) or a boolean (7, slots) array; channels not named are inferred from
        history (a slot of the week with volume in at most 25% of the last 8 weeks is closed).
    start
        First local day of the horizon; default the day after the history's last day.
    progress
        Called as ``progress(percent, message)`` with percent rising from 0 to 100.
    holiday_rule
        How a holiday in the horizon is forecast: ``auto`` (from past holidays when the history has at
        least two, else like the Sunday of its week), ``like_sunday``, ``closed`` or ``normal`` (see
        `forecasting.calendar`). Holidays in the history are left out of fitting whatever the rule.

    Returns
    -------
    ForecastResult

    Raises
    ------
    ValueError
        For invalid history (see `validate_history`) or arguments.
    """
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int | np.integer):
        raise ValueError(f"horizon_days must be a whole number of days, got {horizon_days!r}")
    if not 1 <= horizon_days <= MAX_HORIZON_DAYS:
        raise ValueError(f"horizon_days must be between 1 and {MAX_HORIZON_DAYS}, got {horizon_days}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if holiday_rule not in HOLIDAY_RULES:
        raise ValueError(f"holiday_rule must be one of {', '.join(HOLIDAY_RULES)}; got {holiday_rule!r}")
    for event in events:
        if not isinstance(event, Event):
            raise ValueError(f"events must be forecasting.Event objects, got {type(event).__name__}")
    report_progress = _ProgressReporter(progress)
    report_progress.note(0, "checking the history")
    clean = validate_history(history, time_zone=time_zone)
    frame, interval = aggregate(clean, interval_minutes)
    channels = sorted(frame["channel"].unique())
    masks = masks_by_channel(open_slots, channels, interval)
    zone = clean.time_zone
    global_warnings = list(clean.warnings)

    matrices: dict[str, DayMatrix] = {}
    channel_warnings: dict[str, list[str]] = {}
    for name in channels:
        rows = frame[frame["channel"] == name]
        matrix, notes = _channel_matrix(rows, interval, zone)
        matrices[name], channel_warnings[name] = matrix, notes
    last_day = max(m.last_day for m in matrices.values())
    first_day = last_day + pd.Timedelta(days=1)
    if start is not None:
        requested = pd.Timestamp(_date(start))
        if requested <= last_day:
            raise ValueError(f"start {requested.date()} must be after the history, which ends on {last_day.date()}")
        first_day = requested
    horizon = pd.date_range(first_day, periods=horizon_days, freq="D")
    years = range(min(m.first_day.year for m in matrices.values()), horizon[-1].year + 1)
    holidays = holiday_calendar(country, years)

    plans = {name: _plan(matrices[name], method, horizon_days) for name in channels}
    report_progress.total = sum(plan.units for plan in plans.values()) + len(channels)
    parts, reports = [], {}
    for name in channels:
        part, report = _forecast_channel(
            name,
            rows=frame[frame["channel"] == name],
            matrix=matrices[name],
            plan=plans[name],
            horizon=horizon,
            zone=zone,
            open_mask=masks.get(name),
            holidays=holidays,
            events=[e for e in events if e.applies_to(name)],
            warnings=channel_warnings[name],
            progress=report_progress,
            aware=clean.aware,
            holiday_rule=holiday_rule,
        )
        parts.append(part)
        reports[name] = report
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(FORECAST_COLUMNS))
    if clean.input_time_zone is not None:
        out["interval_start"] = pd.DatetimeIndex(out["interval_start"]).tz_convert(clean.input_time_zone)
    report_progress.note(100, "done")
    return ForecastResult(out[list(FORECAST_COLUMNS)], MappingProxyType(reports), interval, tuple(global_warnings))


# ---------------------------------------------------------------- per channel


@dataclass(frozen=True)
class _Plan:
    candidates: tuple[ForecastModel, ...]
    fallback: str
    warning: str
    units: int
    auto: bool = False


def _plan(matrix: DayMatrix, method: str, horizon_days: int) -> _Plan:
    """Which models to backtest and fit for a history of this length."""
    days = matrix.n_days
    if np.nansum(matrix.values) <= 0:
        return _Plan((), "zero", "no contacts in the whole history: forecast is zero", 0)
    if days < DAYS_PER_WEEK:
        return _Plan(
            (), "previous_day", f"only {days} day(s) of history: each interval is forecast as on the previous day", 0
        )
    if days < MIN_DAYS_FULL:
        warning = f"only {days} days of history (under 3 weeks): seasonal naive only"
        return _Plan((SeasonalNaive(),), "snaive", warning, len(backtest_origins(days, horizon_days)[1]))
    names = list(MODELS) if method == "auto" else list(dict.fromkeys(["snaive", method]))
    candidates = tuple(MODELS[name]() for name in names)
    _, starts = backtest_origins(days, horizon_days)
    units = sum(1 for model in candidates for s in starts if s >= model.min_history_days)
    return _Plan(candidates, "" if method == "auto" else method, "", units, auto=method == "auto")


def _forecast_channel(
    name: str,
    *,
    rows: pd.DataFrame,
    matrix: DayMatrix,
    plan: _Plan,
    horizon: pd.DatetimeIndex,
    zone: str | None,
    open_mask: np.ndarray | None,
    holidays: dict[dt.date, str],
    events: list[Event],
    warnings: list[str],
    progress: _ProgressReporter,
    aware: bool,
    holiday_rule: str,
) -> tuple[pd.DataFrame, ChannelReport]:
    if plan.warning:
        warnings.append(plan.warning)
    mask = infer_open_mask(matrix) if open_mask is None else open_mask
    special = special_history_days(matrix, mask, holidays, events)
    effects = learn_special_effects(matrix, special)
    fit_matrix = DayMatrix(
        np.where(special.special[:, None], np.nan, matrix.values), matrix.first_day, matrix.interval_minutes
    )
    scores = pd.DataFrame(columns=list(SCORE_COLUMNS))
    reason = plan.warning
    chosen = plan.fallback
    calibration: Calibration | None = None
    result: BacktestResult | None = None
    started = time.perf_counter()
    if plan.candidates:
        result = backtest(
            fit_matrix,
            plan.candidates,
            horizon_days=len(horizon),
            open_mask=open_mask,
            on_step=lambda text: progress.step(f"{name}: {text}"),
        )
        warnings.extend(result.warnings)
        scores = result.scores
        if plan.auto:
            chosen, reason = choose_model(scores)
        elif not reason:
            reason = f"{chosen} was asked for"
            for name_scored in dict.fromkeys([chosen, "snaive"]):
                text = describe_scores(scores, name_scored)
                reason += f"; {name_scored}: {text}" if text else ""
        if chosen not in result.calibrations:
            warnings.append(
                f"{chosen} could not be backtested: its quantiles are calibrated on the history's own naive errors"
            )
        calibration = result.calibrations.get(chosen)
        if result.horizon_days < min(len(horizon), 14):
            warnings.append(f"backtest horizon shortened to {result.horizon_days} days by the length of the history")
    if len(horizon) > 14 and result is not None:
        warnings.append("quantiles beyond day 14 use the calibration of days 8-14 (the backtest covers 14 days)")
    backtest_seconds = time.perf_counter() - started
    started = time.perf_counter()

    days_ahead = horizon
    if chosen == "zero":
        point = np.zeros((len(horizon), matrix.slots))
        closed = np.ones_like(point, dtype=bool)
        cal = Calibration.default()
        point_for: Callable[[pd.DatetimeIndex], np.ndarray] = lambda d: np.zeros((len(d), matrix.slots))  # noqa: E731
        leads = np.ones(len(horizon), dtype=np.int64)
    else:
        model: ForecastModel = SeasonalNaive(1) if chosen == "previous_day" else MODELS[chosen]()
        try:
            fitted = model.fit(fit_matrix, open_mask=mask, calibration=calibration)
        except Exception as error:  # never a stack trace for the user: fall back to the baseline
            warnings.append(f"{chosen} failed on the whole history ({error}); seasonal naive used instead")
            chosen = "snaive" if matrix.n_days >= DAYS_PER_WEEK else "previous_day"
            model = SeasonalNaive() if chosen == "snaive" else SeasonalNaive(1)
            fitted = model.fit(
                fit_matrix, open_mask=mask, calibration=(result.calibrations.get(chosen) if result else None)
            )
            reason += f"; {chosen} after a failure"
        cal = fitted.calibration
        if cal.points == 0:
            warnings.append("too few errors to calibrate quantiles on: a wide default band is used")
        point = fitted.point(days_ahead)
        closed = ~open_cells(fitted.open_mask, days_ahead)
        point_for = fitted.point
        leads = fitted.lead_days(days_ahead)
    point, closed, special_notes = apply_special_days(
        point,
        closed,
        days_ahead,
        history=matrix,
        open_mask=mask,
        holidays=holidays,
        events=events,
        effects=effects,
        point_for=point_for,
        holiday_rule=holiday_rule,
    )
    p80, p95 = cal.quantiles(point, np.repeat(leads[:, None], matrix.slots, axis=1))
    p80[closed] = 0.0
    p95[closed] = 0.0
    intervals = horizon_intervals(horizon[0], len(horizon), matrix.interval_minutes, zone)
    aht = aht_by_slot(
        rows["local"], rows["offered"].to_numpy(), rows["aht_seconds"].to_numpy(), matrix.interval_minutes
    )
    weekday = np.asarray(intervals.local.day_of_week)
    aht_values = aht[weekday, intervals.slot] if aht is not None else np.full(len(intervals.local), np.nan)
    starts = intervals.instants if aware and intervals.instants is not None else intervals.local
    part = pd.DataFrame(
        {
            "interval_start": starts,
            "channel": name,
            "offered_p50": point[intervals.day, intervals.slot],
            "offered_p80": p80[intervals.day, intervals.slot],
            "offered_p95": p95[intervals.day, intervals.slot],
            "aht_seconds": aht_values,
            "model": chosen,
        }
    )
    if not reason:
        reason = "zero history" if chosen == "zero" else chosen
    progress.step(f"{name}: forecast with {chosen}")
    report = ChannelReport(
        name,
        chosen,
        reason,
        scores.reset_index(drop=True),
        cal.describe(),
        tuple(special_notes),
        tuple(warnings),
        backtest_seconds,
        time.perf_counter() - started,
    )
    return part, report


def _channel_matrix(rows: pd.DataFrame, interval: int, zone: str | None) -> tuple[DayMatrix, list[str]]:
    """One channel's day x slot grid: folds averaged, spring-gap cells missing, an incomplete last day dropped."""
    series = rows.groupby("local")["offered"].mean()
    matrix = DayMatrix.from_series(series, interval)
    gap = nonexistent_cells(matrix.first_day, matrix.n_days, interval, zone)
    values = np.where(gap, np.nan, matrix.values)
    notes = []
    last_time = pd.Timestamp(series.index.max())
    last_slot = (last_time.hour * 60 + last_time.minute) // interval
    if matrix.n_days > 1 and last_slot < matrix.slots - 1:
        previous = values[max(0, matrix.n_days - 1 - DAYS_PER_WEEK) : matrix.n_days - 1]
        previous = previous[~np.isnan(previous).all(axis=1)]
        totals = np.nansum(previous, axis=1)
        later = np.nansum(previous[:, last_slot + 1 :], axis=1) / np.where(totals > 0, totals, 1.0)
        if len(previous) and float(np.median(later)) >= PARTIAL_DAY_SHARE:
            notes.append(
                f"the last day ({last_time.date()}) ends at {last_time:%H:%M} while recent days have "
                f"{PARTIAL_DAY_SHARE:.0%} or more of their contacts later: treated as incomplete and left out"
            )
            values = values[:-1]
    return DayMatrix(values, matrix.first_day, interval), notes


def _date(value: object) -> dt.date:
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"start must be a date (YYYY-MM-DD), got {value!r}") from None


class _ProgressReporter:
    """Turns finished work units into ``progress(percent, message)`` calls with a rising percent."""

    def __init__(self, callback: Progress | None) -> None:
        self.callback = callback
        self.total = 1
        self.done = 0
        self._last = -1

    def note(self, percent: int, message: str) -> None:
        if self.callback is not None and percent >= self._last:
            self._last = percent
            self.callback(percent, message)

    def step(self, message: str) -> None:
        self.done += 1
        percent = min(99, 1 + int(98 * self.done / max(1, self.total)))
        self.note(percent, message)
