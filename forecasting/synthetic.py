"""Seeded synthetic contact histories with known structure, for tests, benchmarks and demo data.

The expected volume of an interval is ``daily_volume * weekday_factor * trend * intraday_share``:

- intraday: two Gaussian peaks (mid-morning and early afternoon) over a flat base, inside opening hours;
- weekly: a factor per weekday (Monday busiest, a quiet Saturday, closed Sunday by default);
- trend: ``(1 + trend_per_week) ** weeks`` since the start.

Counts are negative binomial around the expected value times a day-level shock (gamma, mean 1,
coefficient of variation ``day_noise``), so days vary together as real days do. ``dispersion=0`` gives
Poisson counts. The column ``expected`` holds the expected value without the day shock: its error
against the counts is the noise floor no forecast can beat on average.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_WEEKDAY_FACTORS = (1.2, 1.05, 1.0, 0.97, 0.9, 0.45, 0.0)


@dataclass(frozen=True)
class SyntheticChannel:
    """Parameters of one synthetic channel (see the module docstring)."""

    name: str = "voice"
    daily_volume: float = 2000.0
    weekday_factors: tuple[float, ...] = DEFAULT_WEEKDAY_FACTORS
    open_minute: int = 8 * 60
    close_minute: int = 20 * 60
    peaks_minute: tuple[float, float] = (10.5 * 60, 14.0 * 60)
    trend_per_week: float = 0.0
    dispersion: float = 0.02
    day_noise: float = 0.04
    aht_seconds: float | None = 300.0


def synthetic_history(
    channels: Sequence[SyntheticChannel] = (SyntheticChannel(),),
    *,
    weeks: int = 26,
    interval_minutes: int = 15,
    start: str = "2024-01-01",
    seed: int = 0,
    time_zone: str | None = None,
) -> pd.DataFrame:
    """A history ``interval_start, channel, offered, aht_seconds, expected`` on local times.

    Every interval of every day is present (closed intervals are zero); ``aht_seconds`` is NaN where
    nothing was offered or the channel has no handle time. Times are naive, or with ``time_zone`` aware in
    that zone: then the spring-gap intervals are left out and the repeated autumn hour appears once.
    """
    rng = np.random.default_rng(seed)
    slots = 1440 // interval_minutes
    days = pd.date_range(start, periods=weeks * 7, freq="D")
    frames = []
    for channel in channels:
        minute = np.arange(slots) * interval_minutes + interval_minutes / 2
        opened = (minute >= channel.open_minute) & (minute < channel.close_minute)
        shape = 0.35 + np.exp(-0.5 * ((minute - channel.peaks_minute[0]) / 70) ** 2)
        shape += 0.8 * np.exp(-0.5 * ((minute - channel.peaks_minute[1]) / 90) ** 2)
        shape = np.where(opened, shape, 0.0)
        shape = shape / shape.sum()
        weekday = np.asarray(days.day_of_week)
        factor = np.asarray(channel.weekday_factors)[weekday]
        trend = (1 + channel.trend_per_week) ** (np.arange(len(days)) / 7)
        expected = channel.daily_volume * (factor * trend)[:, None] * shape[None, :]
        if channel.day_noise > 0:
            k = 1 / channel.day_noise**2
            shock = rng.gamma(k, 1 / k, size=len(days))
        else:
            shock = np.ones(len(days))
        mean = expected * shock[:, None]
        if channel.dispersion > 0:
            r = 1 / channel.dispersion
            lam = rng.gamma(r, np.where(mean > 0, mean / r, 0.0))
            counts = rng.poisson(lam)
        else:
            counts = rng.poisson(mean)
        if channel.aht_seconds is None:
            aht = np.full(counts.shape, np.nan)
        else:
            daily_curve = channel.aht_seconds * (1 + 0.15 * np.sin(2 * np.pi * (minute - 9 * 60) / 1440))
            aht = daily_curve[None, :] * rng.lognormal(0, 0.1, counts.shape)
            aht = np.where(counts > 0, aht, np.nan)
        starts = pd.date_range(start, periods=len(days) * slots, freq=f"{interval_minutes}min")
        if time_zone is not None:
            starts = starts.tz_localize(time_zone, ambiguous=np.ones(len(starts), dtype=bool), nonexistent="NaT")
        frames.append(
            pd.DataFrame(
                {
                    "interval_start": starts,
                    "channel": channel.name,
                    "offered": counts.ravel().astype(float),
                    "aht_seconds": aht.ravel(),
                    "expected": expected.ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True).dropna(subset=["interval_start"]).reset_index(drop=True)
