"""Users, sign-in, passwords and one-time set-password links."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from wfm.db import write_transaction
from wfm.forms import FormError, NewUser, UserUpdate, check_new_password
from wfm.security import CurrentUser
from wfm.services import audit
from wfm.tables import Agent, SetPasswordLink, Team, TeamMember, User

LINK_LIFETIME = dt.timedelta(hours=72)


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    full_name: str
    email: str | None
    role: str
    active: bool
    last_login: dt.datetime | None
    team_ids: frozenset[int]
    team_names: tuple[str, ...]


async def _password_matches(password: str, stored: str) -> bool:
    """Hash off the event loop: one PBKDF2 hash at 600,000 rounds costs about 0.15 s of CPU."""
    _algorithm, iterations, salt, _hashed = User.split_stored_password(stored)
    candidate = await asyncio.to_thread(User.hash_password, password, salt, int(iterations))
    return hmac.compare_digest(candidate, stored)


async def authenticate(username: str, password: str) -> int | None:
    """The user id when ``username`` is active and ``password`` is theirs, else None.

    An unknown user still costs one hash, so timing does not reveal which usernames exist.
    """
    row = await User.select(User.id, User.password, User.active).where(User.username == username).first()
    if row is None or len(password) > User._max_password_length:
        await asyncio.to_thread(User.hash_password, "x" * 12)
        return None
    if not await _password_matches(password, row["password"]) or not row["active"]:
        return None
    await User.update({User.last_login: dt.datetime.now()}).where(User.id == row["id"])
    return int(row["id"])


async def current_user(user_id: int) -> CurrentUser | None:
    """The signed-in person with their teams, or None when the account is gone or inactive."""
    row = (
        await User.select(User.id, User.username, User.full_name, User.role, User.active)
        .where(User.id == user_id)
        .first()
    )
    if row is None or not row["active"]:
        return None
    member_of = await TeamMember.select(TeamMember.team).where(TeamMember.user == user_id)
    agent = await Agent.select(Agent.agent_id, Agent.team).where(Agent.user == user_id).first()
    teams = {r["team"] for r in member_of}
    if agent and agent["team"] is not None:
        teams.add(agent["team"])
    return CurrentUser(
        id=row["id"],
        username=row["username"],
        full_name=row["full_name"],
        role=row["role"],
        team_ids=frozenset(teams),
        agent_id=agent["agent_id"] if agent else "",
    )


async def list_users() -> list[UserRow]:
    users = await User.select(
        User.id, User.username, User.full_name, User.email, User.role, User.active, User.last_login
    ).order_by(User.username)
    memberships = await TeamMember.select(TeamMember.user, TeamMember.team, TeamMember.team.name.as_alias("name"))
    by_user: dict[int, list[tuple[int, str]]] = {}
    for m in memberships:
        by_user.setdefault(m["user"], []).append((m["team"], m["name"]))
    return [
        UserRow(
            id=u["id"],
            username=u["username"],
            full_name=u["full_name"],
            email=u["email"],
            role=u["role"],
            active=u["active"],
            last_login=u["last_login"],
            team_ids=frozenset(t for t, _ in by_user.get(u["id"], [])),
            team_names=tuple(sorted(n for _, n in by_user.get(u["id"], []))),
        )
        for u in users
    ]


async def get_user(user_id: int) -> UserRow | None:
    return next((u for u in await list_users() if u.id == user_id), None)


async def _check_teams(team_ids: list[int]) -> None:
    if not team_ids:
        return
    known = {r["id"] for r in await Team.select(Team.id).where(Team.id.is_in(team_ids))}
    if missing := sorted(set(team_ids) - known):
        raise FormError({"teams": f"No team with id {missing[0]}."})


async def create_user(form: NewUser, actor: str, password: str | None = None) -> int:
    """Create an account (no password yet unless given: the admin then issues a set-password link)."""
    await _check_teams(form.teams)
    if await User.exists().where(User.username == form.username):
        raise FormError({"username": f"{form.username!r} is taken."})
    if form.email and await User.exists().where(User.email == form.email):
        raise FormError({"email": f"{form.email!r} belongs to another user."})
    # An unusable random password until the person sets their own through a link.
    secret = password if password is not None else secrets.token_urlsafe(32)
    # Hash off the event loop; BaseUser leaves an already hashed password as it is.
    hashed = await asyncio.to_thread(User.hash_password, secret)
    user = User(
        username=form.username, password=hashed, email=form.email or None, full_name=form.full_name, role=form.role
    )
    user.active = True
    async with write_transaction(User._meta.db):
        await user.save()
        if form.teams:
            await TeamMember.insert(*[TeamMember(user=user.id, team=t) for t in sorted(set(form.teams))])
    await audit.record(actor, "user_created", form.username, f"role={form.role}")
    return int(user.id)


async def update_user(user_id: int, form: UserUpdate, actor: CurrentUser) -> None:
    """Change a user's name, role, active flag and teams; role changes are audited."""
    before = await get_user(user_id)
    if before is None:
        raise FormError({"user": "No such user."})
    if user_id == actor.id and (form.role != before.role or not form.active):
        raise FormError({"role": "You cannot change your own role or deactivate yourself."})
    await _check_teams(form.teams)
    async with write_transaction(User._meta.db):
        await User.update({User.full_name: form.full_name, User.role: form.role, User.active: form.active}).where(
            User.id == user_id
        )
        await TeamMember.delete().where(TeamMember.user == user_id)
        if form.teams:
            await TeamMember.insert(*[TeamMember(user=user_id, team=t) for t in sorted(set(form.teams))])
    if form.role != before.role:
        await audit.record(actor.username, "role_changed", before.username, f"{before.role} -> {form.role}")
    if form.active != before.active:
        await audit.record(actor.username, "user_activated" if form.active else "user_deactivated", before.username)
    if set(form.teams) != set(before.team_ids):
        await audit.record(actor.username, "teams_changed", before.username, f"teams={sorted(set(form.teams))}")


