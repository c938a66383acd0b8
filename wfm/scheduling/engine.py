"""The schedule engine: a week of shifts, breaks and channels for a team, covering requirements within the rules.

Method (measured against MIP and CP-SAT models first: at 150 agents neither found a useful incumbent within a
minute, see `benchmarks/schedule_engine.py`): a constructive heuristic then local search over weekly tours,
the approach of the "tour scheduling" literature (Brusco & Jacobs 1993, "A simulated annealing approach to
the cyclic staff-scheduling problem"; Ernst et al. 2004, "Staff scheduling and rostering: a review").

1. Each agent-day is off or one shift template (day, start, length) on one of the agent's channels. Before
   breaks are placed, a shift counts as its *work fraction* over its whole span (the share of its time left
   once breaks and lunch are taken), a smooth stand-in for breaks that are staggered later.
2. Construction: round-robin over agents (fewest skills first), each taking its best single shift per
   round, while it pays off or the agent is below its minimum hours.
3. Local search until the time limit: re-choose one agent-day (any template, channel or off), move a shift
   to a day off, and ruin-and-recreate a few agents at a time, accepting what does not worsen the objective.
   Every move keeps every hard rule: time off, unavailability, rest between shifts and in the week, days and
   hours per week, one shift per day, the shift window and lengths.
4. Breaks and lunch are placed shift by shift where the staff surplus is largest (`shifts.with_breaks`),
   twice over, and multi-skilled agents' work stretches move to the channel that needs them most.

The objective, by weight (`Weights`): under-coverage per channel, then paid cost and over-coverage, then
preferences and the fairness of unpopular shifts (a convex penalty on each agent's count, history
included, which spreads them). Whatever happens, a schedule comes back: an agent whose minimum hours cannot
be met is scheduled as close as the other rules allow, and the rules in conflict are named by relaxing them
one at a time.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np

from wfm.scheduling.grid import BoolArray, FloatArray, IntArray, Templates, WeekGrid, local_midnight, week_templates
from wfm.scheduling.model import Activity, Agent, AvailabilityWindow, Rules, TimeOff, Violation
from wfm.scheduling.rules import check_all, shifts_of, time_off_credit_minutes
from wfm.scheduling.scoring import gini, paid_cost, unpopular_shifts
from wfm.scheduling.shifts import with_breaks

EPS = 1e-7
OFF = -1
# Hard rules the engine can relax one at a time to explain an agent's unreachable minimum hours.
RELAXABLE = ("time_off", "unavailable", "max_days_week", "rest_between_shifts", "weekly_rest")


@dataclass(frozen=True)
class Requirement:
    """Staff required on a channel over ``[start, end)`` (``staff_required`` of the requirements file)."""

    start: dt.datetime
    end: dt.datetime
    channel: str
    staff: float


@dataclass(frozen=True)
class Weights:
    """Objective weights in currency per agent-hour (per shift for fairness); ``None`` = derived from costs.

    Defaults: under-coverage 100 x the highest hourly cost (so covering wins over cost unless a shift would
    spend over 99% of its time idle); over-coverage 0.1 x the mean hourly cost on top of the cost itself;
    a preference 0.05 x the mean per hour; fairness 0.5 x the mean per (count + 1)^2 - count^2.
    """

    under_per_hour: float | None = None
    over_per_hour: float | None = None
    preference_per_hour: float | None = None
    unfair_per_shift: float | None = None


@dataclass(frozen=True)
class Problem:
    """Everything the engine needs for one team's week."""

    monday: dt.date
    zone: ZoneInfo
    agents: tuple[Agent, ...]
    requirements: tuple[Requirement, ...]
    rules: Rules = field(default_factory=Rules)
    time_off: tuple[TimeOff, ...] = ()
    windows: tuple[AvailabilityWindow, ...] = ()
    previous: tuple[Activity, ...] = ()
    unpopular_history: Mapping[str, int] = field(default_factory=dict)
    weights: Weights = field(default_factory=Weights)


@dataclass(frozen=True)
class Conflict:
    """An agent whose ``rule`` cannot be met together with ``conflicts_with``; ``minutes`` short."""

    agent_id: str
    rule: str
    conflicts_with: tuple[str, ...]
    minutes: float
    detail: str


@dataclass(frozen=True)
class Shortfall:
    """A run of intervals of one channel with fewer staff than required."""

    channel: str
    start: dt.datetime
    end: dt.datetime
    agent_hours: float
    peak_missing: float


@dataclass(frozen=True)
class SoftCost:
    """What honouring a soft rule costs: under-covered agent-hours a schedule without it would cover."""

    rule: str
    under_hours: float


@dataclass(frozen=True)
class Result:
    """The week's schedule and how good it is. Coverage arrays are per grid slot (``grid``)."""

    activities: tuple[Activity, ...]
    violations: tuple[Violation, ...]
    conflicts: tuple[Conflict, ...]
    shortfalls: tuple[Shortfall, ...]
    soft_costs: tuple[SoftCost, ...]
    status: str
    grid: WeekGrid
    channels: tuple[str, ...]
    required: FloatArray  # (channels, slots)
    scheduled: FloatArray  # (channels, slots)
    required_hours: float
    under_hours: float
    over_hours: float
    bound_under_hours: float | None
    paid_hours: float
    labour_cost: float
    unpopular: Mapping[str, int]
    fairness_gini: float
    seconds: float
    moves: int


