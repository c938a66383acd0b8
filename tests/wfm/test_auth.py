"""Sign-in, sessions (rotation, logout, idle expiry), CSRF and the login rate limit, on both engines."""

from __future__ import annotations

import time
from typing import Any

from litestar.testing import TestClient

from tests.helpers import PASSWORD, csrf_token, make_user, on_app_loop, post_form, set_cookie, sign_in
from wfm.app import SESSION_COOKIE, create_app
from wfm.services import audit
from wfm.settings import Settings


def test_sign_in_opens_the_home_page_and_is_audited(client: TestClient[Any]) -> None:
    make_user(client, "astrid", "admin")
    assert client.get("/", follow_redirects=False).status_code == 302
    response = sign_in(client, "astrid")
    assert response.headers["location"] == "/"
    home = client.get("/")
    assert home.status_code == 200 and "Hello, Astrid" in home.text
    events = on_app_loop(client, audit.page)
    assert [r.action for r in events.rows][:1] == ["sign_in"]


def test_wrong_password_is_refused_with_a_message(client: TestClient[Any]) -> None:
    make_user(client, "astrid", "admin")
    response = post_form(client, "/login", {"username": "astrid", "password": "not the password"})
    assert response.status_code == 422
    assert "Wrong username or password" in response.text
    assert client.get("/", follow_redirects=False).status_code == 302
    assert on_app_loop(client, audit.page).rows[0].action == "sign_in_failed"


def test_session_id_changes_at_sign_in(client: TestClient[Any]) -> None:
    """ASVS 7.2.4: a session id planted before sign-in must not survive it (session fixation)."""
    make_user(client, "astrid", "admin")
    set_cookie(client, SESSION_COOKIE, "a" * 64)
    sign_in(client, "astrid")
    new_id = client.cookies.get(SESSION_COOKIE)
    assert new_id and new_id != "a" * 64
    assert len(new_id) >= 32  # 128 bits or more, hex encoded


def test_old_session_id_is_dead_after_a_second_sign_in(client: TestClient[Any]) -> None:
    make_user(client, "astrid", "admin")
    sign_in(client, "astrid")
    first = client.cookies.get(SESSION_COOKIE)
    sign_in(client, "astrid")
    assert client.cookies.get(SESSION_COOKIE) != first
    set_cookie(client, SESSION_COOKIE, str(first))
    assert client.get("/", follow_redirects=False).status_code == 302


def test_logout_kills_the_session_on_the_server(client: TestClient[Any]) -> None:
    make_user(client, "astrid", "admin")
    sign_in(client, "astrid")
    stolen = client.cookies.get(SESSION_COOKIE)
    assert post_form(client, "/logout").status_code == 302
    set_cookie(client, SESSION_COOKIE, str(stolen))  # replay the old cookie
    assert client.get("/", follow_redirects=False).status_code == 302
    assert client.get("/api/me").status_code == 401


def test_idle_session_expires(settings: Settings) -> None:
    idle = settings.with_(session_idle_minutes=0)  # any pause is too long
    with TestClient(create_app(idle)) as test_client:
        make_user(test_client, "astrid", "admin")
        sign_in(test_client, "astrid")
        time.sleep(1.1)
        assert test_client.get("/api/me").status_code == 401


def test_active_session_stays_signed_in(client: TestClient[Any]) -> None:
    make_user(client, "astrid", "admin")
    sign_in(client, "astrid")
    for _ in range(3):
        assert client.get("/api/me").json()["username"] == "astrid"


def test_unsafe_methods_need_the_csrf_token(client: TestClient[Any]) -> None:
    make_user(client, "astrid", "admin")
    sign_in(client, "astrid")
    csrf_token(client)
    without = client.post("/admin/teams", data={"name": "Night"}, follow_redirects=False)
    assert without.status_code == 403
    forged = client.post("/admin/teams", data={"name": "Night", "_csrf_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    assert client.get("/api/teams").json() == []
    assert post_form(client, "/admin/teams", {"name": "Night"}).status_code == 302
    assert [t["name"] for t in client.get("/api/teams").json()] == ["Night"]


def test_api_writes_need_the_csrf_header(client: TestClient[Any]) -> None:
    make_user(client, "astrid", "admin")
    sign_in(client, "astrid")
    body = client.get("/api/site").json() | {"name": "Renamed"}
    assert client.put("/api/site", json=body).status_code == 403
    ok = client.put("/api/site", json=body, headers={"x-csrftoken": csrf_token(client)})
    assert ok.status_code == 200 and ok.json()["name"] == "Renamed"


def test_login_is_rate_limited_per_client(settings: Settings) -> None:
    limited = settings.with_(login_attempts_per_minute=3)
    with TestClient(create_app(limited)) as test_client:
        make_user(test_client, "astrid", "admin")
        statuses = [
            post_form(test_client, "/login", {"username": "astrid", "password": "guess"}).status_code for _ in range(3)
        ]
        assert statuses == [422, 422, 422]
        # The fourth attempt in the minute is refused before the password is even checked.
        blocked = post_form(test_client, "/login", {"username": "astrid", "password": PASSWORD})
        assert blocked.status_code == 429
        assert "Too many sign-in attempts" in blocked.text


def test_inactive_user_cannot_sign_in(client: TestClient[Any]) -> None:
    from wfm.tables import User

    make_user(client, "gone", "agent")
    on_app_loop(client, lambda: User.update({User.active: False}).where(User.username == "gone"))
    response = post_form(client, "/login", {"username": "gone", "password": PASSWORD})
    assert response.status_code == 422


def test_next_parameter_cannot_redirect_off_site(client: TestClient[Any]) -> None:
    make_user(client, "astrid", "admin")
    response = post_form(client, "/login", {"username": "astrid", "password": PASSWORD, "next": "//evil.example/x"})
    assert response.headers["location"] == "/"
