"""eNPS golden numbers and the anonymity rules as properties over random team sets and rounds (pure)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulse.anonymity import Relation, check_thresholds, hidden_groups
from pulse.enps import category, enps


def test_enps_golden_numbers() -> None:
    # 5 promoters (10, 10, 9, 9, 10), 2 passives (8, 7), 3 detractors (6, 0, 5): 100 x (5 - 3) / 10 = 20.
    # Interval by hand: with one pseudo-answer of each kind, n = 13, p_P = 6/13, p_D = 4/13,
    # variance 10/13 - (2/13)^2 = 0.745562, se = sqrt(0.745562 / 13) = 0.239481, x 1.959964 x 100 = 46.937.
    result = enps([10, 10, 9, 8, 7, 6, 0, 5, 9, 10])
    assert result is not None
    assert (result.n, result.promoters, result.passives, result.detractors) == (10, 5, 2, 3)
    assert result.score == pytest.approx(20.0)
    assert result.ci_low == pytest.approx(20 - 46.937, abs=0.01) and result.ci_high == pytest.approx(66.937, abs=0.01)
    # Unanimous promoters: +100 with an interval of non-zero width that stays within the scale.
    top = enps([10] * 6)
    assert top is not None and top.score == 100 and top.ci_high == 100 and 0 < top.ci_low < 100
    assert enps([]) is None  # "not enough responses", not an error
    assert [category(a) for a in (0, 6, 7, 8, 9, 10)] == ["detractor"] * 2 + ["passive"] * 2 + ["promoter"] * 2
    with pytest.raises(ValueError, match="0-10"):
        enps([11])


def test_thresholds_have_floors() -> None:
    check_thresholds(5, 8)
    with pytest.raises(ValueError, match="at least 3"):
        check_thresholds(2, 8)
    with pytest.raises(ValueError, match="at least the score threshold"):
        check_thresholds(5, 4)
    with pytest.raises(ValueError, match="at least 3"):
        hidden_groups({"a": 5}, [], 2)


def _table(counts: list[list[int]]) -> tuple[dict[object, int], list[Relation]]:
    """Teams x rounds cells, each round's total over teams, each team's total over rounds, the grand total."""
    teams, rounds = len(counts), len(counts[0])
    cells: dict[object, int] = {}
    relations = []
    for t in range(teams):
        for r in range(rounds):
            cells[("cell", t, r)] = counts[t][r]
    for r in range(rounds):
        cells[("round", r)] = sum(counts[t][r] for t in range(teams))
        relations.append(Relation(("round", r), tuple(("cell", t, r) for t in range(teams))))
    for t in range(teams):
        cells[("team", t)] = sum(counts[t])
        relations.append(Relation(("team", t), tuple(("cell", t, r) for r in range(rounds))))
    cells["all"] = sum(map(sum, counts))
    relations.append(Relation("all", tuple(("round", r) for r in range(rounds))))
    relations.append(Relation("all", tuple(("team", t) for t in range(teams))))
    return cells, relations


def _pinned(cells: dict[object, int], relations: list[Relation], hidden: frozenset[object]) -> list[object]:
    """Independently of the module: a hidden value is pinned when every solution of the relations agrees on
    it, i.e. the null space of the equations over the hidden unknowns is zero in its coordinate."""
    unknowns = sorted(hidden, key=repr)
    index = {k: i for i, k in enumerate(unknowns)}
    rows = []
    for rel in relations:
        row = np.zeros(len(unknowns))
        for c in rel.children:
            if c in index:
                row[index[c]] += 1
        if rel.parent in index:
            row[index[rel.parent]] -= 1
        if row.any():
            rows.append(row)
    if not unknowns:
        return []
    if not rows:
        return []
    a = np.array(rows)
    _, s, vt = np.linalg.svd(a)
    null = vt[int((s > 1e-9).sum()) :]
    return [k for k, i in index.items() if null.size == 0 or np.allclose(null[:, i], 0, atol=1e-9)]


@settings(max_examples=300, deadline=None)
@given(
    st.integers(2, 7).flatmap(
        lambda teams: st.integers(1, 4).flatmap(
            lambda rounds: st.lists(
                st.lists(st.integers(0, 12), min_size=rounds, max_size=rounds), min_size=teams, max_size=teams
            )
        )
    ),
    st.integers(3, 8),
)
def test_no_shown_group_is_small_and_no_hidden_one_can_be_derived(counts: list[list[int]], k: int) -> None:
    cells, relations = _table(counts)
    hidden = hidden_groups(cells, relations, k)
    shown = {key for key in cells if key not in hidden}
    # Every group shown has no responses or at least k.
    assert all(cells[key] == 0 or cells[key] >= k for key in shown)
    # No hidden group's count (hence no sum of its answers) follows from the shown ones.
    assert _pinned(cells, relations, hidden) == []
    # The hidden part of a shown parent is never a small group of its own.
    for rel in relations:
        if rel.parent in shown:
            rest = sum(cells[c] for c in rel.children if c in hidden)
            assert rest == 0 or rest >= k


def test_a_lone_small_team_takes_a_sibling_into_hiding() -> None:
    # Round totals: 4 + 9 + 12 = 25 shown; hiding only the team of 4 would let 25 - 9 - 12 expose it.
    cells = {"a": 4, "b": 9, "c": 12, "all": 25}
    hidden = hidden_groups(cells, [Relation("all", ("a", "b", "c"))], 5)
    assert hidden == {"a", "b"}
