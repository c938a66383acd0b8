"""Queueing formulas for contact-centre staffing: Erlang B, Erlang C and Erlang A, vectorised over grids.

Every function takes numpy arrays (or scalars) that broadcast together, one element per interval and
channel ("cell"), and works in log space or through regularised incomplete gamma and beta functions, so
hundreds of Erlangs and hundreds of agents stay exact to machine precision.

Units are in the names: ``*_seconds`` are seconds, ``load_erlangs`` is the offered load
``arrival rate x mean handle time`` (Erlangs), ``agents`` is the number of servers.

Methods
-------
* Erlang B and C: A. K. Erlang (1917); the closed form ``1/B(n, a) = e^a Q(n + 1, a) n! / a^n`` with
  ``Q`` the regularised upper incomplete gamma function (Jagerman 1974, "Some properties of the Erlang
  loss function", Bell Syst. Tech. J. 53). ``C = n B / (n - a (1 - B))``; the waiting time of an M/M/n
  queue is 0 with probability ``1 - C`` and otherwise exponential with rate ``(n - a) / AHT`` (Gross &
  Harris, "Fundamentals of Queueing Theory", sec. 2.3).
* Erlang A (M/M/n+M, Palm 1943): the birth-death chain with abandonment rate ``theta = 1 / patience``
  per waiting contact. Its stationary queue masses ``r_m = y^m / ((x+1)...(x+m))`` with ``x = n mu /
  theta`` and ``y = lambda / theta`` give the probability of waiting and abandoning in closed form
  (Mandelbaum & Zeltyn 2007, "Service engineering in action: the Palm/Erlang-A queue, with
  applications to call centers"). The service level and the mean wait of answered contacts are summed
  over the state an arrival finds (PASTA): with ``m`` contacts ahead, the time to reach an agent is a sum
  of exponentials with rates ``n mu + j theta``; tilted by the contact's own patience, ``P(answered) =
  x / (x + m + 1)`` and ``P(answered within T) = x / (x + m + 1) * I_{1 - exp(-theta T)}(m + 1, x + 1)``
  (``I`` the regularised incomplete beta function: a product of Beta(x + j, 1) variables is
  Beta(x + 1, m + 1)).

Service level under abandonment: the share of *offered* contacts answered within T seconds. A contact
that abandons, whenever it does, counts as not answered within T (the strict definition; it never
flatters a queue that loses callers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike

# The queue sums of Erlang A stop where the remaining mass is below this share of the largest term.
_TAIL = 1e-15
# Cells x queue states per block of the Erlang A sums, to bound memory.
_BLOCK_ELEMENTS = 2_000_000


def _f(values: ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def log_inverse_erlang_b(agents: ArrayLike, load_erlangs: ArrayLike) -> FloatArray:
    """``log(1 / B(n, a))`` for n agents (any real n >= 0) and a load of a Erlangs.

    ``1/B = sum_{k=0..n} n! / (k! a^(n-k))``; computed as ``a + log Q(n+1, a) + lgamma(n+1) - n log a``.
    Where ``Q`` underflows (a load far above n), the sum is taken term by term from ``j = n`` down:
    ``1 + n/a + n(n-1)/a^2 + ...``, whose terms then fall at least geometrically.
    """
    n, a = np.broadcast_arrays(_f(agents), _f(load_erlangs))
    out = np.zeros(n.shape, dtype=np.float64)
    positive = a > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        q = special.gammaincc(n + 1.0, a)
        exact = a + np.log(q) + special.gammaln(n + 1.0) - n * np.log(a)
    use_exact = positive & (q > 1e-300)
    out[use_exact] = exact[use_exact]
    use_series = positive & ~use_exact
    if use_series.any():
        ns, loads = n[use_series], a[use_series]
        term, total = np.ones_like(ns), np.ones_like(ns)
        for j in range(1, 2000):
            term = term * np.maximum(ns - j + 1.0, 0.0) / loads
            total += term
            if term.max() < 1e-17:
                break
        out[use_series] = np.log(total)
    # No load: B = 0 for n >= 1, so 1/B is infinite; with n = 0 every contact is blocked (B = 1).
    out[~positive & (n > 0)] = np.inf
    return out


def erlang_b(agents: ArrayLike, load_erlangs: ArrayLike) -> FloatArray:
    """Blocking probability of an M/M/n/n loss system (lines, trunks): Erlang B."""
    return np.exp(-log_inverse_erlang_b(agents, load_erlangs))


def lines_required(load_erlangs: ArrayLike, max_blocking: float, max_lines: int = 100_000) -> FloatArray:
    """The fewest lines (trunks) whose Erlang B blocking is at most ``max_blocking``, per cell.

    For a phone queue the load on the lines is arrivals x (AHT + mean wait): a caller holds a line while
    queued too. Blocking falls with every line, so a doubling search and bisection find the answer.
    """
    if not 0 < max_blocking < 1:
        raise ValueError(f"max_blocking {max_blocking} must be above 0 and below 1")
    a = np.atleast_1d(_f(load_erlangs))
    hi = np.maximum(np.ceil(a), 1.0)
    while (erlang_b(hi, a) > max_blocking).any():
        hi = np.where(erlang_b(hi, a) > max_blocking, hi * 2.0, hi)
        if hi.max() > max_lines:
            raise ValueError(f"more than {max_lines} lines needed")
    lo = np.zeros_like(hi)  # 0 lines block everything
    while (hi - lo > 1).any():
        mid = np.floor((lo + hi) / 2.0)
        good = erlang_b(mid, a) <= max_blocking
        hi = np.where((hi - lo > 1) & good, mid, hi)
        lo = np.where((hi - lo > 1) & ~good, mid, lo)
    return np.where(a > 0, hi, 0.0).reshape(np.shape(load_erlangs))


def erlang_c(agents: ArrayLike, load_erlangs: ArrayLike) -> FloatArray:
    """Probability that a contact waits in an M/M/n queue (Erlang C); 1 where ``n <= a`` (no steady state)."""
    n, a = np.broadcast_arrays(_f(agents), _f(load_erlangs))
    b = erlang_b(n, a)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = n * b / (n - a * (1.0 - b))
    return np.where(n > a, np.clip(c, 0.0, 1.0), 1.0)


@dataclass(frozen=True)
class QueueMetrics:
    """Expected performance of a queue per cell (arrays of one shape).

    ``service_level``: share of offered contacts answered within the threshold; ``asa_seconds``: mean wait
    of answered contacts; ``abandon_rate``: share of offered contacts that abandon (0 for Erlang C);
    ``occupancy``: share of the agents' time spent handling contacts; ``wait_probability``: share that
    waits at all. A queue without steady state (Erlang C with ``n <= a``) has service level 0, infinite
    ASA and occupancy 1.
    """

    service_level: FloatArray
    asa_seconds: FloatArray
    abandon_rate: FloatArray
    occupancy: FloatArray
    wait_probability: FloatArray


def erlang_c_metrics(
    agents: ArrayLike, load_erlangs: ArrayLike, aht_seconds: ArrayLike, answer_within_seconds: ArrayLike
) -> QueueMetrics:
    """Service level, ASA and occupancy of an M/M/n queue (Erlang C) with n agents."""
    n, a, aht, t = np.broadcast_arrays(_f(agents), _f(load_erlangs), _f(aht_seconds), _f(answer_within_seconds))
    stable = n > a
    c = erlang_c(n, a)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        gap = np.where(stable, n - a, 1.0)
        service_level = np.where(stable, 1.0 - c * np.exp(-gap * t / np.where(aht > 0, aht, 1.0)), 0.0)
        # The mean wait of all contacts, C AHT / (n - a); every contact is answered in Erlang C.
        asa = np.where(stable, c * aht / gap, np.inf)
        occupancy = np.where(stable, np.where(n > 0, a / np.where(n > 0, n, 1.0), 0.0), 1.0)
    service_level = np.where(a <= 0, 1.0, service_level)
    asa = np.where(a <= 0, 0.0, asa)
    return QueueMetrics(service_level, asa, np.zeros_like(a), occupancy, np.where(a <= 0, 0.0, c))


def _erlang_a_block(
    n: FloatArray, arrivals_per_second: FloatArray, aht: FloatArray, patience: FloatArray, t: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Erlang A sums for one block of cells: (service level, ASA of answered, abandon rate, P(wait))."""
    theta = 1.0 / patience
    mu = 1.0 / aht
    x = n * mu / theta
    y = arrivals_per_second / theta
    # The queue masses r_m rise while m < y - x and then fall faster than geometrically; sum past the peak
    # until they are negligible (log r_m drops by at least log((x+m)/y) per step).
    peak = np.maximum(y - x, 0.0)
    width = int(np.ceil(np.max(peak + 12.0 * np.sqrt(y + 1.0) + 40.0)))
    m = np.arange(width, dtype=np.float64)[None, :]
    xc, yc = x[:, None], y[:, None]
    # log r_m = sum_{j=1..m} (log y - log(x + j)): a running sum, cheaper than log-gamma at every state.
    with np.errstate(divide="ignore", invalid="ignore"):
        steps = np.log(yc) - np.log(xc + m)
    steps[:, 0] = 0.0
    log_r = np.cumsum(steps, axis=1)
    log_r = np.where(yc > 0, log_r, np.where(m == 0, 0.0, -np.inf))
    # Masses relative to pi_n; E_n = sum_{k<n} pi_k / pi_n = 1/B(n, R) - 1 with R = lambda / mu.
    shift = np.max(log_r, axis=1, keepdims=True)
    r = np.exp(log_r - shift)
    r[r < _TAIL] = 0.0
    log_inverse_b = log_inverse_erlang_b(n, arrivals_per_second * aht)
    with np.errstate(over="ignore", invalid="ignore"):
        below = np.exp(log_inverse_b - shift[:, 0]) - np.exp(-shift[:, 0])
    below = np.where(np.isfinite(below), below, np.inf)
    queue_mass = r.sum(axis=1)
    total = below + queue_mass
    # The special functions run only where a state has mass (most of a wide block has none).
    live = r > 0
    rows, cols = np.nonzero(live)
    m_live, x_live = cols.astype(np.float64), x[rows]
    answered_live = x_live / (x_live + m_live + 1.0)
    within_live = answered_live * special.betainc(m_live + 1.0, x_live + 1.0, -np.expm1(-theta[rows] * t[rows]))
    # Mean time to an agent of those answered, given m ahead: sum_{j=1..m+1} 1 / (theta (x + j)).
    wait_live = (special.digamma(x_live + m_live + 2.0) - special.digamma(x_live + 1.0)) / theta[rows]
    mass = r[live]

    def row_sum(values: FloatArray) -> FloatArray:
        return np.bincount(rows, weights=mass * values, minlength=r.shape[0]).astype(np.float64)

    answered_if_waiting_sum = row_sum(answered_live)
    within_sum = row_sum(within_live)
    wait_sum = row_sum(answered_live * wait_live)
    abandon_sum = row_sum((m_live + 1.0) / (x_live + m_live + 1.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        service_level = (below + within_sum) / total
        answered = below + answered_if_waiting_sum
        asa = wait_sum / answered
        abandon = abandon_sum / total
        wait_probability = queue_mass / total
    # A load so light that the queue is never reached: below is infinite.
    light = ~np.isfinite(below)
    service_level[light], asa[light], abandon[light], wait_probability[light] = 1.0, 0.0, 0.0, 0.0
    return service_level, asa, abandon, wait_probability


def erlang_a_metrics(
    agents: ArrayLike,
    arrivals_per_second: ArrayLike,
    aht_seconds: ArrayLike,
    patience_seconds: ArrayLike,
    answer_within_seconds: ArrayLike,
) -> QueueMetrics:
    """Service level, ASA of answered contacts, abandonment and occupancy of an M/M/n+M queue (Erlang A).

    ``patience_seconds`` is the mean of the exponential patience; abandoned contacts count as not answered
    within the threshold. Exact up to a tail below 1e-15 of the queue's largest state mass.
    """
    n, lam, aht, patience, t = (
        np.ravel(v)
        for v in np.broadcast_arrays(
            _f(agents), _f(arrivals_per_second), _f(aht_seconds), _f(patience_seconds), _f(answer_within_seconds)
        )
    )
    shape = np.broadcast_shapes(*(np.shape(v) for v in (agents, arrivals_per_second, aht_seconds)))
    shape = np.broadcast_shapes(shape, np.shape(patience_seconds), np.shape(answer_within_seconds))
    size = n.size
    service_level = np.ones(size)
    asa = np.zeros(size)
    abandon = np.zeros(size)
    wait = np.zeros(size)
    busy = (lam > 0) & (aht > 0)
    none = busy & (n <= 0)
    service_level[none], asa[none], abandon[none], wait[none] = 0.0, np.inf, 1.0, 1.0
    todo = np.flatnonzero(busy & (n > 0))
    if todo.size:
        theta = 1.0 / patience[todo]
        width = np.maximum(lam[todo] / theta - n[todo] * theta**-1 / aht[todo], 0.0) + 12.0 * np.sqrt(
            lam[todo] / theta + 1.0
        )
        # Blocks of cells with similar queue widths, so one long queue does not widen every row.
        order = todo[np.argsort(width)]
        start = 0
        while start < order.size:
            cap = max(1, _BLOCK_ELEMENTS // int(np.ceil(width.max() + 40)))
            cells = order[start : start + cap]
            sl, w, ab, pw = _erlang_a_block(n[cells], lam[cells], aht[cells], patience[cells], t[cells])
            service_level[cells], asa[cells], abandon[cells], wait[cells] = sl, w, ab, pw
            start += cap
    load = lam * aht
    with np.errstate(divide="ignore", invalid="ignore"):
        occupancy = np.where(n > 0, load * (1.0 - abandon) / np.where(n > 0, n, 1.0), 0.0)
    occupancy = np.minimum(occupancy, 1.0)
    return QueueMetrics(
        service_level.reshape(shape),
        asa.reshape(shape),
        abandon.reshape(shape),
        occupancy.reshape(shape),
        wait.reshape(shape),
    )
