"""Shifts as an iCalendar file (RFC 5545), pure.

Times are written in UTC (``DTSTART:20250127T070000Z``), which every calendar converts to its own zone, so
a shift shows at the same wall-clock time it was planned in the site's zone, DST weeks included. Lines end
in CRLF, are folded at 75 octets and text is escaped as the RFC asks (backslash, semicolon, comma,
newline). A shift's UID is stable (agent and start), so a subscribed calendar updates a moved shift's
neighbours instead of duplicating them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from wfm.scheduling.model import Shift


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Split a content line into pieces of at most 75 octets, continuation lines starting with a space."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    pieces, start = [], 0
    limit = 75
    while start < len(data):
        end = min(len(data), start + limit)
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # never split a UTF-8 character
            end -= 1
        pieces.append(data[start:end].decode("utf-8"))
        start, limit = end, 74
    return "\r\n ".join(pieces)


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar(shifts: Iterable[Shift], name: str, zone: ZoneInfo, now: dt.datetime) -> str:
    """A VCALENDAR with one VEVENT per shift: summary with the channel(s), description with the breaks and
    lunch in site time."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Triad//Schedules//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape(name)}",
    ]
    for shift in shifts:
        channels = sorted({a.channel or "any channel" for a in shift.activities if a.activity == "work"})
        rests = [
            f"{a.activity} {a.start.astimezone(zone):%H:%M}-{a.end.astimezone(zone):%H:%M}"
            for a in shift.activities
            if a.activity != "work"
        ]
        lines += [
            "BEGIN:VEVENT",
            f"UID:{shift.agent_id}-{_stamp(shift.start)}@triad",
            f"DTSTAMP:{_stamp(now)}",
            f"DTSTART:{_stamp(shift.start)}",
            f"DTEND:{_stamp(shift.end)}",
            f"SUMMARY:{_escape('Work: ' + ', '.join(channels))}",
            f"DESCRIPTION:{_escape('; '.join(rests) or 'no breaks')}",
            "TRANSP:OPAQUE",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
