"""Tenure, retention and turnover (pure), checked on the real turnover data set and by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.survfunc import SurvfuncRight

from wfm.workforce import employed_span, monthly_turnover, retention, tenure_months

TURNOVER = Path(__file__).resolve().parents[3] / "shared" / "data" / "employee-turnover-babushkin" / "turnover.csv"


@pytest.mark.skipif(not TURNOVER.exists(), reason=f"the real data set is not at {TURNOVER}")
def test_retention_matches_an_independent_kaplan_meier_on_real_data() -> None:
    data = pd.read_csv(TURNOVER)
    assert len(data) == 1129 and int(data["event"].sum()) == 571  # as its PROVENANCE.md says
    ours = retention(data["stag"], data["event"])
    # The independent estimate: statsmodels' SurvfuncRight on the same tenure (months) and events.
    theirs = SurvfuncRight(data["stag"].to_numpy(), data["event"].to_numpy())
    assert np.allclose(ours.curve["time_months"], theirs.surv_times)
    assert np.allclose(ours.curve["retained"], theirs.surv_prob)
    for months in (6, 12, 24, 36):
        index = np.searchsorted(theirs.surv_times, months, side="right") - 1
        assert ours.retained_at(months) == pytest.approx(theirs.surv_prob[index])
    assert ours.median_months == pytest.approx(theirs.quantile(0.5))


def test_retention_by_hand() -> None:
    # Tenures 1, 2 (stayed), 3, 3, 5: at 1 -> 4/5; at 3 two of three at risk leave -> 4/5 x 1/3.
    curve = retention(pd.Series([1.0, 2, 3, 3, 5]), pd.Series([1, 0, 1, 1, 0])).curve
    assert curve["time_months"].tolist() == [1.0, 3.0]
    assert curve["retained"].tolist() == pytest.approx([0.8, 0.8 / 3])
    with pytest.raises(ValueError, match="non-negative"):
        retention(pd.Series([-1.0]), pd.Series([1]))


def test_tenure_stops_at_leaving() -> None:
    hired = pd.Series(["2024-01-01", "2024-01-01"])
    months = tenure_months(hired, dt.date(2025, 1, 1), pd.Series(["2024-07-01", None]))
    assert months.round(2).tolist() == [round(182 / (365.25 / 12), 2), round(366 / (365.25 / 12), 2)]


def test_monthly_turnover_by_hand() -> None:
    agents = pd.DataFrame(
        {
            "team": ["N", "N", "N", "N", "S"],
            "hire_date": ["2020-01-01", "2020-01-01", "2025-01-10", "2020-01-01", "2020-01-01"],
            # The leave date is the last day employed.
            "leave_date": ["2025-01-16", "2025-01-31", "", "", ""],
            "leave_reason": ["voluntary", "involuntary", "", "", ""],
        }
    )
    january = monthly_turnover(agents, ["2025-01"]).set_index("team").loc["N"]
    # N starts January with 3 (the newcomer arrives on the 10th) and ends it with 3 (one left after the 16th;
    # the one whose last day is the 31st still counts on the 31st): average 3. Both leavers are January's.
    assert (january["headcount_start"], january["headcount_end"], january["leavers"]) == (3, 3, 2)
    assert january["turnover_rate"] == pytest.approx(2 / 3)
    assert january["turnover_voluntary"] == pytest.approx(1 / 3)
    assert january["newcomer_share"] == pytest.approx(1 / 3)
    february = monthly_turnover(agents, ["2025-02"]).set_index("team")
    assert february.loc["N", "leavers"] == 0 and february.loc["S", "turnover_rate"] == 0


def test_employed_span_counts_the_leave_day_as_employed() -> None:
    march = (dt.date(2025, 3, 1), dt.date(2025, 4, 1))
    assert employed_span(None, None, *march) == march
    # Hired on the 10th, left on the 20th (the last day employed): 11 days, the 10th to the 20th.
    assert employed_span(dt.date(2025, 3, 10), dt.date(2025, 3, 20), *march) == (
        dt.date(2025, 3, 10),
        dt.date(2025, 3, 21),
    )
    assert employed_span(None, dt.date(2025, 3, 1), *march) == (dt.date(2025, 3, 1), dt.date(2025, 3, 2))
    assert employed_span(None, dt.date(2025, 2, 28), *march) is None
    assert employed_span(dt.date(2025, 4, 1), None, *march) is None
