"""Many agents answering a pulse round at once, against the real server (uvicorn on 127.0.0.1).

Shared by `test_pulse_load.py` and `benchmarks/pulse_load.py`. Users are created without paying the
password hash 1,000 times: one PBKDF2 hash at 1,000 iterations is computed once and stored for every
test user (the same password), and the server runs with PASSWORD_ITERATIONS=1000, so each sign-in
verifies in about a millisecond and Piccolo has no reason to re-hash it. Sessions are real: each agent
signs in through /login with its own cookie jar.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

from pulse.questions import DRIVER_KEYS
from pulse.services.surveys import SurveyForm, create_survey
from pulse.tables import PulseRound
from wfm.db import bind_tables, every_table, make_engine
from wfm.tables import Agent, Team, User

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
PASSWORD = "load-test-password"
ITERATIONS = 1_000


@dataclass(frozen=True)
class LoadResult:
    agents: int
    submits: int
    seconds: float
    statuses: dict[int, int]
    latencies_ms: tuple[float, ...]
    sign_in_seconds: float
    transport_errors: tuple[str, ...] = ()

    @property
    def throughput(self) -> float:
        return self.submits / self.seconds

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def seed(database_url: str, agents: int) -> int:
    """A team of ``agents`` agents with accounts (users ``load0000``...) and an open round; its id."""

    async def work() -> int:
        bind_tables(make_engine(database_url), every_table())
        User._pbkdf2_iteration_count = ITERATIONS
        hashed = User.hash_password(PASSWORD)
        team = (await Team.insert(Team(name="Load")).returning(Team.id))[0]["id"]
        for start in range(0, agents, 250):
            names = [f"load{i:04d}" for i in range(start, min(agents, start + 250))]
            users = [User(username=name, password=hashed, role="agent", active=True) for name in names]
            ids = await User.insert(*users).returning(User.id)
            await Agent.insert(
                *[
                    Agent(agent_id=name, name=name, team=team, user=row["id"])
                    for name, row in zip(names, ids, strict=True)
                ]
            )
        yesterday = dt.date.today() - dt.timedelta(days=1)
        form = SurveyForm("Load pulse", "monthly", yesterday, 1, 7, (team,), DRIVER_KEYS[:3], True)
        survey = await create_survey(form, "load test", None)
        row = await PulseRound.select(PulseRound.id).where(PulseRound.survey == survey).first()
        assert row is not None
        return int(row["id"])

    return asyncio.run(work())


def count_rows(database_url: str, table_name: str) -> int:
    """Rows of a table, read straight from the database (not through the app)."""
    sql = f"SELECT count(*) FROM {table_name}"
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            return int(connection.execute(sql).fetchone()[0])
    with psycopg.connect(database_url) as connection:
        row = connection.execute(sql).fetchone()
        return int(row[0]) if row else 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start_server(env: dict[str, str], log_path: Path, port: int) -> subprocess.Popen[bytes]:
    """uvicorn with the app factory, one process, its output (access log included) in ``log_path``."""
    full = {
        **os.environ,
        **env,
        "EMBEDDED_WORKER": "0",
        "PASSWORD_ITERATIONS": str(ITERATIONS),
        "LOGIN_ATTEMPTS_PER_MINUTE": "1000000",
        "REDIS_URL": "",
    }
    command = [sys.executable, "-m", "uvicorn", "wfm.app:create_app", "--factory", "--host", HOST, "--port", str(port)]
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, env=full, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited: {log_path.read_text()}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"the server did not listen on {port}: {log_path.read_text()}")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(5)


def _answer(i: int, comment: str) -> dict[str, str]:
    values = {"enps": str(i % 11), "comment": comment}
    values.update({key: str(1 + (i + n) % 5) for n, key in enumerate(DRIVER_KEYS[:3])})
    return values


async def run(
    base_url: str, round_id: int, agents: int, duplicate_share: float, concurrency: int, canary: str = ""
) -> LoadResult:
    """Sign every agent in, then all submit at once from ``concurrency`` clients; a ``duplicate_share`` of
    them submit a second time (a double tap or a retry) while the first may still be in flight. Agent 0's
    comment is ``canary``."""
    gate = asyncio.Semaphore(concurrency)
    # A connection per request, as 1,000 phones would have: a kept-alive connection left idle past the server's
    # keep-alive timeout (5 s in uvicorn) races its close and fails the next request with a ReadError.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=0)
    clients = [httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120) for _ in range(agents)]
    try:

        async def sign_in(i: int) -> None:
            async with gate:
                client = clients[i]
                await client.get("/login")
                token = client.cookies.get("triad_csrf") or ""
                response = await client.post(
                    "/login", data={"username": f"load{i:04d}", "password": PASSWORD, "_csrf_token": token}
                )
                if response.status_code != 302:
                    raise RuntimeError(f"sign-in {i} answered {response.status_code}")

        started = time.perf_counter()
        await asyncio.gather(*(sign_in(i) for i in range(agents)))
        sign_in_seconds = time.perf_counter() - started
        statuses: dict[int, int] = {}
        latencies: list[float] = []
        errors: list[str] = []

        async def submit(i: int) -> None:
            async with gate:
                client = clients[i]
                data = {**_answer(i, canary if i == 0 else ""), "_csrf_token": client.cookies.get("triad_csrf") or ""}
                began = time.perf_counter()
                try:
                    response = await client.post(f"/pulse/answer/{round_id}", data=data)
                    status = response.status_code
                except httpx.TransportError as error:  # counted as status 0: the server dropped the request
                    status = 0
                    errors.append(repr(error))
                latencies.append(1000 * (time.perf_counter() - began))
                statuses[status] = statuses.get(status, 0) + 1

        repeats = list(range(0, agents, max(1, round(1 / duplicate_share)))) if duplicate_share else []
        jobs: list[Any] = [submit(i) for i in range(agents)] + [submit(i) for i in repeats]
        # Interleave the repeats with the first submits so that both are in flight together.
        order = sorted(range(len(jobs)), key=lambda j: (j if j < agents else repeats[j - agents]) + (j >= agents) / 2)
        started = time.perf_counter()
        await asyncio.gather(*(jobs[j] for j in order))
        seconds = time.perf_counter() - started
        return LoadResult(agents, len(jobs), seconds, statuses, tuple(latencies), sign_in_seconds, tuple(errors[:5]))
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))
