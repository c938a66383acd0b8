"""Short, empty or gappy histories degrade with a warning, never a stack trace; closed slots are zero."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import FORECAST_COLUMNS, forecast
from forecasting.synthetic import SyntheticChannel, synthetic_history

VOICE = SyntheticChannel("voice", daily_volume=1500, dispersion=0.01, day_noise=0.03)


def history(weeks: int, seed: int = 5, channel: SyntheticChannel = VOICE, minutes: int = 30) -> pd.DataFrame:
    return synthetic_history((channel,), weeks=weeks, interval_minutes=minutes, seed=seed).drop(columns="expected")


def check_frame(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == list(FORECAST_COLUMNS)
    assert (frame["offered_p50"] >= 0).all()
    assert (frame["offered_p50"] <= frame["offered_p80"] + 1e-9).all()
    assert (frame["offered_p80"] <= frame["offered_p95"] + 1e-9).all()


def test_one_day_history_uses_the_previous_day() -> None:
    one_day = history(1).iloc[:48]
    result = forecast(one_day, 3)
    report = result.reports["voice"]
    assert report.model == "previous_day"
    assert any("only 1 day(s) of history" in w for w in report.warnings)
    check_frame(result.frame)
    days = result.frame["offered_p50"].to_numpy().reshape(3, 48)
    np.testing.assert_allclose(days[0], one_day["offered"].to_numpy())
    np.testing.assert_allclose(days[2], days[0])


def test_under_three_weeks_is_seasonal_naive_with_a_warning() -> None:
    short = history(2)
    result = forecast(short, 7)
    report = result.reports["voice"]
    assert report.model == "snaive"
    assert any("under 3 weeks" in w for w in report.warnings)
    check_frame(result.frame)
    last_week = short["offered"].to_numpy()[-7 * 48 :]
    np.testing.assert_allclose(result.frame["offered_p50"].to_numpy(), last_week)


def test_all_zero_channel_is_forecast_as_zero() -> None:
    zeros = history(4).assign(offered=0.0, aht_seconds=np.nan)
    result = forecast(zeros, 7)
    report = result.reports["voice"]
    assert report.model == "zero"
    assert any("no contacts" in w for w in report.warnings)
    assert (result.frame[["offered_p50", "offered_p80", "offered_p95"]].to_numpy() == 0).all()
    assert result.frame["aht_seconds"].isna().all()


def test_inferred_closed_slots_are_zero_in_every_quantile() -> None:
    result = forecast(history(6), 14, method="ets")
    frame = result.frame
    starts = pd.DatetimeIndex(frame["interval_start"])
    night = (starts.hour < 8) | (starts.hour >= 20)
    sunday = starts.day_of_week == 6
    closed = frame[night | sunday]
    assert (closed[["offered_p50", "offered_p80", "offered_p95"]].to_numpy() == 0).all()
    assert (frame.loc[~(night | sunday), "offered_p95"] > 0).all()


def test_opening_hours_from_the_app_override_history() -> None:
    def open_weekdays_9_to_17(iso_weekday: int, minute: int) -> bool:
        return iso_weekday <= 5 and 9 * 60 <= minute < 17 * 60

    result = forecast(history(4), 7, method="snaive", open_slots={"voice": open_weekdays_9_to_17})
    starts = pd.DatetimeIndex(result.frame["interval_start"])
    opened = (starts.day_of_week < 5) & (starts.hour >= 9) & (starts.hour < 17)
    assert (result.frame.loc[~opened, "offered_p95"] == 0).all()
    assert (result.frame.loc[opened, "offered_p50"] > 0).all()


def test_a_missing_day_is_missing_not_zero() -> None:
    full = history(6)
    starts = pd.DatetimeIndex(full["interval_start"])
    # Drop the last two Wednesdays (e.g. holidays absent from the file).
    wednesdays = sorted(set(starts[starts.day_of_week == 2].normalize()))[-2:]
    gappy = full[~starts.normalize().isin(wednesdays)]
    result = forecast(gappy, 7)
    frame = result.frame
    days = pd.DatetimeIndex(frame["interval_start"]).normalize()
    totals = frame.groupby(days)["offered_p50"].sum()
    weekday = pd.DatetimeIndex(totals.index).day_of_week
    wednesday = totals[weekday == 2].iloc[0]
    tuesday = totals[weekday == 1].iloc[0]
    # The synthetic Wednesday is 1.00 / 1.05 of a Tuesday; a model that learnt zeros would be far below.
    assert wednesday / tuesday == pytest.approx(1.0 / 1.05, rel=0.08)


def test_an_incomplete_last_day_is_left_out_with_a_warning() -> None:
    full = history(4)
    cut = full.iloc[: len(full) - 36]  # the last day ends at 06:00 ... its 12:00 interval
    cut = cut[pd.DatetimeIndex(cut["interval_start"]) < cut["interval_start"].max().normalize() + pd.Timedelta("12h")]
    result = forecast(cut, 7, method="snaive")
    report = result.reports["voice"]
    assert any("treated as incomplete" in w for w in report.warnings)
    first = pd.Timestamp(result.frame["interval_start"].min())
    assert first == cut["interval_start"].max().normalize()


def test_channels_are_independent_and_progress_rises_to_100() -> None:
    two = synthetic_history(
        (VOICE, SyntheticChannel("chat", daily_volume=300, aht_seconds=None)), weeks=4, interval_minutes=30, seed=9
    ).drop(columns="expected")
    seen: list[tuple[int, str]] = []
    result = forecast(two, 7, progress=lambda percent, message: seen.append((percent, message)))
    assert set(result.frame["channel"]) == {"voice", "chat"}
    assert set(result.reports) == {"voice", "chat"}
    percents = [p for p, _ in seen]
    assert percents[0] == 0 and percents[-1] == 100
    assert percents == sorted(percents)
    assert any("backtest" in message for _, message in seen)


def test_aggregation_and_a_later_start() -> None:
    quarter_hours = history(4, minutes=15)
    last_day = pd.Timestamp(quarter_hours["interval_start"].max()).normalize()
    start = (last_day + pd.Timedelta(days=8)).date()
    result = forecast(quarter_hours, 7, interval_minutes=30, start=start, method="snaive")
    starts = pd.DatetimeIndex(result.frame["interval_start"])
    assert result.interval_minutes == 30
    assert starts[0] == pd.Timestamp(start) and len(starts) == 7 * 48
    assert ((starts[1:] - starts[:-1]) == pd.Timedelta(minutes=30)).all()
    # Seven days later than usual: the leads are 8-14 days, and seasonal naive still repeats the last week
    # (two 15-minute intervals summed per 30-minute one).
    last_week = quarter_hours["offered"].to_numpy()[-7 * 96 :].reshape(-1, 2).sum(axis=1)
    shift = (pd.Timestamp(start).day_of_week - (last_day + pd.Timedelta(days=1)).day_of_week) % 7
    np.testing.assert_allclose(result.frame["offered_p50"].to_numpy(), np.roll(last_week, -shift * 48))


def test_opening_hours_as_an_array() -> None:
    mask = np.ones((7, 48), dtype=bool)
    mask[5] = False  # Saturdays closed
    result = forecast(history(4), 7, method="snaive", open_slots={"voice": mask})
    saturday = pd.DatetimeIndex(result.frame["interval_start"]).day_of_week == 5
    assert (result.frame.loc[saturday, "offered_p95"] == 0).all()
    with pytest.raises(ValueError, match=r"shape \(7, 48\)"):
        forecast(history(4), 7, method="snaive", open_slots={"voice": np.ones((7, 96), dtype=bool)})
