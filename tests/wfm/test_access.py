"""Who may use what: every route against a role table (deny by default), and data-level checks.

The table below is the policy. A route of the app missing from it, or a row with no route, fails
`test_every_route_is_in_the_policy_table`, so a new route cannot ship without a decision.
"""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.helpers import csrf_token, make_user, on_app_loop, sign_in
from wfm import jobs
from wfm.app import create_app
from wfm.settings import Settings
from wfm.tables import Agent, Team, User

EVERYONE = {"admin", "lead", "agent", "finance"}
STAFF = {"admin", "lead", "finance"}
ADMIN = {"admin"}
PUBLIC = {"public"}

POLICY: dict[tuple[str, str], set[str]] = {
    ("GET", "/"): EVERYONE,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): EVERYONE,
    ("GET", "/account/password"): EVERYONE,
    ("POST", "/account/password"): EVERYONE,
    ("GET", "/set-password/{token:str}"): PUBLIC,
    ("POST", "/set-password/{token:str}"): PUBLIC,
    ("GET", "/admin/site"): ADMIN,
    ("POST", "/admin/site"): ADMIN,
    ("GET", "/admin/users"): ADMIN,
    ("POST", "/admin/users"): ADMIN,
    ("GET", "/admin/users/{user_id:int}"): ADMIN,
    ("POST", "/admin/users/{user_id:int}"): ADMIN,
    ("POST", "/admin/users/{user_id:int}/link"): ADMIN,
    ("GET", "/admin/teams"): ADMIN,
    ("POST", "/admin/teams"): ADMIN,
    ("POST", "/admin/teams/{team_id:int}"): ADMIN,
    ("POST", "/admin/teams/{team_id:int}/delete"): ADMIN,
    ("GET", "/admin/channels"): ADMIN,
    ("POST", "/admin/channels"): ADMIN,
    ("GET", "/admin/channels/new"): ADMIN,
    ("GET", "/admin/channels/{channel_id:int}"): ADMIN,
    ("POST", "/admin/channels/{channel_id:int}"): ADMIN,
    ("GET", "/admin/audit"): ADMIN,
    ("POST", "/admin/audit/rollup"): ADMIN,
    ("GET", "/teams"): STAFF,
    ("GET", "/teams/{team_id:int}"): STAFF,
    ("GET", "/agents/{agent_id:str}"): EVERYONE,
    ("GET", "/jobs/{job_id:int}"): STAFF,
    ("GET", "/jobs/{job_id:int}/progress"): STAFF,
    ("GET", "/forecast"): STAFF,
    ("POST", "/forecast/run"): {"admin", "lead"},
    ("POST", "/forecast/adjustments"): {"admin", "lead"},
    ("POST", "/forecast/adjustments/{adjustment_id:int}/delete"): {"admin", "lead"},
    ("POST", "/forecast/events"): {"admin", "lead"},
    ("POST", "/forecast/events/{event_id:int}/delete"): {"admin", "lead"},
    ("GET", "/requirements"): STAFF,
    ("POST", "/requirements/compute"): {"admin", "lead"},
    ("GET", "/requirements/cell"): STAFF,
    ("GET", "/requirements/cell.csv"): STAFF,
    ("GET", "/requirements/export.csv"): STAFF,
    ("POST", "/requirements/what-if"): STAFF,
    ("GET", "/api/requirements/{channel_id:int}"): STAFF,
    ("POST", "/api/requirements"): {"admin", "lead"},
    ("POST", "/api/schedules"): {"admin", "lead"},
    ("GET", "/api/schedules"): STAFF,
    ("GET", "/api/schedules/{schedule_id:int}"): STAFF,
    ("GET", "/schedules"): STAFF,
    ("GET", "/my/schedule"): EVERYONE,
    ("GET", "/my/schedule.ics"): EVERYONE,
    ("POST", "/my/calendar-link"): EVERYONE,
    ("GET", "/calendar/{token:str}"): PUBLIC,
    ("GET", "/my/time-off"): EVERYONE,
    ("POST", "/my/time-off"): EVERYONE,
    ("POST", "/my/time-off/{request_id:int}/cancel"): EVERYONE,
    ("GET", "/my/availability"): EVERYONE,
    ("POST", "/my/availability"): EVERYONE,
    ("POST", "/my/availability/{window_id:int}/delete"): EVERYONE,
    ("GET", "/time-off"): {"admin", "lead"},
    ("POST", "/time-off/{request_id:int}/decide"): {"admin", "lead"},
    ("POST", "/time-off/limit"): {"admin", "lead"},
    ("POST", "/time-off/swaps/{swap_id:int}/decide"): {"admin", "lead"},
    ("POST", "/my/swaps"): EVERYONE,
    ("POST", "/my/swaps/{swap_id:int}/answer"): EVERYONE,
    ("POST", "/my/swaps/{swap_id:int}/cancel"): EVERYONE,
    ("GET", "/schedules/{schedule_id:int}"): STAFF,
    ("GET", "/schedules/{schedule_id:int}/export.csv"): STAFF,
    ("GET", "/schedules/{schedule_id:int}/print"): STAFF,
    ("POST", "/schedules/generate"): {"admin", "lead"},
    ("POST", "/schedules/{schedule_id:int}/publish"): {"admin", "lead"},
    ("POST", "/schedules/{schedule_id:int}/edit"): {"admin", "lead"},
    ("POST", "/schedules/copy"): {"admin", "lead"},
    ("GET", "/api/forecasts/{channel_id:int}"): STAFF,
    ("POST", "/api/forecasts"): {"admin", "lead"},
    ("GET", "/history"): STAFF,
    ("GET", "/history/export.csv"): STAFF,
    ("GET", "/imports"): STAFF,
    ("POST", "/imports"): STAFF,
    ("GET", "/imports/uploads/{upload_id:int}"): STAFF,
    ("POST", "/imports/batches/{batch_id:int}/rollback"): STAFF,
    ("POST", "/api/imports/{kind:str}"): STAFF,
    ("GET", "/api/imports"): STAFF,
    ("POST", "/api/imports/batches/{batch_id:int}/rollback"): STAFF,
    ("GET", "/api/me"): EVERYONE,
    ("GET", "/api/site"): EVERYONE,
    ("PUT", "/api/site"): ADMIN,
    ("GET", "/api/teams"): EVERYONE,
    ("GET", "/api/teams/{team_id:int}/agents"): STAFF,
    ("GET", "/api/agents/{agent_id:str}"): EVERYONE,
    ("GET", "/api/channels"): STAFF,
    ("GET", "/api/users"): ADMIN,
    ("POST", "/api/jobs"): ADMIN,
    ("GET", "/api/jobs/{job_id:int}"): ADMIN,
    ("GET", "/api/schema"): EVERYONE,
    ("GET", "/api/schema/openapi.json"): EVERYONE,
    ("GET", "/api/schema/{path:str}"): EVERYONE,
    ("GET", "/finance"): {"admin", "finance"},
    ("GET", "/triad"): STAFF,
    ("POST", "/api/triad"): STAFF,
    ("GET", "/finance/export/{kind:str}"): {"admin", "finance"},
    ("GET", "/pulse"): {"admin", "lead"},
    ("POST", "/pulse"): {"admin", "lead"},
    ("GET", "/pulse/{survey_id:int}"): {"admin", "lead"},
    ("GET", "/pulse/{survey_id:int}/export.csv"): {"admin", "lead"},
    ("POST", "/pulse/rounds/{round_id:int}/close"): {"admin", "lead"},
    ("GET", "/pulse/answer/{round_id:int}"): EVERYONE,
    ("POST", "/pulse/answer/{round_id:int}"): EVERYONE,
    ("GET", "/static/{file_path:path}"): PUBLIC,
    ("HEAD", "/static/{file_path:path}"): PUBLIC,
}


