"""Site settings, teams and channels (with opening hours)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from pulse.tables import PulseResponse
from wfm import staffing
from wfm.db import write_transaction
from wfm.forms import ChannelForm, DayHours, FormError, SiteForm, TeamForm, check_time_zone
from wfm.services import audit
from wfm.tables import Agent, Channel, ChannelHours, ContactInterval, Outcome, Site, Team, TeamMember

SITE_ID = 1
# Default staffing model for each channel kind: live channels queue, written ones are deferred work.
DEFAULT_MODEL = {
    "voice": "erlang_a",
    "chat": "erlang_c",
    "messaging": "erlang_c",
    "sms": "deferred",
    "email": "deferred",
    "social": "deferred",
}


@dataclass(frozen=True)
class SiteView:
    name: str
    time_zone: str
    holiday_country: str
    currency: str
    interval_minutes: int
    score_threshold: int
    comment_threshold: int


DEFAULT_SITE = SiteView("Contact centre", "Europe/Stockholm", "", "SEK", 15, 5, 8)


@dataclass(frozen=True)
class TeamView:
    id: int
    name: str
    members: int
    agents: int


@dataclass(frozen=True)
class ChannelView:
    id: int
    name: str
    kind: str
    staffing_model: str
    service_level_target: float
    answer_within_seconds: int
    concurrency: float
    response_window_hours: float
    max_occupancy: float
    shrinkage: float
    patience_seconds: float
    max_asa_seconds: float | None
    max_abandon_rate: float | None
    active: bool
    hours: tuple[DayHours, ...]


async def ensure_site() -> None:
    """Create the settings record with defaults if it is missing (one idempotent statement)."""
    await Site.insert(Site(id=SITE_ID, **asdict(DEFAULT_SITE))).on_conflict(action="DO NOTHING")


async def get_site() -> SiteView:
    row = await Site.select().where(Site.id == SITE_ID).first()
    if row is None:
        return DEFAULT_SITE
    return SiteView(**{f.name: row[f.name] for f in fields(SiteView)})


async def update_site(form: SiteForm, actor: str) -> SiteView:
    """Save the site settings and audit every field that changed."""
    check_time_zone(form.time_zone)
    if form.comment_threshold < form.score_threshold:
        raise FormError({"comment_threshold": "The comment threshold may not be below the score threshold."})
    before = await get_site()
    after = SiteView(
        name=form.name.strip(),
        time_zone=form.time_zone,
        holiday_country=form.holiday_country.upper(),
        currency=form.currency,
        interval_minutes=form.interval_minutes,
        score_threshold=form.score_threshold,
        comment_threshold=form.comment_threshold,
    )
    await ensure_site()
    await Site.update({getattr(Site, k): v for k, v in asdict(after).items()}).where(Site.id == SITE_ID)
    changes = [f"{k}: {getattr(before, k)!r} -> {v!r}" for k, v in asdict(after).items() if getattr(before, k) != v]
    if changes:
        await audit.record(actor, "site_changed", "site", "; ".join(changes))
    return after


async def list_teams() -> list[TeamView]:
    teams = await Team.select(Team.id, Team.name).order_by(Team.name)
    members = await TeamMember.select(TeamMember.team)
    agents = await Agent.select(Agent.team)
    return [
        TeamView(
            id=t["id"],
            name=t["name"],
            members=sum(1 for m in members if m["team"] == t["id"]),
            agents=sum(1 for a in agents if a["team"] == t["id"]),
        )
        for t in teams
    ]


async def create_team(form: TeamForm, actor: str) -> int:
    name = form.name.strip()
    if not name:
        raise FormError({"name": "A team needs a name."})
    inserted = await Team.insert(Team(name=name)).on_conflict(action="DO NOTHING").returning(Team.id)
    if not inserted:
        raise FormError({"name": f"A team called {name!r} exists already."})
    await audit.record(actor, "team_created", name)
    return int(inserted[0]["id"])


async def rename_team(team_id: int, form: TeamForm, actor: str) -> None:
    name = form.name.strip()
    before = await Team.select(Team.name).where(Team.id == team_id).first()
    if before is None:
        raise FormError({"team": "No such team."})
    if await Team.exists().where((Team.name == name) & (Team.id != team_id)):
        raise FormError({"name": f"A team called {name!r} exists already."})
    await Team.update({Team.name: name}).where(Team.id == team_id)
    await audit.record(actor, "team_renamed", name, f"was {before['name']!r}")


async def delete_team(team_id: int, actor: str) -> None:
    """Delete an empty team; a team with agents on its roster must be emptied first."""
    team = await Team.select(Team.name).where(Team.id == team_id).first()
    if team is None:
        raise FormError({"team": "No such team."})
    if await Agent.exists().where(Agent.team == team_id):
        raise FormError({"team": f"{team['name']} still has agents on its roster; move them first."})
    # Imported history and outcomes refer to the team by id: deleting it would orphan them.
    if await ContactInterval.exists().where(ContactInterval.team_id == team_id) or await Outcome.exists().where(
        Outcome.team_id == team_id
    ):
        raise FormError({"team": f"{team['name']} has imported history or outcomes; roll those imports back first."})
    if await PulseResponse.exists().where(PulseResponse.team == team_id):
        raise FormError({"team": f"{team['name']} has pulse survey answers, which are kept; the team stays."})
    await Team.delete().where(Team.id == team_id)
    await audit.record(actor, "team_deleted", team["name"])


async def list_channels() -> list[ChannelView]:
    channels = await Channel.select().order_by(Channel.name)
    hours = await ChannelHours.select()
    return [_channel_view(c, [h for h in hours if h["channel"] == c["id"]]) for c in channels]


async def get_channel(channel_id: int) -> ChannelView | None:
    return next((c for c in await list_channels() if c.id == channel_id), None)


def _channel_view(row: dict[str, object], hours: list[dict[str, object]]) -> ChannelView:
    by_day = {int(h["weekday"]): h for h in hours}  # type: ignore[call-overload]
    days = tuple(
        DayHours(d, by_day[d]["opens_minute"], by_day[d]["closes_minute"])  # type: ignore[arg-type]
        if d in by_day
        else DayHours(d, None, None)
        for d in range(1, 8)
    )
    names = [f.name for f in fields(ChannelView) if f.name != "hours"]
    return ChannelView(**{n: row[n] for n in names}, hours=days)  # type: ignore[arg-type]


async def save_channel(channel_id: int | None, form: ChannelForm, hours: list[DayHours], actor: str) -> int:
    """Create (``channel_id`` None) or update a channel and replace its opening hours, in one transaction."""
    clash = Channel.exists().where(Channel.name == form.name)
    if channel_id is not None:
        clash = clash.where(Channel.id != channel_id)
    if await clash:
        raise FormError({"name": f"A channel called {form.name!r} exists already."})
    problems = staffing.ChannelParams(
        model=form.staffing_model,
        service_level_target=form.service_level_target,
        answer_within_seconds=form.answer_within_seconds,
        max_asa_seconds=form.max_asa_seconds,
        max_abandon_rate=form.max_abandon_rate,
        patience_seconds=form.patience_seconds,
        concurrency=form.concurrency,
        response_window_hours=form.response_window_hours,
        max_occupancy=form.max_occupancy,
        shrinkage=form.shrinkage,
    ).problems()
    if problems:
        raise FormError(dict(problems[:1]))
    values: dict[str, Any] = {
        "name": form.name,
        "kind": form.kind,
        "staffing_model": form.staffing_model,
        "service_level_target": form.service_level_target,
        "answer_within_seconds": form.answer_within_seconds,
        "concurrency": form.concurrency,
        "response_window_hours": form.response_window_hours,
        "max_occupancy": form.max_occupancy,
        "shrinkage": form.shrinkage,
        "patience_seconds": form.patience_seconds,
        "max_asa_seconds": form.max_asa_seconds,
        "max_abandon_rate": form.max_abandon_rate,
        "active": form.active,
    }
    async with write_transaction(Channel._meta.db):
        if channel_id is None:
            rows = await Channel.insert(Channel(**values)).returning(Channel.id)
            channel_id = int(rows[0]["id"])
        else:
            updated = (
                await Channel.update({getattr(Channel, k): v for k, v in values.items()})
                .where(Channel.id == channel_id)
                .returning(Channel.id)
            )
            if not updated:
                raise FormError({"channel": "No such channel."})
        await ChannelHours.delete().where(ChannelHours.channel == channel_id)
        open_days = [h for h in hours if h.opens_minute is not None]
        if open_days:
            await ChannelHours.insert(
                *[
                    ChannelHours(
                        channel=channel_id,
                        weekday=h.weekday,
                        opens_minute=h.opens_minute,
                        closes_minute=h.closes_minute,
                    )
                    for h in open_days
                ]
            )
    await audit.record(actor, "channel_saved", form.name, f"kind={form.kind} model={form.staffing_model}")
    return channel_id
