"""Quantile calibration, accuracy measures, origins and the automatic-choice rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import Calibration, SeasonalNaive
from forecasting.backtest import backtest, backtest_origins, choose_model, mase_scale
from forecasting.timegrid import DayMatrix


def test_calibration_recovers_negative_binomial_quantiles() -> None:
    # Simulation: counts NB2 with mean p and dispersion 0.05 around known means; calibrated on 20,000 draws
    # and checked on 20,000 fresh ones, the shares at or below P80/P95 are the nominal 0.80/0.95 within
    # sampling error (sd of a share of 20,000 is 0.003; discreteness of counts adds up to about 0.01).
    rng = np.random.default_rng(7)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        mean = rng.uniform(2, 200, n)
        return mean, rng.poisson(rng.gamma(20.0, mean / 20.0)).astype(float)

    point, actual = draw(20_000)
    calibration = Calibration.fit(point, actual, rng.integers(1, 15, 20_000), "simulation")
    assert calibration.phi[0] == pytest.approx(0.05, abs=0.01)
    fresh_point, fresh = draw(20_000)
    p80, p95 = calibration.quantiles(fresh_point, np.full(20_000, 3))
    assert np.mean(fresh <= p80) == pytest.approx(0.80, abs=0.02)
    assert np.mean(fresh <= p95) == pytest.approx(0.95, abs=0.01)


def test_quantiles_are_ordered_and_later_buckets_not_narrower() -> None:
    calibration = Calibration((7, 14), (0.02, 0.01), (1.0, 0.5), (2.0, 1.0), 1000, "hand-made")
    point = np.array([0.0, 1.0, 50.0, 500.0])
    early80, early95 = calibration.quantiles(point, np.full(4, 1))
    late80, late95 = calibration.quantiles(point, np.full(4, 10))
    assert np.all(point <= early80) and np.all(early80 <= early95)
    assert early80[0] > 0  # an open interval forecast at zero still gets a band
    np.testing.assert_allclose(late80, early80)  # the later bucket was narrower: the earlier one is kept
    np.testing.assert_allclose(late95, early95)


def test_too_few_errors_give_the_wide_default() -> None:
    calibration = Calibration.fit(np.ones(20), np.ones(20), np.ones(20), "tiny")
    assert calibration == Calibration.default()
    assert "fixed default" in calibration.describe()


def test_mase_scale_is_the_mean_weekly_change() -> None:
    # Three weeks at 10, 12 and 9 per interval: week-over-week changes 2 and 3, mean 2.5.
    values = np.repeat([10.0, 12.0, 9.0], 7)[:, None] * np.ones((1, 24))
    matrix = DayMatrix(values, pd.Timestamp("2024-01-01"), 60)
    assert mase_scale(matrix) == pytest.approx(2.5)


def test_origins_step_back_weekly_and_shrink_with_short_history() -> None:
    assert backtest_origins(182, 14) == (14, [168, 161, 154, 147, 140])
    assert backtest_origins(182, 3) == (3, [179, 172, 165, 158, 151])
    # Four weeks: the horizon shrinks to 7 days so that one origin keeps three weeks of training.
    assert backtest_origins(28, 14) == (7, [21, 14])


def test_backtest_scores_a_perfect_model_at_zero() -> None:
    # A series that repeats every week exactly: seasonal naive has no error, and MASE is 0/0 -> NaN there.
    week = np.arange(7 * 24, dtype=float).reshape(7, 24) % 17
    matrix = DayMatrix(np.tile(week, (6, 1)), pd.Timestamp("2024-01-01"), 60)
    result = backtest(matrix, [SeasonalNaive()], horizon_days=7)
    row = result.scores.iloc[0]
    # Six weeks, 7-day horizon: origins at days 35, 28, 21 and 14 (day 7 leaves too little training).
    assert row["model"] == "snaive" and row["wmape"] == 0.0 and row["origins"] == 4
    assert row["coverage_p80"] == 1.0


def test_choice_is_lowest_mase_with_wmape_breaking_near_ties() -> None:
    scores = pd.DataFrame(
        {
            "model": ["snaive", "ets", "mstl", "regression"],
            "wmape": [0.10, 0.09, 0.08, 0.085],
            "mase": [1.00, 0.80, 0.805, 0.85],
            "coverage_p80": [0.8] * 4,
            "coverage_p95": [0.95] * 4,
            "origins": [5, 5, 5, 5],
        }
    )
    chosen, reason = choose_model(scores)
    assert chosen == "mstl"  # within 1% of the best MASE (0.805 <= 0.808) and a lower wMAPE
    assert "tied within 1%" in reason and "lowest wMAPE" in reason
    chosen, _ = choose_model(scores.assign(mase=[1.0, 0.80, 0.82, 0.85]))
    assert chosen == "ets"
    chosen, reason = choose_model(scores.assign(origins=0))
    assert chosen == "snaive" and "fallback" in reason
