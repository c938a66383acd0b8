"""Staffing requirements from a forecast: agents per interval and channel, with the derivation kept.

Pure and vectorised: a whole grid of intervals x channels is computed at once with `wfm.erlang`.
The hand-off to scheduling follows DESIGN.md: ``agents_required`` is the integer number of productive
agents the queue needs; ``staff_required = ceil(agents_required / (1 - shrinkage) - 1e-9)``.

Models
------
* ``erlang_c``: M/M/n, every contact waits as long as it takes (Erlang C).
* ``erlang_a``: M/M/n+M, contacts abandon after an exponential patience (Erlang A); abandoned contacts
  count as not answered within the threshold.
* Concurrency (chat, messaging): an agent holds up to ``concurrency`` conversations at once. Each
  conversation occupies one of the agent's slots for its whole handle time, and the handle time is the
  one measured at that concurrency (so it already includes the slowdown of multitasking). The queue is
  then the same model with ``agents x concurrency`` slots; the agents needed are the slots needed divided
  by the concurrency, rounded up. Assumption: conversations are independent and an agent's slots are
  interchangeable (no agent refuses a free slot).
* ``deferred`` (email, social, back office): no one waits on line. The work arriving in an interval is
  due within the response window; it is spread evenly over the open intervals of its window, so the
  backlog clears in time, and a first-in-first-out pass over the resulting capacity gives the share
  handled within the window and the backlog carried to the next interval. The plan aims to handle all
  work within the window (stricter than a 90 % target); the reported service level shows what it
  achieves. Work whose window holds no open interval goes to the next open interval (and is late).

Every ceil of a float ratio is guarded by ``- 1e-9`` (``21 / 0.7`` is 30.000000000000004).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from wfm import erlang

FloatArray = npt.NDArray[np.float64]
MODELS = ("erlang_c", "erlang_a", "deferred")
RISKS = ("p50", "p80", "p95")
CEIL_GUARD = 1e-9
# No queue needs more agents than this many standard deviations of its load above the load.
_MAX_SEARCH_SIGMAS = 60.0


class StaffingInputError(ValueError):
    """Parameters or a forecast that cannot be staffed; the message names the channel and the field."""


@dataclass(frozen=True)
class ChannelParams:
    """How one channel is staffed (the keys of the channels file, DESIGN.md).

    Defaults are those of a phone queue: 80 % of contacts answered within 20 s, agents at most 85 % busy,
    30 % shrinkage, 180 s mean patience for Erlang A (the order of the patience measured in call centres;
    see Mandelbaum & Zeltyn 2007), email-like channels answered within 24 h.
    """

    model: str = "erlang_c"
    service_level_target: float = 0.8
    answer_within_seconds: float = 20.0
    max_asa_seconds: float | None = None
    max_abandon_rate: float | None = None
    patience_seconds: float = 180.0
    concurrency: float = 1.0
    response_window_hours: float = 24.0
    max_occupancy: float = 0.85
    shrinkage: float = 0.30

    def check(self, channel: str) -> None:
        """Raise `StaffingInputError` naming the channel and field of the first impossible value."""
        problems = self.problems()
        if problems:
            field, reason = problems[0]
            raise StaffingInputError(f"channel {channel}, {field}: {reason}")

    def problems(self) -> list[tuple[str, str]]:
        """Every impossible value as (field, reason); empty when the parameters can be staffed."""
        out: list[tuple[str, str]] = []

        def finite(name: str, value: float | None) -> bool:
            if value is not None and not math.isfinite(value):
                out.append((name, f"{value} is not a number"))
                return False
            return True

        if self.model not in MODELS:
            out.append(("model", f"{self.model!r} is not one of {', '.join(MODELS)}"))
        if finite("service_level_target", self.service_level_target):
            if self.model == "deferred":
                if not 0 < self.service_level_target <= 1:
                    out.append(("service_level_target", "must be above 0 and at most 1"))
            elif not 0 <= self.service_level_target < 1:
                out.append(
                    (
                        "service_level_target",
                        f"{self.service_level_target} cannot be met: a queue answers 100 % within a time only "
                        "with infinitely many agents; give a share below 1 (e.g. 0.8)",
                    )
                )
        if finite("answer_within_seconds", self.answer_within_seconds) and self.answer_within_seconds < 0:
            out.append(("answer_within_seconds", "must be 0 or more"))
        asa = self.max_asa_seconds
        if finite("max_asa_seconds", asa) and asa is not None and asa <= 0:
            out.append(("max_asa_seconds", "must be above 0 (an ASA of 0 needs infinitely many agents)"))
        abandon = self.max_abandon_rate
        if finite("max_abandon_rate", abandon) and abandon is not None and not 0 < abandon <= 1:
            out.append(("max_abandon_rate", "must be above 0 and at most 1"))
        if finite("patience_seconds", self.patience_seconds) and self.patience_seconds <= 0:
            out.append(("patience_seconds", "must be above 0"))
        if finite("concurrency", self.concurrency) and not 1 <= self.concurrency <= 20:
            out.append(("concurrency", "must be from 1 to 20"))
        if finite("response_window_hours", self.response_window_hours) and self.response_window_hours <= 0:
            out.append(("response_window_hours", "must be above 0"))
        if finite("max_occupancy", self.max_occupancy) and not 0 < self.max_occupancy <= 1:
            out.append(("max_occupancy", f"{self.max_occupancy} must be above 0 and at most 1"))
        if finite("shrinkage", self.shrinkage) and not 0 <= self.shrinkage < 1:
            out.append(("shrinkage", f"{self.shrinkage} must be 0 or more and below 1"))
        return out


# Defaults by channel kind (DESIGN.md: the kind picks the default staffing model).
KIND_DEFAULTS: dict[str, ChannelParams] = {
    "voice": ChannelParams(model="erlang_a"),
    "chat": ChannelParams(model="erlang_c", answer_within_seconds=60.0, concurrency=2.0),
    "messaging": ChannelParams(model="erlang_c", answer_within_seconds=300.0, concurrency=3.0),
    "sms": ChannelParams(model="deferred", service_level_target=0.9, response_window_hours=4.0),
    "email": ChannelParams(model="deferred", service_level_target=0.9, response_window_hours=24.0),
    "social": ChannelParams(model="deferred", service_level_target=0.9, response_window_hours=4.0),
}
KIND_ALIASES = {"phone": "voice", "calls": "voice", "call": "voice", "mail": "email", "e-mail": "email"}
PARAM_KEYS = tuple(f.name for f in fields(ChannelParams))


def defaults_for(channel: str) -> ChannelParams:
    """Parameters for a channel named in a file: by its kind when the name is one, else Erlang C defaults."""
    name = channel.strip().lower()
    return KIND_DEFAULTS.get(KIND_ALIASES.get(name, name), ChannelParams())


def staff_from_agents(agents_required: FloatArray, shrinkage: FloatArray | float) -> FloatArray:
    """``ceil(agents / (1 - shrinkage) - 1e-9)``: staff to schedule so that enough agents are productive."""
    staff = np.ceil(np.asarray(agents_required, dtype=np.float64) / (1.0 - np.asarray(shrinkage)) - CEIL_GUARD)
    return np.maximum(staff, 0.0)


def guarded_ceil(values: FloatArray) -> FloatArray:
    """Ceil that ignores floating-point noise above a whole number (30.000000000000004 -> 30)."""
    return np.maximum(np.ceil(np.asarray(values, dtype=np.float64) - CEIL_GUARD), 0.0)


@dataclass(frozen=True)
class QueueTargets:
    """Targets a queue must meet at once; arrays broadcast per cell (NaN = no cap)."""

    service_level: FloatArray
    answer_within_seconds: FloatArray
    max_asa_seconds: FloatArray
    max_abandon_rate: FloatArray
    max_occupancy: FloatArray


def queue_metrics(
    slots: FloatArray,
    arrivals_per_second: FloatArray,
    aht_seconds: FloatArray,
    patience_seconds: FloatArray | None,
    answer_within_seconds: FloatArray,
) -> erlang.QueueMetrics:
    """The queue's metrics with ``slots`` servers: Erlang C, or Erlang A when a patience is given."""
    if patience_seconds is None:
        return erlang.erlang_c_metrics(slots, arrivals_per_second * aht_seconds, aht_seconds, answer_within_seconds)
    return erlang.erlang_a_metrics(slots, arrivals_per_second, aht_seconds, patience_seconds, answer_within_seconds)


