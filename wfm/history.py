"""Contact history aggregated for reading: per interval, local day or ISO week (pure pandas).

Counts are summed; handle time is averaged weighted by handled contacts (offered where handled is
missing), the way a contact centre reports it; service level is answered within target divided by
handled and abandonment is abandoned divided by offered, both only where the columns were imported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GRAINS = ("interval", "day", "week")
COLUMNS = ("period", "offered", "handled", "abandoned", "aht_seconds", "service_level_pct", "abandon_rate_pct")


def aggregate(intervals: pd.DataFrame, grain: str, time_zone: str) -> pd.DataFrame:
    """Aggregate history rows to ``grain``.

    Parameters
    ----------
    intervals
        One row per stored interval (any teams): ``interval_start`` (UTC), ``offered``, ``handled``,
        ``abandoned``, ``aht_seconds``, ``answered_within_sl`` (missing values as NaN).
    grain
        ``interval`` (site-local start time), ``day`` (local date) or ``week`` (ISO week, ``YYYY-Www``).
    time_zone
        The site's IANA time zone: days and weeks are local.

    Returns
    -------
    DataFrame with `COLUMNS`, sorted by period; ``period`` is text (``YYYY-MM-DD HH:MM``,
    ``YYYY-MM-DD`` or ``YYYY-Www``).
    """
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {', '.join(GRAINS)}, got {grain!r}")
    if intervals.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    utc = pd.to_datetime(intervals["interval_start"], utc=True)
    # Naive local clock times: formatting tz-aware values is ten times slower in pandas.
    local = utc.dt.tz_convert(time_zone).dt.tz_localize(None)
    key: pd.Series
    if grain == "interval":
        # Grouped by the instant, so the repeated autumn hour stays two rows; its labels carry the offset.
        key = utc
    elif grain == "day":
        key = local.dt.strftime("%Y-%m-%d")
    else:
        iso = local.dt.isocalendar()
        key = iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)
    weight = intervals["handled"].where(intervals["handled"].notna(), intervals["offered"])
    work = pd.DataFrame(
        {
            "period": key.to_numpy(),
            "offered": intervals["offered"].to_numpy(dtype=float),
            "handled": intervals["handled"].to_numpy(dtype=float),
            "abandoned": intervals["abandoned"].to_numpy(dtype=float),
            "answered": intervals["answered_within_sl"].to_numpy(dtype=float),
            "aht_work": (intervals["aht_seconds"] * weight).to_numpy(dtype=float),
            "aht_weight": weight.where(intervals["aht_seconds"].notna()).to_numpy(dtype=float),
        }
    )
    summed = work.groupby("period", sort=True).sum(min_count=1)
    if grain == "interval":
        summed.index = _interval_labels(pd.DatetimeIndex(summed.index), time_zone)
    handled = summed["handled"]
    result = pd.DataFrame(
        {
            "period": summed.index,
            "offered": summed["offered"].fillna(0).astype(int).to_numpy(),
            "handled": summed["handled"].to_numpy(),
            "abandoned": summed["abandoned"].to_numpy(),
            "aht_seconds": (summed["aht_work"] / summed["aht_weight"])
            .where(summed["aht_weight"] > 0)
            .round(1)
            .to_numpy(),
            "service_level_pct": (100 * summed["answered"] / handled).where(handled > 0).round(1).to_numpy(),
            "abandon_rate_pct": (100 * summed["abandoned"] / summed["offered"])
            .where(summed["offered"] > 0)
            .round(1)
            .to_numpy(),
        }
    )
    return result.reset_index(drop=True)


def _interval_labels(starts: pd.DatetimeIndex, time_zone: str) -> pd.Index:
    """Local ``YYYY-MM-DD HH:MM``; where a local time occurs twice (the autumn hour) its offset is added."""
    local = starts.tz_convert(time_zone)
    labels = pd.Index(local.tz_localize(None).strftime("%Y-%m-%d %H:%M"))
    repeated = labels.duplicated(keep=False)
    if repeated.any():
        suffix = np.full(len(labels), "", dtype=object)
        suffix[repeated] = pd.Index(local[repeated].strftime("%z")).str.replace(r"(\d\d)$", r":\1", regex=True)
        labels = labels + suffix
    return labels
