"""Local wall-clock time: daylight saving time in the horizon and in the history, naive and aware forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import forecast
from forecasting.timegrid import DayMatrix, horizon_intervals

ZONE = "Europe/Stockholm"


def around_the_clock(start: str, days: int, minutes: int = 15, peak_hour: int = 10) -> pd.DataFrame:
    """A 24/7 channel on naive local times whose volume peaks at ``peak_hour`` local time every day."""
    times = pd.date_range(start, periods=days * 1440 // minutes, freq=f"{minutes}min")
    hour = times.hour + times.minute / 60
    offered = np.round(5 + 40 * np.exp(-0.5 * ((hour - peak_hour) / 1.5) ** 2))
    return pd.DataFrame({"interval_start": times, "channel": "chat", "offered": offered})


def test_horizon_intervals_count_92_and_100_on_change_days() -> None:
    intervals = horizon_intervals(pd.Timestamp("2024-03-30"), 3, 15, ZONE)
    per_day = pd.Series(1, index=intervals.local.normalize()).groupby(level=0).sum()
    assert list(per_day) == [96, 92, 96]
    autumn = horizon_intervals(pd.Timestamp("2024-10-26"), 3, 15, ZONE)
    per_day = pd.Series(1, index=autumn.local.normalize()).groupby(level=0).sum()
    assert list(per_day) == [96, 100, 96]
    # Both passes of 02:00 read the same grid cell (slot 8 of day 1).
    repeated = np.flatnonzero(autumn.local == pd.Timestamp("2024-10-27 02:00"))
    assert len(repeated) == 2
    assert set(autumn.day[repeated]) == {1} and set(autumn.slot[repeated]) == {8}


@pytest.fixture(scope="module")
def spring_to_autumn() -> pd.DataFrame:
    """Four weeks of naive local history, then a horizon from 25 March to 31 October 2024."""
    return around_the_clock("2024-02-26", 28)


def test_naive_output_has_the_repeated_hour_twice_and_no_spring_gap(spring_to_autumn: pd.DataFrame) -> None:
    result = forecast(spring_to_autumn, 221, time_zone=ZONE, method="snaive")
    starts = pd.DatetimeIndex(result.frame["interval_start"])
    assert starts.tz is None
    per_day = pd.Series(1, index=starts.normalize()).groupby(level=0).sum()
    assert per_day[pd.Timestamp("2024-03-31")] == 92
    assert per_day[pd.Timestamp("2024-10-27")] == 100
    assert set(per_day.drop([pd.Timestamp("2024-03-31"), pd.Timestamp("2024-10-27")])) == {96}
    spring = starts[starts.normalize() == pd.Timestamp("2024-03-31")]
    assert not (spring.hour == 2).any()
    autumn = starts[starts.normalize() == pd.Timestamp("2024-10-27")]
    assert (autumn.hour == 2).sum() == 8  # 02:00-02:45 twice
    # Each pass of the repeated hour gets the slot's forecast: the same value twice.
    twice = result.frame[starts == pd.Timestamp("2024-10-27 02:15")]
    assert len(twice) == 2 and twice["offered_p50"].nunique() == 1


def test_aware_output_is_regular_in_utc_and_in_the_input_zone(spring_to_autumn: pd.DataFrame) -> None:
    aware = spring_to_autumn.assign(
        interval_start=pd.DatetimeIndex(spring_to_autumn["interval_start"]).tz_localize(ZONE)
    )
    result = forecast(aware, 221, method="snaive")
    starts = pd.DatetimeIndex(result.frame["interval_start"])
    assert str(starts.tz) == ZONE
    assert starts.is_unique and starts.is_monotonic_increasing
    steps = np.diff(starts.tz_convert("UTC").asi8) // 60_000_000_000
    assert set(steps) == {15}
    local = starts.tz_localize(None)
    assert (local.normalize() == pd.Timestamp("2024-03-31")).sum() == 92
    assert (local.normalize() == pd.Timestamp("2024-10-27")).sum() == 100


def test_seasonality_follows_the_local_clock_across_a_change() -> None:
    # History in UTC across the spring change; the peak stays at 10:00 local time (08:00 UTC in summer).
    local = around_the_clock("2024-03-04", 35)
    utc = pd.DatetimeIndex(local["interval_start"]).tz_localize(ZONE, nonexistent="NaT", ambiguous="NaT")
    history = local.assign(interval_start=utc.tz_convert("UTC")).dropna(subset=["interval_start"])
    result = forecast(history, 7, time_zone=ZONE, method="snaive")
    starts = pd.DatetimeIndex(result.frame["interval_start"])
    assert str(starts.tz) == "UTC"
    peak = starts[int(np.argmax(result.frame["offered_p50"].to_numpy()))]
    assert peak.tz_convert(ZONE).hour == 10
    assert peak.hour == 8


def test_history_spring_gap_cells_are_missing_not_zero() -> None:
    history = around_the_clock("2024-03-18", 21)
    history = history[
        ~(
            (history["interval_start"].dt.date == pd.Timestamp("2024-03-31").date())
            & (history["interval_start"].dt.hour == 2)
        )
    ]
    result = forecast(history, 7, time_zone=ZONE, method="snaive")
    # The last Sunday of the history is the spring-change day: its 02:xx cells are missing, so the forecast
    # for next Sunday's 02:xx reads the Sunday before, not a zero.
    sunday = result.frame[pd.DatetimeIndex(result.frame["interval_start"]).normalize() == pd.Timestamp("2024-04-14")]
    night = sunday[pd.DatetimeIndex(sunday["interval_start"]).hour == 2]
    assert (night["offered_p50"] > 0).all()


def test_day_matrix_from_series_marks_absent_days_missing() -> None:
    times = pd.DatetimeIndex(["2024-01-01 08:00", "2024-01-01 09:00", "2024-01-03 08:00"])
    matrix = DayMatrix.from_series(pd.Series([3.0, 4.0, 5.0], index=times), 60)
    assert matrix.values.shape == (3, 24)
    assert matrix.values[0, 8] == 3 and matrix.values[0, 10] == 0  # absent row inside a present day
    assert np.isnan(matrix.values[1]).all()  # the absent day is missing
