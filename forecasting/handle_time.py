"""Average handle time (AHT) per interval of the week, with shrinkage where volume is sparse.

For each slot of the week the estimate is the volume-weighted mean AHT of the last ``weeks`` weeks
(``sum(offered * aht) / sum(offered)``), shrunk towards the same time of day on all weekdays, which is
itself shrunk towards the channel's mean, each with the weight of ``prior_contacts`` contacts. This is the
posterior mean of a normal model with a known prior variance per level, i.e. the credibility weighting of
Bühlmann ("Experience rating and credibility", *ASTIN Bulletin* 4(3), 1967): a slot with as many contacts as
``prior_contacts`` gets half its own mean and half the level above. The mean AHT of ``n`` calls has a relative
standard error of about ``1 / sqrt(n)`` (handle times have a coefficient of variation near 1), so 30 contacts
give about 18%.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.timegrid import DAYS_PER_WEEK, MINUTES_PER_DAY

AHT_WEEKS = 8
PRIOR_CONTACTS = 30.0


def aht_by_slot(
    local: pd.Series,
    offered: np.ndarray,
    aht_seconds: np.ndarray,
    interval_minutes: int,
    *,
    weeks: int = AHT_WEEKS,
    prior_contacts: float = PRIOR_CONTACTS,
) -> np.ndarray | None:
    """AHT in seconds per (weekday, slot), shape (7, slots), Monday first; None without any handle time.

    Parameters
    ----------
    local
        Naive local interval starts of one channel's history.
    offered, aht_seconds
        Volumes and handle times of the same rows (NaN handle time = unknown, carries no weight).
    """
    weight = np.where(np.isfinite(aht_seconds), np.asarray(offered, dtype=float), 0.0)
    if not (weight > 0).any():
        return None
    times = pd.DatetimeIndex(local)
    recent = times >= times.max().normalize() - pd.Timedelta(weeks=weeks) + pd.Timedelta(days=1)
    if not (weight[recent] > 0).any():
        recent = np.ones(len(times), dtype=bool)
    weight = np.where(recent, weight, 0.0)
    weighted = np.where(weight > 0, np.nan_to_num(aht_seconds) * weight, 0.0)
    slots = MINUTES_PER_DAY // interval_minutes
    weekday = np.asarray(times.day_of_week)
    slot = np.asarray((times.hour * 60 + times.minute) // interval_minutes)
    cell = weekday * slots + slot
    volume = np.bincount(cell, weights=weight, minlength=DAYS_PER_WEEK * slots).reshape(DAYS_PER_WEEK, slots)
    seconds = np.bincount(cell, weights=weighted, minlength=DAYS_PER_WEEK * slots).reshape(DAYS_PER_WEEK, slots)
    channel_mean = seconds.sum() / volume.sum()
    tod_volume, tod_seconds = volume.sum(axis=0), seconds.sum(axis=0)
    time_of_day = (tod_seconds + prior_contacts * channel_mean) / (tod_volume + prior_contacts)
    return (seconds + prior_contacts * time_of_day[None, :]) / (volume + prior_contacts)
