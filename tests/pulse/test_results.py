"""Survey results with anonymity applied (`pulse.results`), on random surveys and on named cases."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pulse import rounds
from pulse.drivers import correlation, key_drivers
from pulse.results import ALL_TEAMS, QUARTER, ROUND, Answer, RoundRef, cell_result, cells_and_relations, suppress
from tests.pulse.test_enps_and_anonymity import _pinned


def _answers(per_cell: dict[tuple[int, int], int]) -> list[Answer]:
    return [
        Answer(round_id, team, (7 * i + team) % 11, {"tools": 1 + (i % 5)}, comment=f"c{round_id}-{team}-{i}")
        for (round_id, team), n in per_cell.items()
        for i in range(n)
    ]


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda teams: st.integers(1, 7).flatmap(
            lambda count: st.tuples(
                st.just(teams),
                st.lists(st.sampled_from(["2026-Q1", "2026-Q2", "2026-Q3"]), min_size=count, max_size=count),
                st.lists(st.integers(0, 11), min_size=teams * count, max_size=teams * count),
            )
        )
    ),
    st.integers(3, 7),
    st.integers(0, 4),
)
def test_every_shown_cell_is_large_and_no_hidden_one_follows_from_the_shown(
    survey: tuple[int, list[str], list[int]], k: int, extra: int
) -> None:
    teams, quarters, sizes = survey
    refs = [RoundRef(i + 1, i + 1, q) for i, q in enumerate(sorted(quarters))]
    team_ids = list(range(1, teams + 1))
    per_cell = {(r.id, t): sizes[i * teams + j] for i, r in enumerate(refs) for j, t in enumerate(team_ids)}
    answers = _answers(per_cell)
    comment_k = k + extra
    found = suppress(answers, refs, team_ids, k, comment_k)
    _, relations = cells_and_relations(refs, team_ids)
    for cell, n in found.counts.items():
        result = cell_result(cell, answers, refs, found, ["tools"])
        assert result.n == n
        if result.shown:
            assert n >= k and result.enps is not None and result.enps.n == n
        else:
            assert result.enps is None and not result.drivers
        if result.comments:
            assert n >= comment_k and result.shown
    # No hidden score or comment group is pinned by the equations between cells.
    counts: dict[object, int] = dict(found.counts.items())
    assert _pinned(counts, list(relations), frozenset(found.hidden)) == []
    assert _pinned(counts, list(relations), frozenset(found.comments_hidden)) == []
    assert found.hidden <= found.comments_hidden


def test_a_newcomer_is_not_exposed_by_a_quarter_minus_a_round() -> None:
    """Round 1: five answers; round 2 in the same quarter: one (a newcomer). Showing the quarter (6) beside
    round 1 (5) would give round 2 away, so one of the two is hidden as well as round 2: the quarter, since
    rounds are what the trend and the triad panel read."""
    refs = [RoundRef(1, 1, "2026-Q3"), RoundRef(2, 2, "2026-Q3")]
    found = suppress(_answers({(1, 7): 5, (2, 7): 1}), refs, [7], 5, 8)
    assert (ROUND, 2, 7) in found.hidden and (ROUND, 2, ALL_TEAMS) in found.hidden
    assert (ROUND, 1, 7) not in found.hidden and (QUARTER, "2026-Q3", 7) in found.hidden


def test_round_dates_and_states() -> None:
    weekly = rounds.round_dates(dt.date(2026, 11, 2), "weekly", 3, 5)
    assert [(r.opens_on.day, r.closes_on.day) for r in weekly] == [(2, 6), (9, 13), (16, 20)]
    assert rounds.state(dt.date(2026, 11, 2), dt.date(2026, 11, 6), dt.date(2026, 11, 6)) == "open"
    assert rounds.state(dt.date(2026, 11, 2), dt.date(2026, 11, 6), dt.date(2026, 11, 7)) == "closed"
    assert rounds.state(dt.date(2026, 11, 2), dt.date(2026, 11, 6), dt.date(2026, 11, 3), closed_early=True) == "closed"
    assert rounds.quarter_of(dt.date(2026, 12, 31)) == "2026-Q4"


def test_key_driver_interval_matches_fisher_z() -> None:
    # 40 pairs with a planted relation; the interval is Fisher's z +/- 1.96 / sqrt(37), back-transformed.
    rng = np.random.default_rng(3)
    x = rng.integers(1, 6, size=40)
    y = np.clip(np.round(2 * x + rng.normal(0, 2, size=40)), 0, 10)
    found = correlation(x.tolist(), y.tolist())
    assert found is not None
    r = np.corrcoef(x, y)[0, 1]
    assert found.r == r
    assert found.ci_low == np.tanh(np.arctanh(r) - 1.959963984540054 / np.sqrt(37))
    assert found.ci_low < r < found.ci_high and found.clear
    # Under 20 answers: no key drivers at all.
    assert key_drivers(y[:19].astype(int).tolist(), {"tools": x[:19].tolist()}) == []
    assert [d.key for d in key_drivers(y.astype(int).tolist(), {"tools": x.tolist()})] == ["tools"]


def test_scores_show_their_sign_but_zero_has_none() -> None:
    from wfm.routes.common import signed

    assert [signed(v) for v in (12.4, -3.6, -0.3, 0.0, 0.4)] == ["+12", "-4", "0", "0", "0"]
