"""A discrete-event simulation of the M/M/n (Erlang C) and M/M/n+M (Erlang A) queues of `wfm.erlang`.

The simulation measures what the formulas claim, with the same definitions: Poisson arrivals, exponential
handle times with mean AHT, ``n`` agents, one first-come-first-served queue and, for Erlang A, an exponential
patience per contact whose clock runs only while the contact waits.

- service level: share of *offered* contacts answered within T seconds (an abandoned contact never is);
- ASA: mean wait of the *answered* contacts;
- abandon rate: share of offered contacts that abandon;
- wait probability: share of offered contacts that wait at all (wait > 0);
- occupancy: busy agent time / (n x elapsed time).

A run starts empty, discards a warm-up period and splits the rest into equal batches of time. The batch
means give a Student t confidence interval per metric (the method of batch means; Law, "Simulation Modeling
and Analysis", ch. 9). All random numbers come from one seeded numpy ``Generator``, so a run is deterministic.

`CASES` is shared by ``tests/wfm/test_erlang_simulation.py`` and ``benchmarks/erlang_simulation.py``. The
simulation never calls `wfm.erlang`; only `formula_metrics` does, to give the values to compare with.
"""

from __future__ import annotations

import math
import time
from array import array
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import simpy
from scipy import stats

from wfm import erlang

FloatArray = npt.NDArray[np.float64]

# The metrics, named as the fields of `wfm.erlang.QueueMetrics`, and those that are shares (0 to 1).
METRICS = ("service_level", "asa_seconds", "abandon_rate", "occupancy", "wait_probability")
PROPORTIONS = frozenset({"service_level", "abandon_rate", "occupancy", "wait_probability"})

# Confidence level of each interval the test checks. The test file makes fewer than 50 interval checks, so
# by Bonferroni the chance that any of them fails while the formulas are right is below 50 x 1e-4 = 0.5 %.
# Higher levels would widen the intervals (t quantile 4.65 at 24 degrees of freedom, 3.75 at 99.9 %) and
# weaken the test for little gain.
CHECK_CONFIDENCE = 0.9999
# Added to the interval of a share before it is judged: the pooled ratio estimator is biased by about
# 1 / (contacts per batch), some 1e-5 here. Far below every interval's width, so it hides no real error.
PROPORTION_TOLERANCE = 0.001


@dataclass(frozen=True)
class QueueCase:
    """One queue to check: its parameters, how long to simulate it and the seed.

    Parameters
    ----------
    name : str
        Short label for test ids and tables.
    agents : int
        Number of agents ``n``.
    load_erlangs : float
        Offered load, arrival rate x AHT.
    aht_seconds : float
        Mean handle time.
    answer_within_seconds : float
        Service-level threshold T.
    patience_seconds : float or None
        Mean patience (Erlang A); ``None`` for Erlang C, where nobody abandons.
    contacts : int
        Expected number of contacts offered after the warm-up: the length of the run.
    warmup_contacts : int
        Expected number of contacts offered during the warm-up, which is discarded.
    seed : int
        Seed of the random numbers.
    """

    name: str
    agents: int
    load_erlangs: float
    aht_seconds: float
    answer_within_seconds: float
    patience_seconds: float | None
    contacts: int
    warmup_contacts: int
    seed: int

    @property
    def arrivals_per_second(self) -> float:
        return self.load_erlangs / self.aht_seconds

    @property
    def model(self) -> str:
        return "Erlang C" if self.patience_seconds is None else "Erlang A"


# Small (n = 3-4), medium (n = 20-50) and large (n = 100) queues; Erlang C at moderate and high occupancy;
# Erlang A with patience shorter and longer than the AHT, and overloaded (load > n: stable only because
# contacts abandon); T = 0 and T > 0. The warm-ups are long against each queue's relaxation time (about
# AHT / (n (1 - sqrt(occupancy))^2) for Erlang C, a few patiences for Erlang A). Each batch is 250 to 7,600
# handle times long. The queues with many agents need the most contacts for the same precision, since their
# contacts arrive n times as fast while the queue changes no faster. Each case takes 2-4 s on an idle core
# (up to about 6 s while other work shares the machine).
CASES: tuple[QueueCase, ...] = (
    QueueCase("C small moderate", 3, 2.1, 240.0, 20.0, None, 400_000, 5_000, 101),
    QueueCase("C medium high", 30, 27.0, 300.0, 20.0, None, 700_000, 20_000, 102),
    QueueCase("C large high T=0", 100, 90.0, 180.0, 0.0, None, 700_000, 20_000, 103),
    QueueCase("A small overloaded", 4, 5.0, 180.0, 15.0, 120.0, 400_000, 5_000, 104),
    QueueCase("A medium short patience", 20, 20.0, 300.0, 20.0, 60.0, 500_000, 10_000, 105),
    QueueCase("A medium long patience", 50, 48.0, 240.0, 30.0, 900.0, 600_000, 20_000, 106),
    QueueCase("A large overloaded T=0", 100, 110.0, 300.0, 0.0, 180.0, 700_000, 20_000, 107),
)


