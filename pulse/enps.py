"""eNPS: the employee Net Promoter Score of 0-10 answers, with a 95% confidence interval (pure).

Promoters answer 9-10, passives 7-8, detractors 0-6; eNPS = 100 x (promoters - detractors) / n, from -100 to
100 (Reichheld 2003, "The One Number You Need to Grow", for the customer version). Each answer is a draw of
+1, 0 or -1, so the score is 100 x a mean whose variance is ``p_P + p_D - (p_P - p_D)^2`` per answer; the
interval is the normal (Wald) one around the observed score, with one pseudo-answer of each kind added to the
counts for the standard error only, so that a unanimous group does not get an interval of zero width.
An empty group has no score (the pages say "not enough responses"; they also hide groups under the
anonymity threshold, `pulse.anonymity`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Enps:
    n: int
    promoters: int
    passives: int
    detractors: int
    score: float
    ci_low: float
    ci_high: float


def category(answer: int) -> str:
    """``promoter`` (9-10), ``passive`` (7-8) or ``detractor`` (0-6); other values are refused."""
    if not 0 <= answer <= 10:
        raise ValueError(f"an eNPS answer is 0-10, got {answer}")
    return "promoter" if answer >= 9 else "passive" if answer >= 7 else "detractor"


def enps(answers: Iterable[int]) -> Enps | None:
    """eNPS of the answers with its 95% interval (clamped to -100..100); None when there are none."""
    counts = {"promoter": 0, "passive": 0, "detractor": 0}
    for answer in answers:
        counts[category(int(answer))] += 1
    n = sum(counts.values())
    if n == 0:
        return None
    promoters, passives, detractors = counts["promoter"], counts["passive"], counts["detractor"]
    score = 100.0 * (promoters - detractors) / n
    m = n + 3
    p_p, p_d = (promoters + 1) / m, (detractors + 1) / m
    half = 100.0 * Z_95 * math.sqrt((p_p + p_d - (p_p - p_d) ** 2) / m)
    return Enps(n, promoters, passives, detractors, score, max(-100.0, score - half), min(100.0, score + half))
