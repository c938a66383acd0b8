"""Pages and API details: the job progress fragment, the audit chart, the OpenAPI schema, quiet logs."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.helpers import make_user, on_app_loop, post_form, sign_in
from wfm import jobs


def _run_inline(job_id: int) -> Any:
    """Run a job on the app's loop, as a worker would (claim, then execute)."""

    async def work() -> str:
        assert await jobs.claim(job_id)
        return await jobs.execute(job_id, heartbeat_seconds=5)

    return work


def test_audit_rollup_job_feeds_the_chart(client: TestClient[Any]) -> None:
    make_user(client, "root", "admin")
    sign_in(client, "root")
    post_form(client, "/login", {"username": "root", "password": "wrong password"})
    assert "No summary yet" in client.get("/admin/audit").text
    started = post_form(client, "/admin/audit/rollup")
    assert started.status_code == 302 and started.headers["location"].startswith("/jobs/")
    job_id = int(started.headers["location"].rsplit("/", 1)[1])
    waiting = client.get(f"/jobs/{job_id}/progress", headers={"HX-Request": "true"})
    assert waiting.status_code == 200 and 'hx-trigger="every 1s"' in waiting.text
    assert on_app_loop(client, _run_inline(job_id)) == "succeeded"
    done = client.get(f"/jobs/{job_id}/progress", headers={"HX-Request": "true"})
    # 286 makes htmx stop polling; the fragment itself no longer asks to be polled.
    assert done.status_code == 286 and "succeeded" in done.text and "hx-trigger" not in done.text
    page = client.get("/admin/audit").text
    assert "<svg" in page and "<script" not in page.split("<svg", 1)[1].split("</svg>", 1)[0]
    # The chart's numbers as a table: today's row has one sign-in and one failed sign-in.
    assert "<th>sign_in</th>" in page and "<th>sign_in_failed</th>" in page


def test_a_failing_job_is_marked_failed_with_its_message(client: TestClient[Any]) -> None:
    job_id = on_app_loop(client, lambda: jobs.create("audit_rollup", {"days": 0}, "root"))
    assert on_app_loop(client, _run_inline(job_id)) == "failed"
    job = on_app_loop(client, lambda: jobs.get(job_id))
    assert job is not None and job.status == "failed" and "days must be 1..3660" in job.message


def test_a_lead_cannot_watch_someone_elses_job(client: TestClient[Any]) -> None:
    make_user(client, "lena", "lead")
    job_id = on_app_loop(client, lambda: jobs.create("audit_rollup", {"days": 1}, "root"))
    sign_in(client, "lena")
    assert client.get(f"/jobs/{job_id}").status_code == 404


def test_openapi_schema_is_served_locally_and_lists_the_api(client: TestClient[Any]) -> None:
    make_user(client, "ida", "agent")
    sign_in(client, "ida")
    schema = client.get("/api/schema/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/me", "/api/site", "/api/teams", "/api/jobs"} <= set(paths)
    assert not any(p.startswith(("/admin", "/login")) for p in paths), "pages stay out of the API schema"
    assert "cdn" not in schema.text.lower() and "unpkg" not in schema.text.lower()


def test_htmx_and_full_page_answers_differ(client: TestClient[Any]) -> None:
    make_user(client, "root", "admin")
    sign_in(client, "root")
    full = client.get("/admin/site")
    assert "<html" in full.text and 'id="site-form"' in full.text
    assert "HX-Request" in full.headers["vary"]


def test_passwords_never_reach_the_logs(client: TestClient[Any], caplog: pytest.LogCaptureFixture) -> None:
    make_user(client, "root", "admin")
    canary = "canary-Password-4711"
    with caplog.at_level(logging.DEBUG):
        post_form(client, "/login", {"username": "root", "password": canary})
        post_form(client, "/account/password", {"current": canary, "password": canary, "confirm": canary})
    assert canary not in caplog.text


def test_security_headers(client: TestClient[Any]) -> None:
    response = client.get("/login")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
