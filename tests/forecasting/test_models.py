"""Seeded synthetic series with known structure: the models recover it and the quantiles cover their share.

The synthetic generator (`forecasting.synthetic`) draws negative-binomial counts around a known mean times a
gamma day shock. Its ``expected`` column is that mean without the shock, so the wMAPE of ``expected`` against
the counts is the noise floor: no forecast beats it on average. Held-out data are the final fortnight.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import FourierRegression, MSTLModel, SeasonalNaive, TopDownETS, forecast
from forecasting.synthetic import SyntheticChannel, synthetic_history
from forecasting.timegrid import DayMatrix


def wmape(actual: np.ndarray, point: np.ndarray) -> float:
    return float(np.abs(actual - point).sum() / actual.sum())


def held_out(channel: SyntheticChannel, weeks: int, minutes: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    full = synthetic_history((channel,), weeks=weeks, interval_minutes=minutes, seed=seed)
    days = pd.DatetimeIndex(full["interval_start"]).normalize()
    cut = days.max() - pd.Timedelta(days=13)
    return full[days < cut].drop(columns="expected"), full[days >= cut]


@pytest.mark.parametrize(
    ("channel", "minutes", "expected_below80", "expected_below95"),
    [
        # 2% growth a week, NB dispersion 0.03, 5% day shocks, 15-minute intervals. Seed 0 measured: regression
        # chosen, wMAPE 0.179 against a noise floor of 0.173 and seasonal naive's 0.235 (its noise counts twice,
        # this week's and last week's, and it misses two weeks of growth); held-out coverage 0.767 and 0.905.
        (SyntheticChannel("voice", 2000, trend_per_week=0.02, dispersion=0.03, day_noise=0.05), 15, 0.767, 0.905),
        # No trend, noisy weeks (dispersion 0.1, 8% day shocks), 30 minutes. Seed 0 measured: regression, wMAPE
        # 0.325 against a floor of 0.311 and seasonal naive's 0.430; held-out coverage 0.809 and 0.969.
        (SyntheticChannel("chat", 800, dispersion=0.1, day_noise=0.08, aht_seconds=None), 30, 0.809, 0.969),
    ],
    ids=["trend", "noisy-weeks"],
)
def test_chosen_model_reaches_the_noise_floor_and_beats_seasonal_naive(
    channel: SyntheticChannel, minutes: int, expected_below80: float, expected_below95: float
) -> None:
    history, actual = held_out(channel, weeks=12, minutes=minutes, seed=0)
    result = forecast(history, 14)
    report = result.reports[channel.name]
    assert report.model != "snaive", report.reason
    assert "lowest MASE" in report.reason
    y = actual["offered"].to_numpy()
    point = result.frame["offered_p50"].to_numpy()
    floor = wmape(y, actual["expected"].to_numpy())
    baseline = forecast(history, 14, method="snaive").frame["offered_p50"].to_numpy()
    assert wmape(y, point) <= floor * 1.06
    assert wmape(y, point) <= wmape(y, baseline) * 0.8
    # The shape (double peak, weekly pattern, closed nights and Sundays) is recovered.
    assert np.corrcoef(point, actual["expected"].to_numpy())[0, 1] > 0.99
    # Coverage on one held-out fortnight depends on the seed: day shocks move all intervals of a day together,
    # so 12 open days are few draws (over seeds 0-5 the trend case measured 0.77-0.85 and 0.90-0.97). Hence
    # the measured value of this seed, and the DESIGN.md goals (75-85%, 90-97%) on the backtest's own
    # leave-one-origin-out coverage, which pools 5 origins.
    opened = actual["expected"].to_numpy() > 0
    below80 = float(np.mean(y[opened] <= result.frame["offered_p80"].to_numpy()[opened]))
    below95 = float(np.mean(y[opened] <= result.frame["offered_p95"].to_numpy()[opened]))
    assert below80 == pytest.approx(expected_below80, abs=0.015)
    assert below95 == pytest.approx(expected_below95, abs=0.015)
    chosen = report.backtest.set_index("model").loc[report.model]
    assert 0.75 <= chosen["coverage_p80"] <= 0.85 and 0.90 <= chosen["coverage_p95"] <= 0.97


@pytest.mark.parametrize("model", [SeasonalNaive(), TopDownETS(), MSTLModel(), FourierRegression()], ids=str)
def test_every_model_fits_a_series_and_forecasts_ordered_quantiles(model: object) -> None:
    assert isinstance(model, SeasonalNaive | TopDownETS | MSTLModel | FourierRegression)
    frame = synthetic_history((SyntheticChannel(),), weeks=5, interval_minutes=60, seed=4)
    series = pd.Series(frame["offered"].to_numpy(), index=pd.DatetimeIndex(frame["interval_start"]))
    fitted = model.fit(series)
    horizon = pd.date_range(series.index.max() + pd.Timedelta(hours=1), periods=7 * 24, freq="60min")
    out = fitted.forecast(horizon)
    assert list(out.columns) == ["p50", "p80", "p95"] and out.index.equals(horizon)
    assert (out["p50"] >= 0).all() and (out["p50"] <= out["p80"]).all() and (out["p80"] <= out["p95"]).all()
    night = out[horizon.hour < 8]
    assert (night.to_numpy() == 0).all()  # closed slots inferred from history
    weekday_noon = out[(horizon.day_of_week == 1) & (horizon.hour == 10)]["p50"].iloc[0]
    assert weekday_noon > 50  # about 2000 * 1.05 * 6% at 10:00 on a Tuesday


def test_seasonal_naive_skips_a_missing_week_day() -> None:
    index = pd.date_range("2024-01-01", periods=21 * 24, freq="60min")
    values = np.where(index.hour == 9, 10.0, 0.0) + (index.day // 7)  # weeks 0, 1, 2 at levels 0, 1, 2 (+10)
    series = pd.Series(values, index=index)
    series[index.normalize() == pd.Timestamp("2024-01-15")] = np.nan  # the last Monday is missing
    matrix = DayMatrix.from_series(series, 60)
    point = (
        SeasonalNaive()
        .fit(matrix, open_mask=np.ones((7, 24), dtype=bool))
        .point(pd.DatetimeIndex(["2024-01-22", "2024-01-23"]))
    )
    assert point[0, 9] == 11.0  # Monday 8 January (level 1), not the missing 15th
    assert point[1, 9] == 12.0  # Tuesday 16 January (level 2)
