"""Who may do what: roles, the deny-by-default guard, sessions that rotate at login and expire when idle."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler
    from litestar.stores.base import Store
    from litestar.types import Message, ScopeSession

ADMIN = "admin"
LEAD = "lead"
AGENT = "agent"
FINANCE = "finance"
ALL_ROLES = frozenset({ADMIN, LEAD, AGENT, FINANCE})
# Routes open to everyone (sign-in, set-password links, static files) declare `public=True`
# and `roles=PUBLIC`; every other route names the roles that may use it.
PUBLIC = frozenset({"public"})

# Session keys.
USER_ID = "user_id"
LAST_SEEN = "last_seen"
SIGNED_IN_AT = "signed_in_at"
_ROTATE = "_rotate"


@dataclass(frozen=True)
class CurrentUser:
    """The signed-in person, as the guard and the pages see them."""

    id: int
    username: str
    full_name: str
    role: str
    team_ids: frozenset[int]
    agent_id: str  # '' when the user is not on the roster

    @property
    def display_name(self) -> str:
        return self.full_name or self.username

    @property
    def sees_pay_rates(self) -> bool:
        return self.role in {ADMIN, FINANCE}

    def manages_team(self, team_id: int) -> bool:
        """Admins manage every team (plan it, read its surveys); leads their own; nobody else any."""
        return self.role == ADMIN or (self.role == LEAD and team_id in self.team_ids)

    def can_read_team(self, team_id: int) -> bool:
        """Admins and finance read every team; leads and agents only their own."""
        return self.role in {ADMIN, FINANCE} or team_id in self.team_ids


def roles(*names: str) -> dict[str, Any]:
    """Route options declaring who may use a route: ``@get(..., opt=roles(ADMIN, LEAD))``."""
    unknown = set(names) - ALL_ROLES
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return {"roles": frozenset(names)}


def public() -> dict[str, Any]:
    """Route options for a route anyone may use, signed in or not."""
    return {"roles": PUBLIC, "public": True}


def role_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Deny by default: a route without declared roles is refused, whoever asks."""
    allowed = handler.opt.get("roles")
    if allowed is None:
        raise PermissionDeniedException("This route declares no roles, so nobody may use it.")
    if allowed == PUBLIC:
        return
    if connection.scope.get("method") == "OPTIONS":
        # No CORS here: nothing but public files answers OPTIONS.
        raise PermissionDeniedException("OPTIONS is not served.")
    user = connection.scope.get("user")
    if not isinstance(user, CurrentUser):
        raise NotAuthorizedException("Sign in first.")
    if user.role not in allowed:
        raise PermissionDeniedException("Your role may not use this page.")


def start_session(session: dict[str, Any], user_id: int) -> None:
    """Fill a fresh session for ``user_id`` and ask the backend for a new session id (no fixation)."""
    now = time.time()
    session.clear()
    session.update({USER_ID: user_id, LAST_SEEN: now, SIGNED_IN_AT: now, _ROTATE: True})


def session_is_live(session: dict[str, Any], idle_seconds: float, max_age_seconds: float) -> bool:
    """True when the session was used within ``idle_seconds`` and is younger than ``max_age_seconds``."""
    now = time.time()
    last_seen = float(session.get(LAST_SEEN, 0))
    signed_in_at = float(session.get(SIGNED_IN_AT, 0))
    return now - last_seen <= idle_seconds and now - signed_in_at <= max_age_seconds


async def over_rate_limit(store: Store, key: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt under ``key`` and say whether it is over ``limit`` in the current window.

    A fixed window per key, kept in the shared store (Redis with several workers). The count is
    read and written separately, so concurrent attempts may undercount by a few; the limit is a
    brake on guessing, not an exact quota.
    """
    window = int(time.time() // window_seconds)
    bucket = f"{key}:{window}"
    raw = await store.get(bucket)
    count = int(raw or 0) + 1
    await store.set(bucket, str(count), expires_in=window_seconds)
    return count > limit


class RotatingSessionBackend(ServerSideSessionBackend):
    """Server-side sessions whose id changes at sign-in.

    Litestar's backend keeps the id from the request's cookie, so a session id planted before
    sign-in would stay valid after it (session fixation, ASVS 7.2.4). When the session carries the
    rotate mark, the old entry is deleted from the store and the data is saved under a new id.
    """

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        rotate = isinstance(scope_session, dict) and scope_session.pop(_ROTATE, False)
        if not rotate:
            await super().store_in_message(scope_session, message, connection)
            return
        store = self.config.get_store_from_app(connection.scope["app"])
        if old_id := connection.cookies.get(self.config.key):
            await self.delete(old_id, store=store)
        new_id = self.generate_session_id()
        await self.set(new_id, self.serialize_data(scope_session, connection.scope), store=store)
        cookie = Cookie(
            key=self.config.key,
            value=new_id,
            path=self.config.path,
            domain=self.config.domain,
            secure=self.config.secure,
            httponly=self.config.httponly,
            samesite=self.config.samesite,
            max_age=self.config.max_age,
        )
        MutableScopeHeaders.from_message(message).add("Set-Cookie", cookie.to_header(header=""))


class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend
