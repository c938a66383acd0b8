"""How good a schedule is: coverage per interval and channel, paid hours and cost, fairness (pure).

Coverage follows DESIGN.md (Multi-skill): a work row with a channel counts once for that channel; a work
row without one counts ``1/k`` towards each of the agent's ``k`` skills. An activity covering part of an
interval counts in proportion.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from wfm.scheduling.model import PAID_ACTIVITIES, Activity, Agent
from wfm.scheduling.rules import shifts_of


def coverage(
    activities: Iterable[Activity],
    agents: Mapping[str, Agent],
    first_interval: dt.datetime,
    intervals: int,
    interval_minutes: int,
) -> dict[str, np.ndarray]:
    """Scheduled agents per channel and interval ``[first_interval + i x length, ...)``, as float arrays."""
    length = dt.timedelta(minutes=interval_minutes)
    first_interval = first_interval.astimezone(dt.UTC)  # elapsed-time steps, across DST too
    out: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(intervals))
    for a in activities:
        if a.activity != "work":
            continue
        agent = agents.get(a.agent_id)
        shares = {a.channel: 1.0} if a.channel else {s: 1.0 / len(agent.skills) for s in agent.skills} if agent else {}
        first = max(0, int((a.start - first_interval) // length))
        last = min(intervals - 1, int((a.end - first_interval - dt.timedelta(microseconds=1)) // length))
        for i in range(first, last + 1):
            start = first_interval + i * length
            overlap = (min(a.end, start + length) - max(a.start, start)) / length
            for channel, share in shares.items():
                out[channel][i] += share * overlap
    return dict(out)


@dataclass(frozen=True)
class Cost:
    paid_hours: float
    labour_cost: float


def paid_cost(activities: Iterable[Activity], agents: Mapping[str, Agent]) -> Cost:
    """Paid hours (work and short breaks) and their cost at each agent's ``hourly_cost``."""
    hours = 0.0
    cost = 0.0
    for a in activities:
        if a.activity in PAID_ACTIVITIES:
            h = a.minutes / 60.0
            hours += h
            agent = agents.get(a.agent_id)
            cost += h * (agent.hourly_cost if agent else 0.0)
    return Cost(round(hours, 6), round(cost, 6))


def gini(values: Sequence[float]) -> float:
    """The Gini coefficient: mean absolute difference over twice the mean (0 = all equal; 0 when all are 0).

    Gini (1912); here as ``sum_i sum_j |x_i - x_j| / (2 n^2 mean)``, which reaches ``1 - 1/n`` when one
    person has everything.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0 or x.sum() == 0:
        return 0.0
    diffs = np.abs(x[:, None] - x[None, :]).sum()
    return float(diffs / (2 * x.size**2 * x.mean()))


def unpopular_shifts(
    activities: Iterable[Activity],
    agent_ids: Iterable[str],
    zone: ZoneInfo,
    evening_minute: int = 18 * 60,
) -> dict[str, int]:
    """Per agent, shifts that start on a Saturday or Sunday or end after ``evening_minute`` (wall clock)."""
    counts = {agent_id: 0 for agent_id in agent_ids}
    for agent_id, shifts in shifts_of(activities).items():
        for s in shifts:
            start, end = s.start.astimezone(zone), s.end.astimezone(zone)
            midnight = dt.datetime.combine(start.date(), dt.time(), tzinfo=zone)
            evening = end > midnight + dt.timedelta(minutes=evening_minute)
            if start.isoweekday() >= 6 or evening:
                counts[agent_id] = counts.get(agent_id, 0) + 1
    return counts
