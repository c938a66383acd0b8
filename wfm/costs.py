"""Cost per contact and cost-to-serve (pure): labour and overhead allocated to channel, team and month.

Inputs are long frames, one per source, in the site currency:

* ``labour``: ``month, team, channel, paid_hours, cost``. From published schedules (paid hours x the agent's
  ``hourly_cost``, which includes employer costs) or from imported worked hours; ``channel`` is '' where the
  source does not say (worked hours without a channel).
* ``contacts``: ``month, team, channel, handled, handled_minutes``; ``team`` '' where the history has no team.
* ``overhead``: ``month, cost`` (every category summed); ``finance``: ``month, revenue, active_customers``;
  ``fcr``: ``month, team, fcr_pct`` (first-contact resolution, 0-100), optional.

Allocation (activity-based costing in its simplest form: a cost pool spread by a driver; Kaplan & Anderson
2004, "Time-driven activity-based costing"):

1. Contacts without a team go to teams in proportion to each team's scheduled paid hours on that channel and
   month (the team that worked the queue handled its contacts).
2. A team's labour without a channel goes to its channels by the chosen driver: handled minutes (default),
   FTE (paid hours on each channel) or headcount (agents able to work it, given as ``team, channel, agents``).
3. Overhead of a month goes to every (team, channel) cell of that month by the same driver, centre-wide.

Each figure keeps its numerator and denominator, so a page can show its definition and drill down to them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

DRIVERS = ("handled_minutes", "fte", "headcount")
CELL = ["month", "team", "channel"]


class CostInputError(ValueError):
    """An input frame is missing a column or holds a negative amount; the message says which."""


@dataclass(frozen=True)
class AttritionAssumptions:
    """What one leaver costs: replacing them, and the newcomer's lower output while learning.

    Defaults follow common contact-centre rules of thumb (hiring and training together about two to three
    months of an agent's pay; full productivity after about three months, half on average meanwhile);
    finance edits them.
    """

    hiring_cost: float = 30_000.0  # per hire: advertising, recruiter time, checks
    training_cost: float = 45_000.0  # per hire: classroom and nesting weeks, trainer time
    ramp_months: float = 3.0  # months until a newcomer is fully productive
    ramp_productivity: float = 0.5  # average output while ramping, as a share of a full agent's


def _require(frame: pd.DataFrame, name: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CostInputError(f"{name}: no {', '.join(missing)} column")
    for column in columns:
        if column in ("month", "team", "channel"):
            continue
        values = pd.to_numeric(frame[column], errors="coerce")
        if (values < 0).any():
            row = int(np.flatnonzero((values < 0).to_numpy())[0])
            raise CostInputError(f"{name} row {row + 1}, {column}: {frame[column].iloc[row]} is negative")


def assign_contacts_to_teams(
    contacts: pd.DataFrame, labour: pd.DataFrame, columns: tuple[str, ...] = ("handled", "handled_minutes")
) -> pd.DataFrame:
    """Contacts with a team stay; those without one are split over the teams by their paid hours on that
    channel and month (none scheduled: they stay unassigned, team ''). ``columns`` are the amounts split."""
    amounts = list(columns)
    _require(contacts, "contacts", [*CELL, *amounts])
    known = contacts[contacts["team"] != ""]
    unknown = contacts[contacts["team"] == ""]
    if unknown.empty:
        return known.reset_index(drop=True)
    hours = labour[labour["channel"] != ""].groupby(CELL, as_index=False)["paid_hours"].sum()
    share = hours.assign(share=hours["paid_hours"] / hours.groupby(["month", "channel"])["paid_hours"].transform("sum"))
    spread = unknown.drop(columns="team").merge(share[["month", "channel", "team", "share"]], on=["month", "channel"])
    for column in amounts:
        spread[column] = spread[column] * spread["share"]
    left = unknown[~unknown.set_index(["month", "channel"]).index.isin(share.set_index(["month", "channel"]).index)]
    combined = pd.concat([known, spread.drop(columns="share"), left], ignore_index=True)
    return combined.groupby(CELL, as_index=False)[amounts].sum()


def _driver_weights(
    cells: pd.DataFrame, contacts: pd.DataFrame, labour: pd.DataFrame, headcount: pd.DataFrame | None, driver: str
) -> npt.NDArray[np.float64]:
    """The driver's amount for each (month, team, channel) cell of ``cells``."""
    if driver == "handled_minutes":
        source = contacts.groupby(CELL)["handled_minutes"].sum()
    elif driver == "fte":
        source = labour[labour["channel"] != ""].groupby(CELL)["paid_hours"].sum()
    elif driver == "headcount":
        if headcount is None:
            raise CostInputError("the headcount driver needs agents per team and channel")
        months = cells[["month"]].drop_duplicates()
        source = months.merge(headcount, how="cross").groupby(CELL)["agents"].sum()
    else:
        raise CostInputError(f"unknown driver {driver!r}; choose one of {', '.join(DRIVERS)}")
    amounts = {key: float(value) for key, value in source.items()}
    keys = zip(cells["month"], cells["team"], cells["channel"], strict=True)
    return np.array([amounts.get(key, 0.0) for key in keys], dtype=np.float64)


def allocate(
    labour: pd.DataFrame,
    contacts: pd.DataFrame,
    overhead: pd.DataFrame,
    driver: str = "handled_minutes",
    headcount: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Cost per (month, team, channel): ``labour_cost, overhead_cost, total_cost, paid_hours, handled,
    handled_minutes``, with every currency unit of the inputs accounted for.

    Labour without a channel, or overhead of a month with no driver amount anywhere, stays on a cell with
    channel '' (shown as "unallocated"), never dropped.
    """
    _require(labour, "labour", [*CELL, "paid_hours", "cost"])
    _require(overhead, "overhead", ["month", "cost"])
    contacts = assign_contacts_to_teams(contacts, labour)
    direct = labour[labour["channel"] != ""].groupby(CELL, as_index=False)[["paid_hours", "cost"]].sum()
    cells = pd.concat([direct[CELL], contacts[CELL]]).drop_duplicates().reset_index(drop=True)
    cells = cells[cells["team"] != ""].reset_index(drop=True)
    weights = _driver_weights(cells, contacts, labour, headcount, driver)
    out = cells.merge(direct, on=CELL, how="left").merge(contacts, on=CELL, how="left").fillna(0.0)
    out = out.rename(columns={"cost": "labour_cost"})
    leftovers = []
    # Labour without a channel: spread over the team's cells of the month by the driver.
    pooled = labour[labour["channel"] == ""].groupby(["month", "team"], as_index=False)[["paid_hours", "cost"]].sum()
    labour_cost = out["labour_cost"].to_numpy(dtype=np.float64).copy()
    paid_hours = out["paid_hours"].to_numpy(dtype=np.float64).copy()
    overhead_cost = np.zeros(len(out))
    for row in pooled.to_dict("records"):
        mask = ((out["month"] == row["month"]) & (out["team"] == row["team"])).to_numpy()
        total = float(weights[mask].sum())
        if total > 0:
            labour_cost[mask] += float(row["cost"]) * weights[mask] / total
            paid_hours[mask] += float(row["paid_hours"]) * weights[mask] / total
        else:
            leftovers.append({"month": row["month"], "team": row["team"], "channel": "",
                              "labour_cost": float(row["cost"]), "paid_hours": float(row["paid_hours"])})  # fmt: skip
    # Overhead: spread over every cell of the month by the driver.
    monthly_overhead = overhead.groupby("month", as_index=False).agg(cost=("cost", "sum"))
    for row in monthly_overhead.to_dict("records"):
        mask = (out["month"] == row["month"]).to_numpy()
        total = float(weights[mask].sum())
        if total > 0:
            overhead_cost[mask] += float(row["cost"]) * weights[mask] / total
        else:
            leftovers.append({"month": row["month"], "team": "", "channel": "", "overhead_cost": float(row["cost"])})
    out["labour_cost"], out["paid_hours"], out["overhead_cost"] = labour_cost, paid_hours, overhead_cost
    if leftovers:
        out = pd.concat([out, pd.DataFrame(leftovers)], ignore_index=True).fillna(0.0)
    numbers = ["labour_cost", "overhead_cost", "paid_hours", "handled", "handled_minutes"]
    for column in numbers:  # an empty or leftover-only frame would otherwise hold Python objects
        if column not in out:
            out[column] = 0.0
        out[column] = pd.to_numeric(out[column], errors="coerce").astype(np.float64)
    out["total_cost"] = out["labour_cost"] + out["overhead_cost"]
    columns = [*CELL, "labour_cost", "overhead_cost", "total_cost", "paid_hours", "handled", "handled_minutes"]
    return out[columns].sort_values(CELL).reset_index(drop=True)


def unit_costs(allocated: pd.DataFrame, fcr: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per cell: cost per contact, per resolved contact (handled x FCR), per handled minute; NaN without a
    denominator."""
    out = allocated.copy()
    if fcr is not None and not fcr.empty:
        rates = {key: float(v) for key, v in fcr.groupby(["month", "team"])["fcr_pct"].mean().items()}
        keys = zip(out["month"], out["team"], strict=True)
        out["fcr_pct"] = np.array([rates.get(key, np.nan) for key in keys], dtype=np.float64)
    else:
        out["fcr_pct"] = np.nan
    out["resolved"] = out["handled"] * out["fcr_pct"] / 100.0
    with np.errstate(divide="ignore", invalid="ignore"):
        out["cost_per_contact"] = np.where(out["handled"] > 0, out["total_cost"] / out["handled"], np.nan)
        out["cost_per_resolved"] = np.where(out["resolved"] > 0, out["total_cost"] / out["resolved"], np.nan)
        out["cost_per_minute"] = np.where(
            out["handled_minutes"] > 0, out["total_cost"] / out["handled_minutes"], np.nan
        )
    return out


def cost_to_serve(allocated: pd.DataFrame, finance: pd.DataFrame) -> pd.DataFrame:
    """Per month: total cost, contacts, active customers, contact rate (contacts per active customer),
    cost-to-serve per customer and as a share of revenue."""
    _require(finance, "finance", ["month", "revenue", "active_customers"])
    monthly = allocated.groupby("month", as_index=False)[["total_cost", "handled"]].sum()
    out = monthly.merge(finance[["month", "revenue", "active_customers"]], on="month", how="left")
    customers = pd.to_numeric(out["active_customers"], errors="coerce")
    revenue = pd.to_numeric(out["revenue"], errors="coerce")
    out["contact_rate"] = np.where(customers > 0, out["handled"] / customers, np.nan)
    out["cost_per_customer"] = np.where(customers > 0, out["total_cost"] / customers, np.nan)
    out["cost_share_of_revenue"] = np.where(revenue > 0, out["total_cost"] / revenue, np.nan)
    return out


def attrition_cost(
    leavers: int, newcomer_months: float, monthly_cost_per_agent: float, assumptions: AttritionAssumptions
) -> dict[str, float]:
    """The cost of turnover in a period: replacing each leaver (hiring + training) plus the output newcomers
    do not give while ramping up, ``newcomer_months`` (agent-months within their first ``ramp_months``) x
    (1 - ramp_productivity) x a full agent's monthly cost."""
    replacing = leavers * (assumptions.hiring_cost + assumptions.training_cost)
    ramp = newcomer_months * (1 - assumptions.ramp_productivity) * monthly_cost_per_agent
    return {"replacing": replacing, "ramp_up": ramp, "total": replacing + ramp}