@dataclass(frozen=True)
class Estimate:
    """A batch-means estimate of one metric.

    Parameters
    ----------
    mean : float
        Point estimate over all batches.
    half_width : float
        Half-width of the Student t confidence interval around ``mean``.
    batches : int
        Number of batches behind the interval (its degrees of freedom + 1).
    """

    mean: float
    half_width: float
    batches: int

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def contains(self, value: float, tolerance: float = 0.0) -> bool:
        """Whether ``value`` lies in the interval widened by ``tolerance`` on each side."""
        return self.low - tolerance <= value <= self.high + tolerance


@dataclass(frozen=True)
class SimulationResult:
    """The estimates of one run (named as the fields of `wfm.erlang.QueueMetrics`) and what the run cost.

    Parameters
    ----------
    service_level, asa_seconds, abandon_rate, occupancy, wait_probability : Estimate
        The metrics, as defined in the module docstring.
    offered : int
        Contacts offered after the warm-up.
    confidence : float
        Confidence level of the intervals.
    wall_seconds : float
        Wall time of the run, random numbers and estimates included.
    """

    service_level: Estimate
    asa_seconds: Estimate
    abandon_rate: Estimate
    occupancy: Estimate
    wait_probability: Estimate
    offered: int
    confidence: float
    wall_seconds: float

    def metric(self, name: str) -> Estimate:
        """The estimate of a metric by its name in `METRICS`."""
        if name not in METRICS:
            raise KeyError(name)
        estimate: Estimate = getattr(self, name)
        return estimate


def agrees(estimate: Estimate, metric: str, value: float) -> bool:
    """Whether a formula's ``value`` of ``metric`` lies in the simulation's interval (shares get a tolerance)."""
    return estimate.contains(value, PROPORTION_TOLERANCE if metric in PROPORTIONS else 0.0)


def formula_metrics(case: QueueCase) -> dict[str, float]:
    """The values `wfm.erlang` gives for ``case``, by metric name."""
    if case.patience_seconds is None:
        metrics = erlang.erlang_c_metrics(case.agents, case.load_erlangs, case.aht_seconds, case.answer_within_seconds)
    else:
        metrics = erlang.erlang_a_metrics(
            case.agents, case.arrivals_per_second, case.aht_seconds, case.patience_seconds, case.answer_within_seconds
        )
    return {name: float(getattr(metrics, name)) for name in METRICS}


