"""The `wfm` command on both engines: migrate (forwards, backwards, forwards), create-admin, demo."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from scipy import stats

from pulse.drivers import key_drivers
from tests.conftest import LoadedDemo, create_pg_database, drop_pg_database, run_wfm, skip_without_pg
from wfm import demo_data


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    if request.param == "sqlite":
        yield {"TRIAD_DATA_DIR": str(tmp_path)}
        return
    skip_without_pg()
    url = create_pg_database()
    yield {"DATABASE_URL": url, "SECRET_KEY": "s" * 40, "TRIAD_DATA_DIR": str(tmp_path)}
    drop_pg_database(url)


def _scalar(env: dict[str, str], sql: str) -> int:
    if "DATABASE_URL" in env:
        with psycopg.connect(env["DATABASE_URL"]) as connection:
            row = connection.execute(sql).fetchone()
            return int(row[0]) if row else 0
    with sqlite3.connect(Path(env["TRIAD_DATA_DIR"]) / "triad.sqlite3") as connection:
        return int(connection.execute(sql).fetchone()[0])


def _count_users(env: dict[str, str]) -> int:
    return _scalar(env, "SELECT count(*) FROM wfm_user")


def test_create_admin_on_an_empty_database(empty_database: dict[str, str]) -> None:
    env = {**empty_database, "PASSWORD_ITERATIONS": "1000"}
    assert run_wfm("migrate", env=env).returncode == 0
    created = run_wfm("create-admin", "--username", "boss", "--password", "boss-password-1", env=env)
    assert created.returncode == 0, created.stderr
    assert _count_users(env) == 1
    again = run_wfm("create-admin", "--username", "boss", "--password", "boss-password-1", env=env)
    assert again.returncode != 0 and "is taken" in again.stderr
    short = run_wfm("create-admin", "--username", "b2", "--password", "short", env=env)
    assert short.returncode != 0 and "at least 10" in short.stderr


def test_demo_loads_only_into_an_empty_database(
    empty_database: dict[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    env = {**empty_database, "PASSWORD_ITERATIONS": "1000", "TRIAD_DEMO_SCHEDULE_SECONDS": "5"}
    if "DATABASE_URL" in env:
        assert run_wfm("migrate", env=env).returncode == 0
        first = run_wfm("demo", "--if-empty", env=env, timeout=300)
        assert first.returncode == 0, first.stderr
        printed = first.stdout
    else:
        # On SQLite the run's shared demo (the same two commands, run once) stands for the first load.
        demo: LoadedDemo = request.getfixturevalue("sqlite_demo")
        demo.copy_to(Path(env["TRIAD_DATA_DIR"]))
        printed = demo.stdout
    assert "admin / triad-admin-demo" in printed and "lead2 / triad-lead2-demo" in printed
    # Every demo file went through the importer: one applied batch per kind, nothing refused.
    assert _scalar(env, "SELECT count(DISTINCT kind) FROM import_batch WHERE status = 'applied'") == 8
    # 2 years x 4 channels x 96 quarter hours (+4 for the autumn hour, -4 for the spring gap, per year).
    assert 279_000 < _scalar(env, "SELECT count(*) FROM contact_interval") < 282_000
    # Every agent has an account; the demo "agent" sign-in is one of them.
    assert _scalar(env, 'SELECT count(*) FROM agent WHERE "user" IS NULL') == 0
    assert (
        _scalar(env, "SELECT count(*) FROM agent a JOIN wfm_user u ON u.id = a.\"user\" WHERE u.username = 'agent'")
        == 1
    )
    # Four past daily snapshots for the ledger and one current forecast, for each of the 4 channels.
    assert _scalar(env, "SELECT count(*) FROM forecast_version WHERE snapshot = true") == 16
    assert _scalar(env, "SELECT count(*) FROM forecast_version") == 20
    # P50 requirements of each current forecast, staffed in its opening hours only.
    assert _scalar(env, "SELECT count(*) FROM requirement_set WHERE risk = 'p50'") == 4
    assert _scalar(env, "SELECT count(*) FROM requirement_interval WHERE staff_required > 0") > 4 * 14 * 30
    # This week published for the 20 teams (one solve), next week as drafts, 8 past weeks as history.
    assert _scalar(env, "SELECT count(*) FROM schedule WHERE status = 'published'") == 20 * 9
    assert _scalar(env, "SELECT count(*) FROM schedule WHERE status = 'draft'") == 20
    assert _scalar(env, "SELECT count(DISTINCT week_start) FROM schedule") == 10
    assert _scalar(env, "SELECT count(*) FROM schedule_activity") > 20 * 10 * 10 * 4 * 3
    assert _scalar(env, "SELECT count(*) FROM time_off_request WHERE status = 'pending'") == 1
    assert _scalar(env, "SELECT count(*) FROM shift_swap WHERE status = 'proposed'") == 1
    _check_demo_pulse(env)
    _check_demo_triad(env, tmp_path)
    users = _count_users(env)
    second = run_wfm("demo", "--if-empty", env=env)
    assert second.returncode == 0 and "already has users" in second.stdout
    refused = run_wfm("demo", env=env)
    assert refused.returncode == 1 and "use --force" in refused.stderr
    assert _count_users(env) == users
    again = run_wfm("demo", "--force", env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    assert _count_users(env) == users and _scalar(env, "SELECT count(*) FROM import_batch") == 8


def _rows(env: dict[str, str], sql: str) -> list[tuple[object, ...]]:
    if "DATABASE_URL" in env:
        with psycopg.connect(env["DATABASE_URL"]) as connection:
            return list(connection.execute(sql).fetchall())
    with sqlite3.connect(Path(env["TRIAD_DATA_DIR"]) / "triad.sqlite3") as connection:
        return list(connection.execute(sql).fetchall())


def _check_demo_pulse(env: dict[str, str]) -> None:
    """The demo's pulse answers reflect what `wfm.demo_data` planted: team eNPS over two years ranks the teams
    as their planted mean engagement does, and manager support leads the key drivers while tools trail."""
    assert _scalar(env, "SELECT count(*) FROM pulse_response") == _scalar(
        env, "SELECT count(*) FROM pulse_participation"
    )
    # 24 closed monthly rounds x 20 teams x about 12 respondents, and a third of a round open today.
    assert 20 * 24 * 9 < _scalar(env, "SELECT count(*) FROM pulse_response") < 20 * 25 * 15
    planted = demo_data.generate(seed=7).engagement.groupby("team")["engagement"].mean()
    rows = _rows(
        env,
        "SELECT t.name, 100.0 * (sum(CASE WHEN p.enps >= 9 THEN 1 ELSE 0 END)"
        " - sum(CASE WHEN p.enps <= 6 THEN 1 ELSE 0 END)) / count(*) FROM pulse_response p"
        " JOIN team t ON t.id = p.team GROUP BY t.name",
    )
    measured = pd.Series({str(name): float(str(score)) for name, score in rows})
    assert len(measured) == 20
    assert stats.spearmanr(measured[planted.index], planted).statistic > 0.8
    answers = _rows(env, "SELECT enps, score_manager_support, score_workload, score_tools FROM pulse_response")
    found = key_drivers(
        [int(str(a[0])) for a in answers],
        {key: [int(str(a[i])) for a in answers] for i, key in enumerate(("manager_support", "workload", "tools"), 1)},
    )
    assert [d.key for d in found] == ["manager_support", "workload", "tools"]


def _check_demo_triad(env: dict[str, str], tmp_path: Path) -> None:
    """`wfm triad` on the demo's own panel finds what docs/demo.md documents: eNPS(t) vs CSAT(t+1) within
    teams about +0.26 (one seed varies by about +-0.1) and eNPS vs same-month turnover about -0.27."""
    today = dt.date.today().replace(day=1)
    last = today - dt.timedelta(days=1)
    first = dt.date(last.year - 2, last.month, 1) + dt.timedelta(days=32)
    out, panel = tmp_path / "triad.json", tmp_path / "panel.csv"
    args = ["--first", f"{first:%Y-%m}", "--last", f"{last:%Y-%m}", "--panel-out", str(panel), "--out", str(out),
            "--pair", "enps:csat_pct", "--pair", "enps:turnover_rate"]  # fmt: skip
    done = run_wfm("triad", *args, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "cost_per_contact" in panel.read_text().splitlines()[0]
    pairs = json.loads(out.read_text())["pairs"]

    def found(x: str, y: str, lag: int) -> dict[str, float]:
        return next(p for p in pairs if (p["x"], p["y"], p["lag"], p["method"]) == (x, y, lag, "pearson_within"))

    csat = found("enps", "csat_pct", 1)
    assert 0.1 <= csat["r"] <= 0.45 and csat["ci_low"] > 0, csat
    turnover = found("enps", "turnover_rate", 0)
    assert -0.45 <= turnover["r"] <= -0.1 and turnover["ci_high"] < 0, turnover


def test_migrations_go_backwards_and_forwards_again(empty_database: dict[str, str]) -> None:
    env = {**empty_database, "PICCOLO_CONF": "wfm.piccolo_conf"}
    piccolo = [str(Path(sys.executable).with_name("piccolo")), "migrations"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*piccolo, *args], env={**os.environ, **env}, capture_output=True, text=True, check=False)

    assert run_wfm("migrate", env=env).returncode == 0
    # The pulse app refers to wfm's tables, so it goes back first.
    for app in ("pulse", "wfm"):
        back = run("backwards", app, "--migration_id=all", "--auto_agree")
        assert back.returncode == 0 and "[backwards]... ok" in back.stdout, back.stdout + back.stderr
    assert run_wfm("migrate", env=env).returncode == 0
    check = run("check")
    assert check.returncode == 0 and "False" not in check.stdout.split("RAN", 1)[1]


def _execute(env: dict[str, str], sql: str) -> None:
    if "DATABASE_URL" in env:
        with psycopg.connect(env["DATABASE_URL"]) as connection:
            connection.execute(sql)
        return
    with sqlite3.connect(Path(env["TRIAD_DATA_DIR"]) / "triad.sqlite3") as connection:
        connection.execute(sql)


def test_forecast_all_snapshots_every_channel_and_staffs_it(empty_database: dict[str, str], tmp_path: Path) -> None:
    env = empty_database
    assert run_wfm("migrate", env=env).returncode == 0
    _execute(env, "INSERT INTO channel (name, kind, staffing_model) VALUES ('chat', 'chat', 'erlang_c')")
    # Three weeks of quarter hours, 09:00-17:00 UTC on every day, 12 contacts of 300 s each.
    lines = [
        f"2025-03-{day:02d}T{hour:02d}:{minute:02d}:00Z,chat,12,300"
        for day in range(3, 24)
        for hour in range(9, 17)
        for minute in (0, 15, 30, 45)
    ]
    history = tmp_path / "history.csv"
    history.write_text("interval_start,channel,offered,aht_seconds\n" + "\n".join(lines) + "\n")
    imported = run_wfm("import", "history", str(history), env=env)
    assert imported.returncode == 0, imported.stderr
    done = run_wfm("forecast", "--all", "--method", "snaive", "--horizon-days", "2", env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "1 forecast versions stored (snapshot)" in done.stdout
    assert _scalar(env, "SELECT count(*) FROM forecast_version WHERE snapshot = true") == 1
    # The snapshot brings its P50 requirements, staffed in the hours that had contacts.
    assert _scalar(env, "SELECT count(*) FROM requirement_set WHERE risk = 'p50'") == 1
    assert _scalar(env, "SELECT count(*) FROM requirement_interval WHERE staff_required > 0") == 2 * 32