async def set_password(user_id: int, password: str) -> None:
    hashed = await asyncio.to_thread(User.hash_password, password)
    await User.update({User.password: hashed}).where(User.id == user_id)


async def change_password(user: CurrentUser, current: str, password: str, confirm: str) -> None:
    """A signed-in user changes their own password, proving the current one first."""
    row = await User.select(User.password).where(User.id == user.id).first()
    if row is None or not await _password_matches(current, row["password"]):
        raise FormError({"current": "That is not your current password."})
    check_new_password(password, confirm)
    await set_password(user.id, password)
    await audit.record(user.username, "password_changed", user.username)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_set_password_link(user_id: int, actor: str) -> str:
    """Make a one-time token (shown once on screen); earlier unused links of the user stop working."""
    user = await User.select(User.username).where(User.id == user_id).first()
    if user is None:
        raise FormError({"user": "No such user."})
    token = secrets.token_urlsafe(32)
    now = audit.utcnow()
    async with write_transaction(SetPasswordLink._meta.db):
        await SetPasswordLink.update({SetPasswordLink.used: True}).where(SetPasswordLink.user == user_id)
        await SetPasswordLink.insert(
            SetPasswordLink(
                user=user_id, token_sha256=_token_hash(token), created_at=now, expires_at=now + LINK_LIFETIME
            )
        )
    await audit.record(actor, "password_link_issued", user["username"])
    return token


async def link_owner(token: str) -> str | None:
    """The username a live link belongs to, or None when it is unknown, used or expired."""
    row = (
        await SetPasswordLink.select(SetPasswordLink.user.username.as_alias("username"))
        .where(
            (SetPasswordLink.token_sha256 == _token_hash(token))
            & (SetPasswordLink.used == False)  # noqa: E712 - Piccolo builds SQL from ==
            & (SetPasswordLink.expires_at > audit.utcnow())
        )
        .first()
    )
    return None if row is None else str(row["username"])


async def use_set_password_link(token: str, password: str, confirm: str) -> str:
    """Set the password through a link and spend the link; returns the username."""
    check_new_password(password, confirm)
    hashed = await asyncio.to_thread(User.hash_password, password)
    async with write_transaction(SetPasswordLink._meta.db):
        # Spend the link in the same statement that checks it, so two concurrent uses cannot both win.
        spent = (
            await SetPasswordLink.update({SetPasswordLink.used: True})
            .where(
                (SetPasswordLink.token_sha256 == _token_hash(token))
                & (SetPasswordLink.used == False)  # noqa: E712
                & (SetPasswordLink.expires_at > audit.utcnow())
            )
            .returning(SetPasswordLink.user)
        )
        if not spent:
            raise FormError({"token": "This link is unknown, used or expired. Ask an admin for a new one."})
        user_id = spent[0]["user"]
        await User.update({User.password: hashed}).where(User.id == user_id)
    row = await User.select(User.username).where(User.id == user_id).first()
    username = str(row["username"]) if row else ""
    await audit.record(username, "password_set_by_link", username)
    return username
