"""1,000 agents answer one round at once against uvicorn, on SQLite and PostgreSQL: nothing lost, nothing
doubled, no server error; and an answer's text reaches no log line and no other table.

64 concurrent clients; 20 % of the agents submit twice with both requests in flight together. Throughput
and p95 latency are printed here and measured in `benchmarks/pulse_load.py` (no timing assertions).
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path

import psycopg

from tests.pulse import load_driver
from wfm.db import every_table

AGENTS = 1_000


def _rows_with(database_url: str, needle: str) -> dict[str, int]:
    """Per table, the rows whose text (any column, cast to text) contains ``needle``."""
    found = {}
    for table in every_table():
        name = table._meta.tablename
        if database_url.startswith("sqlite"):
            with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
                columns = [r[1] for r in connection.execute(f'PRAGMA table_info("{name}")')]
                where = " OR ".join(f'CAST("{c}" AS TEXT) LIKE ?' for c in columns)
                count = connection.execute(
                    f'SELECT count(*) FROM "{name}" WHERE {where}', [f"%{needle}%"] * len(columns)
                )
                found[name] = int(count.fetchone()[0])
        else:
            with psycopg.connect(database_url) as connection:
                row = connection.execute(
                    f'SELECT count(*) FROM "{name}" t WHERE CAST(t AS TEXT) LIKE %s', [f"%{needle}%"]
                ).fetchone()
                found[name] = int(row[0]) if row else 0
    return {name: n for name, n in found.items() if n}


def test_a_thousand_agents_answer_at_once(database_url: str, tmp_path: Path) -> None:
    round_id = load_driver.seed(database_url, AGENTS)
    canary = f"CANARY-{uuid.uuid4().hex}"
    port = load_driver.free_port()
    log_path = tmp_path / "server.log"
    env = {"DATABASE_URL": database_url, "TRIAD_DATA_DIR": str(tmp_path), "SECRET_KEY": "load-" + "x" * 40}
    server = load_driver.start_server(env, log_path, port)
    try:
        result = asyncio.run(load_driver.run(f"http://127.0.0.1:{port}", round_id, AGENTS, 0.2, 64, canary))
    finally:
        load_driver.stop_server(server)
    engine = "sqlite" if database_url.startswith("sqlite") else "postgres"
    print(
        f"\n{engine}: {result.submits} submits in {result.seconds:.1f} s = {result.throughput:.0f}/s, "
        f"p95 {result.p95_ms:.0f} ms, statuses {result.statuses}; sign-ins {result.sign_in_seconds:.1f} s"
    )
    assert result.server_errors == 0, result.statuses
    assert result.statuses == {200: result.submits}
    assert load_driver.count_rows(database_url, "pulse_response") == AGENTS
    assert load_driver.count_rows(database_url, "pulse_participation") == AGENTS
    # The canary answer is stored once, in the response table only, and no log line carries it.
    assert _rows_with(database_url, canary) == {"pulse_response": 1}
    log = log_path.read_text(errors="replace")
    assert f"/pulse/answer/{round_id}" in log  # the access log is on, so the check below means something
    assert canary not in log
    stray = [p for p in tmp_path.rglob("*") if p.is_file() and not p.name.startswith("triad.sqlite3")]
    assert not [p for p in stray if canary in p.read_text(errors="replace")]
