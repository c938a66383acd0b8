"""Which survey groups may be shown without exposing a person (pure).

A group (e.g. a team in a round, all teams in a round, a team over several rounds) is shown only with at
least ``k`` responses (primary suppression). That is not enough: when a parent group is the sum of child
groups (all teams = the sum of the teams), a hidden child could be recovered by subtracting the visible
children from the parent, and likewise through any other chain of sums. So hidden cells are protected by
complementary suppression (Cox 1980, "Suppression methodology and statistical disclosure control"), checked
exactly: counts and answer sums of hidden groups are unknowns, every relation with a visible parent is an
equation, and a hidden group is exposed when its unknown is fixed by those equations (its unit vector lies
in their row space) or when the hidden children of one visible parent add up to fewer than ``k`` responses
(their total would then be a small group of its own). While anything is exposed, the smallest visible
group taking part in the exposing relation is hidden too (or the parent, when no child is left).

Groups with no responses stay visible: they reveal that nobody answered, not how anyone answered.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_THRESHOLD = 3
Key = Hashable


@dataclass(frozen=True)
class Relation:
    """``parent``'s responses are exactly those of ``children`` (a partition)."""

    parent: Key
    children: tuple[Key, ...]


def check_thresholds(score_threshold: int, comment_threshold: int) -> None:
    """DESIGN.md: score threshold at least 3, comment threshold at least the score threshold."""
    if score_threshold < MIN_THRESHOLD:
        raise ValueError(f"the score threshold must be at least {MIN_THRESHOLD}, got {score_threshold}")
    if comment_threshold < score_threshold:
        raise ValueError(
            f"the comment threshold ({comment_threshold}) must be at least the score threshold ({score_threshold})"
        )


def _determined(hidden: list[Key], relations: Sequence[Relation], shown: set[Key]) -> list[Key]:
    """Hidden groups whose value the visible ones fix through the relations: each relation is an equation,
    sum of hidden children - hidden parent = known (from the visible groups)."""
    index = {key: i for i, key in enumerate(hidden)}
    rows = []
    for rel in relations:
        row = np.zeros(len(hidden))
        for child in rel.children:
            if child in index:
                row[index[child]] += 1.0
        if rel.parent in index:
            row[index[rel.parent]] -= 1.0
        if row.any():
            rows.append(row)
    if not rows:
        return []
    # A value is fixed when every solution agrees on it: the null space is zero in its coordinate.
    _, singular, vt = np.linalg.svd(np.array(rows))
    tolerance = 1e-9 * max(1.0, float(singular.max(initial=0.0)))
    null = vt[int((singular > tolerance).sum()) :]
    if null.shape[0] == 0:
        return list(index)
    fixed = np.abs(null).max(axis=0) <= 1e-9
    return [key for key, i in index.items() if fixed[i]]


def _small_remainder(
    counts: Mapping[Key, int], relations: Sequence[Relation], shown: set[Key], k: int
) -> list[Relation]:
    """Relations with a visible parent whose hidden children hold between 1 and k - 1 responses in all."""
    out = []
    for rel in relations:
        if rel.parent not in shown:
            continue
        total = sum(counts.get(c, 0) for c in rel.children if c not in shown)
        if 0 < total < k:
            out.append(rel)
    return out


def hidden_groups(
    counts: Mapping[Any, int],
    relations: Sequence[Relation],
    k: int,
    also_hidden: frozenset[Key] = frozenset(),
    priority: Mapping[Key, int] | None = None,
) -> frozenset[Key]:
    """The groups to hide so that none with fewer than ``k`` responses can be seen or derived.

    ``also_hidden`` are hidden from the start whatever their size (e.g. comments of groups whose scores are
    hidden), so that nothing is derived through them either. When one more group must be hidden, the one
    with the lowest ``priority`` goes first (default 1 each), then the smallest.
    """
    rank = priority or {}
    if k < MIN_THRESHOLD:
        raise ValueError(f"the threshold must be at least {MIN_THRESHOLD}, got {k}")
    shown = {key for key, n in counts.items() if (n == 0 or n >= k) and key not in also_hidden}

    def smallest(keys: list[Key]) -> Key | None:
        visible = [c for c in keys if c in shown and counts.get(c, 0) > 0]
        return min(visible, key=lambda c: (rank.get(c, 1), counts[c], repr(c))) if visible else None

    while True:
        hidden = sorted((key for key in counts if key not in shown), key=repr)
        small = _small_remainder(counts, relations, shown, k)
        if small:
            rel = small[0]
            victim = smallest([*rel.children, rel.parent])
        else:
            determined = _determined(hidden, relations, shown) if hidden else []
            if not determined:
                return frozenset(hidden)
            members = [
                m
                for rel in relations
                if determined[0] in (rel.parent, *rel.children)
                for m in (rel.parent, *rel.children)
            ]
            victim = smallest(members)
            if victim is None:  # pinned through a chain: hide the smallest visible group on any chain
                chains = [m for rel in relations for m in (rel.parent, *rel.children) if _touches(rel, hidden)]
                victim = smallest(chains)
            if victim is None:
                return frozenset(hidden)
        shown.discard(victim)


def _touches(rel: Relation, hidden: list[Key]) -> bool:
    return any(m in hidden for m in (rel.parent, *rel.children))