Progress = Callable[[int, str], None]


@dataclass
class _AgentData:
    agent: Agent
    skills: list[int]
    lo: float  # paid minutes to reach (minimum hours less time-off credit)
    hi: float
    cost_per_minute: float
    allowed: BoolArray  # per template, all hard time rules
    allowed_no_time_off: BoolArray
    allowed_no_unavailable: BoolArray
    preference: FloatArray  # per template: avoid minutes minus preferred minutes
    before: list[tuple[float, float]]  # previous week's shifts as slots (may be negative)
    history: int


class _Search:
    """The mutable state of one search: each agent's tour and the expected coverage it gives."""

    def __init__(self, problem: Problem, grid: WeekGrid, tpl: Templates, channels: list[str], seed: int) -> None:
        self.p = problem
        self.grid = grid
        self.tpl = tpl
        self.channels = channels
        self.rng = np.random.default_rng(seed)
        rules = problem.rules
        self.rest_slots = rules.min_rest_between_shifts_hours * 60 / grid.step_minutes
        self.week_rest_slots = rules.min_weekly_rest_hours * 60 / grid.step_minutes
        self.req = _required_array(problem.requirements, grid, channels)
        costs = [a.hourly_cost for a in problem.agents] or [1.0]
        mean_cost = max(float(np.mean(costs)), 1e-6)
        w = problem.weights
        hours_per_slot = grid.step_minutes / 60
        under = w.under_per_hour if w.under_per_hour is not None else 100 * max(max(costs), 1.0)
        self.w_under = under * hours_per_slot
        self.w_over = (w.over_per_hour if w.over_per_hour is not None else 0.1 * mean_cost) * hours_per_slot
        self.w_pref = (w.preference_per_hour if w.preference_per_hour is not None else 0.05 * mean_cost) / 60
        self.w_fair = w.unfair_per_shift if w.unfair_per_shift is not None else 0.5 * mean_cost
        self.data = [self._agent_data(a) for a in problem.agents]
        n = len(self.data)
        self.choice = np.full((n, 7), OFF, dtype=np.int64)
        self.chan = np.zeros((n, 7), dtype=np.int64)
        self.cov = np.zeros_like(self.req)
        self.moves = 0

    # ----- set-up -------------------------------------------------------------------------------------------

    def _agent_data(self, agent: Agent) -> _AgentData:
        grid, tpl, p = self.grid, self.tpl, self.p
        week_start = grid.week_start
        off = np.zeros(grid.size + 1, dtype=np.int64)
        for t in p.time_off:
            if t.agent_id == agent.agent_id:
                _mark(off, grid.slot_of(t.start), grid.slot_of(t.end))
        away = np.zeros(grid.size + 1, dtype=np.int64)
        pref = np.zeros(grid.size + 1, dtype=np.float64)
        for window in p.windows:
            if window.agent_id != agent.agent_id:
                continue
            for d in range(-1, 9):
                day = grid.day(0) + dt.timedelta(days=d)
                if day.isoweekday() != window.weekday:
                    continue
                midnight = local_midnight(day, grid.zone)
                start = grid.slot_of(midnight + dt.timedelta(minutes=window.start_minute))
                end = grid.slot_of(midnight + dt.timedelta(minutes=window.end_minute))
                if window.kind == "unavailable":
                    _mark(away, start, end)
                elif window.kind in ("avoid", "preferred"):
                    sign = 1.0 if window.kind == "avoid" else -1.0
                    lo, hi = max(0, math.floor(start)), min(grid.size, math.ceil(end))
                    if hi > lo:
                        pref[lo:hi] += sign
        allowed_no_off = _free(away, tpl)
        allowed_no_away = _free(off, tpl)
        skills = [self.channels.index(s) for s in agent.skills if s in self.channels]
        credit = time_off_credit_minutes(agent, p.time_off, week_start, grid.zone)
        pref_cum = np.concatenate([[0.0], np.cumsum(pref[: grid.size])])
        preference = (pref_cum[np.minimum(tpl.end, grid.size)] - pref_cum[tpl.start]) * grid.step_minutes
        before = [
            (grid.slot_of(s.start), grid.slot_of(s.end))
            for s in shifts_of(a for a in p.previous if a.agent_id == agent.agent_id).get(agent.agent_id, [])
        ]
        return _AgentData(
            agent=agent,
            skills=skills,
            lo=max(0.0, agent.min_hours_week * 60 - credit),
            hi=agent.max_hours_week * 60,
            cost_per_minute=agent.hourly_cost / 60,
            allowed=allowed_no_off & allowed_no_away,
            allowed_no_time_off=allowed_no_off,
            allowed_no_unavailable=allowed_no_away,
            preference=preference,
            before=before,
            history=int(p.unpopular_history.get(agent.agent_id, 0)),
        )

    # ----- bookkeeping ----------------------------------------------------------------------------------------

    def paid(self, i: int, row: IntArray | None = None) -> float:
        r = self.choice[i] if row is None else row
        worked = r[r >= 0]
        return float(self.tpl.paid_minutes[worked].sum())

    def unpopular(self, i: int) -> int:
        r = self.choice[i]
        return int(self.tpl.unpopular[r[r >= 0]].sum())

    def _apply(self, i: int, d: int, k: int, c: int, sign: float) -> None:
        tpl = self.tpl
        self.cov[c, tpl.start[k] : tpl.end[k]] += sign * tpl.work_fraction[k]
        if sign > 0:
            self.choice[i, d], self.chan[i, d] = k, c
        else:
            self.choice[i, d] = OFF

    def remove(self, i: int, d: int) -> tuple[int, int]:
        k, c = int(self.choice[i, d]), int(self.chan[i, d])
        if k != OFF:
            self._apply(i, d, k, c, -1.0)
        return k, c

    def put(self, i: int, d: int, k: int, c: int, count: bool = True) -> None:
        if k != OFF:
            self._apply(i, d, k, c, 1.0)
            self.moves += count

    # ----- feasibility -----------------------------------------------------------------------------------------

    def feasible(
        self, i: int, d: int, floor: float, row: IntArray | None = None, relax: frozenset[str] = frozenset()
    ) -> IntArray:
        """Templates agent ``i`` may work on day ``d`` (which must be off in ``row``) with every hard rule kept
        and the week's paid minutes in ``[floor, hi]``."""
        tpl, a = self.tpl, self.data[i]
        r = self.choice[i] if row is None else row
        sl = tpl.day_slices[d]
        if "time_off" in relax and "unavailable" in relax:
            mask = np.ones(sl.stop - sl.start, dtype=bool)
        elif "time_off" in relax:
            mask = a.allowed_no_time_off[sl].copy()
        elif "unavailable" in relax:
            mask = a.allowed_no_unavailable[sl].copy()
        else:
            mask = a.allowed[sl].copy()
        if not mask.any():
            return np.empty(0, dtype=np.int64)
        days = int((r >= 0).sum())
        days_cap = 7 if "max_days_week" in relax else a.agent.max_days_week
        if days + 1 > days_cap:
            return np.empty(0, dtype=np.int64)
        total = (self.paid(i, r) + tpl.paid_minutes[sl]).astype(np.float64)
        mask &= (total <= a.hi + EPS) & (total >= floor - EPS)
        # Prefer shifts after which the minimum stays reachable; when none is, the closest will do.
        ahead = mask & self._minimum_reachable(a, total, days_cap - days - 1)
        mask = ahead if ahead.any() else mask
        starts, ends = tpl.start[sl], tpl.end[sl]
        # Other days' shifts and the previous week's, split at this day: one shift per day keeps them apart.
        blocks = self._blocks(i, r, skip=d)
        midnight = self.grid.day_first_slot[d]
        before = [b for b in blocks if b[0] < midnight]
        after = [b for b in blocks if b[0] >= midnight]
        prev_end = max((e for _, e in before), default=-math.inf)
        next_start = min((s for s, _ in after), default=math.inf)
        # Shifts never overlap; the rest rule asks for more.
        rest = 0.0 if "rest_between_shifts" in relax else self.rest_slots
        mask &= (starts - prev_end >= rest - EPS) & (next_start - ends >= rest - EPS)
        if "weekly_rest" not in relax:
            week = float(self.grid.slots)
            lo_edge, hi_edge = max(prev_end, 0.0), min(next_start, week)
            other = max(_longest_free(before, 0.0, lo_edge), _longest_free(after, hi_edge, week))
            longest = np.maximum(other, np.maximum(starts - lo_edge, hi_edge - ends))
            mask &= longest >= self.week_rest_slots - EPS
        return np.flatnonzero(mask) + sl.start

    def _minimum_reachable(self, a: _AgentData, total: FloatArray, days_left: int) -> BoolArray:
        """Whether the minimum stays reachable after a shift brings the week to ``total`` paid minutes:
        the ``m`` further shifts it needs fit in the days left and, at their shortest, under the maximum."""
        short, long = float(self.tpl.paid_minutes.min()), float(self.tpl.paid_minutes.max())
        need = a.lo - total
        shifts = np.ceil(np.maximum(need, 0.0) / long - EPS)
        return np.asarray((need <= EPS) | ((shifts <= days_left) & (shifts * short <= a.hi - total + EPS)))

    def _blocks(self, i: int, row: IntArray, skip: int) -> list[tuple[float, float]]:
        """Busy spans (slots) of the agent's other days and the previous week, in time order."""
        tpl = self.tpl
        out = list(self.data[i].before)
        for e in range(7):
            if e != skip and row[e] >= 0:
                out.append((float(tpl.start[row[e]]), float(tpl.end[row[e]])))
        out.sort()
        return out

    def off_allowed(self, i: int, d: int, floor: float, row: IntArray | None = None) -> bool:
        return self.paid(i, row) >= floor - EPS

    # ----- values ---------------------------------------------------------------------------------------------

    def values(self, i: int, ks: IntArray, c: int) -> FloatArray:
        """The objective gained by adding each template in ``ks`` for agent ``i`` on channel ``c``."""
        tpl, a = self.tpl, self.data[i]
        starts, ends = tpl.start[ks], tpl.end[ks]
        w0, w1 = int(starts.min()), int(ends.max())
        deficit = np.maximum(self.req[c, w0:w1] - self.cov[c, w0:w1], 0.0)
        f = tpl.fractions[:, None]
        v = self.w_under * np.minimum(f, deficit) - self.w_over * np.maximum(f - deficit, 0.0)
        cum = np.concatenate([np.zeros((f.shape[0], 1)), np.cumsum(v, axis=1)], axis=1)
        fi = tpl.fraction_index[ks]
        gain = cum[fi, ends - w0] - cum[fi, starts - w0]
        fairness = self.w_fair * (2 * (self.unpopular(i) + a.history) + 1) * tpl.unpopular[ks]
        return gain - a.cost_per_minute * tpl.paid_minutes[ks] - self.w_pref * a.preference[ks] - fairness

    def best(self, i: int, d: int, floor: float, density: bool = False) -> tuple[int, int, float]:
        """The best (template, channel, value) for agent ``i`` on day ``d`` (off in the state), or OFF.

        With ``density`` the value is per paid minute, the greedy rule for covering problems (Chvátal 1979):
        it prefers shifts that fit the requirement's shape to long shifts that cover more of it loosely.
        """
        ks = self.feasible(i, d, floor)
        best = (OFF, 0, -math.inf)
        if ks.size == 0:
            return best
        for c in self.data[i].skills:
            v = self.values(i, ks, c)
            if density:
                v = v / self.tpl.paid_minutes[ks] + 1e-9 * v  # equal densities: the larger value

            j = int(np.argmax(v))
            if v[j] > best[2] + EPS:
                best = (int(ks[j]), c, float(v[j]))
        return best

    # ----- moves ----------------------------------------------------------------------------------------------

    def reoptimise(self, i: int, d: int) -> bool:
        """Re-choose agent ``i``'s day ``d``: any template, channel or off, within every hard rule."""
        floor = min(self.data[i].lo, self.paid(i))
        k_old, c_old = self.remove(i, d)
        old_value = self.values(i, np.array([k_old]), c_old)[0] if k_old != OFF else 0.0
        k, c, value = self.best(i, d, floor)
        off_value = 0.0 if self.off_allowed(i, d, floor) else -math.inf
        if off_value > value:
            k, c, value = OFF, 0, off_value
        if value > old_value + EPS * (1 + abs(old_value)):
            self.put(i, d, k, c)
            return True
        self.put(i, d, k_old, c_old, count=False)
        return False

    def move_day(self, i: int, d: int) -> bool:
        """Move agent ``i``'s shift of day ``d`` to whichever day off takes it best."""
        if self.choice[i, d] == OFF:
            return False
        floor = min(self.data[i].lo, self.paid(i))
        k_old, c_old = self.remove(i, d)
        old_value = self.values(i, np.array([k_old]), c_old)[0]
        best = (OFF, 0, 0, -math.inf)
        for e in range(7):
            if e != d and self.choice[i, e] == OFF:
                k, c, value = self.best(i, e, floor)
                if value > best[3]:
                    best = (e, k, c, value)
        e, k, c, value = best
        if k != OFF and value > old_value + EPS * (1 + abs(old_value)):
            self.put(i, e, k, c)
            return True
        self.put(i, d, k_old, c_old, count=False)
        return False

    def private(self, i: int, k: int, unpopular: int) -> float:
        """What agent ``i`` working template ``k`` costs besides coverage: pay, preferences and the fairness
        of ending at ``unpopular`` unpopular shifts (counted with history)."""
        a = self.data[i]
        fair = self.w_fair * (unpopular + a.history) ** 2
        if k == OFF:
            return fair
        return a.cost_per_minute * float(self.tpl.paid_minutes[k]) + self.w_pref * float(a.preference[k]) + fair

    def swap(self, i: int, j: int, d: int) -> bool:
        """Exchange agents ``i`` and ``j``'s day ``d`` (a shift for a shift, or a shift for a day off): the
        coverage stays, so pay, preferences and fairness decide."""
        k_i, c_i = int(self.choice[i, d]), int(self.chan[i, d])
        k_j, c_j = int(self.choice[j, d]), int(self.chan[j, d])
        if k_i == k_j and (k_i == OFF or c_i == c_j):
            return False
        if (k_j != OFF and c_j not in self.data[i].skills) or (k_i != OFF and c_i not in self.data[j].skills):
            return False
        floor_i, floor_j = min(self.data[i].lo, self.paid(i)), min(self.data[j].lo, self.paid(j))
        u_i, u_j = self.unpopular(i), self.unpopular(j)
        flag = self.tpl.unpopular
        before = self.private(i, k_i, u_i) + self.private(j, k_j, u_j)
        after_u_i = u_i - int(k_i != OFF and flag[k_i]) + int(k_j != OFF and flag[k_j])
        after_u_j = u_j - int(k_j != OFF and flag[k_j]) + int(k_i != OFF and flag[k_i])
        after = self.private(i, k_j, after_u_i) + self.private(j, k_i, after_u_j)
        if after >= before - EPS * (1 + abs(before)):
            return False
        self.remove(i, d)
        self.remove(j, d)
        fits_i = self.off_allowed(i, d, floor_i) if k_j == OFF else k_j in set(self.feasible(i, d, floor_i).tolist())
        fits_j = self.off_allowed(j, d, floor_j) if k_i == OFF else k_i in set(self.feasible(j, d, floor_j).tolist())
        if fits_i and fits_j:
            self.put(i, d, k_j, c_j)
            self.put(j, d, k_i, c_i)
            return True
        self.put(i, d, k_i, c_i, count=False)
        self.put(j, d, k_j, c_j, count=False)
        return False

    def _choose(self, i: int, d: int, floor: float) -> tuple[int, int, float]:
        """Agent ``i``'s day ``d`` by the greedy density rule, or off; with the choice's value."""
        k, c, score = self.best(i, d, floor, density=True)
        if k == OFF or (score <= 0 and self.off_allowed(i, d, floor)):
            return (OFF, 0, 0.0) if self.off_allowed(i, d, floor) else (OFF, 0, -math.inf)
        return k, c, float(self.values(i, np.array([k]), c)[0])

    def pair(self, i: int, j: int, d: int) -> bool:
        """Re-choose two agents' day ``d`` together (each order, greedy by density): splits a day two long
        shifts cover loosely into two that fit, which no single-agent move reaches."""
        if i == j or (self.choice[i, d] == OFF and self.choice[j, d] == OFF):
            return False
        floors = {i: min(self.data[i].lo, self.paid(i)), j: min(self.data[j].lo, self.paid(j))}
        old = {i: self.remove(i, d), j: self.remove(j, d)}

        def value_of(first: int, second: int, picks: dict[int, tuple[int, int]] | None) -> tuple[float, dict]:
            total, chosen = 0.0, {}
            for agent in (first, second):
                if picks is None:
                    k, c, v = self._choose(agent, d, floors[agent])
                else:
                    k, c = picks[agent]
                    v = float(self.values(agent, np.array([k]), c)[0]) if k != OFF else 0.0
                total += v
                chosen[agent] = (k, c)
                self.put(agent, d, k, c, count=False)
            for agent in (first, second):
                self.remove(agent, d)
            return total, chosen

        before, _ = value_of(i, j, old)
        best_value, best_picks = before, old
        for first, second in ((i, j), (j, i)):
            value, picks = value_of(first, second, None)
            if value > best_value + EPS * (1 + abs(best_value)):
                best_value, best_picks = value, picks
        for agent in (i, j):
            k, c = best_picks[agent]
            self.put(agent, d, k, c, count=best_picks is not old)
        return best_picks is not old

    def fill(self, agents: Sequence[int], deadline: float, density: bool = True) -> None:
        """Round-robin construction: each agent takes its best single shift per round while it pays off or
        the agent is below its minimum; a shift for an agent below the minimum must carry its share of
        the hours still needed."""
        active = list(agents)
        while active and time.monotonic() < deadline:
            still = []
            for i in active:
                a = self.data[i]
                paid = self.paid(i)
                days_left = a.agent.max_days_week - int((self.choice[i] >= 0).sum())
                if days_left <= 0:
                    continue
                need = a.lo - paid
                share = min(need / days_left, float(self.tpl.paid_minutes.max())) if need > EPS else 0.0
                floor = paid + share
                best = (OFF, OFF, 0, -math.inf)
                for d in range(7):
                    if self.choice[i, d] == OFF:
                        k, c, value = self.best(i, d, floor, density)
                        if value > best[3]:
                            best = (d, k, c, value)
                d, k, c, value = best
                if k != OFF and (value > 0 or need > EPS):
                    self.put(i, d, k, c)
                    still.append(i)
            active = still

    def raise_hours(self, i: int) -> bool:
        """Lift an agent below its minimum: the best change of one day that adds paid time."""
        paid = self.paid(i)
        best = (OFF, OFF, 0, -math.inf)
        for d in range(7):
            k_old, c_old = self.remove(i, d)
            k, c, value = self.best(i, d, paid + 1)
            if k_old != OFF:
                value -= self.values(i, np.array([k_old]), c_old)[0]
            self.put(i, d, k_old, c_old, count=False)
            if k != OFF and value > best[3]:
                best = (d, k, c, value)
        d, k, c, _ = best
        if k == OFF:
            return False
        self.remove(i, d)
        self.put(i, d, k, c)
        return True

    def objective(self) -> float:
        under = np.maximum(self.req - self.cov, 0.0).sum()
        over = np.maximum(self.cov - self.req, 0.0).sum()
        total = self.w_under * under + self.w_over * over
        for i, a in enumerate(self.data):
            row = self.choice[i]
            ks = row[row >= 0]
            total += a.cost_per_minute * self.tpl.paid_minutes[ks].sum() + self.w_pref * a.preference[ks].sum()
            total += self.w_fair * (self.unpopular(i) + a.history) ** 2
        return float(total)

    def snapshot(self) -> tuple[IntArray, IntArray, FloatArray]:
        return self.choice.copy(), self.chan.copy(), self.cov.copy()

    def restore(self, state: tuple[IntArray, IntArray, FloatArray]) -> None:
        self.choice, self.chan, self.cov = state[0].copy(), state[1].copy(), state[2].copy()

    def below_minimum(self) -> list[int]:
        return [i for i, a in enumerate(self.data) if self.paid(i) < a.lo - EPS]

    def reachable(self, i: int, relax: frozenset[str]) -> float:
        """The most paid minutes agent ``i`` can reach alone under the rules less ``relax`` (greedy)."""
        row = np.full(7, OFF, dtype=np.int64)
        paid_of = self.tpl.paid_minutes
        for _ in range(8):
            changed = False
            for d in range(7):
                current = int(paid_of[row[d]]) if row[d] >= 0 else 0
                old = row[d]
                row[d] = OFF
                ks = self.feasible(i, d, self.paid(i, row) + current + 1, row, relax)
                if ks.size:
                    row[d] = int(ks[np.argmax(paid_of[ks])])
                    changed = True
                else:
                    row[d] = old
            if not changed:
                break
        return self.paid(i, row)