def meets_targets(metrics: erlang.QueueMetrics, targets: QueueTargets) -> npt.NDArray[np.bool_]:
    """Per cell, whether every target holds at once (NaN caps do not apply)."""
    ok = metrics.service_level >= targets.service_level - 1e-12
    ok &= np.isnan(targets.max_asa_seconds) | (metrics.asa_seconds <= targets.max_asa_seconds + 1e-9)
    ok &= np.isnan(targets.max_abandon_rate) | (metrics.abandon_rate <= targets.max_abandon_rate + 1e-12)
    ok &= metrics.occupancy <= targets.max_occupancy + 1e-12
    return np.asarray(ok, dtype=bool)


def required_slots(
    arrivals_per_second: FloatArray,
    aht_seconds: FloatArray,
    targets: QueueTargets,
    patience_seconds: FloatArray | None = None,
) -> FloatArray:
    """The smallest whole number of servers meeting every target at once, per cell (0 where no load).

    Erlang C when ``patience_seconds`` is None, else Erlang A. Every metric is monotone in the number of
    servers, so the answer is bracketed (from the occupancy floor for Erlang C; galloping down from the
    Erlang C answer for Erlang A; doubling up where a start fails) and found by bisection, vectorised over
    cells. Targets no number of servers up to the load plus 60 standard deviations meets raise
    `StaffingInputError` instead of searching on.
    """
    lam = np.asarray(arrivals_per_second, dtype=np.float64)
    aht = np.asarray(aht_seconds, dtype=np.float64)
    load = lam * aht
    out = np.zeros(load.shape)
    busy = load > 0
    if not busy.any():
        return out
    idx = np.flatnonzero(busy)
    sub_targets = QueueTargets(*(np.broadcast_to(getattr(targets, f.name), load.shape)[busy] for f in fields(targets)))
    sub_patience = None if patience_seconds is None else np.broadcast_to(patience_seconds, load.shape)[busy]
    a, lam_b, aht_b = load[busy], lam[busy], aht[busy]
    within = sub_targets.answer_within_seconds

    def ok(n: FloatArray, cells: npt.NDArray[np.intp]) -> npt.NDArray[np.bool_]:
        part = QueueTargets(*(getattr(sub_targets, f.name)[cells] for f in fields(sub_targets)))
        patience = None if sub_patience is None else sub_patience[cells]
        return meets_targets(queue_metrics(n, lam_b[cells], aht_b[cells], patience, within[cells]), part)

    # Occupancy alone sets a floor: carried load / n <= cap (for Erlang C the carried load is the load,
    # and an Erlang C queue needs more servers than its load to have a steady state at all).
    all_cells = np.arange(a.size)
    if sub_patience is None:
        floor = np.maximum(guarded_ceil(a / sub_targets.max_occupancy), np.floor(a) + 1.0)
        lo = np.maximum(floor, 1.0) - 1.0  # lo fails (or is below the floor), hi meets
        hi = np.maximum(floor, 1.0)
    else:
        # Erlang A: abandonment relieves the queue, so the Erlang C answer is an upper bound in all but
        # rare cases (an abandonment cap); gallop down from it to bracket the answer in a few steps.
        lo = np.zeros_like(a)
        hi = required_slots(lam_b, aht_b, sub_targets)
    cap = a + _MAX_SEARCH_SIGMAS * np.sqrt(a) + 100.0
    pending = all_cells[~ok(hi, all_cells)]
    while pending.size:
        lo[pending] = hi[pending]
        hi[pending] = np.ceil(a[pending] + 2.0 * (hi[pending] - a[pending]) + 1.0)
        if (hi[pending] > cap[pending]).any():
            bad = pending[hi[pending] > cap[pending]][0]
            raise StaffingInputError(
                f"no number of agents up to {int(cap[bad])} meets the targets for a load of {a[bad]:.1f} Erlangs "
                "(check the service level target, the answer time and the ASA and abandonment caps)"
            )
        pending = pending[~ok(hi[pending], pending)]
    if sub_patience is not None:
        step = np.ones_like(a)
        galloping = all_cells[hi - lo > 1]
        while galloping.size:
            probe = np.maximum(hi[galloping] - step[galloping], lo[galloping] + 1.0)
            good = ok(probe, galloping)
            hi[galloping[good]] = probe[good]
            lo[galloping[~good]] = probe[~good]
            step[galloping] *= 2.0
            galloping = galloping[good & (hi[galloping] - lo[galloping] > 1)]
    # Bisection: invariant lo fails (or is 0 below the floor), hi meets.
    active = all_cells[hi - lo > 1]
    while active.size:
        mid = np.floor((lo[active] + hi[active]) / 2.0)
        good = ok(mid, active)
        hi[active[good]] = mid[good]
        lo[active[~good]] = mid[~good]
        active = active[hi[active] - lo[active] > 1]
    out[idx] = hi
    return out


