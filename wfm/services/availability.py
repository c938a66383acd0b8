"""An agent's weekly availability: when they cannot work (hard for the engine), prefer or avoid working
(soft). Rows are those of the `availability` import, in site-local minutes of the day."""

from __future__ import annotations

import re
from dataclasses import dataclass

from wfm.services import audit
from wfm.tables import Availability

KINDS = ("unavailable", "preferred", "avoid")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class AvailabilityError(ValueError):
    """A window that cannot be saved, with the reason."""


@dataclass(frozen=True)
class Window:
    id: int
    weekday: int
    start: str
    end: str
    kind: str

    @property
    def weekday_name(self) -> str:
        return WEEKDAYS[self.weekday - 1]


def _minutes(text: str, name: str) -> int:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not match or int(match.group(2)) >= 60 or int(match.group(1)) * 60 + int(match.group(2)) > 24 * 60:
        raise AvailabilityError(f"{name} must be a time of day HH:MM (00:00-24:00)")
    return int(match.group(1)) * 60 + int(match.group(2))


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


async def of_agent(agent_id: str) -> list[Window]:
    rows = await Availability.select().where(Availability.agent_id == agent_id).order_by(Availability.weekday)
    return [
        Window(int(r["id"]), int(r["weekday"]), _hhmm(r["start_minute"]), _hhmm(r["end_minute"]), r["kind"])
        for r in sorted(rows, key=lambda r: (r["weekday"], r["start_minute"]))
    ]


async def add(agent_id: str, weekday: str, start: str, end: str, kind: str) -> None:
    if not weekday.isdigit() or not 1 <= int(weekday) <= 7:
        raise AvailabilityError("choose a weekday")
    if kind not in KINDS:
        raise AvailabilityError(f"choose one of {', '.join(KINDS)}")
    first, last = _minutes(start, "from"), _minutes(end, "to")
    if last <= first:
        raise AvailabilityError("'to' must be after 'from' (a night needs two windows, one per day)")
    clash = await Availability.select(Availability.id).where(
        (Availability.agent_id == agent_id)
        & (Availability.weekday == int(weekday))
        & (Availability.start_minute < last)
        & (Availability.end_minute > first)
    )
    if clash:
        raise AvailabilityError("it overlaps a window you already have that day; delete that one first")
    await Availability.insert(
        Availability(agent_id=agent_id, weekday=int(weekday), start_minute=first, end_minute=last, kind=kind)
    )
    await audit.record(agent_id, "availability", agent_id, f"{WEEKDAYS[int(weekday) - 1]} {start}-{end} {kind}")


async def delete(window_id: int, agent_id: str) -> None:
    """Delete one of the agent's own windows (another's id does nothing)."""
    await Availability.delete().where((Availability.id == window_id) & (Availability.agent_id == agent_id))