def _mark(counts: IntArray, start: float, end: float) -> None:
    lo, hi = max(0, math.floor(start + 1e-9)), min(counts.size - 1, math.ceil(end - 1e-9))
    if hi > lo:
        counts[lo:hi] += 1


def _free(blocked: IntArray, tpl: Templates) -> BoolArray:
    cum = np.concatenate([[0], np.cumsum(blocked)])
    return np.asarray((cum[tpl.end] - cum[tpl.start]) == 0)


def _longest_free(blocks: list[tuple[float, float]], lo: float, hi: float) -> float:
    """The longest span of ``[lo, hi]`` free of the busy ``blocks`` (in time order)."""
    longest, free_from = 0.0, lo
    for start, end in blocks:
        if end <= lo or start >= hi:
            continue
        longest = max(longest, max(start, lo) - free_from)
        free_from = max(free_from, min(end, hi))
    return max(longest, hi - free_from)


def _required_array(requirements: Sequence[Requirement], grid: WeekGrid, channels: list[str]) -> FloatArray:
    req = np.zeros((len(channels), grid.size), dtype=np.float64)
    for r in requirements:
        lo = max(0, math.floor(grid.slot_of(r.start) + 1e-9))
        hi = min(grid.slots, math.ceil(grid.slot_of(r.end) - 1e-9))
        if hi > lo:
            c = channels.index(r.channel)
            req[c, lo:hi] = np.maximum(req[c, lo:hi], r.staff)
    return req