def patience_from_history(abandoned: float, total_wait_seconds: float, min_abandoned: float = 30) -> float | None:
    """Mean patience (seconds) estimated from history, or None when there are too few abandonments.

    Maximum-likelihood estimate for exponential patience under censoring: the total time contacts spent
    waiting (answered or abandoned) divided by the number that abandoned (Brown et al. 2005, "Statistical
    analysis of a telephone call center", JASA 100, sec. 6).
    """
    if not math.isfinite(abandoned) or not math.isfinite(total_wait_seconds):
        return None
    if abandoned < min_abandoned or total_wait_seconds <= 0:
        return None
    return total_wait_seconds / abandoned


# --- grids ------------------------------------------------------------------------------------------

REQUIREMENT_COLUMNS = (
    "interval_start",
    "channel",
    "offered",
    "aht_seconds",
    "agents_required",
    "service_level",
    "asa_seconds",
    "occupancy",
    "abandon_rate",
    "staff_required",
    "backlog",
)


def targets_of(p: ChannelParams, size: int) -> QueueTargets:
    """One channel's targets for ``size`` cells (the abandonment cap only for Erlang A)."""

    def full(value: float | None) -> FloatArray:
        return np.full(size, np.nan if value is None else float(value))

    return QueueTargets(
        full(p.service_level_target),
        full(p.answer_within_seconds),
        full(p.max_asa_seconds),
        full(p.max_abandon_rate if p.model == "erlang_a" else None),
        full(p.max_occupancy),
    )


