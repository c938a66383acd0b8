"""Handle time per interval: volume-weighted, shrunk towards the time of day and the channel where sparse."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import forecast
from forecasting.handle_time import aht_by_slot
from forecasting.synthetic import SyntheticChannel, synthetic_history


def test_shrinkage_matches_the_formula_by_hand() -> None:
    # Monday 09:00: 90 contacts at 200 s; Tuesday 09:00: 10 at 400 s; Monday 10:00: 30 at 300 s.
    local = pd.Series(pd.DatetimeIndex(["2024-01-01 09:00", "2024-01-02 09:00", "2024-01-01 10:00"]))
    aht = aht_by_slot(local, np.array([90.0, 10.0, 30.0]), np.array([200.0, 400.0, 300.0]), 60, prior_contacts=30)
    assert aht is not None and aht.shape == (7, 24)
    # By hand, with 30 prior contacts at each level:
    # channel = (90*200 + 10*400 + 30*300) / 130 = 238.4615
    # 09:00   = (90*200 + 10*400 + 30*238.4615) / (100 + 30) = 224.2604
    # Mon 9   = (90*200 + 30*224.2604) / (90 + 30) = 206.0651
    # Tue 9   = (10*400 + 30*224.2604) / (10 + 30) = 268.1953
    # 10:00   = (30*300 + 30*238.4615) / 60 = 269.2308; Mon 10 = (30*300 + 30*269.2308) / 60 = 284.6154
    assert aht[0, 9] == pytest.approx(206.0651, abs=1e-3)
    assert aht[1, 9] == pytest.approx(268.1953, abs=1e-3)
    assert aht[2, 9] == pytest.approx(224.2604, abs=1e-3)  # Wednesday 09:00 had no contacts
    assert aht[0, 10] == pytest.approx(284.6154, abs=1e-3)
    assert aht[6, 3] == pytest.approx(238.4615, abs=1e-3)  # nothing at that time of day: the channel mean


def test_rows_without_handle_time_carry_no_weight_and_none_gives_none() -> None:
    local = pd.Series(pd.DatetimeIndex(["2024-01-01 09:00", "2024-01-01 10:00"]))
    aht = aht_by_slot(local, np.array([50.0, 500.0]), np.array([120.0, np.nan]), 60)
    assert aht is not None and np.allclose(aht, 120.0)
    assert aht_by_slot(local, np.array([50.0, 5.0]), np.array([np.nan, np.nan]), 60) is None


def test_forecast_outputs_handle_time_and_keeps_an_empty_column() -> None:
    channels = (SyntheticChannel("voice", 1500, aht_seconds=300.0), SyntheticChannel("email", 200, aht_seconds=None))
    history = synthetic_history(channels, weeks=3, interval_minutes=60, seed=2).drop(columns="expected")
    frame = forecast(history, 7, method="snaive").frame
    voice = frame[frame["channel"] == "voice"]
    starts = pd.DatetimeIndex(voice["interval_start"])
    # The synthetic curve is 300 * (1 + 0.15 sin(2 pi (t - 09:00) / 24 h)) with 10% lognormal noise per interval;
    # at 15:00 (t - 9 h = 6 h, sine 1) the mean is about 345 s, at 09:00 about 300 s.
    at_15 = voice.loc[(starts.hour == 15) & (starts.day_of_week < 5), "aht_seconds"]
    assert at_15.mean() == pytest.approx(345.0 * np.exp(0.005), rel=0.03)
    assert frame.loc[frame["channel"] == "email", "aht_seconds"].isna().all()
    assert "aht_seconds" in frame.columns
