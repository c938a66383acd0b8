"""Tenure, retention and turnover of the roster (pure: pandas and numpy).

Definitions follow common HR practice (e.g. the CIPD and SHRM turnover rate): the turnover rate of a
period is leavers in the period divided by the average headcount, the mean of the headcount on the
first and on the last day of the period. Retention over tenure is the Kaplan-Meier estimator
(Kaplan & Meier 1958), which counts people still employed as censored rather than dropping them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

DAYS_PER_MONTH = 365.25 / 12
NEWCOMER_MONTHS = 6


def employed_span(
    hire_date: dt.date | None, leave_date: dt.date | None, start: dt.date, stop: dt.date
) -> tuple[dt.date, dt.date] | None:
    """The days ``[begin, finish)`` of ``[start, stop)`` on which a person was employed, or None.

    The leave date is the last day employed, as in HR files (and as the pulse's eligible count reads it).
    """
    begin = max(start, hire_date) if hire_date else start
    finish = min(stop, leave_date + dt.timedelta(days=1)) if leave_date else stop
    return (begin, finish) if finish > begin else None


def tenure_months(hire_date: pd.Series, as_of: dt.date, leave_date: pd.Series | None = None) -> pd.Series:
    """Months from hire to the leave date (the last day employed), or to ``as_of`` (average month length)."""
    end = pd.Series(pd.Timestamp(as_of), index=hire_date.index)
    if leave_date is not None:
        left = pd.to_datetime(leave_date)
        end = left.where(left.notna() & (left < end), end)
    return (end - pd.to_datetime(hire_date)).dt.days / DAYS_PER_MONTH


@dataclass(frozen=True)
class Retention:
    """A Kaplan-Meier retention curve: the share still employed after each observed tenure."""

    curve: pd.DataFrame  # time_months, at_risk, leavers, retained

    def retained_at(self, months: float) -> float:
        """Estimated share still employed at ``months`` of tenure (a step function, right-continuous)."""
        before = self.curve[self.curve["time_months"] <= months]
        return 1.0 if before.empty else float(before["retained"].iloc[-1])

    @property
    def median_months(self) -> float | None:
        """The smallest tenure at which at most half remain, or None if the curve never gets there."""
        below = self.curve[self.curve["retained"] <= 0.5]
        return None if below.empty else float(below["time_months"].iloc[0])


def retention(tenure: pd.Series, left: pd.Series) -> Retention:
    """Kaplan-Meier estimate of retention over tenure.

    Parameters
    ----------
    tenure
        Tenure in months of every person, leavers and stayers.
    left
        True (or 1) for people who left at that tenure; False (0) for people still employed (censored).

    Notes
    -----
    At each distinct leaving time t, retained(t) = retained(t-) x (1 - leavers(t) / at_risk(t)), where
    at_risk counts everyone whose tenure is at least t (Kaplan & Meier 1958).
    """
    if len(tenure) != len(left):
        raise ValueError("tenure and left must have the same length")
    if (tenure < 0).any() or tenure.isna().any():
        raise ValueError("tenure must be non-negative months")
    frame = pd.DataFrame({"t": tenure.to_numpy(dtype=float), "event": left.astype(bool).to_numpy()})
    times = np.sort(frame.loc[frame["event"], "t"].unique())
    at_risk = np.array([(frame["t"] >= t).sum() for t in times])
    leavers = np.array([((frame["t"] == t) & frame["event"]).sum() for t in times])
    retained = np.cumprod(1 - leavers / at_risk) if len(times) else np.array([])
    curve = pd.DataFrame({"time_months": times, "at_risk": at_risk, "leavers": leavers, "retained": retained})
    return Retention(curve)


def monthly_turnover(agents: pd.DataFrame, months: list[str], newcomer_months: int = NEWCOMER_MONTHS) -> pd.DataFrame:
    """Turnover per team and month.

    Parameters
    ----------
    agents
        ``team, hire_date, leave_date, leave_reason``; dates as dates or ISO text (``leave_date`` empty or
        NaT for people still employed). The leave date is the last day employed, as in HR files.
    months
        ``YYYY-MM`` labels.
    newcomer_months
        Tenure below which a person counts as a newcomer.

    Returns
    -------
    DataFrame with ``period, team, headcount_start, headcount_end, average_headcount, leavers,
    leavers_voluntary, leavers_involuntary, turnover_rate, turnover_voluntary, turnover_involuntary,
    newcomer_share`` (rates as fractions; empty teams get NaN rates).
    """
    hired = pd.to_datetime(agents["hire_date"].replace("", None))
    left = pd.to_datetime(agents["leave_date"].replace("", None))
    reason = agents["leave_reason"].fillna("").astype(str)
    rows = []
    for label in months:
        first = pd.Timestamp(f"{label}-01")
        next_first = first + pd.offsets.MonthBegin(1)
        last = next_first - pd.Timedelta(days=1)
        employed_start = (hired.isna() | (hired <= first)) & (left.isna() | (left >= first))
        employed_end = (hired.isna() | (hired <= last)) & (left.isna() | (left >= last))
        leaving = left.notna() & (left >= first) & (left <= last)
        newcomer = employed_end & hired.notna() & ((last - hired).dt.days / DAYS_PER_MONTH < newcomer_months)
        for team, index in agents.groupby("team").groups.items():
            start = int(employed_start[index].sum())
            end = int(employed_end[index].sum())
            average = (start + end) / 2
            out = leaving[index]
            voluntary = int((out & (reason[index] == "voluntary")).sum())
            involuntary = int((out & (reason[index] == "involuntary")).sum())
            rows.append(
                {
                    "period": label,
                    "team": team,
                    "headcount_start": start,
                    "headcount_end": end,
                    "average_headcount": average,
                    "leavers": int(out.sum()),
                    "leavers_voluntary": voluntary,
                    "leavers_involuntary": involuntary,
                    "turnover_rate": int(out.sum()) / average if average else np.nan,
                    "turnover_voluntary": voluntary / average if average else np.nan,
                    "turnover_involuntary": involuntary / average if average else np.nan,
                    "newcomer_share": int(newcomer[index].sum()) / end if end else np.nan,
                }
            )
    return pd.DataFrame(rows)