def _queue(
    offered: FloatArray,
    aht: FloatArray,
    targets: QueueTargets,
    concurrency: FloatArray,
    patience: FloatArray | None,
    interval_seconds: float,
    agents: FloatArray | None,
) -> dict[str, FloatArray]:
    """Real-time queue cells (Erlang C, or A with ``patience``), any channels at once: agents (found, or
    given) and their metrics. With concurrency the queue's servers are the agents' slots."""
    lam = offered / interval_seconds
    if agents is None:
        slots = required_slots(lam, aht, targets, patience)
        agents = guarded_ceil(slots / concurrency)
    metrics = queue_metrics(agents * concurrency, lam, aht, patience, targets.answer_within_seconds)
    idle = offered * aht <= 0
    return {
        "agents_required": agents,
        "service_level": np.where(idle, np.nan, metrics.service_level),
        "asa_seconds": np.where(idle, np.nan, metrics.asa_seconds),
        "occupancy": np.where(idle, np.nan, metrics.occupancy),
        "abandon_rate": np.where(idle, np.nan, metrics.abandon_rate),
        "backlog": np.full(offered.size, np.nan),
        "load_erlangs": lam * aht,
    }


def _deferred(
    offered: FloatArray,
    aht: FloatArray,
    is_open: npt.NDArray[np.bool_],
    p: ChannelParams,
    interval_seconds: float,
    agents: FloatArray | None,
) -> dict[str, FloatArray]:
    """Deferred work for one channel's consecutive intervals (see the module docstring)."""
    size = offered.size
    work = offered * aht  # agent-seconds arriving per interval
    window = max(1, math.floor(p.response_window_hours * 3600.0 / interval_seconds + CEIL_GUARD))
    if agents is None:
        # Windows that run past the horizon see the opening pattern of a week (or a day) earlier there, so
        # the last days' work is spread as thinly as any other day's, not squeezed into the horizon.
        per_day = max(1, round(86400.0 / interval_seconds))
        period = 7 * per_day if size >= 7 * per_day else per_day
        extended = np.concatenate([is_open, np.resize(is_open[-period:] if size >= period else is_open, window)])
        open_index: npt.NDArray[np.int64] = np.cumsum(extended) - extended  # open intervals before each one
        total_open = int(extended.sum())
        spread = np.zeros(total_open + 1)
        first = open_index[:size]  # the first open interval at or after i
        last = np.concatenate([open_index, [total_open]])[np.arange(size) + window]  # open ones before i + window
        count = last - first
        # No open interval inside the window: the work waits for the next open one (and is late).
        late = count <= 0
        count = np.where(late, 1, count)
        last = np.where(late, np.minimum(first + 1, total_open), last)
        has_work = (work > 0) & (first < total_open)
        np.add.at(spread, first[has_work], work[has_work] / count[has_work])
        np.add.at(spread, last[has_work], -work[has_work] / count[has_work])
        per_open = np.cumsum(spread)[:total_open]
        need = np.zeros(size + window)
        need[extended] = per_open
        agents = np.where(is_open, guarded_ceil(need[:size] / (interval_seconds * p.max_occupancy)), 0.0)
    capacity = agents * interval_seconds * p.max_occupancy
    # First in, first out over the capacity: cumulative work arrived and done at the end of each interval.
    arrived = np.cumsum(work)
    done = np.zeros(size)
    carried = 0.0
    for i in range(size):
        handled = min(capacity[i], carried + work[i])
        carried = carried + work[i] - handled
        done[i] = handled
    done_cum = np.cumsum(done)
    deadline = np.minimum(np.arange(size) + window - 1, size - 1)
    before = arrived - work
    with np.errstate(invalid="ignore", divide="ignore"):
        in_time = np.clip((done_cum[deadline] - before) / work, 0.0, 1.0)
        occupancy = np.where(agents > 0, done / (agents * interval_seconds), np.nan)
    # A window that runs past the forecast cannot be judged: count only what the forecast can show.
    beyond = np.arange(size) + window - 1 > size - 1
    service_level = np.where((work > 0) & ~(beyond & (in_time < 1)), in_time, np.nan)
    contacts = np.cumsum(offered)
    backlog = np.maximum(contacts - np.interp(done_cum, arrived, contacts, left=0.0), 0.0)
    return {
        "agents_required": agents,
        "service_level": service_level,
        "asa_seconds": np.full(size, np.nan),
        "occupancy": occupancy,
        "abandon_rate": np.where(work > 0, 0.0, np.nan),
        "backlog": backlog,
        "load_erlangs": work / interval_seconds,
    }


