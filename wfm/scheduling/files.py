"""`wfm schedule`'s files (DESIGN.md, Files): reading requirements, agents, time off, availability, the
previous week and the rules file; writing the schedule, its coverage and its report.

Agents, time off and availability are checked by the same parser as their imports, so a file that imports
also schedules, with the same row-level errors. Times without an offset are site-local (``zone``); the
written files keep the input's form (naive in, naive out).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from wfm.imports.parse import parse_file
from wfm.imports.spec import ImportContext
from wfm.imports.times import parse_stamps
from wfm.scheduling.engine import Problem, Requirement, Result, Weights
from wfm.scheduling.model import ACTIVITIES, Activity, Agent, AvailabilityWindow, BreakRules, Rules, TimeOff

MAX_ERRORS_SHOWN = 10
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")


class ScheduleFileError(ValueError):
    """A schedule input file is wrong: the message names the file, row and column."""


def _fail(name: str, problems: Sequence[object]) -> ScheduleFileError:
    shown = "; ".join(str(p) for p in problems[:MAX_ERRORS_SHOWN])
    more = f" (and {len(problems) - MAX_ERRORS_SHOWN} more)" if len(problems) > MAX_ERRORS_SHOWN else ""
    return ScheduleFileError(f"{name}: {shown}{more}")


def _csv(data: bytes, name: str, required: Sequence[str]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise ScheduleFileError(f"{name}: not a readable CSV file ({error})") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ScheduleFileError(f"{name}: missing column(s): {', '.join(missing)}")
    if frame.empty:
        raise ScheduleFileError(f"{name}: the file has no data rows")
    return frame


def is_naive(values: pd.Series) -> bool:
    """Whether a file's timestamps carry no offset (then the outputs are written naive too)."""
    return not values.astype(str).str.strip().str.contains(_OFFSET).any()


def _stamps(frame: pd.DataFrame, column: str, name: str, zone: str, date_only_ok: bool = False) -> pd.Series:
    utc, reason = parse_stamps(frame[column].astype(str), zone, date_only_ok=date_only_ok)
    bad = reason != ""
    if bad.any():
        rows = [f"row {i + 2}, column {column}: {reason[i]}" for i in np.flatnonzero(bad.to_numpy())]
        raise _fail(name, rows)
    return utc


@dataclass(frozen=True)
class RequirementsFile:
    requirements: tuple[Requirement, ...]
    interval_minutes: int
    naive: bool
    frame: pd.DataFrame  # interval_start (UTC), channel, staff_required [, offered, aht_seconds]


def read_requirements(data: bytes, name: str, zone: str, monday: dt.date) -> RequirementsFile:
    """``interval_start, channel, staff_required`` (other columns of `wfm staff`'s file are kept for the
    projected service level); rows outside the week are left out."""
    frame = _csv(data, name, ("interval_start", "channel", "staff_required"))
    starts = _stamps(frame, "interval_start", name, zone)
    staff = pd.to_numeric(frame["staff_required"], errors="coerce")
    bad = staff.isna() | (staff < 0) | ~np.isfinite(staff.fillna(0))
    if bad.any():
        rows = [
            f"row {i + 2}, column staff_required: {frame['staff_required'].iloc[i]!r} is not a number >= 0"
            for i in np.flatnonzero(bad.to_numpy())
        ]
        raise _fail(name, rows)
    channel = frame["channel"].astype(str).str.strip()
    if (channel == "").any():
        raise _fail(
            name, [f"row {i + 2}, column channel: is empty" for i in np.flatnonzero((channel == "").to_numpy())]
        )
    keys = pd.DataFrame({"t": starts, "channel": channel})
    duplicated = keys.duplicated()
    if duplicated.any():
        raise _fail(
            name,
            [f"row {i + 2}: interval_start and channel repeat an earlier row" for i in np.flatnonzero(duplicated)],
        )
    steps = keys.sort_values(["channel", "t"]).groupby("channel")["t"].diff().dropna().dt.total_seconds() / 60
    interval = int(steps[steps > 0].min()) if (steps > 0).any() else 15
    if interval <= 0 or 24 * 60 % interval:
        raise ScheduleFileError(f"{name}: intervals of {interval} minutes do not divide a day")
    local = ZoneInfo(zone)
    week_start = dt.datetime.combine(monday, dt.time(), tzinfo=local).astimezone(dt.UTC)
    week_end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(), tzinfo=local).astimezone(dt.UTC)
    inside = (starts >= week_start) & (starts < week_end)
    if not inside.any():
        raise ScheduleFileError(f"{name}: no interval falls in the week starting {monday.isoformat()}")
    length = dt.timedelta(minutes=interval)
    out = tuple(
        Requirement(t.to_pydatetime(), t.to_pydatetime() + length, c, float(s))
        for t, c, s in zip(starts[inside], channel[inside], staff[inside], strict=True)
    )
    kept = pd.DataFrame({"interval_start": starts, "channel": channel, "staff_required": staff})
    for extra in ("offered", "aht_seconds"):
        if extra in frame.columns:
            kept[extra] = pd.to_numeric(frame[extra], errors="coerce")
    return RequirementsFile(out, interval, is_naive(frame["interval_start"]), kept[inside].reset_index(drop=True))


