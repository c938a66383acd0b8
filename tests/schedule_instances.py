"""Seeded schedule instances shaped like a contact centre's week (tests and `benchmarks/schedule_engine.py`).

Channels open 07:00-22:00 on weekdays and 09:00-18:00 at weekends (email 08:00-18:00, weekdays), with a
morning and an afternoon peak; the requirement is scaled so the team's contracted working time covers it
with ``slack`` to spare. Contracts mix full time (37.5-40 h, 5 days) and part time (20-30 h, 3-4 days);
some agents have a vacation, evenings or weekends they cannot work, and preferences.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np

from wfm.scheduling.engine import Problem, Requirement
from wfm.scheduling.model import Agent, AvailabilityWindow, Rules, TimeOff

ZONE = ZoneInfo("Europe/Stockholm")
MONDAY = dt.date(2026, 3, 2)  # an ordinary week; tests use 2026-03-23 for the DST change
CHANNELS = ("voice", "chat", "email")


def _shape(minute: np.ndarray, open_minute: int, close_minute: int) -> np.ndarray:
    """A two-peaked day: mid-morning and early-afternoon peaks, zero outside opening hours."""
    hours = minute / 60
    curve = 0.5 + np.exp(-((hours - 10.5) ** 2) / 3) + 0.8 * np.exp(-((hours - 14.5) ** 2) / 4)
    return np.where((minute >= open_minute) & (minute < close_minute), curve, 0.0)


def instance(
    agents: int,
    channels: int = 3,
    seed: int = 0,
    slack: float = 0.15,
    monday: dt.date = MONDAY,
    interval_minutes: int = 15,
    rules: Rules | None = None,
) -> Problem:
    rng = np.random.default_rng(seed)
    names = CHANNELS[:channels]
    team: list[Agent] = []
    for n in range(agents):
        draw = rng.random()
        if channels == 1 or draw < 0.55:
            skills: tuple[str, ...] = (names[0],)
        elif draw < 0.75:
            skills = (names[0], names[1])
        elif draw < 0.9 or channels == 2:
            skills = (names[1],)
        else:
            skills = (names[1], names[2]) if rng.random() < 0.5 else (names[2],)
        if rng.random() < 0.7:
            high, days = float(rng.choice([37.5, 40.0])), 5
        else:
            high = float(rng.choice([20.0, 24.0, 30.0]))
            days = 4 if high > 24 else int(rng.choice([3, 4]))
        team.append(
            Agent(
                f"a{n:03d}",
                skills,
                min_hours_week=high - float(rng.choice([0, 2, 4])),
                max_hours_week=high,
                hourly_cost=round(float(rng.uniform(20, 30)), 2),
                max_days_week=days,
            )
        )
    time_off: list[TimeOff] = []
    windows: list[AvailabilityWindow] = []
    for a in team:
        if rng.random() < 0.08:
            first = int(rng.integers(0, 5))
            length = int(rng.integers(1, 6))
            start = dt.datetime.combine(monday + dt.timedelta(days=first), dt.time(), tzinfo=ZONE)
            end = dt.datetime.combine(monday + dt.timedelta(days=min(7, first + length)), dt.time(), tzinfo=ZONE)
            time_off.append(TimeOff(a.agent_id, start, end))
        draw = rng.random()
        if draw < 0.1:
            for weekday in (6, 7):
                windows.append(AvailabilityWindow(a.agent_id, weekday, 0, 24 * 60, "unavailable"))
        elif draw < 0.2:
            weekday = int(rng.integers(1, 6))
            windows.append(AvailabilityWindow(a.agent_id, weekday, 17 * 60, 24 * 60, "unavailable"))
        if rng.random() < 0.15:
            kind = "avoid" if rng.random() < 0.6 else "preferred"
            windows.append(AvailabilityWindow(a.agent_id, int(rng.integers(1, 8)), 6 * 60, 12 * 60, kind))
    # Requirement: shape per channel, scaled to the team's working time less the slack.
    minutes = np.arange(0, 24 * 60, interval_minutes)
    weights = {"voice": 1.0, "chat": 0.5, "email": 0.25}
    shapes: dict[str, list[np.ndarray]] = {c: [] for c in names}
    for d in range(7):
        weekend = d >= 5
        for c in names:
            if c == "email":
                curve = np.zeros(minutes.size) if weekend else 0.6 * _shape(minutes, 8 * 60, 18 * 60)
            else:
                curve = _shape(minutes, 9 * 60, 18 * 60) * 0.45 if weekend else _shape(minutes, 7 * 60, 22 * 60)
            shapes[c].append(curve * weights[c] * float(rng.uniform(0.9, 1.1)))
    capacity_hours = sum(a.max_hours_week for a in team) * 0.9 * (1 - 0.5 * 0.08)
    skill_hours = {c: sum(a.max_hours_week / len(a.skills) for a in team if c in a.skills) for c in names}
    requirements: list[Requirement] = []
    total_skill = sum(skill_hours.values()) or 1.0
    for c in names:
        curve = np.concatenate(shapes[c])
        target_hours = capacity_hours * (1 - slack) * skill_hours[c] / total_skill
        scale = target_hours / max(curve.sum() * interval_minutes / 60, 1e-9)
        staff = np.round(curve * scale)
        for d in range(7):
            day = monday + dt.timedelta(days=d)
            for j, minute in enumerate(minutes):
                value = float(staff[d * minutes.size + j])
                if value <= 0:
                    continue
                start = dt.datetime.combine(day, dt.time(), tzinfo=ZONE) + dt.timedelta(minutes=int(minute))
                start = start.astimezone(dt.UTC).astimezone(ZONE)
                requirements.append(Requirement(start, start + dt.timedelta(minutes=interval_minutes), c, value))
    return Problem(
        monday=monday,
        zone=ZONE,
        agents=tuple(team),
        requirements=tuple(requirements),
        rules=rules or Rules(earliest_start_minute=6 * 60, latest_end_minute=23 * 60),
        time_off=tuple(time_off),
        windows=tuple(windows),
    )
