"""Cost allocation (`wfm.costs`) on a small month checked by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from wfm import costs

MONTH = "2026-01"


def _inputs() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    labour = pd.DataFrame(
        [
            (MONTH, "A", "voice", 100.0, 30_000.0),
            (MONTH, "A", "chat", 50.0, 15_000.0),
            (MONTH, "B", "voice", 80.0, 24_000.0),
            (MONTH, "A", "", 10.0, 3_000.0),  # worked hours without a channel
        ],
        columns=["month", "team", "channel", "paid_hours", "cost"],
    )
    contacts = pd.DataFrame(
        [
            (MONTH, "A", "voice", 1_000.0, 5_000.0),
            (MONTH, "A", "chat", 500.0, 2_500.0),
            (MONTH, "", "voice", 900.0, 4_500.0),  # history without a team
        ],
        columns=["month", "team", "channel", "handled", "handled_minutes"],
    )
    overhead = pd.DataFrame([(MONTH, 12_000.0)], columns=["month", "cost"])
    return labour, contacts, overhead


def test_costs_follow_handled_minutes_by_hand() -> None:
    """By hand: the 900 voice contacts without a team split 100 : 80 by voice hours (A 500, B 400), so A voice
    has 1,500 contacts and 7,500 minutes, A chat 500 and 2,500, B voice 400 and 2,000 (12,000 minutes).
    A's 3,000 without a channel go 3 : 1 by A's minutes (2,250 voice, 750 chat); the 12,000 overhead is 1 per
    minute. A voice: 30,000 + 2,250 + 7,500 = 39,750, or 26.50 a contact; A chat 15,000 + 750 + 2,500 = 18,250,
    36.50; B voice 24,000 + 2,000 = 26,000, 65.00. Together 84,000, every unit of the inputs."""
    labour, contacts, overhead = _inputs()
    out = costs.allocate(labour, contacts, overhead).set_index(["team", "channel"])
    assert out.loc[("A", "voice"), "handled"] == pytest.approx(1_500)
    assert out.loc[("B", "voice"), "handled_minutes"] == pytest.approx(2_000)
    assert out.loc[("A", "voice"), "labour_cost"] == pytest.approx(32_250)
    assert out.loc[("A", "chat"), "overhead_cost"] == pytest.approx(2_500)
    totals = out["total_cost"].to_dict()
    assert totals == pytest.approx({("A", "voice"): 39_750, ("A", "chat"): 18_250, ("B", "voice"): 26_000})
    assert out["total_cost"].sum() == pytest.approx(labour["cost"].sum() + overhead["cost"].sum())
    fcr = pd.DataFrame([(MONTH, "A", 80.0), (MONTH, "B", 50.0)], columns=["month", "team", "fcr_pct"])
    units = costs.unit_costs(out.reset_index(), fcr).set_index(["team", "channel"])
    assert units.loc[("A", "voice"), "cost_per_contact"] == pytest.approx(26.5)
    assert units.loc[("A", "voice"), "cost_per_resolved"] == pytest.approx(39_750 / 1_200)
    assert units.loc[("B", "voice"), "cost_per_minute"] == pytest.approx(13.0)
    finance = pd.DataFrame([(MONTH, 1_000_000.0, 10_000)], columns=["month", "revenue", "active_customers"])
    serve = costs.cost_to_serve(out.reset_index(), finance).iloc[0]
    assert serve["contact_rate"] == pytest.approx(0.24) and serve["cost_per_customer"] == pytest.approx(8.4)
    assert serve["cost_share_of_revenue"] == pytest.approx(0.084)


def test_fte_and_headcount_drivers() -> None:
    """FTE: overhead 12,000 by direct paid hours 100 : 50 : 80 (230), A's 3,000 by 100 : 50."""
    labour, contacts, overhead = _inputs()
    out = costs.allocate(labour, contacts, overhead, driver="fte").set_index(["team", "channel"])
    assert out.loc[("A", "voice"), "overhead_cost"] == pytest.approx(12_000 * 100 / 230)
    assert out.loc[("A", "chat"), "labour_cost"] == pytest.approx(15_000 + 1_000)
    heads = pd.DataFrame(
        [("A", "voice", 6), ("A", "chat", 2), ("B", "voice", 4)], columns=["team", "channel", "agents"]
    )
    out = costs.allocate(labour, contacts, overhead, driver="headcount", headcount=heads).set_index(["team", "channel"])
    assert out.loc[("B", "voice"), "overhead_cost"] == pytest.approx(12_000 * 4 / 12)
    with pytest.raises(costs.CostInputError, match="needs agents per team and channel"):
        costs.allocate(labour, contacts, overhead, driver="headcount")


def test_nothing_is_dropped_and_bad_inputs_are_named() -> None:
    labour, contacts, overhead = _inputs()
    # Overhead of a month with no contacts and no hours stays visible as unallocated.
    more = pd.concat([overhead, pd.DataFrame([("2026-02", 500.0)], columns=["month", "cost"])])
    out = costs.allocate(labour, contacts, more)
    unallocated = out[(out["month"] == "2026-02") & (out["channel"] == "")]
    assert unallocated["overhead_cost"].sum() == pytest.approx(500)
    assert out["total_cost"].sum() == pytest.approx(labour["cost"].sum() + more["cost"].sum())
    bad = labour.assign(cost=[30_000.0, -1.0, 24_000.0, 3_000.0])
    with pytest.raises(costs.CostInputError, match=r"labour row 2, cost: -1\.0 is negative"):
        costs.allocate(bad, contacts, overhead)
    with pytest.raises(costs.CostInputError, match="overhead: no cost column"):
        costs.allocate(labour, contacts, overhead.drop(columns="cost"))


def test_attrition_cost_by_hand() -> None:
    # 3 leavers x (30,000 + 45,000) = 225,000; 6 newcomer-months x (1 - 0.5) x 40,000 = 120,000.
    found = costs.attrition_cost(3, 6.0, 40_000.0, costs.AttritionAssumptions())
    assert found == {"replacing": 225_000.0, "ramp_up": 120_000.0, "total": 345_000.0}


def test_a_month_with_only_unallocated_labour_gives_no_unit_costs_and_no_error() -> None:
    labour = pd.DataFrame([(MONTH, "A", "", 6.0, 1_500.0)], columns=["month", "team", "channel", "paid_hours", "cost"])
    contacts = pd.DataFrame(columns=["month", "team", "channel", "handled", "handled_minutes"])
    out = costs.allocate(labour, contacts, pd.DataFrame(columns=["month", "cost"]))
    assert out["labour_cost"].sum() == 1_500.0 and out["channel"].tolist() == [""]
    units = costs.unit_costs(out)
    assert units["cost_per_contact"].isna().all()