def app_routes(app: Litestar) -> dict[tuple[str, str], set[str] | None]:
    """Every (method, path) the app serves and the roles its handler declares (None: none declared).

    Litestar adds an OPTIONS handler per path by itself; the app uses no OPTIONS (no CORS), the guard
    refuses it on every non-public route (`test_options_requests_are_refused`), so it is left out here.
    """
    found: dict[tuple[str, str], set[str] | None] = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            for method in getattr(handler, "http_methods", ()):
                if method == "OPTIONS":
                    continue
                roles = handler.opt.get("roles")
                found[(method, route.path)] = set(roles) if roles is not None else None
    return found


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


def test_every_route_is_in_the_policy_table(app: Litestar) -> None:
    routes = app_routes(app)
    assert sorted(set(routes) - set(POLICY)) == [], "routes without a policy row"
    assert sorted(set(POLICY) - set(routes)) == [], "policy rows without a route"
    undeclared = sorted(key for key, roles in routes.items() if roles is None)
    assert undeclared == [], "routes that declare no roles"
    for key, roles in routes.items():
        assert roles == POLICY[key], f"{key}: handler says {roles}, policy says {POLICY[key]}"


def _seed(client: TestClient[Any]) -> dict[str, str]:
    """Users of every role, a team with a linked agent, a spare team and user, a channel and a job."""

    async def work() -> dict[str, str]:
        team = await Team.insert(Team(name="North")).returning(Team.id)
        spare = await Team.insert(Team(name="Spare")).returning(Team.id)
        agent_user = await User.select(User.id).where(User.username == "agent").first()
        assert agent_user is not None
        await Agent.insert(
            Agent(agent_id="A001", name="Aron", team=team[0]["id"], user=agent_user["id"], hourly_cost=300.0)
        )
        job_id = await jobs.create("audit_rollup", {"days": 1}, "admin")
        return {"team_id": str(spare[0]["id"]), "job_id": str(job_id)}

    for role in sorted(EVERYONE):
        make_user(client, role, role)
    spare_user = make_user(client, "spare", "agent")
    ids = on_app_loop(client, work)
    channel_id = 1
    return {
        **ids,
        "user_id": str(spare_user),
        "channel_id": str(channel_id),
        "agent_id": "A001",
        "token": "not-a-real-token",
        "path": "openapi.yaml",
        "file_path": "css/triad.css",
        # Route-level checks only: no such batch, upload or kind, so allowed roles get 404.
        "batch_id": "999",
        "upload_id": "999",
        "kind": "no-such-kind",
        "adjustment_id": "999",
        "event_id": "999",
        "schedule_id": "999",
        "request_id": "999",
        "window_id": "999",
        "swap_id": "999",
        "survey_id": "999",
        "round_id": "999",
    }