def _checked_forecast(forecast: pd.DataFrame, column: str) -> tuple[FloatArray, FloatArray]:
    """The volume and AHT columns as numbers, with the first bad value named by row and column.

    Rows are numbered as in the file: the header is row 1, the first interval row 2. Empty values are 0
    where the volume is 0 (a closed interval has no handle time).
    """
    missing = [c for c in ("interval_start", "channel", column, "aht_seconds") if c not in forecast.columns]
    if missing:
        raise StaffingInputError(f"missing column(s): {', '.join(missing)}")
    numbers = []
    for name in (column, "aht_seconds"):
        raw = forecast[name]
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        bad = (values < 0) | np.isinf(values) | (np.isnan(values) & raw.notna().to_numpy())
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise StaffingInputError(f"row {row + 2}, column {name}: {raw.iloc[row]} is not a number >= 0")
        numbers.append(values)
    offered, aht = numbers
    no_aht = (offered > 0) & np.isnan(aht)
    if no_aht.any():
        row = int(np.flatnonzero(no_aht)[0])
        raise StaffingInputError(f"row {row + 2}, column aht_seconds: empty where {column} is above 0")
    return np.nan_to_num(offered, nan=0.0), np.nan_to_num(aht, nan=0.0)


def _time_key(starts: pd.Series) -> npt.NDArray[np.float64]:
    """Sortable instants: numbers as they are (seconds), timestamps (naive, aware or text) as UTC seconds."""
    if pd.api.types.is_numeric_dtype(starts):
        return starts.to_numpy(dtype=np.float64)
    stamps = pd.to_datetime(starts, utc=True, format="ISO8601") if starts.dtype == object else pd.to_datetime(starts)
    if getattr(stamps.dt, "tz", None) is None:
        stamps = stamps.dt.tz_localize("UTC")
    seconds = (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    return np.asarray(seconds, dtype=np.float64)


def requirements(
    forecast: pd.DataFrame,
    params: Mapping[str, ChannelParams],
    *,
    interval_minutes: int,
    risk: str = "p50",
    is_open: pd.Series | None = None,
    agents: pd.Series | None = None,
) -> pd.DataFrame:
    """Agents required per interval and channel, with the expected service at that staffing.

    Parameters
    ----------
    forecast
        ``interval_start, channel, offered_<risk>, aht_seconds``; or ``offered`` instead of the quantile
        column (then ``risk`` only labels the result).
    params
        Parameters per channel name; a channel missing here gets `defaults_for` its name.
    interval_minutes
        Length of each interval.
    risk
        ``p50``, ``p80`` or ``p95``: which volume quantile to staff to.
    is_open
        Per row, whether the channel is worked in that interval (deferred channels only spread work over
        open intervals); all open when None.
    agents
        Per row, productive agents to evaluate instead of searching (the reverse: expected service for a
        given staffing).

    Returns
    -------
    The `REQUIREMENT_COLUMNS` plus ``model`` and ``load_erlangs``, in the input's row order.
    """
    if risk not in RISKS:
        raise StaffingInputError(f"risk {risk!r} is not one of {', '.join(RISKS)}")
    if interval_minutes <= 0:
        raise StaffingInputError(f"interval_minutes {interval_minutes} must be above 0")
    column = f"offered_{risk}" if f"offered_{risk}" in forecast.columns else "offered"
    offered, aht = _checked_forecast(forecast, column)
    size = len(forecast)
    open_rows = np.ones(size, dtype=bool) if is_open is None else np.asarray(is_open, dtype=bool).reshape(size)
    given = None if agents is None else np.asarray(agents, dtype=np.float64).reshape(size)
    interval_seconds = interval_minutes * 60.0
    names, codes = np.unique(forecast["channel"].astype(str).to_numpy(), return_inverse=True)
    chosen = [params.get(str(name)) or defaults_for(str(name)) for name in names]
    for name, p in zip(names, chosen, strict=True):
        p.check(str(name))

    def per_row(field: str) -> FloatArray:
        return np.array([np.nan if getattr(p, field) is None else float(getattr(p, field)) for p in chosen])[codes]

    # Rows in channel and time order, so deferred work runs through each channel's intervals in sequence.
    order = np.lexsort((_time_key(forecast["interval_start"]), codes))
    models = np.array([p.model for p in chosen])[codes]
    results = {
        name: np.full(size, np.nan)
        for name in ("agents_required", "service_level", "asa_seconds", "occupancy", "abandon_rate", "backlog")
    }
    results["load_erlangs"] = np.zeros(size)
    for model in ("erlang_c", "erlang_a"):
        rows = order[models[order] == model]
        if not rows.size:
            continue
        targets = QueueTargets(
            per_row("service_level_target")[rows],
            per_row("answer_within_seconds")[rows],
            per_row("max_asa_seconds")[rows],
            per_row("max_abandon_rate")[rows] if model == "erlang_a" else np.full(rows.size, np.nan),
            per_row("max_occupancy")[rows],
        )
        patience = per_row("patience_seconds")[rows] if model == "erlang_a" else None
        fixed = None if given is None else given[rows]
        part = _queue(
            offered[rows], aht[rows], targets, per_row("concurrency")[rows], patience, interval_seconds, fixed
        )
        for name, values in part.items():
            results[name][rows] = values
    for code, p in enumerate(chosen):
        if p.model != "deferred":
            continue
        rows = order[codes[order] == code]
        fixed = None if given is None else given[rows]
        part = _deferred(offered[rows], aht[rows], open_rows[rows], p, interval_seconds, fixed)
        for key, values in part.items():
            results[key][rows] = values
    agents_required = np.nan_to_num(results.pop("agents_required"), nan=0.0)
    out = pd.DataFrame(
        {
            "interval_start": forecast["interval_start"].to_numpy(),
            "channel": forecast["channel"].to_numpy(),
            "offered": offered,
            "aht_seconds": aht,
            "agents_required": agents_required.astype(np.int64),
            "service_level": results["service_level"],
            "asa_seconds": results["asa_seconds"],
            "occupancy": results["occupancy"],
            "abandon_rate": results["abandon_rate"],
            "staff_required": staff_from_agents(agents_required, per_row("shrinkage")).astype(np.int64),
            "backlog": results["backlog"],
            "model": models,
            "load_erlangs": results["load_erlangs"],
        }
    )
    return out


def with_overrides(p: ChannelParams, **changes: float | str | None) -> ChannelParams:
    """A copy with some fields changed (the what-if panel), checked."""
    known = {k: v for k, v in changes.items() if k in PARAM_KEYS}
    return replace(p, **known)  # type: ignore[arg-type]


# --- the channels file (`wfm staff --channels FILE.toml`) --------------------------------------------


@dataclass(frozen=True)
class ChannelFileEntry:
    """One ``[channels.NAME]`` table: its parameters, and the daily hours it is worked (None = always)."""

    params: ChannelParams
    opening_minutes: tuple[int, int] | None = None


def _opening_minutes(text: str) -> tuple[int, int]:
    try:
        opens, closes = (part.strip() for part in text.split("-"))
        start = int(opens[:2]) * 60 + int(opens[3:5])
        end = int(closes[:2]) * 60 + int(closes[3:5])
    except (ValueError, IndexError):
        raise ValueError(f"{text!r} is not HH:MM-HH:MM") from None
    if not (len(opens) == len(closes) == 5 and 0 <= start < end <= 24 * 60):
        raise ValueError(f"{text!r} is not HH:MM-HH:MM with opening before closing")
    return start, end


def read_channels_file(text: str, source: str) -> dict[str, ChannelFileEntry]:
    """Parse a channels TOML file; errors name the file, the channel and the key.

    Each ``[channels.NAME]`` table starts from `defaults_for` NAME and overrides the keys it gives
    (`PARAM_KEYS`, plus ``opening_hours = "08:00-20:00"``: the daily hours a deferred channel is worked).
    """
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise StaffingInputError(f"{source}: {error}") from None
    channels = data.get("channels")
    unknown_top = sorted(set(data) - {"channels"})
    if unknown_top:
        raise StaffingInputError(f"{source}: unknown table(s) {', '.join(unknown_top)}; use [channels.NAME]")
    if not isinstance(channels, dict) or not channels:
        raise StaffingInputError(f"{source}: no [channels.NAME] tables")
    out: dict[str, ChannelFileEntry] = {}
    for name, table in channels.items():
        where = f"{source}, [channels.{name}]"
        if not isinstance(table, dict):
            raise StaffingInputError(f"{where}: must be a table of keys")
        changes: dict[str, float | str | None] = {}
        opening = None
        for key, value in table.items():
            if key == "opening_hours":
                try:
                    opening = _opening_minutes(str(value))
                except ValueError as error:
                    raise StaffingInputError(f"{where}, opening_hours: {error}") from None
            elif key not in PARAM_KEYS:
                raise StaffingInputError(
                    f"{where}: unknown key {key!r} (known: {', '.join(PARAM_KEYS)}, opening_hours)"
                )
            elif key == "model":
                changes[key] = str(value)
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise StaffingInputError(f"{where}, {key}: {value!r} is not a number")
            else:
                changes[key] = float(value)
        params = with_overrides(defaults_for(name), **changes)
        problems = params.problems()
        if problems:
            raise StaffingInputError(f"{where}, {problems[0][0]}: {problems[0][1]}")
        out[name] = ChannelFileEntry(params, opening)
    return out


def requirements_for_file(
    forecast: pd.DataFrame, entries: Mapping[str, ChannelFileEntry], risk: str = "p50"
) -> pd.DataFrame:
    """`requirements` for a forecast file as `wfm staff` reads it: ISO times, naive or with offsets.

    The interval length is the shortest step between a channel's intervals; opening hours (from the
    channels file) are read on the wall clock the file is written in. ``interval_start`` is returned as
    written.
    """
    if "interval_start" not in forecast.columns:
        raise StaffingInputError("missing column(s): interval_start")
    written = forecast["interval_start"].astype(str)
    try:
        stamps = [dt.datetime.fromisoformat(text) for text in written]
    except ValueError:
        row = next(i for i, text in enumerate(written) if not _is_iso(text))
        raise StaffingInputError(
            f"row {row + 1}, column interval_start: {written.iloc[row]!r} is not ISO 8601"
        ) from None
    instants = pd.Series([s.timestamp() if s.tzinfo else s.replace(tzinfo=dt.UTC).timestamp() for s in stamps])
    steps = (
        pd.DataFrame({"channel": forecast["channel"].astype(str), "t": instants})
        .drop_duplicates()
        .sort_values(["channel", "t"])
        .groupby("channel")["t"]
        .diff()
    )
    positive = steps[steps > 0]
    interval_minutes = round(float(positive.min()) / 60.0) if len(positive) else 15
    minute_of_day = np.array([s.hour * 60 + s.minute for s in stamps])
    is_open = np.ones(len(forecast), dtype=bool)
    channel_names = forecast["channel"].astype(str).to_numpy()
    for name, entry in entries.items():
        if entry.opening_minutes is not None:
            rows = channel_names == name
            start, end = entry.opening_minutes
            is_open[rows] = (minute_of_day[rows] >= start) & (minute_of_day[rows] < end)
    frame = forecast.copy()
    frame["interval_start"] = instants.to_numpy()
    frame["channel"] = channel_names
    out = requirements(
        frame,
        {name: entry.params for name, entry in entries.items()},
        interval_minutes=interval_minutes,
        risk=risk,
        is_open=pd.Series(is_open),
    )
    out["interval_start"] = written.to_numpy()
    return out


def _is_iso(text: str) -> bool:
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True