def read_agents(data: bytes, name: str) -> tuple[Agent, ...]:
    """The `agents` import format; skills may name any channel."""
    frame = _csv(data, name, ("skills",))
    channels = sorted({s.strip() for text in frame["skills"] for s in text.split(";") if s.strip()})
    context = ImportContext("UTC", 15, {c: n for n, c in enumerate(channels)}, {}, frozenset())
    parsed = parse_file("agents", data, context)
    if parsed.errors:
        raise _fail(name, parsed.errors)
    return tuple(
        Agent(
            str(r["agent_id"]),
            tuple(s for s in str(r["skills"]).split(";") if s),
            float(r["min_hours_week"]),
            float(r["max_hours_week"]),
            float(r["hourly_cost"]),
            int(r["max_days_week"]),
            str(r["team"] or ""),
        )
        for r in parsed.frame.to_dict("records")
    )


def read_time_off(data: bytes, name: str, zone: str, agent_ids: frozenset[str]) -> tuple[TimeOff, ...]:
    """The `absences` format with ``kind`` optional; rows with ``approved`` false are left out."""
    frame = _csv(data, name, ("agent_id", "start", "end"))
    if "kind" not in frame.columns:
        frame["kind"] = "vacation"
        data = frame.to_csv(index=False).encode()
    parsed = parse_file("absences", data, ImportContext(zone, 15, {}, {}, agent_ids))
    if parsed.errors:
        raise _fail(name, parsed.errors)
    return tuple(
        TimeOff(str(r.agent_id), _utc(r.start_at), _utc(r.end_at), str(r.kind))
        for r in parsed.frame.itertuples()
        if bool(r.approved)
    )


def read_availability(data: bytes, name: str, agent_ids: frozenset[str]) -> tuple[AvailabilityWindow, ...]:
    """The `availability` import format."""
    parsed = parse_file("availability", data, ImportContext("UTC", 15, {}, {}, agent_ids))
    if parsed.errors:
        raise _fail(name, parsed.errors)
    return tuple(
        AvailabilityWindow(
            str(r["agent_id"]), int(r["weekday"]), int(r["start_minute"]), int(r["end_minute"]), str(r["kind"])
        )
        for r in parsed.frame.to_dict("records")
    )


def read_schedule(data: bytes, name: str, zone: str) -> tuple[Activity, ...]:
    """A schedule file as `wfm schedule` writes it (e.g. the previous week's)."""
    frame = _csv(data, name, ("agent_id", "start", "end", "activity"))
    starts = _stamps(frame, "start", name, zone)
    ends = _stamps(frame, "end", name, zone)
    problems = []
    for i, row in frame.iterrows():
        n = int(str(i)) + 2
        if row["activity"] not in ACTIVITIES:
            problems.append(f"row {n}, column activity: {row['activity']!r} is not one of {', '.join(ACTIVITIES)}")
        if ends.iloc[n - 2] <= starts.iloc[n - 2]:
            problems.append(f"row {n}, column end: is not after start")
    if problems:
        raise _fail(name, problems)
    channel = frame["channel"] if "channel" in frame.columns else pd.Series("", index=frame.index)
    return tuple(
        Activity(str(a), s.to_pydatetime(), e.to_pydatetime(), str(k), str(c) or None)
        for a, s, e, k, c in zip(frame["agent_id"], starts, ends, frame["activity"], channel, strict=True)
    )


def _utc(text: object) -> dt.datetime:
    return dt.datetime.fromisoformat(str(text)).astimezone(dt.UTC)


def _hhmm(value: object, key: str, name: str) -> int:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", str(value))
    if not match or int(match.group(2)) >= 60:
        raise ScheduleFileError(f"{name}: {key} = {value!r} is not a time of day HH:MM")
    return int(match.group(1)) * 60 + int(match.group(2))