def grid_step(rules: Rules, requirements: Sequence[Requirement]) -> int:
    """The grid's step: the rules' step, refined to the requirement intervals' when they are finer."""
    step = rules.step_minutes
    for r in requirements[:1]:
        step = math.gcd(step, max(1, round((r.end - r.start).total_seconds() / 60)))
    return step


def channels_of(problem: Problem) -> list[str]:
    """Requirement channels in order of appearance, then skills no requirement mentions."""
    out: list[str] = []
    for r in problem.requirements:
        if r.channel not in out:
            out.append(r.channel)
    for a in problem.agents:
        for s in a.skills:
            if s not in out:
                out.append(s)
    return out or ["work"]


def solve(
    problem: Problem,
    time_limit_seconds: float = 30.0,
    seed: int = 0,
    progress: Progress | None = None,
    with_bound: bool = True,
) -> Result:
    """Schedule the week (see the module docstring). Never raises for an infeasible instance: the result
    names the conflicts and carries the best schedule found."""
    began = time.monotonic()
    # The search stops early enough for what follows it (soft-rule costs, breaks, the bound) to end in time.
    deadline = began + max(0.4, 0.9 * time_limit_seconds)
    report = progress or (lambda _p, _m: None)
    _check_problem(problem)
    step = grid_step(problem.rules, problem.requirements)
    grid = WeekGrid.of(problem.monday, problem.zone, step, problem.rules)
    tpl = week_templates(grid, problem.rules)
    channels = channels_of(problem)
    search = _Search(problem, grid, tpl, channels, seed)
    n = len(search.data)
    report(2, "building first shifts")
    order = sorted(range(n), key=lambda i: (len(search.data[i].skills), -search.data[i].lo, i))
    search.fill(order, deadline)
    for i in search.below_minimum():
        while search.paid(i) < search.data[i].lo - EPS and search.raise_hours(i):
            pass
    status = _improve(search, began, deadline, report)
    soft_costs = _soft_costs(search, problem, seconds_each=min(0.5, 0.02 * time_limit_seconds))
    report(92, "placing breaks and lunch")
    activities, scheduled = _place_breaks(search)
    activities, scheduled = _balance_channels(search, activities, scheduled)
    conflicts = _conflicts(search)
    violations = check_all(
        activities,
        {a.agent_id: a for a in problem.agents},
        problem.rules,
        problem.zone,
        grid.week_start,
        problem.time_off,
        problem.windows,
        problem.previous,
    )
    bound = None
    if with_bound:
        from wfm.scheduling.bound import under_coverage_bound

        report(97, "computing the lower bound")
        bound = under_coverage_bound(search)
    report(99, "scoring")
    return _result(search, activities, scheduled, violations, conflicts, soft_costs, status, bound, began)


