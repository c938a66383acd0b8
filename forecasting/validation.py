"""Checks and normalises a contact history before any model sees it.

The history is a DataFrame ``interval_start, channel, offered[, aht_seconds]`` at one regular interval
(DESIGN.md, "Time in files" and "Interval length"). `validate_history` sorts it, resolves time zones and the
repeated autumn hour, infers the interval and raises a `ValueError` that names the problem, the row and the
time for anything it cannot repair: missing columns, unparseable or duplicated timestamps, irregular
intervals, negative or non-numeric counts.

Row numbers in messages are the labels of the input frame's index (0-based positions for a default
``RangeIndex``), so a caller that reads a file can map them to line numbers.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd

REQUIRED_COLUMNS = ("interval_start", "channel", "offered")
MINUTES_PER_DAY = 1440
# Rows off the most common step that are still read as isolated mistakes (irregular) rather than as a finer
# interval with gaps: at most this share of the rows (and at least one row).
_IRREGULAR_SHARE = 0.01
_IRREGULAR_MIN_STEPS = 10


@dataclass(frozen=True)
class CleanHistory:
    """A validated history in local wall-clock time.

    Attributes
    ----------
    frame
        Columns ``channel`` (str), ``local`` (tz-naive local wall-clock start, ``datetime64[ns]``), ``fold``
        (0, or 1 for the second pass of a repeated autumn hour), ``offered`` (float, >= 0) and
        ``aht_seconds`` (float, NaN when absent), sorted by channel and time.
    interval_minutes
        The input's own interval.
    time_zone
        IANA zone the local times are in, or None when the input was naive and no zone was given (then
        there is no daylight-saving information and every local day has the same number of intervals).
    input_time_zone
        The zone output is written in for a tz-aware input: the input's own zone, or ``time_zone`` when the
        input was ISO strings with offsets and a zone was given; None for naive input.
    warnings
        Things repaired on the way in, in plain words.
    """

    frame: pd.DataFrame
    interval_minutes: int
    time_zone: str | None
    input_time_zone: str | None
    warnings: tuple[str, ...]

    @property
    def aware(self) -> bool:
        """Whether the input carried UTC offsets (then the output does too)."""
        return self.input_time_zone is not None


def check_time_zone(time_zone: str | None) -> str | None:
    """Return ``time_zone`` if it names an IANA zone (or is None), else raise a `ValueError`."""
    if time_zone is None:
        return None
    try:
        zoneinfo.ZoneInfo(str(time_zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"time_zone {time_zone!r} is not an IANA time zone such as 'Europe/Stockholm'") from error
    return str(time_zone)


def validate_history(history: pd.DataFrame, *, time_zone: str | None = None) -> CleanHistory:
    """Validate a contact history and express it in local wall-clock time.

    Parameters
    ----------
    history
        ``interval_start, channel, offered[, aht_seconds]``; other columns are ignored. ``interval_start``
        is tz-naive (local wall-clock time, as in a CLI file) or tz-aware (exact instants), as datetimes or
        ISO 8601 strings.
    time_zone
        IANA zone of the site. Aware input is converted to it; naive input is read as local time in it
        (the spring gap is an error unless the row is zero; in the repeated autumn hour the first row of a
        time is the first pass, the second the second pass, as DESIGN.md prescribes). None: aware input is
        modelled in its own zone and naive input has no daylight-saving information.

    Returns
    -------
    CleanHistory

    Raises
    ------
    ValueError
        On a missing column, an unparseable, duplicated or nonexistent timestamp, an irregular interval,
        or a missing, non-numeric or negative ``offered`` / negative ``aht_seconds``.
    """
    if not isinstance(history, pd.DataFrame):
        raise ValueError(f"history must be a pandas DataFrame, got {type(history).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"history is missing column(s) {', '.join(repr(c) for c in missing)}")
    zone = check_time_zone(time_zone)
    if history.empty:
        raise ValueError("history has no rows")
    warnings: list[str] = []
    labels = history.index

    channel = history["channel"]
    bad = channel.isna().to_numpy()
    if bad.any():
        raise ValueError(f"channel is empty in row {_row(labels, bad)}")
    channels = channel.astype(str).to_numpy()

    starts = _parse_starts(history["interval_start"], labels)
    offered = _numbers(history["offered"], "offered", labels, allow_missing=False)
    if "aht_seconds" in history.columns:
        aht = _numbers(history["aht_seconds"], "aht_seconds", labels, allow_missing=True)
    else:
        aht = np.full(len(history), np.nan)

    input_zone: str | None = None
    if starts.dt.tz is not None:
        # Timestamps that carried their own zone keep it; ISO strings with offsets are written back in the
        # site's zone when one is given (their offsets are that zone's), else as parsed (UTC if mixed).
        from_text = not pd.api.types.is_datetime64_any_dtype(history["interval_start"].dtype)
        input_zone = zone if (from_text and zone) else str(starts.dt.tz)
        zone = zone or input_zone
        local_aware = starts.dt.tz_convert(zone)
        local = local_aware.dt.tz_localize(None)
        first_pass = local.dt.tz_localize(zone, ambiguous=np.ones(len(local), dtype=bool), nonexistent="NaT")
        fold = (first_pass != local_aware).to_numpy().astype(np.int8)
        instants = local_aware.dt.tz_convert("UTC").dt.tz_localize(None)
    else:
        local = starts
        fold = _file_order_fold(channels, local) if zone else np.zeros(len(local), dtype=np.int8)
        if zone:
            instants, keep = _localise_naive(local, fold, zone, offered, channels, labels)
            if not keep.all():
                warnings.append(
                    f"{int((~keep).sum())} zero row(s) at times that do not exist in {zone} (spring gap) dropped"
                )
                local, fold, instants = local[keep], fold[keep], instants[keep]
                channels, offered, aht, labels = channels[keep], offered[keep], aht[keep], labels[keep]
        else:
            instants = local

    frame = pd.DataFrame(
        {
            "channel": channels,
            "local": local.to_numpy().astype("datetime64[ns]"),
            "fold": fold,
            "offered": offered,
            "aht_seconds": aht,
            "_instant": instants.to_numpy().astype("datetime64[ns]"),
            "_row": np.asarray(labels, dtype=object),
        }
    )
    if not (frame["channel"].is_monotonic_increasing and _sorted_within(frame)):
        frame = frame.sort_values(["channel", "_instant"], kind="stable", ignore_index=True)
    _check_duplicates(frame, zone)
    interval = _infer_interval(frame)
    _check_clock_alignment(frame, interval)
    frame = frame.drop(columns=["_instant", "_row"])
    return CleanHistory(frame, interval, zone, input_zone, tuple(warnings))


def aggregate(clean: CleanHistory, interval_minutes: int | None) -> tuple[pd.DataFrame, int]:
    """Sum ``offered`` to ``interval_minutes`` (a multiple of the input interval that divides a day).

    ``aht_seconds`` is averaged weighted by ``offered`` (rows without handle time carry no weight). The
    two passes of a repeated autumn hour stay apart (``fold``). Returns the frame and the interval.
    """
    target = clean.interval_minutes if interval_minutes is None else int(interval_minutes)
    if target <= 0 or target % clean.interval_minutes or MINUTES_PER_DAY % target:
        raise ValueError(
            f"interval_minutes={interval_minutes} must be a multiple of the history's {clean.interval_minutes}-minute "
            f"interval that divides a day (1440 minutes)"
        )
    frame = clean.frame
    if target == clean.interval_minutes:
        return frame, target
    work = frame.assign(
        local=frame["local"].dt.floor(f"{target}min"),
        _weighted=frame["offered"] * frame["aht_seconds"],
        _weight=frame["offered"].where(frame["aht_seconds"].notna(), 0.0),
    )
    grouped = work.groupby(["channel", "local", "fold"], sort=True)
    out = grouped[["offered", "_weighted", "_weight"]].sum().reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["aht_seconds"] = np.where(out["_weight"] > 0, out["_weighted"] / out["_weight"], np.nan)
    return out.drop(columns=["_weighted", "_weight"]), target


# ---------------------------------------------------------------- helpers


def _row(labels: pd.Index, mask: np.ndarray) -> Hashable:
    return labels[int(np.flatnonzero(mask)[0])]


def _parse_starts(column: pd.Series, labels: pd.Index) -> pd.Series:
    if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(column.dtype):
        parsed = column
    else:
        if column.isna().any():
            raise ValueError(f"interval_start is empty in row {_row(labels, column.isna().to_numpy())}")
        text = column.astype(str)
        try:
            parsed = pd.to_datetime(text, format="ISO8601")
        except (ValueError, TypeError):
            # Mixed offsets (e.g. +01:00 and +02:00 across a DST change) parse as exact instants.
            try:
                parsed = pd.to_datetime(text, format="ISO8601", utc=True)
            except (ValueError, TypeError):
                coerced = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
                bad = coerced.isna().to_numpy()
                row = _row(labels, bad) if bad.any() else labels[0]
                value = text.iloc[int(np.flatnonzero(bad)[0])] if bad.any() else text.iloc[0]
                raise ValueError(f"interval_start {value!r} in row {row} is not an ISO 8601 timestamp") from None
    parsed = pd.Series(parsed.to_numpy(), index=column.index) if parsed.dtype == object else parsed
    if not (isinstance(parsed.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(parsed.dtype)):
        raise ValueError("interval_start mixes timestamps with and without UTC offsets")
    if parsed.isna().any():
        raise ValueError(f"interval_start is empty in row {_row(labels, parsed.isna().to_numpy())}")
    return parsed.dt.as_unit("ns").reset_index(drop=True)


def _numbers(column: pd.Series, name: str, labels: pd.Index, *, allow_missing: bool) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    not_number = np.isnan(values) & column.notna().to_numpy()
    if not_number.any():
        pos = int(np.flatnonzero(not_number)[0])
        raise ValueError(f"{name} {column.iloc[pos]!r} in row {labels[pos]} is not a number")
    if not allow_missing and np.isnan(values).any():
        raise ValueError(f"{name} is empty in row {_row(labels, np.isnan(values))}")
    if np.isinf(values).any():
        raise ValueError(f"{name} is infinite in row {_row(labels, np.isinf(values))}")
    negative = values < 0
    if negative.any():
        pos = int(np.flatnonzero(negative)[0])
        raise ValueError(f"{name} is negative ({values[pos]:g}) in row {labels[pos]}")
    return values


def _file_order_fold(channels: np.ndarray, local: pd.Series) -> np.ndarray:
    """0 for the first row of a (channel, local time), 1 for the second: the repeated autumn hour in file order."""
    keys = pd.DataFrame({"c": channels, "t": local.to_numpy()})
    return keys.groupby(["c", "t"], sort=False).cumcount().to_numpy().clip(0, 1).astype(np.int8)


def _localise_naive(
    local: pd.Series, fold: np.ndarray, zone: str, offered: np.ndarray, channels: np.ndarray, labels: pd.Index
) -> tuple[pd.Series, np.ndarray]:
    """UTC instants (naive) of naive local times; rows in the spring gap are dropped if zero, else an error."""
    aware = local.dt.tz_localize(zone, ambiguous=fold == 0, nonexistent="NaT")
    gap = aware.isna().to_numpy()
    if (gap & (offered > 0)).any():
        pos = int(np.flatnonzero(gap & (offered > 0))[0])
        raise ValueError(
            f"interval_start {local.iloc[pos]} (channel {channels[pos]!r}, row {labels[pos]}) does not exist in "
            f"{zone}: it falls in the spring daylight-saving gap"
        )
    # A second row at a time outside the repeated hour maps to the same instant as the first, so the
    # duplicate check names it.
    instants = aware.dt.tz_convert("UTC").dt.tz_localize(None)
    return instants, ~gap


def _sorted_within(frame: pd.DataFrame) -> bool:
    instants = frame["_instant"].to_numpy()
    same = frame["channel"].to_numpy()[1:] == frame["channel"].to_numpy()[:-1]
    return bool(np.all(instants[1:][same] >= instants[:-1][same]))


def _check_duplicates(frame: pd.DataFrame, zone: str | None) -> None:
    dup = frame.duplicated(["channel", "_instant"], keep=False).to_numpy()
    if not dup.any():
        return
    first = int(np.flatnonzero(dup)[0])
    same = (frame["channel"] == frame["channel"].iat[first]) & (frame["_instant"] == frame["_instant"].iat[first])
    rows = ", ".join(str(r) for r in frame.loc[same, "_row"])
    hint = " (in the repeated autumn hour a naive time may occur twice, not more)" if zone else ""
    raise ValueError(
        f"duplicated interval_start {frame['local'].iat[first]} for channel {frame['channel'].iat[first]!r} "
        f"in rows {rows}{hint}"
    )


def _infer_interval(frame: pd.DataFrame) -> int:
    """The interval in minutes: the greatest common step, unless a few rows sit off the usual step."""
    ns = frame["_instant"].to_numpy().astype("datetime64[ns]").astype(np.int64)
    off_minute = ns % 60_000_000_000 != 0
    if off_minute.any():
        pos = int(np.flatnonzero(off_minute)[0])
        raise ValueError(
            f"irregular intervals: interval_start {frame['local'].iat[pos]} (channel {frame['channel'].iat[pos]!r}, "
            f"row {frame['_row'].iat[pos]}) is not on a whole minute"
        )
    minutes = ns // 60_000_000_000
    same = frame["channel"].to_numpy()[1:] == frame["channel"].to_numpy()[:-1]
    steps = np.diff(minutes)[same]
    if steps.size == 0:
        raise ValueError("cannot infer the interval: every channel has a single row")
    step_gcd = int(np.gcd.reduce(steps.astype(np.int64)))
    values, counts = np.unique(steps, return_counts=True)
    usual = int(values[np.argmax(counts)])
    # Only a clear usual step (at least half of 10 or more steps) makes a few off-grid rows a mistake.
    if usual != step_gcd and steps.size >= _IRREGULAR_MIN_STEPS and counts.max() >= steps.size / 2:
        phase = minutes % usual
        phases, phase_counts = np.unique(phase, return_counts=True)
        off = phase != phases[np.argmax(phase_counts)]
        if off.sum() <= max(1, _IRREGULAR_SHARE * len(minutes)):
            pos = int(np.flatnonzero(off)[0])
            raise ValueError(
                f"irregular intervals: interval_start {frame['local'].iat[pos]} (channel "
                f"{frame['channel'].iat[pos]!r}, row {frame['_row'].iat[pos]}) is off the {usual}-minute grid of "
                f"the other rows"
            )
    if MINUTES_PER_DAY % step_gcd:
        raise ValueError(f"irregular intervals: a {step_gcd}-minute interval does not divide a day (1440 minutes)")
    return step_gcd


def _check_clock_alignment(frame: pd.DataFrame, interval: int) -> None:
    local = frame["local"]
    minute_of_day = local.dt.hour * 60 + local.dt.minute
    off = (minute_of_day % interval != 0).to_numpy()
    if off.any():
        pos = int(np.flatnonzero(off)[0])
        raise ValueError(
            f"interval_start {local.iat[pos]} (channel {frame['channel'].iat[pos]!r}, row {frame['_row'].iat[pos]}) "
            f"is not aligned to {interval}-minute clock intervals in local time"
        )
