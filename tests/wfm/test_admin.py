"""Admin journeys through the pages: site settings, users and links, teams, channels, the audit log."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import TestClient

from tests.helpers import make_user, on_app_loop, post_form, sign_in
from wfm.services import audit, site

SITE_FORM = {
    "name": "North Star Care",
    "time_zone": "Europe/Helsinki",
    "holiday_country": "FI",
    "currency": "EUR",
    "interval_minutes": "30",
    "score_threshold": "6",
    "comment_threshold": "9",
}


def _admin(client: TestClient[Any]) -> None:
    make_user(client, "root", "admin")
    sign_in(client, "root")


def test_site_settings_change_is_saved_and_audited(client: TestClient[Any]) -> None:
    _admin(client)
    response = post_form(client, "/admin/site", SITE_FORM, headers={"HX-Request": "true"})
    assert response.status_code == 200
    # The htmx answer is the form fragment alone, not a whole page.
    assert response.text.lstrip().startswith("<form") and "Saved." in response.text
    saved = on_app_loop(client, site.get_site)
    assert (saved.name, saved.time_zone, saved.currency, saved.interval_minutes) == (
        "North Star Care",
        "Europe/Helsinki",
        "EUR",
        30,
    )
    assert "North Star Care" in client.get("/").text
    detail = on_app_loop(client, lambda: audit.page(1, "site_changed")).rows[0].detail
    assert "time_zone: 'Europe/Stockholm' -> 'Europe/Helsinki'" in detail


def test_invalid_site_settings_are_refused_with_the_field_named(client: TestClient[Any]) -> None:
    _admin(client)
    cases = {
        "time_zone": ("Mars/Olympus", "Unknown time zone"),
        "score_threshold": ("2", "Must be at least 3."),
        "interval_minutes": ("20", "20 is not one of the choices."),
        "currency": ("kronor", "Not in the expected format."),
    }
    for field, (value, message) in cases.items():
        response = post_form(client, "/admin/site", {**SITE_FORM, field: value}, headers={"HX-Request": "true"})
        assert response.status_code == 422, field
        assert f'id="e-{field}"' in response.text and message in response.text, field
    below = post_form(client, "/admin/site", {**SITE_FORM, "comment_threshold": "5"})
    assert below.status_code == 422 and "may not be below the score threshold" in below.text
    assert on_app_loop(client, site.get_site).name == "Contact centre"  # nothing saved


def test_admin_creates_a_user_who_sets_a_password_through_a_one_time_link(client: TestClient[Any]) -> None:
    _admin(client)
    post_form(client, "/admin/teams", {"name": "North"})
    team_id = client.get("/api/teams").json()[0]["id"]
    created = post_form(
        client, "/admin/users", {"username": "lena", "full_name": "Lena L", "role": "lead", "teams": str(team_id)}
    )
    assert created.status_code == 302
    user_path = created.headers["location"]
    issued = post_form(client, user_path + "/link")
    link = re.search(r"https?://[^<\s]+/set-password/[A-Za-z0-9_-]+", issued.text)
    assert link, issued.text
    path = "/set-password/" + link.group(0).rsplit("/", 1)[1]
    # The admin signs out; the new user opens the link.
    post_form(client, "/logout")
    assert "Set a password for lena" in client.get(path).text
    short = post_form(client, path, {"password": "short", "confirm": "short"})
    assert short.status_code == 422 and "at least 10" in short.text
    assert post_form(client, path, {"password": "lena-password-1", "confirm": "lena-password-1"}).status_code == 302
    # One time only.
    assert client.get(path).status_code == 404
    sign_in(client, "lena", "lena-password-1")
    me = client.get("/api/me").json()
    assert (me["role"], me["team_ids"]) == ("lead", [team_id])


def test_role_change_is_audited_and_self_demotion_refused(client: TestClient[Any]) -> None:
    _admin(client)
    target = make_user(client, "sam", "agent")
    assert post_form(client, f"/admin/users/{target}", {"role": "finance", "active": "true"}).status_code == 302
    row = on_app_loop(client, lambda: audit.page(1, "role_changed")).rows[0]
    assert (row.actor, row.target, row.detail) == ("root", "sam", "agent -> finance")
    me = client.get("/api/me").json()["id"]
    refused = post_form(client, f"/admin/users/{me}", {"role": "agent", "active": "true"})
    assert refused.status_code == 422 and "your own role" in refused.text


def test_duplicate_username_is_refused(client: TestClient[Any]) -> None:
    _admin(client)
    response = post_form(client, "/admin/users", {"username": "root", "role": "agent"})
    assert response.status_code == 422 and "is taken" in response.text


def test_user_changes_own_password(client: TestClient[Any]) -> None:
    make_user(client, "ida", "agent")
    sign_in(client, "ida")
    wrong = post_form(client, "/account/password", {"current": "nope", "password": "x" * 12, "confirm": "x" * 12})
    assert wrong.status_code == 422 and "not your current password" in wrong.text
    ok = post_form(
        client,
        "/account/password",
        {"current": "correct horse battery", "password": "new-password-22", "confirm": "new-password-22"},
    )
    assert ok.status_code == 200 and "Your password is changed" in ok.text
    post_form(client, "/logout")
    sign_in(client, "ida", "new-password-22")


def test_teams_create_rename_and_refuse_duplicates(client: TestClient[Any]) -> None:
    _admin(client)
    post_form(client, "/admin/teams", {"name": "North"})
    assert post_form(client, "/admin/teams", {"name": "North"}).status_code == 422
    team_id = client.get("/api/teams").json()[0]["id"]
    assert post_form(client, f"/admin/teams/{team_id}", {"name": "Nord"}).status_code == 302
    assert [t["name"] for t in client.get("/api/teams").json()] == ["Nord"]
    assert post_form(client, f"/admin/teams/{team_id}/delete").status_code == 302
    assert client.get("/api/teams").json() == []


CHANNEL = {
    "name": "chat",
    "kind": "chat",
    "staffing_model": "erlang_c",
    "service_level_target": "0.8",
    "answer_within_seconds": "60",
    "concurrency": "2",
    "response_window_hours": "24",
    "active": "true",
    "open_1": "08:00",
    "close_1": "20:00",
    "open_6": "10:00",
    "close_6": "24:00",
}


def test_channel_with_opening_hours(client: TestClient[Any]) -> None:
    _admin(client)
    assert post_form(client, "/admin/channels", CHANNEL).status_code == 302
    channel = client.get("/api/channels").json()[0]
    hours = {d["weekday"]: (d["opens_minute"], d["closes_minute"]) for d in channel["hours"]}
    assert hours[1] == (480, 1200) and hours[6] == (600, 1440) and hours[2] == (None, None)
    assert (channel["concurrency"], channel["kind"]) == (2.0, "chat")
    page = client.get("/admin/channels").text
    assert "Mon 08:00–20:00" in page and "Sat 10:00–24:00" in page


def test_channel_errors_name_the_field(client: TestClient[Any]) -> None:
    _admin(client)
    bad_hours = post_form(client, "/admin/channels", {**CHANNEL, "close_1": "07:00"})
    assert bad_hours.status_code == 422 and "Closing time must be after opening time" in bad_hours.text
    bad_time = post_form(client, "/admin/channels", {**CHANNEL, "open_2": "8am", "close_2": "17:00"})
    assert bad_time.status_code == 422 and "Use HH:MM" in bad_time.text
    bad_target = post_form(client, "/admin/channels", {**CHANNEL, "service_level_target": "80"})
    assert bad_target.status_code == 422 and 'id="e-service_level_target"' in bad_target.text
    assert client.get("/api/channels").json() == []


def test_audit_log_lists_sign_ins_newest_first(client: TestClient[Any]) -> None:
    _admin(client)
    post_form(client, "/login", {"username": "root", "password": "wrong password"})
    page = client.get("/admin/audit").text
    assert page.index("<td>sign_in_failed</td>") < page.index("<td>sign_in</td>")
    filtered = client.get("/admin/audit?action=sign_in_failed").text
    assert "<td>sign_in_failed</td>" in filtered and "<td>sign_in</td>" not in filtered


def test_forms_carry_a_real_csrf_field_that_signs_in(client: TestClient[Any]) -> None:
    """Sign in the way a browser does: with the hidden field from the page, not a token from the cookie."""
    make_user(client, "root", "admin")
    page = client.get("/login").text
    token = re.search(r'<input type="hidden" name="_csrf_token" value="([^"]+)"', page)
    assert token, "the login form must carry the CSRF token as a hidden input, not as escaped text"
    response = client.post(
        "/login",
        data={"username": "root", "password": "correct horse battery", "_csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 302
    assert '<input type="hidden" name="_csrf_token"' in client.get("/admin/site").text