def _check_problem(problem: Problem) -> None:
    seen: set[str] = set()
    for a in problem.agents:
        if a.agent_id in seen:
            raise ValueError(f"agent {a.agent_id!r} appears twice")
        seen.add(a.agent_id)
        if a.min_hours_week > a.max_hours_week:
            raise ValueError(f"agent {a.agent_id!r}: min_hours_week {a.min_hours_week:g} > max {a.max_hours_week:g}")
        if not 1 <= a.max_days_week <= 7:
            raise ValueError(f"agent {a.agent_id!r}: max_days_week must be 1-7, got {a.max_days_week}")


def _improve(search: _Search, began: float, deadline: float, report: Progress) -> str:
    """Local search passes, then ruin-and-recreate, until the deadline; the status says how it ended."""
    n = len(search.data)
    if n == 0:
        return "empty"
    span = max(deadline - began, 1e-6)
    improved = True
    while improved and time.monotonic() < deadline:
        improved = False
        for i in search.rng.permutation(n):
            for d in search.rng.permutation(7):
                improved |= search.reoptimise(int(i), int(d))
                improved |= search.move_day(int(i), int(d))
                for j in search.rng.choice(n, size=min(n, 6), replace=False):
                    if j != i:
                        improved |= search.swap(int(i), int(j), int(d))
                for j in search.rng.choice(n, size=min(n, 2), replace=False):
                    improved |= search.pair(int(i), int(j), int(d))
            if time.monotonic() >= deadline:
                return "time_limit"
        report(5 + int(80 * (time.monotonic() - began) / span), "improving shifts")
    # A local optimum: shake a few agents at a time and keep what is no worse.
    best = search.objective()
    batch = max(2, n // 20)
    while time.monotonic() < deadline:
        state = search.snapshot()
        chosen = [int(i) for i in search.rng.choice(n, size=min(batch, n), replace=False)]
        for i in chosen:
            for d in range(7):
                search.remove(i, d)
        search.fill(chosen, deadline, density=bool(search.rng.random() < 0.5))
        for i in chosen:
            while search.paid(i) < search.data[i].lo - EPS and search.raise_hours(i):
                pass
        for _ in range(2):
            for i in chosen:
                for d in range(7):
                    search.reoptimise(i, d)
                    search.move_day(i, d)
                    for j in search.rng.choice(n, size=min(n, 4), replace=False):
                        if j != i:
                            search.swap(i, int(j), d)
        value = search.objective()
        if value <= best + EPS * (1 + abs(best)) and not _worse_minimum(search, state, chosen):
            best = value
        else:
            search.restore(state)
        report(5 + min(85, int(85 * (time.monotonic() - began) / span)), "improving shifts")
    return "time_limit"


def _worse_minimum(search: _Search, state: tuple[IntArray, IntArray, FloatArray], chosen: list[int]) -> bool:
    """Whether any chosen agent ends further below its minimum than before the shake."""
    before = state[0]
    for i in chosen:
        lo = search.data[i].lo
        if search.paid(i) < lo - EPS and search.paid(i) < search.paid(i, before[i]) - EPS:
            return True
    return False


def _soft_costs(search: _Search, problem: Problem, seconds_each: float) -> tuple[SoftCost, ...]:
    """For each soft rule in play, the under-coverage a short re-optimisation without it would remove."""
    out = []
    base_under = float(np.maximum(search.req - search.cov, 0.0)[:, : search.grid.slots].sum())
    hours = search.grid.step_minutes / 60
    state = search.snapshot()
    rules: list[tuple[str, str]] = []
    if any(w.kind in ("preferred", "avoid") for w in problem.windows):
        rules.append(("preferences", "w_pref"))
    if search.w_fair > 0:
        rules.append(("fairness", "w_fair"))
    for name, attr in rules:
        saved = getattr(search, attr)
        setattr(search, attr, 0.0)
        until = time.monotonic() + seconds_each
        for i in search.rng.permutation(len(search.data)):
            for d in range(7):
                search.reoptimise(int(i), d)
            if time.monotonic() > until:
                break
        under = float(np.maximum(search.req - search.cov, 0.0)[:, : search.grid.slots].sum())
        out.append(SoftCost(name, round(max(0.0, base_under - under) * hours, 3)))
        setattr(search, attr, saved)
        search.restore(state)
    return tuple(out)


def _place_breaks(search: _Search) -> tuple[list[Activity], FloatArray]:
    """Turn tours into activities: breaks and lunch where the surplus is largest, placed twice over."""
    grid, tpl = search.grid, search.tpl
    rules = search.p.rules
    actual = np.zeros_like(search.req)
    shifts: list[tuple[int, int, int, int]] = []  # (start slot, agent, day, channel)
    for i in range(len(search.data)):
        for d in range(7):
            k = int(search.choice[i, d])
            if k != OFF:
                c = int(search.chan[i, d])
                actual[c, tpl.start[k] : tpl.end[k]] += 1.0
                shifts.append((int(tpl.start[k]), i, d, c))
    shifts.sort()
    placed: dict[tuple[int, int], list[Activity]] = {}
    for round_ in range(2):
        for _, i, d, c in shifts:
            key = (i, d)
            if round_ == 1:
                _account(actual, placed[key], grid, c, +1.0)
            k = int(search.choice[i, d])

            def surplus(moment: dt.datetime, c: int = c) -> float:
                slot = int(grid.slot_of(moment))
                return float(actual[c, slot] - search.req[c, slot]) if 0 <= slot < grid.size else 0.0

            acts = with_breaks(
                search.data[i].agent.agent_id,
                grid.slot_start(int(tpl.start[k])),
                int(tpl.length_minutes[k]),
                rules,
                surplus,
                search.channels[c],
            )
            placed[key] = acts
            _account(actual, acts, grid, c, -1.0)
    activities = [a for key in sorted(placed, key=lambda k: (k[0], k[1])) for a in placed[key]]
    return activities, actual


def _account(actual: FloatArray, acts: list[Activity], grid: WeekGrid, c: int, sign: float) -> None:
    """Add (``sign`` = +1) or take away (-1) the coverage a shift's breaks and lunch remove."""
    for a in acts:
        if a.activity != "work":
            lo, hi = round(grid.slot_of(a.start)), round(grid.slot_of(a.end))
            actual[c, lo:hi] += sign


def _balance_channels(
    search: _Search, activities: list[Activity], actual: FloatArray
) -> tuple[list[Activity], FloatArray]:
    """Move a multi-skilled agent's work stretch to another of its channels when that covers more."""
    grid = search.grid
    index = {c: j for j, c in enumerate(search.channels)}
    by_id = {a.agent.agent_id: a for a in search.data}
    out = list(activities)
    for _ in range(2):
        changed = False
        for n, act in enumerate(out):
            skills = by_id[act.agent_id].skills
            if act.activity != "work" or len(skills) < 2 or act.channel is None:
                continue
            lo, hi = round(grid.slot_of(act.start)), round(grid.slot_of(act.end))
            here = index[act.channel]
            short_here = np.maximum(search.req[here, lo:hi] - (actual[here, lo:hi] - 1), 0).sum()
            short_now = np.maximum(search.req[here, lo:hi] - actual[here, lo:hi], 0).sum()
            loss = short_here - short_now
            best, gain_best = here, 0.0
            for c in skills:
                if c == here:
                    continue
                gain = (
                    np.maximum(search.req[c, lo:hi] - actual[c, lo:hi], 0).sum()
                    - np.maximum(search.req[c, lo:hi] - actual[c, lo:hi] - 1, 0).sum()
                )
                if gain - loss > gain_best + EPS:
                    best, gain_best = c, gain - loss
            if best != here:
                actual[here, lo:hi] -= 1
                actual[best, lo:hi] += 1
                out[n] = Activity(act.agent_id, act.start, act.end, "work", search.channels[best])
                changed = True
        if not changed:
            break
    return out, actual


def _conflicts(search: _Search) -> tuple[Conflict, ...]:
    """Agents left below their minimum hours, with the rules that stand in the way (relaxed one at a time)."""
    out = []
    for i in search.below_minimum():
        a = search.data[i]
        paid = search.paid(i)
        reach = search.reachable(i, frozenset())
        culprits = []
        for rule in RELAXABLE:
            if search.reachable(i, frozenset({rule})) > reach + EPS:
                culprits.append(rule)
        if not a.skills:
            culprits = ["skills"]
        elif not culprits:
            culprits = ["shift_length"]
        credit = a.agent.min_hours_week * 60 - a.lo
        detail = (
            f"{a.agent.agent_id} needs {a.agent.min_hours_week:g} h and is scheduled {paid / 60:.2f} paid h"
            + (f" + {credit / 60:.2f} h time off" if credit > 0 else "")
            + f"; the rules allow at most about {max(reach, paid) / 60:.2f} h; in the way: "
            + ", ".join(culprits)
        )
        out.append(Conflict(a.agent.agent_id, "min_hours_week", tuple(culprits), a.lo - paid, detail))
    return tuple(out)


def _shortfalls(search: _Search, scheduled: FloatArray) -> tuple[Shortfall, ...]:
    grid = search.grid
    hours = grid.step_minutes / 60
    out = []
    for c, name in enumerate(search.channels):
        missing = np.maximum(search.req[c, : grid.slots] - scheduled[c, : grid.slots], 0.0)
        t = 0
        while t < grid.slots:
            if missing[t] <= EPS:
                t += 1
                continue
            u = t
            while u < grid.slots and missing[u] > EPS:
                u += 1
            out.append(
                Shortfall(
                    name,
                    grid.slot_start(t),
                    grid.slot_start(u),
                    round(float(missing[t:u].sum()) * hours, 4),
                    round(float(missing[t:u].max()), 4),
                )
            )
            t = u
    return tuple(out)


def _result(
    search: _Search,
    activities: list[Activity],
    scheduled: FloatArray,
    violations: list[Violation],
    conflicts: tuple[Conflict, ...],
    soft_costs: tuple[SoftCost, ...],
    status: str,
    bound: float | None,
    began: float,
) -> Result:
    grid = search.grid
    hours = grid.step_minutes / 60
    week = slice(0, grid.slots)
    agents = {a.agent.agent_id: a.agent for a in search.data}
    cost = paid_cost(activities, agents)
    unpopular = unpopular_shifts(activities, agents, grid.zone)
    totals = [unpopular[a.agent.agent_id] + a.history for a in search.data]
    if conflicts:
        status = "conflicts"
    elif violations:
        status = "violations"
    return Result(
        activities=tuple(sorted(activities, key=lambda a: (a.agent_id, a.start))),
        violations=tuple(violations),
        conflicts=conflicts,
        shortfalls=_shortfalls(search, scheduled),
        soft_costs=soft_costs,
        status=status,
        grid=grid,
        channels=tuple(search.channels),
        required=search.req[:, week].copy(),
        scheduled=scheduled[:, week].copy(),
        required_hours=round(float(search.req[:, week].sum()) * hours, 4),
        under_hours=round(float(np.maximum(search.req[:, week] - scheduled[:, week], 0).sum()) * hours, 4),
        over_hours=round(float(np.maximum(scheduled[:, week] - search.req[:, week], 0).sum()) * hours, 4),
        bound_under_hours=None if bound is None else round(bound, 4),
        paid_hours=cost.paid_hours,
        labour_cost=cost.labour_cost,
        unpopular=unpopular,
        fairness_gini=round(gini(totals), 4),
        seconds=round(time.monotonic() - began, 3),
        moves=search.moves,
    )
