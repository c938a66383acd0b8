"""Holidays and user-defined events: a holiday is forecast low or closed, multipliers scale, "like day X" copies."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from forecasting import Event, forecast, holiday_calendar
from forecasting.synthetic import SyntheticChannel, synthetic_history

VOICE = SyntheticChannel("voice", daily_volume=1500, dispersion=0.01, day_noise=0.03)


def history(start: str, weeks: int, seed: int = 11) -> pd.DataFrame:
    frame = synthetic_history((VOICE,), weeks=weeks, interval_minutes=30, start=start, seed=seed)
    return frame.drop(columns="expected")


def day_total(frame: pd.DataFrame, date: str, column: str = "offered_p50") -> float:
    days = pd.DatetimeIndex(frame["interval_start"]).normalize()
    return float(frame.loc[days == pd.Timestamp(date), column].sum())


def test_swedish_sundays_are_not_holidays() -> None:
    calendar = holiday_calendar("SE", [2024])
    assert dt.date(2024, 1, 7) not in calendar  # an ordinary Sunday
    assert calendar[dt.date(2024, 12, 25)] == "Christmas Day"
    assert dt.date(2024, 3, 31) in calendar  # Easter Sunday is a holiday in its own right
    with pytest.raises(ValueError, match="not an ISO 3166 code"):
        holiday_calendar("XX", [2024])


def test_holiday_without_past_holidays_is_like_a_closed_sunday() -> None:
    # 7 weeks without any Swedish holiday; the horizon holds Good Friday and Easter Monday 2024.
    result = forecast(history("2024-02-05", 7), 14, country="SE", method="snaive")
    frame = result.frame
    for holiday in ("2024-03-29", "2024-04-01"):
        assert day_total(frame, holiday, "offered_p95") == 0.0
    assert day_total(frame, "2024-03-28") > 1000
    notes = result.reports["voice"].special_days
    assert any("2024-03-29 Good Friday: like a Sunday (closed)" in n for n in notes)


def test_holiday_rules_can_be_chosen() -> None:
    frame = history("2024-02-05", 7)
    normal = forecast(frame, 14, country="SE", method="snaive", holiday_rule="normal").frame
    closed = forecast(frame, 14, country="SE", method="snaive", holiday_rule="closed").frame
    assert day_total(normal, "2024-03-29") == pytest.approx(day_total(normal, "2024-04-05"))  # as a plain Friday
    assert day_total(closed, "2024-03-29", "offered_p95") == 0.0
    with pytest.raises(ValueError, match="holiday_rule must be one of"):
        forecast(frame, 14, country="SE", holiday_rule="ignore")


def test_holiday_learned_from_past_holidays_is_low() -> None:
    # Past holidays (1 Jan, 6 Jan, 29 Mar, 1 Apr 2024) ran at 30% of a normal day; so should 1 May.
    frame = history("2024-01-01", 16)
    days = pd.DatetimeIndex(frame["interval_start"]).normalize()
    past = [pd.Timestamp(d) for d in ("2024-01-01", "2024-01-06", "2024-03-29", "2024-04-01")]
    frame.loc[days.isin(past), "offered"] = np.round(frame.loc[days.isin(past), "offered"] * 0.3)
    result = forecast(frame, 14, country="SE", method="snaive")
    may_day = day_total(result.frame, "2024-05-01")
    wednesday = day_total(result.frame, "2024-04-24")
    # The median ratio of the four holidays to their weekdays one and two weeks around them is about 0.3.
    assert may_day / wednesday == pytest.approx(0.3, abs=0.05)
    assert any("shaped like 4 past holidays" in n for n in result.reports["voice"].special_days)


def test_multiplier_event_scales_its_days() -> None:
    base = forecast(history("2024-02-05", 5), 7, method="snaive")
    campaign = Event(start=dt.date(2024, 3, 12), end=dt.date(2024, 3, 13), multiplier=1.3, name="campaign")
    lifted = forecast(history("2024-02-05", 5), 7, method="snaive", events=[campaign])
    ratio = lifted.frame["offered_p50"].to_numpy() / np.maximum(base.frame["offered_p50"].to_numpy(), 1e-12)
    days = pd.DatetimeIndex(base.frame["interval_start"]).normalize()
    inside = days.isin([pd.Timestamp("2024-03-12"), pd.Timestamp("2024-03-13")])
    opened = base.frame["offered_p50"].to_numpy() > 0
    np.testing.assert_allclose(ratio[inside & opened], 1.3)
    np.testing.assert_allclose(ratio[~inside & opened], 1.0)
    assert (lifted.frame.loc[inside, "offered_p95"] >= base.frame.loc[inside, "offered_p95"]).all()
    assert any("campaign: x1.3" in n for n in lifted.reports["voice"].special_days)


def test_like_date_copies_a_past_day_interval_by_interval() -> None:
    frame = history("2024-02-05", 5)
    # Treat Tuesday 12 March like Saturday 2 March (a short day): its shape and level.
    event = Event(start=dt.date(2024, 3, 12), like_date=dt.date(2024, 3, 2), name="system outage drill")
    result = forecast(frame, 7, method="snaive", events=[event])
    out = result.frame[pd.DatetimeIndex(result.frame["interval_start"]).normalize() == pd.Timestamp("2024-03-12")]
    source = frame[pd.DatetimeIndex(frame["interval_start"]).normalize() == pd.Timestamp("2024-03-02")]
    np.testing.assert_allclose(out["offered_p50"].to_numpy(), source["offered"].to_numpy())


def test_like_date_in_the_future_copies_the_forecast() -> None:
    event = Event(start=dt.date(2024, 3, 13), like_date=dt.date(2024, 3, 11))  # Wednesday like Monday
    result = forecast(history("2024-02-05", 5), 7, method="snaive", events=[event])
    days = pd.DatetimeIndex(result.frame["interval_start"]).normalize()
    monday = result.frame.loc[days == pd.Timestamp("2024-03-11"), "offered_p50"].to_numpy()
    wednesday = result.frame.loc[days == pd.Timestamp("2024-03-13"), "offered_p50"].to_numpy()
    np.testing.assert_allclose(wednesday, monday)


def test_event_for_another_channel_does_not_apply() -> None:
    event = Event(start=dt.date(2024, 3, 12), multiplier=0.0, channels=("chat",))
    result = forecast(history("2024-02-05", 5), 7, method="snaive", events=[event])
    assert day_total(result.frame, "2024-03-12") > 1000


def test_event_reads_iso_strings() -> None:
    event = Event(start="2024-03-12", end="2024-03-13", like_date="2024-03-05")  # type: ignore[arg-type]
    assert event.dates == (dt.date(2024, 3, 12), dt.date(2024, 3, 13))
    assert event.like_date == dt.date(2024, 3, 5)


def test_event_needs_exactly_one_rule() -> None:
    with pytest.raises(ValueError, match="exactly one of multiplier and like_date"):
        Event(start=dt.date(2024, 3, 12), multiplier=1.2, like_date=dt.date(2024, 3, 5))
    with pytest.raises(ValueError, match="end 2024-03-01 is before start 2024-03-12"):
        Event(start=dt.date(2024, 3, 12), end=dt.date(2024, 3, 1), multiplier=1.2)
    with pytest.raises(ValueError, match="multiplier must be a number >= 0"):
        Event(start=dt.date(2024, 3, 12), multiplier=-1.0)
