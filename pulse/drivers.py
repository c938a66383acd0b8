"""Key drivers (pure): which driver statements move with the eNPS answer, with 95% intervals.

For each driver, the Pearson correlation between people's 1-5 driver answers and their 0-10 eNPS answer,
with the Fisher z interval tanh(atanh(r) +/- 1.96 / sqrt(n - 3)) (Fisher 1921). Correlation, not
relative importance: drivers correlate with each other, so the ranking says which move with eNPS
here, not which would change it. Too few answers (under `MIN_RESPONSES`) give no key drivers at all:
with 20 answers the interval is already about +/- 0.4 wide.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pulse.enps import Z_95

MIN_RESPONSES = 20


@dataclass(frozen=True)
class KeyDriver:
    key: str
    n: int
    r: float
    ci_low: float
    ci_high: float

    @property
    def clear(self) -> bool:
        """True when the interval excludes zero."""
        return self.ci_low > 0 or self.ci_high < 0


def correlation(x: Sequence[float], y: Sequence[float]) -> KeyDriver | None:
    """Pearson r of paired answers with its Fisher z 95% interval; None when undefined (constant or n < 4)."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(a)
    if n < 4 or a.std() == 0 or b.std() == 0:
        return None
    r = float(np.corrcoef(a, b)[0, 1])
    r = max(-0.999999, min(0.999999, r))
    half = Z_95 / math.sqrt(n - 3)
    z = math.atanh(r)
    return KeyDriver("", n, r, math.tanh(z - half), math.tanh(z + half))


def key_drivers(enps: Sequence[int], scores: Mapping[str, Sequence[int | None]]) -> list[KeyDriver]:
    """Every driver's correlation with eNPS over the answers that have both, strongest first.

    Empty when there are fewer than `MIN_RESPONSES` answers.
    """
    if len(enps) < MIN_RESPONSES:
        return []
    out = []
    for key, values in scores.items():
        pairs = [(float(v), float(e)) for v, e in zip(values, enps, strict=True) if v is not None]
        if len(pairs) < MIN_RESPONSES:
            continue
        found = correlation([p[0] for p in pairs], [p[1] for p in pairs])
        if found is not None:
            out.append(KeyDriver(key, found.n, found.r, found.ci_low, found.ci_high))
    return sorted(out, key=lambda d: -d.r)
