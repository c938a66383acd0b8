"""Shift swaps: an agent asks a teammate to exchange one day's shifts; the teammate agrees; the lead
approves when every rule still holds after the exchange, which publishes it (a new version of the week)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from wfm.services import audit, schedule_edits, schedule_week, schedules
from wfm.tables import Agent as AgentRow
from wfm.tables import ShiftSwap


class SwapError(ValueError):
    """A swap that cannot be asked, answered or approved, with the reason."""


@dataclass(frozen=True)
class SwapView:
    id: int
    requester: str
    requester_name: str
    partner: str
    partner_name: str
    team_id: int | None
    day: dt.date
    status: str
    note: str


async def _team_of(agent_id: str) -> int | None:
    row = await AgentRow.select(AgentRow.team).where(AgentRow.agent_id == agent_id).first()
    return None if row is None or row["team"] is None else int(row["team"])


async def teammates(agent_id: str) -> list[tuple[str, str]]:
    team = await _team_of(agent_id)
    if team is None:
        return []
    rows = await AgentRow.select(AgentRow.agent_id, AgentRow.name).where(
        (AgentRow.team == team) & (AgentRow.agent_id != agent_id)
    )
    return sorted(((r["agent_id"], r["name"]) for r in rows), key=lambda r: r[1])


async def ask(requester: str, partner: str, day: dt.date, today: dt.date) -> int:
    if day < today:
        raise SwapError("that day has passed")
    team = await _team_of(requester)
    if team is None or partner == requester or await _team_of(partner) != team:
        raise SwapError("swap with someone of your own team")
    monday = day - dt.timedelta(days=day.weekday())
    if not [v for v in await schedules.listing([team], monday) if v.status == "published"]:
        raise SwapError("that week is not published yet")
    open_ = await ShiftSwap.select(ShiftSwap.id).where(
        (ShiftSwap.requester == requester) & (ShiftSwap.day == day) & ShiftSwap.status.is_in(["proposed", "agreed"])
    )
    if open_:
        raise SwapError("you already asked for a swap that day")
    made = await ShiftSwap.insert(
        ShiftSwap(requester=requester, partner=partner, day=day, status="proposed", created_at=dt.datetime.now(dt.UTC))
    ).returning(ShiftSwap.id)
    await audit.record(requester, "swap ask", partner, str(day))
    return int(made[0]["id"])


async def listing(agent_id: str | None = None, team_ids: list[int] | None = None) -> list[SwapView]:
    agents = await AgentRow.select(AgentRow.agent_id, AgentRow.name, AgentRow.team)
    info = {a["agent_id"]: (a["name"], a["team"]) for a in agents}
    query = ShiftSwap.select()
    if agent_id is not None:
        query = query.where((ShiftSwap.requester == agent_id) | (ShiftSwap.partner == agent_id))
    rows = await query.order_by(ShiftSwap.day)
    out = [
        SwapView(
            int(r["id"]), r["requester"], info.get(r["requester"], (r["requester"], None))[0], r["partner"],
            info.get(r["partner"], (r["partner"], None))[0], info.get(r["requester"], ("", None))[1],
            r["day"] if isinstance(r["day"], dt.date) else dt.date.fromisoformat(str(r["day"])), r["status"],
            r["note"],
        )
        for r in rows
    ]  # fmt: skip
    if team_ids is not None:
        out = [s for s in out if s.team_id in set(team_ids)]
    return out


async def _get(swap_id: int) -> SwapView:
    found = [s for s in await listing() if s.id == swap_id]
    if not found:
        raise SwapError("no such swap")
    return found[0]


async def answer(swap_id: int, partner: str, agree: bool) -> None:
    """The partner agrees or refuses a proposed swap."""
    swap = await _get(swap_id)
    if swap.partner != partner:
        raise SwapError("this swap is not asked of you")
    if swap.status != "proposed":
        raise SwapError(f"the swap is already {swap.status}")
    await ShiftSwap.update({ShiftSwap.status: "agreed" if agree else "refused"}).where(ShiftSwap.id == swap_id)


async def cancel(swap_id: int, requester: str) -> None:
    swap = await _get(swap_id)
    if swap.requester != requester or swap.status not in ("proposed", "agreed"):
        raise SwapError("only a swap you asked for, not yet decided, can be withdrawn")
    await ShiftSwap.update({ShiftSwap.status: "cancelled"}).where(ShiftSwap.id == swap_id)


async def decide(swap_id: int, approve: bool, actor: str) -> tuple[str, ...]:
    """Approve an agreed swap (exchange and publish, only when no rule breaks) or decline it. Returns the
    rules the exchange would break when it is refused for them (then nothing changes)."""
    swap = await _get(swap_id)
    if swap.status != "agreed":
        raise SwapError(f"the swap is {swap.status}, not agreed by both")
    if not approve:
        await ShiftSwap.update({ShiftSwap.status: "declined", ShiftSwap.decided_by: actor}).where(
            ShiftSwap.id == swap_id
        )
        return ()
    monday = swap.day - dt.timedelta(days=swap.day.weekday())
    published = [v for v in await schedules.listing([swap.team_id or -1], monday) if v.status == "published"]
    if not published:
        raise SwapError("that week is not published")
    check = await schedule_edits.swap(published[0].id, swap.requester, swap.partner, swap.day, actor, save=False)
    if check.new_violations:
        note = "; ".join(check.new_violations)[:300]
        await ShiftSwap.update({ShiftSwap.note: note}).where(ShiftSwap.id == swap_id)
        return check.new_violations
    result = await schedule_edits.swap(published[0].id, swap.requester, swap.partner, swap.day, actor)
    await schedule_week.publish(result.schedule_id, actor)
    await ShiftSwap.update({ShiftSwap.status: "approved", ShiftSwap.decided_by: actor}).where(ShiftSwap.id == swap_id)
    await audit.record(actor, "swap approve", f"{swap.requester}/{swap.partner}", str(swap.day))
    return ()
