"""A lower bound on a week's under-coverage: a linear relaxation solved with HiGHS (through scipy).

Agents with the same skills form a group. For each group, channel and slot a variable counts the group's
agents working that channel then; shifts, breaks and rest are relaxed to capacities every schedule must
respect: at a slot, no more agents than can work then (time off, unavailability and the shift window
allow it); in a day, no more working time than each agent's longest allowed shift that day offers; in the
week, no more working time than each agent's maximum paid hours (times the best working share of paid time,
since short breaks are paid) or its days times its longest shift. Any schedule meeting the rules satisfies
these, so the relaxation's minimum under-coverage is a valid lower bound (Dantzig 1954's covering model,
aggregated).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from wfm.scheduling.grid import Templates

if TYPE_CHECKING:
    from wfm.scheduling.engine import _Search


def _most_work(tpl: Templates, paid_limit_minutes: float, shifts: int) -> float:
    """The most working minutes ``shifts`` shifts or fewer can hold within ``paid_limit_minutes`` of pay: a
    small knapsack over the shift lengths (longer shifts carry lunch and more breaks, so working time is
    not proportional to pay)."""
    unit = 15
    paid = np.round(tpl.paid_minutes / unit).astype(int)
    work = tpl.work_fraction * tpl.length_minutes
    items: dict[int, float] = {}
    for p, w in zip(paid.tolist(), work.tolist(), strict=True):
        items[p] = max(items.get(p, 0.0), w)
    budget = int(paid_limit_minutes // unit)
    best = np.zeros(budget + 1)
    for _ in range(max(0, shifts)):
        step = best.copy()
        for p, w in items.items():
            if p <= budget:
                step[p:] = np.maximum(step[p:], best[: budget + 1 - p] + w)
        best = step
    return float(best.max())


def under_coverage_bound(search: _Search) -> float | None:
    """Minimum under-coverage in agent-hours over the relaxation; ``None`` if the LP solver fails."""
    grid, tpl = search.grid, search.tpl
    week = grid.slots
    req = search.req[:, :week]
    need = req > 1e-9
    if not need.any():
        return 0.0
    work_slots = tpl.work_fraction * tpl.length_minutes / grid.step_minutes
    overnight = bool((tpl.end > np.array(grid.day_first_slot)[tpl.day + 1]).any())
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for i, a in enumerate(search.data):
        if a.skills:
            groups[tuple(sorted(a.skills))].append(i)
    avail: dict[tuple[int, ...], np.ndarray] = {}
    day_cap: dict[tuple[int, ...], np.ndarray] = {}
    week_cap: dict[tuple[int, ...], float] = {}
    for g, members in groups.items():
        at = np.zeros(week)
        per_day = np.zeros(7)
        total = 0.0
        for i in members:
            a = search.data[i]
            allowed = np.flatnonzero(a.allowed)
            if allowed.size == 0:
                continue
            diff = np.zeros(grid.size + 1)
            np.add.at(diff, tpl.start[allowed], 1)
            np.add.at(diff, tpl.end[allowed], -1)
            at += np.cumsum(diff)[:week] > 0
            longest = np.zeros(7)
            np.maximum.at(longest, tpl.day[allowed], work_slots[allowed])
            per_day += longest
            days_cap = np.sort(longest)[::-1][: a.agent.max_days_week].sum()
            shifts = min(a.agent.max_days_week, int((longest > 0).sum()))
            total += min(_most_work(tpl, a.hi, shifts) / grid.step_minutes, days_cap)
        avail[g], day_cap[g], week_cap[g] = at, per_day, total
    # Columns: z[g, c, t] where channel c needs staff at t and the group can work then, then u[c, t].
    z_cols: list[tuple[tuple[int, ...], int, int]] = []
    for g in groups:
        for channel in g:
            z_cols.extend((g, channel, int(t)) for t in np.flatnonzero(need[channel] & (avail[g] > 0)))
    u_cols = [(int(c), int(t)) for c, t in zip(*np.nonzero(need), strict=True)]
    u_index = {key: len(z_cols) + j for j, key in enumerate(u_cols)}
    n_cols = len(z_cols) + len(u_cols)
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    rhs: list[float] = []

    def add_row(entries: list[tuple[int, float]], bound: float) -> None:
        r = len(rhs)
        for col, v in entries:
            rows.append(r)
            cols.append(col)
            vals.append(v)
        rhs.append(bound)

    cover: dict[tuple[int, int], list[tuple[int, float]]] = defaultdict(list)
    per_slot: dict[tuple[tuple[int, ...], int], list[tuple[int, float]]] = defaultdict(list)
    per_group: dict[tuple[int, ...], list[tuple[int, float]]] = defaultdict(list)
    per_group_day: dict[tuple[tuple[int, ...], int], list[tuple[int, float]]] = defaultdict(list)
    day_of_slot = np.searchsorted(np.array(grid.day_first_slot), np.arange(week), side="right") - 1
    for j, (g, c, t) in enumerate(z_cols):
        cover[(c, t)].append((j, -1.0))
        per_slot[(g, t)].append((j, 1.0))
        per_group[g].append((j, 1.0))
        per_group_day[(g, int(day_of_slot[t]))].append((j, 1.0))
    for (c, t), col in u_index.items():
        add_row([*cover[(c, t)], (col, -1.0)], -float(req[c, t]))
    for (g, t), entries in per_slot.items():
        add_row(entries, float(avail[g][t]))
    for g, entries in per_group.items():
        add_row(entries, week_cap[g])
    if not overnight:
        for (g, d), entries in per_group_day.items():
            add_row(entries, float(day_cap[g][d]))
    matrix = sparse.csr_matrix((vals, (rows, cols)), shape=(len(rhs), n_cols))
    cost = np.zeros(n_cols)
    cost[len(z_cols) :] = grid.step_minutes / 60
    result = linprog(cost, A_ub=matrix, b_ub=np.array(rhs), bounds=(0, None), method="highs")
    if result.status != 0:
        return None
    return max(0.0, float(result.fun) - 1e-6)
