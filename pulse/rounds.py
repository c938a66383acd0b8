"""Round dates of a pulse survey (pure): created up front from a cadence, open by the calendar."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

CADENCE_DAYS = {"weekly": 7, "biweekly": 14}
MAX_ROUNDS = 104


@dataclass(frozen=True)
class RoundDates:
    number: int
    opens_on: dt.date
    closes_on: dt.date


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, or the month's last day when it is shorter (31 Jan + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def longest_open_days(cadence: str) -> int:
    """Rounds may not overlap: a round stays open at most the cadence's shortest period."""
    return CADENCE_DAYS.get(cadence, 28)


def round_dates(first_opens_on: dt.date, cadence: str, rounds: int, open_days: int) -> list[RoundDates]:
    """``rounds`` rounds from ``first_opens_on``, each open ``open_days`` days (both ends included)."""
    if cadence not in (*CADENCE_DAYS, "monthly"):
        raise ValueError(f"unknown cadence {cadence!r}")
    if not 1 <= rounds <= MAX_ROUNDS:
        raise ValueError(f"a survey has 1 to {MAX_ROUNDS} rounds, got {rounds}")
    if not 1 <= open_days <= longest_open_days(cadence):
        raise ValueError(f"a {cadence} round is open 1 to {longest_open_days(cadence)} days, got {open_days}")
    out = []
    for i in range(rounds):
        if cadence == "monthly":
            opens = add_months(first_opens_on, i)
        else:
            opens = first_opens_on + dt.timedelta(days=CADENCE_DAYS[cadence] * i)
        out.append(RoundDates(i + 1, opens, opens + dt.timedelta(days=open_days - 1)))
    return out


def state(opens_on: dt.date, closes_on: dt.date, today: dt.date, closed_early: bool = False) -> str:
    """``upcoming``, ``open`` or ``closed`` on ``today`` (site-local); a round closed by hand is closed."""
    if closed_early:
        return "closed"
    if today < opens_on:
        return "upcoming"
    return "open" if today <= closes_on else "closed"


def quarter_of(day: dt.date) -> str:
    """The calendar quarter a round belongs to (by its closing day), e.g. ``2026-Q3``.

    Cumulative views use fixed quarters, never sliding windows: two overlapping windows would differ by
    one round and could expose it (DESIGN.md: no group derived from another round).
    """
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