def _concrete(path: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        for kind in ("int", "str", "path"):
            path = path.replace("{" + f"{name}:{kind}" + "}", value)
    return path


def _request(client: TestClient[Any], method: str, path: str) -> int:
    headers = {"x-csrftoken": csrf_token(client)}
    data = {"_csrf_token": csrf_token(client)}
    if method in ("GET", "HEAD", "OPTIONS"):
        return client.request(method, path, follow_redirects=False).status_code
    if method == "PUT":
        return client.put(path, json={}, headers=headers).status_code
    if path.startswith("/api/"):
        return client.post(path, json={}, headers=headers, follow_redirects=False).status_code
    return client.post(path, data=data, follow_redirects=False).status_code


@pytest.mark.parametrize("role", ["anonymous", "admin", "lead", "agent", "finance"])
def test_role_matrix(settings: Settings, role: str) -> None:
    """Each role gets through exactly the routes the policy gives it; everyone else is refused."""
    with TestClient(create_app(settings)) as client:
        ids = _seed(client)
        failures = []
        # Sign-out last: it ends the session the other requests need.
        for (method, path), allowed in sorted(POLICY.items(), key=lambda kv: kv[0][1] == "/logout"):
            if role != "anonymous" and client.get("/api/me").status_code != 200:
                sign_in(client, role)
            status = _request(client, method, _concrete(path, ids))
            may = "public" in allowed or role in allowed
            if may:
                ok = status not in (401, 403)
            elif role == "anonymous":
                ok = status == 401 if path.startswith("/api/") else status == 302
            else:
                ok = status == 403
            if not ok:
                failures.append(f"{role} {method} {path}: {status} ({'allowed' if may else 'denied'})")
        assert failures == []


def test_options_requests_are_refused(client: TestClient[Any]) -> None:
    make_user(client, "admin", "admin")
    sign_in(client, "admin")
    for path in ("/admin/site", "/", "/api/me", "/api/schema/openapi.json"):
        assert client.options(path).status_code in (401, 403), path


def _two_teams(client: TestClient[Any]) -> tuple[int, int]:
    """Teams North (lead "lead", agent A001 = user "agent") and South (agent A002 = user "agent2")."""

    async def work() -> tuple[int, int]:
        north = (await Team.insert(Team(name="North")).returning(Team.id))[0]["id"]
        south = (await Team.insert(Team(name="South")).returning(Team.id))[0]["id"]
        for agent_id, username, team, cost in (("A001", "agent", north, 301.5), ("A002", "agent2", south, 287.25)):
            user = await User.select(User.id).where(User.username == username).first()
            assert user is not None
            await Agent.insert(
                Agent(agent_id=agent_id, name=username.title(), team=team, user=user["id"], hourly_cost=cost)
            )
        return north, south

    make_user(client, "admin", "admin")
    make_user(client, "finance", "finance")
    make_user(client, "agent", "agent")
    make_user(client, "agent2", "agent")
    north, south = on_app_loop(client, work)
    make_user(client, "lead", "lead", teams=[north])
    return north, south


def test_a_lead_reads_only_their_own_teams(client: TestClient[Any]) -> None:
    north, south = _two_teams(client)
    sign_in(client, "lead")
    assert client.get(f"/teams/{north}").status_code == 200
    other = client.get(f"/teams/{south}")
    assert other.status_code == 404 and "A002" not in other.text
    assert client.get(f"/api/teams/{south}/agents").status_code == 404
    assert [t["name"] for t in client.get("/api/teams").json()] == ["North"]
    assert client.get("/agents/A002").status_code == 404
    assert client.get("/api/agents/A002").status_code == 404
    assert client.get("/agents/A001").status_code == 200


def test_an_agent_reads_only_themselves(client: TestClient[Any]) -> None:
    _two_teams(client)
    sign_in(client, "agent")
    assert client.get("/agents/A001").status_code == 200
    other = client.get("/agents/A002")
    assert other.status_code == 404 and "Agent2" not in other.text
    assert client.get("/api/agents/A002").status_code == 404
    assert client.get("/api/agents/A001").json()["agent_id"] == "A001"


@pytest.mark.parametrize(("role", "sees_pay"), [("admin", True), ("finance", True), ("lead", False), ("agent", False)])
def test_pay_rates_are_for_finance_and_admin_only(client: TestClient[Any], role: str, sees_pay: bool) -> None:
    north, _ = _two_teams(client)
    sign_in(client, role)
    profile = client.get("/api/agents/A001").json()
    assert (profile["hourly_cost"] == 301.5) is sees_pay
    assert (profile["hourly_cost"] is None) is not sees_pay
    page = client.get("/agents/A001").text
    assert ("301.50" in page) is sees_pay
    if role != "agent":
        roster = client.get(f"/teams/{north}").text
        assert ("301.50" in roster) is sees_pay
        api_roster = client.get(f"/api/teams/{north}/agents").json()
        assert [a["hourly_cost"] for a in api_roster] == ([301.5] if sees_pay else [None])