def read_rules(text: str, name: str) -> tuple[Rules, Weights]:
    """The rules file (TOML): `Rules` keys at the top (``earliest_start`` and ``latest_end`` as ``HH:MM``,
    ``latest_end`` up to ``36:00`` for shifts past midnight), ``[breaks]`` with `BreakRules` keys and
    ``[weights]`` with `Weights` keys. Unknown keys are errors, so a typo never passes silently."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScheduleFileError(f"{name}: not valid TOML ({error})") from None
    top = {f.name for f in fields(Rules)} - {"earliest_start_minute", "latest_end_minute", "breaks"}
    allowed = top | {"earliest_start", "latest_end", "breaks", "weights"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ScheduleFileError(f"{name}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")
    values: dict[str, Any] = {k: raw[k] for k in top if k in raw}
    if "earliest_start" in raw:
        values["earliest_start_minute"] = _hhmm(raw["earliest_start"], "earliest_start", name)
    if "latest_end" in raw:
        values["latest_end_minute"] = _hhmm(raw["latest_end"], "latest_end", name)
    breaks = _section(raw.get("breaks", {}), BreakRules, "breaks", name)
    if "lunch_minutes" in breaks:
        breaks["lunch_minutes"] = tuple(breaks["lunch_minutes"])
    weights = _section(raw.get("weights", {}), Weights, "weights", name)
    try:
        rules = Rules(**values, breaks=BreakRules(**breaks))
        weight = Weights(**{k: float(v) for k, v in weights.items()})
    except (TypeError, ValueError) as error:
        raise ScheduleFileError(f"{name}: {error}") from None
    problems = rule_problems(rules)
    if problems:
        raise ScheduleFileError(f"{name}: " + "; ".join(problems))
    return rules, weight


def _section(raw: object, kind: type, section: str, name: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ScheduleFileError(f"{name}: [{section}] must be a table")
    allowed = {f.name for f in fields(kind)}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ScheduleFileError(f"{name}: [{section}] unknown key(s) {', '.join(unknown)}")
    return dict(raw)


def rule_problems(rules: Rules) -> list[str]:
    """What is impossible in a set of rules, key by key."""
    out = []
    if not 0 < rules.min_shift_hours <= rules.max_shift_hours <= 24:
        out.append("min_shift_hours and max_shift_hours must satisfy 0 < min <= max <= 24")
    if rules.step_minutes <= 0 or 60 % rules.step_minutes:
        out.append("step_minutes must divide an hour (5, 10, 15, 20, 30 or 60)")
    if not 0 <= rules.earliest_start_minute < 24 * 60:
        out.append("earliest_start must be in 00:00-23:59")
    if not rules.earliest_start_minute < rules.latest_end_minute <= 36 * 60:
        out.append("latest_end must be after earliest_start and at most 36:00")
    if rules.min_rest_between_shifts_hours < 0 or not 0 <= rules.min_weekly_rest_hours <= 7 * 24:
        out.append("rest hours must be >= 0 (weekly at most 168)")
    b = rules.breaks
    if b.break_minutes <= 0 or b.max_continuous_work_hours <= 0 or b.lunch_minutes[0] > b.lunch_minutes[1]:
        out.append("breaks: break_minutes and max_continuous_work_hours must be > 0, lunch_minutes [min, max]")
    return out


@dataclass(frozen=True)
class Outputs:
    schedule: pd.DataFrame
    coverage: pd.DataFrame
    report: dict[str, Any]


def _text(moment: dt.datetime, zone: ZoneInfo, naive: bool) -> str:
    local = moment.astimezone(zone)
    return local.strftime("%Y-%m-%dT%H:%M:%S") if naive else local.isoformat()


def outputs(
    problem: Problem,
    result: Result,
    source: RequirementsFile,
    projected_service_level: Mapping[tuple[str, dt.datetime], float] | None = None,
) -> Outputs:
    """The three files of DESIGN.md: schedule rows, coverage per interval and channel, and the report."""
    zone, naive = problem.zone, source.naive
    schedule = pd.DataFrame(
        [
            {
                "agent_id": a.agent_id,
                "start": _text(a.start, zone, naive),
                "end": _text(a.end, zone, naive),
                "activity": a.activity,
                "channel": a.channel or "",
            }
            for a in result.activities
        ],
        columns=["agent_id", "start", "end", "activity", "channel"],
    )
    grid = result.grid
    per = source.interval_minutes // grid.step_minutes
    intervals = grid.slots // per
    rows = []
    channels = list(dict.fromkeys(r.channel for r in problem.requirements))
    for name in channels:
        c = result.channels.index(name)
        for n in range(intervals):
            start = grid.slot_start(n * per)
            row = {
                "interval_start": _text(start, zone, naive),
                "channel": name,
                "required": float(result.required[c, n * per : (n + 1) * per].max()),
                "scheduled": round(float(result.scheduled[c, n * per : (n + 1) * per].mean()), 4),
            }
            if projected_service_level is not None:
                level = projected_service_level.get((name, start))
                row["service_level"] = None if level is None or math.isnan(level) else round(level, 4)
            rows.append(row)
    coverage = pd.DataFrame(rows)
    return Outputs(schedule, coverage, report(problem, result, naive))


def report(problem: Problem, result: Result, naive: bool = False) -> dict[str, Any]:
    """The report of a result (JSON-ready): solver and bound, coverage totals, cost, fairness, violations,
    conflicts, shortfalls and soft-rule costs; times local, naive or with their offset."""
    zone = problem.zone
    return {
        "week": problem.monday.isoformat(),
        "time_zone": str(zone),
        "solver": {
            "method": "greedy construction + local search over weekly tours (wfm.scheduling.engine)",
            "status": result.status,
            "seconds": result.seconds,
            "moves": result.moves,
            "bound": {
                "under_hours": result.bound_under_hours,
                "method": "LP relaxation by skill group (wfm.scheduling.bound, HiGHS)",
            },
        },
        "required_hours": result.required_hours,
        "under_hours": result.under_hours,
        "over_hours": result.over_hours,
        "cost": {"paid_hours": result.paid_hours, "labour_cost": result.labour_cost},
        "fairness": {
            "index": "gini of unpopular shifts (weekend starts or ends after 18:00), history included",
            "gini": result.fairness_gini,
            "unpopular_shifts": dict(result.unpopular),
        },
        "violations": [
            {"rule": v.rule, "agent_id": v.agent_id, "minutes": round(v.minutes, 2), "detail": v.detail}
            | ({"at": _text(v.at, zone, naive)} if v.at else {})
            for v in result.violations
        ],
        "conflicts": [asdict(c) | {"conflicts_with": list(c.conflicts_with)} for c in result.conflicts],
        "shortfalls": [
            {
                "channel": s.channel,
                "start": _text(s.start, zone, naive),
                "end": _text(s.end, zone, naive),
                "agent_hours": s.agent_hours,
                "peak_missing": s.peak_missing,
            }
            for s in result.shortfalls
        ],
        "soft_rule_costs": [{"rule": s.rule, "under_hours": s.under_hours} for s in result.soft_costs],
    }


def projected_service_level(
    source: RequirementsFile, result: Result, params: Mapping[str, Any]
) -> dict[tuple[str, dt.datetime], float]:
    """Per (channel, interval start), the service level the scheduled working agents give (DESIGN.md:
    scheduled staff x (1 - shrinkage) productive agents), from the requirements file's ``offered`` and
    ``aht_seconds``; empty when the file does not carry them."""
    from wfm import staffing

    frame = source.frame
    if not {"offered", "aht_seconds"} <= set(frame.columns) or frame[["offered", "aht_seconds"]].isna().any().any():
        return {}
    grid = result.grid
    per = source.interval_minutes // grid.step_minutes
    agents = []
    for start, channel in zip(frame["interval_start"], frame["channel"], strict=True):
        c = result.channels.index(channel)
        first = round(grid.slot_of(start.to_pydatetime()))
        shrinkage = params.get(channel, staffing.defaults_for(channel)).shrinkage
        agents.append(math.floor(float(result.scheduled[c, first : first + per].mean()) * (1 - shrinkage) + 1e-9))
    forecast = pd.DataFrame(
        {
            "interval_start": [t.timestamp() for t in frame["interval_start"]],
            "channel": frame["channel"],
            "offered": frame["offered"],
            "aht_seconds": frame["aht_seconds"],
        }
    )
    out = staffing.requirements(
        forecast, dict(params), interval_minutes=source.interval_minutes, agents=pd.Series(agents, dtype=float)
    )
    return {
        (channel, start.to_pydatetime()): float(level)
        for channel, start, level in zip(frame["channel"], frame["interval_start"], out["service_level"], strict=True)
    }
