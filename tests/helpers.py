"""Small helpers the route tests share: run service code on the app's loop, sign in, post with CSRF."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from litestar.testing import TestClient

from wfm.app import CSRF_COOKIE
from wfm.forms import NewUser
from wfm.services import accounts

T = TypeVar("T")
PASSWORD = "correct horse battery"


def on_app_loop(client: TestClient[Any], work: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run service code on the app's own event loop (the PostgreSQL pool belongs to it)."""
    return client.blocking_portal.call(work, *args)


def make_user(client: TestClient[Any], username: str, role: str, teams: list[int] | None = None) -> int:
    form = NewUser(username=username, full_name=username.title(), role=role, teams=teams or [])  # type: ignore[arg-type]
    return on_app_loop(client, lambda: accounts.create_user(form, "test", password=PASSWORD))


def set_cookie(client: TestClient[Any], name: str, value: str) -> None:
    """Replace a cookie the app set (same domain), as an attacker replaying or planting one would."""
    client.cookies.delete(name)
    client.cookies.set(name, value, domain="testserver.local")


def csrf_token(client: TestClient[Any]) -> str:
    token = client.cookies.get(CSRF_COOKIE)
    if token is None:
        client.get("/login")
        token = client.cookies.get(CSRF_COOKIE)
    assert token, "the app sets a CSRF cookie on a GET"
    return token


def post_form(client: TestClient[Any], path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    body = {**(data or {}), "_csrf_token": csrf_token(client)}
    return client.post(path, data=body, follow_redirects=False, **kwargs)


def sign_in(client: TestClient[Any], username: str, password: str = PASSWORD) -> Any:
    response = post_form(client, "/login", {"username": username, "password": password})
    assert response.status_code == 302, response.text
    return response
