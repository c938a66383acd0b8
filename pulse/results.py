"""Survey results with anonymity applied (pure): which cells may be shown, and what they show.

A cell is a group of responses: one round or one calendar quarter, for one team or for all teams (team 0).
Their sums tie them together: a round's all-teams cell is the sum of its team cells, a quarter's cell the
sum of its rounds' cells, and a quarter's all-teams cell the sum of its team cells. `pulse.anonymity`
hides every cell with fewer than the threshold's responses and every cell those sums would expose; it runs
once over the whole survey for scores and once more, with the comment threshold, for comments, so every
viewer and every export sees the same hidden set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from pulse import anonymity
from pulse.drivers import KeyDriver, key_drivers
from pulse.enps import Enps, enps

ALL_TEAMS = 0
ROUND = "round"
QUARTER = "quarter"
Cell = tuple[str, object, int]  # (ROUND, round id, team) or (QUARTER, "2026-Q3", team); team 0 = all


@dataclass(frozen=True)
class Answer:
    round_id: int
    team_id: int
    enps: int
    scores: Mapping[str, int | None]
    comment: str = ""


@dataclass(frozen=True)
class RoundRef:
    id: int
    number: int
    quarter: str


@dataclass(frozen=True)
class Suppression:
    counts: Mapping[Cell, int]
    hidden: frozenset[Cell]
    comments_hidden: frozenset[Cell]


@dataclass(frozen=True)
class CellResult:
    cell: Cell
    n: int
    hidden: bool
    enps: Enps | None
    drivers: Mapping[str, float] = field(default_factory=dict)
    comments: tuple[str, ...] = ()
    comments_hidden: bool = True

    @property
    def shown(self) -> bool:
        return self.n > 0 and not self.hidden


def members(cell: Cell, answers: Iterable[Answer], rounds: Sequence[RoundRef]) -> list[Answer]:
    """The answers a cell is made of."""
    kind, period, team = cell
    in_period = {period} if kind == ROUND else {r.id for r in rounds if r.quarter == period}
    return [a for a in answers if a.round_id in in_period and (team == ALL_TEAMS or a.team_id == team)]


def cells_and_relations(
    rounds: Sequence[RoundRef], team_ids: Iterable[int]
) -> tuple[list[Cell], list[anonymity.Relation]]:
    """Every cell of a survey and the sums that tie them together."""
    teams = sorted(set(team_ids))
    quarters = sorted({r.quarter for r in rounds})
    cells: list[Cell] = []
    relations = []
    for r in rounds:
        cells += [(ROUND, r.id, t) for t in (ALL_TEAMS, *teams)]
        relations.append(anonymity.Relation((ROUND, r.id, ALL_TEAMS), tuple((ROUND, r.id, t) for t in teams)))
    for q in quarters:
        cells += [(QUARTER, q, t) for t in (ALL_TEAMS, *teams)]
        relations.append(anonymity.Relation((QUARTER, q, ALL_TEAMS), tuple((QUARTER, q, t) for t in teams)))
        for t in (ALL_TEAMS, *teams):
            relations.append(
                anonymity.Relation((QUARTER, q, t), tuple((ROUND, r.id, t) for r in rounds if r.quarter == q))
            )
    return cells, relations


def suppress(
    answers: Sequence[Answer], rounds: Sequence[RoundRef], team_ids: Iterable[int], score_k: int, comment_k: int
) -> Suppression:
    """The hidden cells for scores (threshold ``score_k``) and for comments (``comment_k``)."""
    anonymity.check_thresholds(score_k, comment_k)
    quarter_of = {r.id: r.quarter for r in rounds}
    teams = set(team_ids) | {a.team_id for a in answers}
    cells, relations = cells_and_relations(rounds, teams)
    counts: dict[Cell, int] = dict.fromkeys(cells, 0)
    for a in answers:
        for team in (ALL_TEAMS, a.team_id):
            counts[(ROUND, a.round_id, team)] += 1
            counts[(QUARTER, quarter_of[a.round_id], team)] += 1
    # When a round or its quarter must go, the quarter goes: rounds are what trends and the triad panel use.
    priority: dict[Hashable, int] = {cell: 0 if cell[0] == QUARTER else 1 for cell in cells}
    hidden = anonymity.hidden_groups(counts, relations, score_k, priority=priority)
    # Comments are only shown where scores are, so their hidden set starts from the scores'.
    comments_hidden = anonymity.hidden_groups(counts, relations, comment_k, also_hidden=hidden, priority=priority)
    return Suppression(counts, cast(frozenset[Cell], hidden), cast(frozenset[Cell], comments_hidden))


def cell_result(
    cell: Cell,
    answers: Sequence[Answer],
    rounds: Sequence[RoundRef],
    suppression: Suppression,
    drivers: Sequence[str],
) -> CellResult:
    """What a cell shows: nothing but its size when hidden; eNPS, driver means and comments when allowed."""
    n = suppression.counts.get(cell, 0)
    if n == 0 or cell in suppression.hidden:
        return CellResult(cell, n, hidden=n > 0, enps=None)
    group = members(cell, answers, rounds)
    means = {}
    for key in drivers:
        values = [a.scores.get(key) for a in group]
        given = [v for v in values if v is not None]
        if given:
            means[key] = sum(given) / len(given)
    comments_hidden = cell in suppression.comments_hidden
    comments = () if comments_hidden else tuple(sorted(a.comment for a in group if a.comment))
    return CellResult(cell, n, False, enps(a.enps for a in group), means, comments, comments_hidden)


def cell_key_drivers(
    cell: Cell, answers: Sequence[Answer], rounds: Sequence[RoundRef], suppression: Suppression, drivers: Sequence[str]
) -> list[KeyDriver]:
    """Key drivers of a shown cell (empty for hidden or small cells, see `pulse.drivers.MIN_RESPONSES`)."""
    if suppression.counts.get(cell, 0) == 0 or cell in suppression.hidden:
        return []
    group = members(cell, answers, rounds)
    return key_drivers([a.enps for a in group], {k: [a.scores.get(k) for a in group] for k in drivers})


def headcounts_by_cell(participation: Mapping[tuple[int, int], int], rounds: Sequence[RoundRef]) -> dict[Cell, int]:
    """Sum per-(round, team) numbers (e.g. eligible people) into every cell they belong to."""
    out: dict[Cell, int] = defaultdict(int)
    quarter_of = {r.id: r.quarter for r in rounds}
    for (round_id, team), value in participation.items():
        if round_id not in quarter_of:
            continue
        for t in (ALL_TEAMS, team):
            out[(ROUND, round_id, t)] += value
            out[(QUARTER, quarter_of[round_id], t)] += value
    return dict(out)
