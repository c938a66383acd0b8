"""Server-side charts: what the page receives for a scatter, small and large."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from wfm.charts import SCATTER_MAX_POINTS, scatter_fit_spec, to_svg


def _scatter(n: int) -> str:
    rng = np.random.default_rng(1)
    points = pd.DataFrame({"team": "T", "x": rng.normal(size=n), "y": rng.normal(size=n)})
    line = pd.DataFrame({"x": [-2.0, 2.0], "fit": [-0.5, 0.5], "low": [-1.0, 0.2], "high": [0.0, 0.8]})
    return to_svg(scatter_fit_spec(points, line, "x", "y", "title"))


def test_a_small_scatter_draws_every_point_and_a_large_one_shaded_bins() -> None:
    small = _scatter(SCATTER_MAX_POINTS)
    dots = re.findall(r'<path transform="translate\([^)]*\)" d="M[\d.]+,0A', small)
    assert len(dots) == SCATTER_MAX_POINTS
    large = _scatter(SCATTER_MAX_POINTS * 5)
    assert re.findall(r'd="M[\d.]+,0A', large) == []  # no dots: bins
    assert "team-months" in large  # the bins' legend
    assert len(large) < 2 * len(small)


def test_positions_carry_a_tenth_of_a_pixel() -> None:
    positions = re.findall(r'transform="translate\(([^)]*)\)"', _scatter(50))  # marks; labels keep theirs
    assert positions and all(re.fullmatch(r"-?\d+\.\d,-?\d+\.\d", p) for p in positions)
