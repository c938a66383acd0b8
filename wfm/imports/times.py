"""File timestamps to UTC, following DESIGN.md (Conventions, "Time in files").

A timestamp with an offset (``+02:00`` or ``Z``) is exact. One without is site-local: in the repeated
autumn hour it is resolved by file order (the first occurrence is the first pass, summer time) when the
file holds both passes, and reported otherwise; a time in the spring gap never existed and is reported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_STAMP = (
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?"
    r"(?P<offset>Z|[+-]\d{2}:?\d{2})?$"
)


def parse_stamps(
    values: pd.Series, time_zone: str, groups: pd.Series | None = None, date_only_ok: bool = False
) -> tuple[pd.Series, pd.Series]:
    """Parse ISO 8601 stamps to UTC.

    Parameters
    ----------
    values
        The column's text, one stamp per row.
    time_zone
        The site's IANA time zone, for stamps without an offset.
    groups
        Rows that form one series (e.g. channel and team); the autumn hour is resolved by file order
        within each group. None: the whole column is one series.
    date_only_ok
        Accept ``YYYY-MM-DD`` as local midnight.

    Returns
    -------
    (utc, reason)
        ``utc`` is a UTC datetime series (NaT where invalid); ``reason`` is '' or why the row is invalid.
    """
    parts = values.str.strip().str.extract(_STAMP)
    reason = pd.Series("", index=values.index, dtype=object)
    malformed = parts["date"].isna() | (parts["time"].isna() & (not date_only_ok))
    reason[malformed] = "not an ISO 8601 date and time (e.g. 2025-03-31T08:15 or 2025-03-31T08:15+02:00)"
    text = parts["date"] + " " + parts["time"].fillna("00:00")
    naive = pd.to_datetime(text.where(~malformed), format="mixed", errors="coerce")
    bad_value = naive.isna() & ~malformed
    reason[bad_value] = "not a real date or time"
    utc = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")

    offset_text = parts["offset"].fillna("")
    has_offset = (offset_text != "") & naive.notna()
    if has_offset.any():
        offset = offset_text[has_offset].replace("Z", "+00:00").str.replace(":", "", regex=False)
        sign = np.where(offset.str[0] == "-", -1, 1)
        minutes = sign * (offset.str[1:3].astype(int) * 60 + offset.str[3:5].astype(int))
        utc[has_offset] = (naive[has_offset] - pd.to_timedelta(minutes, unit="min")).dt.tz_localize("UTC")

    local = naive.notna() & ~has_offset
    if local.any():
        utc[local], local_reason = _localize(naive[local], time_zone, None if groups is None else groups[local])
        reason[local] = reason[local].where(local_reason == "", local_reason)
    return utc, reason


def _localize(naive: pd.Series, time_zone: str, groups: pd.Series | None) -> tuple[pd.Series, pd.Series]:
    reason = pd.Series("", index=naive.index, dtype=object)
    as_summer = naive.dt.tz_localize(time_zone, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="NaT")
    gap = as_summer.isna()
    reason[gap] = "does not exist in the site time zone (the clocks go forward then)"
    strict = naive.dt.tz_localize(time_zone, ambiguous="NaT", nonexistent="NaT")
    ambiguous = strict.isna() & ~gap
    summer = np.ones(len(naive), dtype=bool)
    if ambiguous.any():
        keys = [naive[ambiguous]] if groups is None else [groups[ambiguous], naive[ambiguous]]
        frame = pd.DataFrame({f"k{i}": k.to_numpy() for i, k in enumerate(keys)}, index=naive[ambiguous].index)
        by = list(frame.columns)
        occurrence = frame.groupby(by, sort=False).cumcount()
        count = frame.groupby(by, sort=False)[by[0]].transform("size")
        summer[np.flatnonzero(ambiguous.to_numpy())] = (occurrence == 0).to_numpy()
        alone = count[count != 2].index
        reason[alone] = (
            "is ambiguous in the site time zone (the clocks go back then): add its UTC offset, "
            "or give both passes of the hour in file order"
        )
    localized = naive.dt.tz_localize(time_zone, ambiguous=summer, nonexistent="NaT").dt.tz_convert("UTC")
    return localized.where(reason == ""), reason
