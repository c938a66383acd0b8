"""What each import kind looks like: file columns (DESIGN.md, Files) and the table they land in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class KindSpec:
    """One import kind.

    ``required`` and ``optional`` are file columns; ``table`` and ``key`` name the database table and its
    unique key; ``values`` the other columns an import writes (a row whose key exists is replaced).
    """

    kind: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    table: str
    key: tuple[str, ...]
    values: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.key + self.values


KINDS: dict[str, KindSpec] = {
    spec.kind: spec
    for spec in (
        KindSpec(
            "history",
            ("interval_start", "channel", "offered"),
            ("handled", "abandoned", "aht_seconds", "answered_within_sl", "total_wait_seconds", "team"),
            "contact_interval",
            ("interval_start", "channel", "team_id"),
            ("offered", "handled", "abandoned", "aht_seconds", "answered_within_sl", "total_wait_seconds"),
        ),
        KindSpec(
            "agents",
            ("agent_id", "name", "team", "skills", "min_hours_week", "max_hours_week", "hourly_cost"),
            ("max_days_week", "hire_date", "leave_date", "leave_reason", "email"),
            "agent",
            ("agent_id",),
            (
                "name",
                "team",
                "min_hours_week",
                "max_hours_week",
                "max_days_week",
                "hourly_cost",
                "hire_date",
                "leave_date",
                "leave_reason",
                "email",
                "skills",
            ),
        ),
        KindSpec(
            "absences",
            ("agent_id", "start", "end", "kind"),
            ("approved",),
            "absence",
            ("agent_id", "start_at"),
            ("end_at", "kind", "approved"),
        ),
        KindSpec(
            "availability",
            ("agent_id", "weekday", "start", "end", "kind"),
            (),
            "availability",
            ("agent_id", "weekday", "start_minute"),
            ("end_minute", "kind"),
        ),
        KindSpec(
            "outcomes",
            ("period", "team"),
            ("channel", "csat_pct", "nps", "fcr_pct", "responses"),
            "outcome",
            ("period", "team_id", "channel_id"),
            ("csat_pct", "nps", "fcr_pct", "responses"),
        ),
        KindSpec(
            "finance",
            ("month",),
            ("revenue", "active_customers"),
            "finance_month",
            ("month",),
            ("revenue", "active_customers"),
        ),
        KindSpec("overhead", ("month", "category", "cost"), (), "overhead", ("month", "category"), ("cost",)),
        KindSpec(
            "worked_hours",
            ("agent_id", "date", "hours"),
            ("channel",),
            "worked_hours",
            ("agent_id", "day", "channel_id"),
            ("hours",),
        ),
    )
}


@dataclass(frozen=True)
class ImportContext:
    """What a file is checked against: the site's settings and the names it may refer to."""

    time_zone: str
    interval_minutes: int
    channels: Mapping[str, int]
    teams: Mapping[str, int]
    agent_ids: frozenset[str]


@dataclass(frozen=True)
class Problem:
    """One reason a file is refused. ``row`` is the line in the file (the header is line 1), or None."""

    row: int | None
    column: str
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}, " if self.row is not None else ""
        return f"{where}column {self.column}: {self.reason}" if self.column else f"{where}{self.reason}"


@dataclass(frozen=True)
class Parsed:
    """A validated file, ready to write, or the reasons it is not.

    ``frame`` has the table's key and value columns (UTC timestamps as ``YYYY-MM-DD HH:MM:SS+00:00``
    text, dates as ``YYYY-MM-DD``, missing optional values as None). ``skills`` (agents only) has
    ``agent_id, channel`` ids; ``new_teams`` are team names an agents file creates.
    """

    kind: str
    rows: int
    frame: pd.DataFrame
    errors: tuple[Problem, ...]
    warnings: tuple[str, ...]
    skills: pd.DataFrame | None = None
    new_teams: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.errors