def _doubles(values: FloatArray) -> array[float]:
    # Indexing an array.array yields Python floats several times faster than indexing a numpy array, and it
    # stores 8 bytes per value where a list of floats takes 32.
    out = array("d")
    out.frombytes(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    return out


class _Queue:
    """The queue on SimPy's event loop, with two kinds of events: an arrival and the end of a handle time.

    Callbacks on timeouts rather than one SimPy process per contact: the same events in the same order, but
    about three times faster, which buys narrower intervals in the same test time. A contact whose patience
    runs out while it waits is dropped when an agent reaches it: it left the queue at that moment, used no
    agent time and delayed nobody behind it, so dropping it late is the same as removing it on time (first
    come, first served), and it saves an event per waiting contact.
    """

    def __init__(self, agents: int, arrivals: FloatArray, handle: FloatArray, patience: FloatArray) -> None:
        self.env = simpy.Environment()
        self.idle = agents
        # Waiting contacts: (index, arrival time, time its patience runs out).
        self.queue: deque[tuple[int, float, float]] = deque()
        self.next = 0
        self.arrivals = _doubles(arrivals)
        self.handle = _doubles(handle)
        self.patience = _doubles(patience)
        self.wait = _doubles(np.full(arrivals.size, np.nan))
        self.start = _doubles(np.full(arrivals.size, np.nan))

    def run(self) -> tuple[FloatArray, FloatArray]:
        """Run until every contact is answered or has abandoned.

        Returns
        -------
        wait : array
            Seconds from arrival to an agent; NaN for contacts that abandoned.
        start : array
            When an agent took the contact; NaN for contacts that abandoned.
        """
        self._schedule_arrival()
        # After the last arrival the queue drains and the run ends. Later arrivals could not change what
        # happens to earlier ones (first come, first served), so the contacts near the end of the horizon
        # get the outcome they would have had in an endless run.
        self.env.run()
        return np.frombuffer(self.wait, dtype=np.float64), np.frombuffer(self.start, dtype=np.float64)

    def _schedule_arrival(self) -> None:
        if self.next < len(self.arrivals):
            # Never negative: two drawn times less than a rounding step apart would otherwise stop the run.
            delay = max(0.0, self.arrivals[self.next] - self.env.now)
            self.env.timeout(delay).callbacks.append(self._arrive)

    def _arrive(self, _event: simpy.Event) -> None:
        # The clock, not the drawn time: adding the gap to `now` can change the last bit, and a contact that
        # is answered at once must wait exactly 0.
        i, now = self.next, self.env.now
        self.next += 1
        if self.idle:
            # An agent is idle only while the queue is empty (see `_finish`), so nobody is overtaken.
            self.idle -= 1
            self._answer(i, now, now)
        else:
            self.queue.append((i, now, now + self.patience[i]))
        self._schedule_arrival()

    def _answer(self, i: int, arrived: float, now: float) -> None:
        self.wait[i], self.start[i] = now - arrived, now
        self.env.timeout(self.handle[i]).callbacks.append(self._finish)

    def _finish(self, _event: simpy.Event) -> None:
        now = self.env.now
        while self.queue:
            i, arrived, gives_up = self.queue.popleft()
            if now <= gives_up:
                self._answer(i, arrived, now)
                return
        self.idle += 1


def _ratio_estimate(numerators: FloatArray, denominators: FloatArray, t_quantile: float) -> Estimate:
    """The ratio estimator ``sum(numerators) / sum(denominators)`` over batches, with a delta-method interval.

    The mean of per-batch ratios would weigh a batch with few contacts as much as a full one and is biased by
    the spread of the denominators; the pooled ratio is not, and its variance comes from the batch residuals
    ``x_b - R y_b``: ``s(x - R y) / (mean(y) sqrt(batches))``.
    """
    batches = numerators.size
    ratio = float(numerators.sum() / denominators.sum())
    spread = float((numerators - ratio * denominators).std(ddof=1) / denominators.mean())
    return Estimate(ratio, t_quantile * spread / math.sqrt(batches), batches)


def _mean_estimate(values: FloatArray, t_quantile: float) -> Estimate:
    batches = values.size
    return Estimate(float(values.mean()), t_quantile * float(values.std(ddof=1)) / math.sqrt(batches), batches)


def simulate(case: QueueCase, *, batches: int = 25, confidence: float = 0.999) -> SimulationResult:
    """Simulate ``case`` and estimate each metric with a batch-means confidence interval.

    Parameters
    ----------
    case : QueueCase
        The queue, the run length and the seed.
    batches : int
        Number of equal batches of time after the warm-up. 20-30 keeps the t quantile near the normal one
        while each batch stays long enough for its mean to be nearly independent of its neighbours'.
    confidence : float
        Two-sided confidence level of each interval.

    Returns
    -------
    SimulationResult
        One `Estimate` per metric, the contacts offered after the warm-up and the wall time.
    """
    started = time.perf_counter()
    rng = np.random.default_rng(case.seed)
    rate = case.arrivals_per_second
    warmup = case.warmup_contacts / rate
    horizon = warmup + case.contacts / rate
    # A Poisson process on [0, horizon]: a Poisson number of uniform times, drawn at once.
    count = int(rng.poisson(rate * horizon))
    arrivals = np.sort(rng.uniform(0.0, horizon, count))
    handle = rng.exponential(case.aht_seconds, count)
    if case.patience_seconds is None:
        patience = np.full(count, np.inf)  # Erlang C: nobody gives up
    else:
        patience = rng.exponential(case.patience_seconds, count)
    wait, start = _Queue(case.agents, arrivals, handle, patience).run()

    # Per-contact metrics go to the batch the contact arrived in.
    edges = np.linspace(warmup, horizon, batches + 1)
    kept = arrivals >= warmup
    batch = np.minimum(np.searchsorted(edges, arrivals[kept], side="right") - 1, batches - 1)
    kept_wait = wait[kept]
    answered = ~np.isnan(kept_wait)

    def per_batch(mask: npt.NDArray[np.bool_], weights: FloatArray | None = None) -> FloatArray:
        chosen = None if weights is None else weights[mask]
        return np.bincount(batch[mask], weights=chosen, minlength=batches).astype(np.float64)

    offered = per_batch(np.ones(batch.size, dtype=bool))
    answered_count = per_batch(answered)
    within = per_batch(answered & (kept_wait <= case.answer_within_seconds))
    # A contact that abandoned had waited (its patience is positive): waiting is "not answered at once".
    waited = per_batch(~answered | (kept_wait > 0.0))
    wait_sum = per_batch(answered, np.nan_to_num(kept_wait))

    # Busy time goes to the batch it falls in, whoever it served: the busy agent-seconds before each edge are
    # the parts of every [start, start + handle] before it.
    served = ~np.isnan(start)
    starts, handles = start[served], handle[served]
    busy_before = np.array([np.clip(edge - starts, 0.0, handles).sum() for edge in edges])
    occupancy = np.diff(busy_before) / (case.agents * np.diff(edges))

    t_quantile = float(stats.t.ppf(0.5 + confidence / 2.0, batches - 1))
    return SimulationResult(
        service_level=_ratio_estimate(within, offered, t_quantile),
        asa_seconds=_ratio_estimate(wait_sum, answered_count, t_quantile),
        abandon_rate=_ratio_estimate(offered - answered_count, offered, t_quantile),
        occupancy=_mean_estimate(occupancy, t_quantile),
        wait_probability=_ratio_estimate(waited, offered, t_quantile),
        offered=int(offered.sum()),
        confidence=confidence,
        wall_seconds=time.perf_counter() - started,
    )
