"""Two web processes behind one site: sessions and the login rate limit live in Redis, so a user
signed in on one process is signed in on the other, and failed sign-ins count across both.

Two real uvicorn servers on their own ports share one fresh PostgreSQL database and one Redis
database (number 5, flushed first). Without PostgreSQL or Redis the tests skip, except under CI.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from tests.conftest import ROOT, SECRET, create_pg_database, drop_pg_database, pg_unavailable_reason, run_wfm
from wfm.app import CSRF_COOKIE, SESSION_COOKIE

pytestmark = pytest.mark.slow

HOST = "127.0.0.1"
REDIS_URL = "redis://127.0.0.1:6379/5"
USERNAME = "scaleadmin"
PASSWORD = "scale-out-password-1"
ATTEMPTS_PER_MINUTE = 3


def _require_services() -> None:
    reasons = []
    if (pg := pg_unavailable_reason()) is not None:
        reasons.append(pg)
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        reasons.append(f"Redis is not reachable at {REDIS_URL} ({error})")
    if not reasons:
        return
    if os.environ.get("CI"):
        pytest.fail("CI requires PostgreSQL and Redis: " + "; ".join(reasons))
    pytest.skip("; ".join(reasons))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"server {self.name} exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/login", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"server {self.name} did not answer within {timeout} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@dataclass
class Site:
    a: Server
    b: Server
    redis: redis.Redis


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A fresh PostgreSQL database with one admin, and two uvicorn servers (A and B) sharing Redis."""
    _require_services()
    data_dir = tmp_path_factory.mktemp("scale-out")
    store = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    store.flushdb()
    database_url = create_pg_database()
    servers: list[Server] = []
    try:
        env = {
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET,
            "TRIAD_DATA_DIR": str(data_dir),
            "REDIS_URL": REDIS_URL,
            "PASSWORD_ITERATIONS": "1000",
            "EMBEDDED_WORKER": "0",
            "LOGIN_ATTEMPTS_PER_MINUTE": str(ATTEMPTS_PER_MINUTE),
        }
        migrated = run_wfm("migrate", env=env)
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        created = run_wfm("create-admin", "--username", USERNAME, "--password", PASSWORD, env=env)
        assert created.returncode == 0, created.stdout + created.stderr
        for name in ("a", "b"):
            port = _free_port()
            # A data folder each, as on two hosts: nothing can be shared through local files.
            own_dir = data_dir / name
            own_dir.mkdir()
            log = data_dir / f"server-{name}.log"
            with log.open("wb") as output:
                command = [sys.executable, "-m", "uvicorn", "wfm.app:create_app", "--factory", "--host", HOST]
                process = subprocess.Popen(
                    [*command, "--port", str(port)],
                    env={**os.environ, **env, "TRIAD_DATA_DIR": str(own_dir)},
                    cwd=ROOT,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            servers.append(Server(name, f"http://{HOST}:{port}", process, log))
        for server in servers:
            server.wait_ready()
        assert servers[0].process.pid != servers[1].process.pid
        yield Site(servers[0], servers[1], store)
    finally:
        for server in servers:
            server.stop()
        drop_pg_database(database_url)
        store.flushdb()


def _csrf(client: httpx.Client) -> str:
    response = client.get("/login")
    assert response.status_code == 200
    token = client.cookies.get(CSRF_COOKIE)
    assert token, "GET /login sets the CSRF cookie"
    return token


def _sign_in(client: httpx.Client, token: str, password: str) -> httpx.Response:
    data = {"username": USERNAME, "password": password, "_csrf_token": token}
    return client.post("/login", data=data, follow_redirects=False)


def test_a_session_started_on_one_server_works_on_the_other(site: Site) -> None:
    with httpx.Client(base_url=site.a.url, timeout=10) as on_a:
        signed_in = _sign_in(on_a, _csrf(on_a), PASSWORD)
        assert signed_in.status_code == 302, signed_in.text
        session_id = on_a.cookies.get(SESSION_COOKIE)
        assert session_id
        assert on_a.get("/api/me").json()["username"] == USERNAME
        cookies = {CSRF_COOKIE: str(on_a.cookies.get(CSRF_COOKIE)), SESSION_COOKIE: session_id}

    # The session lives in the shared Redis database, not in server A's memory or files.
    assert any(session_id in str(key) for key in site.redis.keys("*")), site.redis.keys("*")
    with httpx.Client(base_url=site.b.url, timeout=10) as anonymous:
        assert anonymous.get("/api/me").status_code == 401  # B does not let anyone in
    with httpx.Client(base_url=site.b.url, cookies=cookies, timeout=10) as on_b:
        me = on_b.get("/api/me")
        assert me.status_code == 200 and me.json()["username"] == USERNAME
        # A form post on B with the CSRF cookie A issued (both share SECRET_KEY): signing out works there.
        signed_out = on_b.post("/logout", data={"_csrf_token": cookies[CSRF_COOKIE]}, follow_redirects=False)
        assert signed_out.status_code == 302
    # Signed out on B means signed out on A too: the one session in Redis is gone.
    with httpx.Client(base_url=site.a.url, cookies=cookies, timeout=10) as back_on_a:
        assert back_on_a.get("/api/me").status_code == 401


def test_failed_sign_ins_count_across_both_servers(site: Site) -> None:
    site.redis.flushdb()  # forget the previous test's sign-in
    # The limit counts per clock minute: do not let the four attempts straddle a minute boundary.
    if (second := time.time() % 60) > 50:
        time.sleep(60.5 - second)
    with (
        httpx.Client(base_url=site.a.url, timeout=10) as on_a,
        httpx.Client(base_url=site.b.url, timeout=10) as on_b,
    ):
        token = _csrf(on_a)
        on_b.cookies.set(CSRF_COOKIE, token)
        assert [_sign_in(on_a, token, "wrong guess 1").status_code for _ in range(2)] == [422, 422]
        assert _sign_in(on_b, token, "wrong guess 2").status_code == 422
        # The fourth attempt in the minute, on B, is refused even with the right password.
        blocked = _sign_in(on_b, token, PASSWORD)
        assert blocked.status_code == 429 and "Too many sign-in attempts" in blocked.text
        assert on_b.get("/api/me").status_code == 401
        # And A, which saw only two attempts, refuses too: the count is shared.
        assert _sign_in(on_a, token, PASSWORD).status_code == 429
