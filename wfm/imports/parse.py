"""Validate a whole import file and turn it into the rows its table holds.

Pure: bytes and an `ImportContext` in, a `Parsed` out. Every problem is collected (row, column,
reason), so a user fixes a file in one go; a file with any error is refused whole. Checks are
vectorised over columns, so 300,000 rows take seconds, not minutes.
"""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pandas as pd

from wfm.imports.spec import KINDS, ImportContext, Parsed, Problem
from wfm.imports.times import parse_stamps

MAX_PROBLEMS_KEPT = 10_000
UTC_TEXT = "%Y-%m-%d %H:%M:%S+00:00"  # how Piccolo stores Timestamptz on SQLite; PostgreSQL parses it too
LEAVE_REASONS = ("voluntary", "involuntary", "other")
ABSENCE_KINDS = ("vacation", "sick", "other")
AVAILABILITY_KINDS = ("unavailable", "preferred", "avoid")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


class _Checker:
    """Collects problems while columns are converted; rows are file lines (data starts on line 2)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.problems: list[Problem] = []
        self.count = 0

    def flag(self, mask: pd.Series | np.ndarray, column: str, reason: str | pd.Series) -> None:
        if isinstance(mask, pd.Series):
            mask = mask.astype(bool).reindex(self.frame.index, fill_value=False)
        else:
            mask = pd.Series(np.asarray(mask, dtype=bool), index=self.frame.index)
        hits = int(mask.sum())
        if not hits:
            return
        self.count += hits
        room = MAX_PROBLEMS_KEPT - len(self.problems)
        rows = self.frame.index[mask][: max(room, 0)]
        for row in rows:
            text = reason if isinstance(reason, str) else str(reason.loc[row])
            self.problems.append(Problem(int(row) + 2, column, text))

    def header(self, reason: str, column: str = "") -> None:
        self.count += 1
        self.problems.append(Problem(None, column, reason))

    def text(self, column: str, max_length: int, required: bool = True) -> pd.Series:
        values = self.column(column)
        if required:
            self.flag(values == "", column, "is empty")
        self.flag(values.str.len() > max_length, column, f"is longer than {max_length} characters")
        return values

    def column(self, column: str) -> pd.Series:
        if column in self.frame.columns:
            return self.frame[column]
        return pd.Series("", index=self.frame.index, dtype=object)

    def number(
        self,
        column: str,
        low: float | None = None,
        high: float | None = None,
        integer: bool = False,
        required: bool = True,
    ) -> pd.Series:
        """Numbers as floats (NaN where empty); integers must be whole. The range is inclusive."""
        values = self.column(column)
        empty = values == ""
        if required:
            self.flag(empty, column, "is empty")
        numbers = pd.to_numeric(values.where(~empty), errors="coerce")
        bad = numbers.isna() & ~empty
        self.flag(bad, column, "is not a number" if not integer else "is not a whole number")
        ok = numbers.notna()
        if integer:
            self.flag(ok & (numbers % 1 != 0), column, "is not a whole number")
        self.flag(ok & ~np.isfinite(numbers), column, "is not a finite number")
        if low is not None:
            self.flag(ok & (numbers < low), column, f"is below {_fmt(low)}" + (" (negative)" if low == 0 else ""))
        if high is not None:
            self.flag(ok & (numbers > high), column, f"is above {_fmt(high)}")
        return numbers.astype(float)

    def choice(self, column: str, allowed: tuple[str, ...], required: bool = True) -> pd.Series:
        values = self.column(column).str.lower()
        empty = values == ""
        if required:
            self.flag(empty, column, "is empty")
        self.flag(~empty & ~values.isin(allowed), column, f"must be one of {', '.join(allowed)}")
        return values

    def date(self, column: str, required: bool = True) -> pd.Series:
        values = self.column(column)
        empty = values == ""
        if required:
            self.flag(empty, column, "is empty")
        shaped = values.str.fullmatch(r"\d{4}-\d{2}-\d{2}")
        dates = pd.to_datetime(values.where(shaped), format="%Y-%m-%d", errors="coerce")
        self.flag(~empty & dates.isna(), column, "is not a date (YYYY-MM-DD)")
        return dates

    def pattern(self, column: str, regex: str, what: str) -> pd.Series:
        values = self.column(column)
        self.flag(values == "", column, "is empty")
        self.flag((values != "") & ~values.str.fullmatch(regex), column, f"is not {what}")
        return values

    def lookup(self, column: str, names: dict[str, int], what: str, required: bool = True) -> pd.Series:
        """Names to ids (0 where empty and optional); unknown names are errors that list the known ones."""
        values = self.column(column)
        empty = values == ""
        if required:
            self.flag(empty, column, "is empty")
        ids = values.map(names)
        known = ", ".join(sorted(names)[:12]) or "none yet"
        self.flag(~empty & ids.isna(), column, f"is not a known {what} (known: {known})")
        return ids.fillna(0).astype(int)

    def known_agents(self, column: str, agent_ids: frozenset[str]) -> pd.Series:
        values = self.text(column, 40)
        self.flag((values != "") & ~values.isin(agent_ids), column, "is not a known agent; import agents first")
        return values

    def duplicates(self, frame: pd.DataFrame, key: list[str], column: str) -> None:
        """Rows whose key another row already has; the message names the first one."""
        dup = frame.duplicated(key, keep="first")
        if dup.any():
            first_line = frame.reset_index().groupby(key, sort=False)["index"].transform("first") + 2
            first_line.index = frame.index
            self.flag(dup, column, "repeats the key of row " + first_line.astype(str))


def parse_file(kind: str, data: bytes, context: ImportContext) -> Parsed:
    """Validate ``data`` (CSV, UTF-8, comma- or semicolon-separated) as an import of ``kind``."""
    spec = KINDS[kind]
    frame, problem = _read_csv(data)
    if problem is not None:
        return Parsed(kind, 0, pd.DataFrame(columns=list(spec.columns)), (problem,), ())
    checker = _Checker(frame)
    known = set(spec.required) | set(spec.optional)
    warnings = tuple(
        f"unknown column {name!r} ignored (this kind reads: {', '.join(spec.required + spec.optional)})"
        for name in frame.columns
        if name not in known
    )
    missing = [name for name in spec.required if name not in frame.columns]
    for name in missing:
        checker.header(f"the required column {name!r} is missing", name)
    if len(frame) == 0:
        checker.header("the file has no data rows")
    if checker.count:
        return Parsed(kind, len(frame), pd.DataFrame(columns=list(spec.columns)), tuple(checker.problems), warnings)
    result = _PARSERS[kind](checker, context)
    rows, skills, new_teams = result if isinstance(result, tuple) else (result, None, ())
    if checker.count == 0:
        checker.duplicates(rows, list(spec.key), spec.required[0])
    errors = tuple(sorted(checker.problems, key=lambda p: (p.row or 0, p.column)))
    if checker.count > len(errors):
        errors += (Problem(None, "", f"... and {checker.count - len(errors)} more problems"),)
    return Parsed(kind, len(frame), rows, errors, warnings, skills, tuple(new_teams))


def _read_csv(data: bytes) -> tuple[pd.DataFrame, Problem | None]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return pd.DataFrame(), Problem(None, "", f"the file is not UTF-8 text (byte {exc.start})")
    first_line = text.split("\n", 1)[0]
    separator = ";" if first_line.count(";") > first_line.count(",") else ","
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=separator,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
            quoting=csv.QUOTE_MINIMAL,
        )
    except pd.errors.EmptyDataError:
        return pd.DataFrame(), Problem(None, "", "the file is empty")
    except pd.errors.ParserError as exc:
        line = re.search(r"line (\d+)", str(exc))
        row = int(line.group(1)) if line else None
        return pd.DataFrame(), Problem(row, "", f"the file is not valid CSV: {exc}")
    frame.columns = [str(name).strip().lower() for name in frame.columns]
    frame = frame.apply(lambda column: column.str.strip())
    frame.index = pd.RangeIndex(len(frame))
    return frame, None


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _optional(numbers: pd.Series, integer: bool = False) -> pd.Series:
    """NaN -> None, so the database gets NULL; integers as Python ints."""
    values = numbers.astype(object).where(numbers.notna(), None)
    if integer:
        values = values.map(lambda v: None if v is None else int(v))
    return values


def _utc_text(stamps: pd.Series) -> pd.Series:
    return stamps.dt.strftime(UTC_TEXT)


# --- kinds --------------------------------------------------------------------------------------


def _history(check: _Checker, context: ImportContext) -> pd.DataFrame:
    frame = check.frame
    channel = check.lookup("channel", dict(context.channels), "channel")
    team = check.lookup("team", dict(context.teams), "team", required=False)
    series = channel.astype(str) + "/" + team.astype(str)
    start, reason = parse_stamps(check.text("interval_start", 40), context.time_zone, groups=series)
    check.flag((reason != "") & (frame["interval_start"] != ""), "interval_start", reason)
    counts = {
        "offered": check.number("offered", 0, integer=True),
        "handled": check.number("handled", 0, integer=True, required=False),
        "abandoned": check.number("abandoned", 0, integer=True, required=False),
        "answered_within_sl": check.number("answered_within_sl", 0, integer=True, required=False),
        "total_wait_seconds": check.number("total_wait_seconds", 0, required=False),
    }
    aht = check.number("aht_seconds", 0, 86_400, required=False)
    rows = pd.DataFrame({"start": start, "channel": channel, "team_id": team, "aht_seconds": aht, **counts})
    key = ["start", "channel", "team_id"]
    placed = rows[rows["start"].notna() & (frame["channel"] != "")]
    check.duplicates(placed[key], key, "interval_start")
    if check.count:
        return rows
    _check_interval_length(check, rows, series, context)
    if check.count:
        return rows
    return _aggregate_history(rows, context)


def _check_interval_length(check: _Checker, rows: pd.DataFrame, series: pd.Series, context: ImportContext) -> None:
    """Each series must be regular at a length that divides the planning interval.

    The length is the smallest step between consecutive starts; gaps (closed hours, missing days)
    are fine when they are whole multiples of it, and every start must sit on that grid of the
    local day. Anything else is reported, never rounded.
    """
    planning = context.interval_minutes
    local_minute = _local_minute_of_day(rows["start"], context.time_zone)
    for _, group in rows.groupby(series, sort=False):
        ordered = group["start"].sort_values()
        steps = ordered.diff().dt.total_seconds().to_numpy()[1:] / 60
        shortest = float(steps.min()) if len(steps) else float(planning)
        if shortest < 1 or not shortest.is_integer():
            check.flag(
                rows.index == ordered.index[int(np.argmin(steps)) + 1],
                "interval_start",
                "intervals are not whole minutes",
            )
            continue
        length = int(shortest)
        if planning % length != 0:
            relation = "are coarser than" if length > planning else "do not divide"
            check.flag(
                rows.index == ordered.index[int(np.argmin(steps)) + 1],
                "interval_start",
                f"the data is in {length}-minute intervals, which {relation} the {planning}-minute planning interval "
                "(15-minute planning takes 1, 3, 5 or 15-minute data; 30-minute planning also 2, 6, 10 and 30)",
            )
            continue
        off_grid = (local_minute[ordered.index] % length != 0).to_numpy().copy()
        off_grid[1:] |= np.mod(steps, length) != 0
        check.flag(
            rows.index.isin(ordered.index[off_grid]),
            "interval_start",
            f"is not on the {length}-minute grid of the other rows of this channel (irregular intervals)",
        )


def _local_minute_of_day(stamps: pd.Series, time_zone: str) -> pd.Series:
    local = stamps.dt.tz_convert(time_zone)
    return local.dt.hour * 60 + local.dt.minute


def _aggregate_history(rows: pd.DataFrame, context: ImportContext) -> pd.DataFrame:
    """Sum finer intervals into planning intervals; handle time is averaged weighted by handled contacts.

    The bucket is the local-clock floor (so +05:45 zones still land on local quarter hours), taken on
    UTC plus the row's own offset.
    """
    planning = pd.Timedelta(minutes=context.interval_minutes)
    local_clock = rows["start"].dt.tz_convert(context.time_zone).dt.tz_localize(None)
    offset = local_clock - rows["start"].dt.tz_localize(None)
    bucket = (local_clock.dt.floor(planning) - offset).dt.tz_localize("UTC")
    weight = rows["handled"].where(rows["handled"].notna(), rows["offered"])
    work = rows.assign(
        bucket=bucket,
        aht_weighted=rows["aht_seconds"] * weight,
        aht_weight=weight.where(rows["aht_seconds"].notna()),
    )
    keys = ["bucket", "channel", "team_id"]
    sums = ["offered", "handled", "abandoned", "answered_within_sl", "total_wait_seconds", "aht_weighted", "aht_weight"]
    grouped = work.groupby(keys, sort=True)
    summed = grouped[sums].sum(min_count=1).join(grouped["aht_seconds"].mean().rename("aht_mean"))
    summed = summed.reset_index()
    aht = (summed["aht_weighted"] / summed["aht_weight"]).where(summed["aht_weight"] > 0, summed["aht_mean"])
    return pd.DataFrame(
        {
            "interval_start": _utc_text(summed["bucket"]),
            "channel": summed["channel"].astype(int),
            "team_id": summed["team_id"].astype(int),
            "offered": summed["offered"].astype(int),
            "handled": _optional(summed["handled"], integer=True),
            "abandoned": _optional(summed["abandoned"], integer=True),
            "aht_seconds": _optional(aht.round(3)),
            "answered_within_sl": _optional(summed["answered_within_sl"], integer=True),
            "total_wait_seconds": _optional(summed["total_wait_seconds"]),
        }
    )


def _agents(check: _Checker, context: ImportContext) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    agent_id = check.text("agent_id", 40)
    name = check.text("name", 120)
    team = check.text("team", 80)
    skills_text = check.column("skills")
    check.flag(skills_text == "", "skills", "is empty (give the channels the agent works, separated by ';')")
    channel_ids = dict(context.channels)
    skill_lists = skills_text.map(lambda s: [part.strip() for part in s.split(";") if part.strip()])
    unknown = skill_lists.map(lambda names: [n for n in names if n not in channel_ids])
    check.flag(
        unknown.map(bool),
        "skills",
        "has unknown channels: " + unknown.map(", ".join) + f" (known: {', '.join(sorted(channel_ids))})",
    )
    low = check.number("min_hours_week", 0, 80)
    high = check.number("max_hours_week", 0, 80)
    check.flag(low > high, "min_hours_week", "is above max_hours_week")
    cost = check.number("hourly_cost", 0, 100_000)
    days = check.number("max_days_week", 1, 7, integer=True, required=False)
    hired = check.date("hire_date", required=False)
    left = check.date("leave_date", required=False)
    check.flag(hired.notna() & left.notna() & (left < hired), "leave_date", "is before hire_date")
    reason = check.choice("leave_reason", LEAVE_REASONS, required=False)
    email = check.text("email", 200, required=False)
    check.flag((email != "") & ~email.str.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+"), "email", "is not an email address")
    with_email = email[email != ""]
    check.duplicates(with_email.str.lower().to_frame("email"), ["email"], "email")
    rows = pd.DataFrame(
        {
            "agent_id": agent_id,
            "name": name,
            "team": team,
            "min_hours_week": low,
            "max_hours_week": high,
            "max_days_week": days.fillna(5).astype(int),
            "hourly_cost": cost,
            "hire_date": _optional(hired.dt.strftime("%Y-%m-%d")),
            "leave_date": _optional(left.dt.strftime("%Y-%m-%d")),
            "leave_reason": reason,
            "email": email,
            "skills": skill_lists.map(";".join),
        }
    )
    skills = (
        pd.DataFrame({"agent_id": agent_id, "channel": skill_lists})
        .explode("channel")
        .dropna()
        .assign(channel=lambda f: f["channel"].map(channel_ids))
        .dropna()
        .drop_duplicates()
        .astype({"channel": int})
    )
    new_teams = sorted(set(team[team != ""]) - set(context.teams))
    return rows, skills, new_teams


def _absences(check: _Checker, context: ImportContext) -> pd.DataFrame:
    agent_id = check.known_agents("agent_id", context.agent_ids)
    start, start_reason = parse_stamps(check.text("start", 40), context.time_zone, agent_id, date_only_ok=True)
    end, end_reason = parse_stamps(check.text("end", 40), context.time_zone, agent_id, date_only_ok=True)
    check.flag((start_reason != "") & (check.column("start") != ""), "start", start_reason)
    check.flag((end_reason != "") & (check.column("end") != ""), "end", end_reason)
    check.flag(start.notna() & end.notna() & (end <= start), "end", "is not after start (end is exclusive)")
    kind = check.choice("kind", ABSENCE_KINDS)
    approved = _booleans(check, "approved", default=True)
    return pd.DataFrame(
        {
            "agent_id": agent_id,
            "start_at": _utc_text(start),
            "end_at": _utc_text(end),
            "kind": kind,
            "approved": approved,
        }
    )


def _booleans(check: _Checker, column: str, default: bool) -> pd.Series:
    values = check.column(column).str.lower()
    check.flag(~values.isin(_TRUE | _FALSE | {""}), column, "must be true or false")
    return values.map(lambda v: default if v == "" else v in _TRUE).astype(bool)


def _availability(check: _Checker, context: ImportContext) -> pd.DataFrame:
    agent_id = check.known_agents("agent_id", context.agent_ids)
    weekday = check.number("weekday", 1, 7, integer=True)
    start = _minutes(check, "start")
    end = _minutes(check, "end")
    check.flag(start.notna() & end.notna() & (end <= start), "end", "is not after start")
    kind = check.choice("kind", AVAILABILITY_KINDS)
    return pd.DataFrame(
        {
            "agent_id": agent_id,
            "weekday": weekday.fillna(0).astype(int),
            "start_minute": start.fillna(0).astype(int),
            "end_minute": end.fillna(0).astype(int),
            "kind": kind,
        }
    )


def _minutes(check: _Checker, column: str) -> pd.Series:
    """``HH:MM`` local time of day to minutes; ``24:00`` is the end of the day."""
    values = check.column(column)
    parts = values.str.extract(r"^(\d{1,2}):(\d{2})$").astype(float)
    minutes = parts[0] * 60 + parts[1]
    bad = parts[0].isna() | (parts[1] >= 60) | (minutes > 24 * 60)
    check.flag(bad, column, "is not a time of day (HH:MM, 00:00 to 24:00)")
    return minutes.where(~bad)


def _outcomes(check: _Checker, context: ImportContext) -> pd.DataFrame:
    period = check.pattern(
        "period", r"\d{4}(-(0[1-9]|1[0-2])|-W(0[1-9]|[1-4]\d|5[0-3]))?", "a period (YYYY, YYYY-MM or YYYY-Www)"
    )
    team = check.lookup("team", dict(context.teams), "team")
    channel = check.lookup("channel", dict(context.channels), "channel", required=False)
    return pd.DataFrame(
        {
            "period": period,
            "team_id": team,
            "channel_id": channel,
            "csat_pct": _optional(check.number("csat_pct", 0, 100, required=False)),
            "nps": _optional(check.number("nps", -100, 100, required=False)),
            "fcr_pct": _optional(check.number("fcr_pct", 0, 100, required=False)),
            "responses": _optional(check.number("responses", 0, integer=True, required=False), integer=True),
        }
    )


_MONTH = r"\d{4}-(0[1-9]|1[0-2])"


def _finance(check: _Checker, context: ImportContext) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": check.pattern("month", _MONTH, "a month (YYYY-MM)"),
            "revenue": _optional(check.number("revenue", 0, required=False)),
            "active_customers": _optional(
                check.number("active_customers", 0, integer=True, required=False), integer=True
            ),
        }
    )


def _overhead(check: _Checker, context: ImportContext) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": check.pattern("month", _MONTH, "a month (YYYY-MM)"),
            "category": check.text("category", 60),
            "cost": check.number("cost", 0),
        }
    )


def _worked_hours(check: _Checker, context: ImportContext) -> pd.DataFrame:
    day = check.date("date")
    return pd.DataFrame(
        {
            "agent_id": check.known_agents("agent_id", context.agent_ids),
            "day": day.dt.strftime("%Y-%m-%d"),
            "channel_id": check.lookup("channel", dict(context.channels), "channel", required=False),
            "hours": check.number("hours", 0, 24),
        }
    )


_PARSERS = {
    "history": _history,
    "agents": _agents,
    "absences": _absences,
    "availability": _availability,
    "outcomes": _outcomes,
    "finance": _finance,
    "overhead": _overhead,
    "worked_hours": _worked_hours,
}

assert set(_PARSERS) == set(KINDS), "every import kind needs a parser"
