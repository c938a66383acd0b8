"""`wfm.erlang` against a discrete-event simulation of the same queues (`tests/erlang_sim.py`).

For every case of `CASES` each metric of `erlang_c_metrics` / `erlang_a_metrics` must lie in the
simulation's batch-means confidence interval. Before that, the simulator itself is checked against results
that do not come from `wfm.erlang`: the M/M/1 closed forms and the stationary distribution of the M/M/2+M
birth-death chain. Seeds are fixed, so the outcome is deterministic; each case takes 2-4 s on an idle core.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.erlang_sim import (
    CASES,
    CHECK_CONFIDENCE,
    METRICS,
    PROPORTION_TOLERANCE,
    QueueCase,
    agrees,
    formula_metrics,
    simulate,
)

# Interval checks in this file: every metric of every case, plus those of the two sanity tests.
SANITY_CHECKS = 8
CHECKS = len(CASES) * len(METRICS) + SANITY_CHECKS


def test_cases_cover_the_regimes_and_the_checks_stay_few() -> None:
    small = [c for c in CASES if 2 <= c.agents <= 5]
    medium = [c for c in CASES if 20 <= c.agents <= 50]
    large = [c for c in CASES if c.agents >= 100]
    erlang_c = [c for c in CASES if c.patience_seconds is None]
    erlang_a = [c for c in CASES if c.patience_seconds is not None]
    assert small and medium and large
    assert any(c.load_erlangs / c.agents >= 0.89 for c in erlang_c)
    assert any(c.load_erlangs / c.agents <= 0.8 for c in erlang_c)
    assert any(c.patience_seconds is not None and c.patience_seconds < c.aht_seconds for c in erlang_a)
    assert any(c.patience_seconds is not None and c.patience_seconds > c.aht_seconds for c in erlang_a)
    assert any(c.load_erlangs > c.agents for c in erlang_a)
    assert {c.answer_within_seconds == 0 for c in CASES} == {True, False}
    assert len({c.seed for c in CASES}) == len(CASES)
    # Bonferroni: with correct formulas, the chance that any check fails stays at most 0.5 %.
    assert CHECKS * (1.0 - CHECK_CONFIDENCE) <= 0.005


def test_simulation_reproduces_the_mm1_closed_forms() -> None:
    # M/M/1 at utilisation rho: P(wait) = rho, mean wait = rho AHT / (1 - rho), P(wait <= T) =
    # 1 - rho exp(-(1 - rho) T / AHT) (Gross & Harris, sec. 2.2), occupancy = rho. Not from wfm.erlang.
    aht, threshold = 100.0, 50.0

    def exact(rho: float) -> dict[str, float]:
        return {
            "service_level": 1.0 - rho * math.exp(-(1.0 - rho) * threshold / aht),
            "asa_seconds": rho * aht / (1.0 - rho),
            "wait_probability": rho,
            "occupancy": rho,
        }

    result = simulate(QueueCase("M/M/1", 1, 0.5, aht, threshold, None, 200_000, 2_000, 8), confidence=CHECK_CONFIDENCE)
    for metric, value in exact(0.5).items():
        assert agrees(result.metric(metric), metric, value), (metric, value, result.metric(metric))
    assert result.abandon_rate.mean == 0.0
    # And the intervals are narrow enough to tell a queue only 10 % busier apart.
    busier = exact(0.55)
    assert not agrees(result.service_level, "service_level", busier["service_level"])
    assert not agrees(result.wait_probability, "wait_probability", busier["wait_probability"])


def test_simulation_matches_the_birth_death_chain_with_abandonment() -> None:
    # M/M/2+M, overloaded: the stationary distribution of the number in system k (birth rate lambda, death
    # rate min(k, n) mu + (k - n)+ theta) gives P(wait) = P(k >= n) (arrivals see time averages), the
    # abandonment share theta E[(k - n)+] / lambda and the occupancy E[min(k, n)] / n.
    agents, load, aht, patience = 2, 2.4, 100.0, 50.0
    rate, mu, theta = load / aht, 1.0 / aht, 1.0 / patience
    k = np.arange(400)
    death = np.minimum(k, agents) * mu + np.maximum(k - agents, 0) * theta
    log_pi = np.concatenate([[0.0], np.cumsum(np.log(rate) - np.log(death[1:]))])
    pi = np.exp(log_pi - log_pi.max())
    pi /= pi.sum()
    expected = {
        "wait_probability": float(pi[k >= agents].sum()),
        "abandon_rate": float(theta * (np.maximum(k - agents, 0) * pi).sum() / rate),
        "occupancy": float((np.minimum(k, agents) * pi).sum() / agents),
    }
    case = QueueCase("M/M/2+M", agents, load, aht, 10.0, patience, 200_000, 2_000, 9)
    result = simulate(case, confidence=CHECK_CONFIDENCE)
    for metric, value in expected.items():
        assert agrees(result.metric(metric), metric, value), (metric, value, result.metric(metric))


@pytest.mark.parametrize("case", CASES, ids=[c.name.replace(" ", "-") for c in CASES])
def test_formulas_lie_in_the_simulations_confidence_intervals(case: QueueCase) -> None:
    result = simulate(case, confidence=CHECK_CONFIDENCE)
    formula = formula_metrics(case)
    misses = [
        f"{metric}: formula {formula[metric]:.6g}, simulated {estimate.mean:.6g} "
        f"in [{estimate.low:.6g}, {estimate.high:.6g}] (+/- {PROPORTION_TOLERANCE} for shares)"
        for metric in METRICS
        if not agrees(estimate := result.metric(metric), metric, formula[metric])
    ]
    assert not misses, f"{case}:\n" + "\n".join(misses)
    # A check is only worth as much as its interval: the shares must be pinned to a few points.
    assert all(result.metric(m).half_width < 0.05 for m in ("service_level", "wait_probability", "abandon_rate"))
