"""`wfm schedule` file to file, as DESIGN.md (Files) describes its three outputs, and its refusals."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import run_wfm
from wfm.scheduling import files
from wfm.scheduling.model import Agent
from wfm.scheduling.rules import check_all

ZONE = "Europe/Stockholm"
WEEK = dt.date(2026, 3, 23)  # clocks go forward on Sunday 29 March


def _inputs(tmp_path: Path) -> dict[str, Path]:
    agents = pd.DataFrame(
        [
            ("a1", "Ada", "North", "voice", 30, 40, 31.5, 5),
            ("a2", "Bo", "North", "voice;chat", 30, 40, 29.0, 5),
            ("a3", "Cy", "North", "chat", 20, 24, 27.0, 3),
            ("a4", "Di", "North", "voice", 30, 40, 30.0, 5),
            ("a5", "Ed", "North", "voice;chat", 16, 24, 28.0, 4),
        ],
        columns=[
            "agent_id",
            "name",
            "team",
            "skills",
            "min_hours_week",
            "max_hours_week",
            "hourly_cost",
            "max_days_week",
        ],
    )
    rows = []
    for d in range(7):
        day = WEEK + dt.timedelta(days=d)
        for half_hour in range(48):
            start = dt.datetime.combine(day, dt.time(half_hour // 2, 30 * (half_hour % 2)))
            open_ = 8 <= start.hour < 18 and d < 5
            for channel, staff in (("voice", 2), ("chat", 1)):
                rows.append(
                    {
                        "interval_start": start.strftime("%Y-%m-%dT%H:%M:%S"),
                        "channel": channel,
                        "offered": 20.0 if open_ else 0.0,
                        "aht_seconds": 300.0,
                        "staff_required": staff if open_ else 0,
                    }
                )
    paths = {
        name: tmp_path / name for name in ("agents.csv", "req.csv", "off.csv", "avail.csv", "rules.toml", "prev.csv")
    }
    agents.to_csv(paths["agents.csv"], index=False)
    # Spring-forward Sunday 02:00-03:00 does not exist: leave those rows out like a forecast would.
    requirements = pd.DataFrame(rows)
    requirements = requirements[~requirements["interval_start"].str.startswith("2026-03-29T02:")]
    requirements.to_csv(paths["req.csv"], index=False)
    paths["off.csv"].write_text("agent_id,start,end\na4,2026-03-24,2026-03-25\na1,2026-03-26,2026-03-27\n")
    paths["avail.csv"].write_text("agent_id,weekday,start,end,kind\na2,1,00:00,12:00,unavailable\n")
    paths["rules.toml"].write_text(
        'earliest_start = "07:00"\nlatest_end = "20:00"\nmax_shift_hours = 9\n\n[breaks]\nbreak_minutes = 15\n'
    )
    # a5 worked until 22:00 last Sunday: Monday may start at 09:00 at the earliest.
    paths["prev.csv"].write_text(
        "agent_id,start,end,activity,channel\n"
        "a5,2026-03-22T14:00:00,2026-03-22T16:00:00,work,voice\n"
        "a5,2026-03-22T16:00:00,2026-03-22T16:15:00,break,\n"
        "a5,2026-03-22T16:15:00,2026-03-22T18:30:00,work,voice\n"
        "a5,2026-03-22T18:30:00,2026-03-22T18:45:00,break,\n"
        "a5,2026-03-22T18:45:00,2026-03-22T22:00:00,work,voice\n"
    )
    return paths


def _schedule(paths: dict[str, Path], out: Path, *extra: str) -> tuple[int, str, str]:
    done = run_wfm(
        "schedule",
        "--requirements", str(paths["req.csv"]),
        "--agents", str(paths["agents.csv"]),
        "--week", WEEK.isoformat(),
        "--out", str(out),
        "--time-zone", ZONE,
        "--time-limit", "3",
        *extra,
        env={},
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


def test_schedule_writes_the_three_files_of_the_design(tmp_path: Path) -> None:
    paths = _inputs(tmp_path)
    out = tmp_path / "S.csv"
    code, stdout, stderr = _schedule(
        paths,
        out,
        "--time-off", str(paths["off.csv"]),
        "--availability", str(paths["avail.csv"]),
        "--previous", str(paths["prev.csv"]),
        "--rules", str(paths["rules.toml"]),
    )  # fmt: skip
    assert code == 0, stderr
    assert "violations" in stdout
    schedule = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(schedule.columns) == ["agent_id", "start", "end", "activity", "channel"]
    assert set(schedule["activity"]) <= {"work", "break", "lunch"}
    # Naive in, naive out: local wall-clock times without an offset.
    assert schedule["start"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d").all()
    assert (schedule.loc[schedule["activity"] != "work", "channel"] == "").all()
    coverage = pd.read_csv(tmp_path / "S.coverage.csv")
    assert list(coverage.columns) == ["interval_start", "channel", "required", "scheduled", "service_level"]
    # 30-minute intervals of a 167-hour week, for both channels.
    assert len(coverage) == 2 * 334
    voice = coverage[coverage["channel"] == "voice"].set_index("interval_start")
    assert voice.loc["2026-03-23T10:00:00", "required"] == 2
    assert voice.loc["2026-03-23T03:00:00", "required"] == 0
    report = json.loads((tmp_path / "S.report.json").read_text())
    assert {"violations", "shortfalls", "cost", "fairness", "solver", "conflicts", "soft_rule_costs"} <= set(report)
    assert report["solver"]["bound"]["under_hours"] <= report["under_hours"] + 1e-6
    assert report["violations"] == [] and report["conflicts"] == []
    assert report["fairness"]["index"].startswith("gini")
    # Independently: the written file passes every rule, time off and last week's rest included.
    rules, _ = files.read_rules(paths["rules.toml"].read_text(), "rules.toml")
    activities = files.read_schedule(out.read_bytes(), "S.csv", ZONE)
    agents = {a.agent_id: a for a in files.read_agents(paths["agents.csv"].read_bytes(), "agents.csv")}
    ids = frozenset(agents)
    time_off = files.read_time_off(paths["off.csv"].read_bytes(), "off.csv", ZONE, ids)
    windows = files.read_availability(paths["avail.csv"].read_bytes(), "avail.csv", ids)
    previous = files.read_schedule(paths["prev.csv"].read_bytes(), "prev.csv", ZONE)
    from zoneinfo import ZoneInfo

    week_start = dt.datetime.combine(WEEK, dt.time(), tzinfo=ZoneInfo(ZONE))
    assert check_all(activities, agents, rules, ZoneInfo(ZONE), week_start, time_off, windows, previous) == []
    assert not any(a.agent_id == "a4" and a.start.astimezone(ZoneInfo(ZONE)).day == 24 for a in activities)
    a5_monday = [a for a in activities if a.agent_id == "a5" and a.start.astimezone(ZoneInfo(ZONE)).day == 23]
    assert all(a.start.astimezone(ZoneInfo(ZONE)).hour >= 9 for a in a5_monday)
    # The paid hours in the report are the file's.
    paid = sum(a.minutes for a in activities if a.activity != "lunch") / 60
    assert report["cost"]["paid_hours"] == pytest.approx(paid)
    assert isinstance(agents["a1"], Agent)


def test_schedule_refuses_bad_files_saying_where(tmp_path: Path) -> None:
    paths = _inputs(tmp_path)
    out = tmp_path / "S.csv"
    text = paths["agents.csv"].read_text().replace("31.5", "lots")
    paths["agents.csv"].write_text(text)
    code, _, stderr = _schedule(paths, out)
    assert code == 1
    assert "agents.csv: row 2, column hourly_cost" in stderr
    assert not out.exists()
    paths = _inputs(tmp_path)
    paths["rules.toml"].write_text("max_shift_hour = 9\n")
    code, _, stderr = _schedule(paths, out, "--rules", str(paths["rules.toml"]))
    assert code == 1 and "rules.toml: unknown key(s) max_shift_hour" in stderr
    paths["off.csv"].write_text("agent_id,start,end\nzz,2026-03-24,2026-03-25\n")
    code, _, stderr = _schedule(paths, out, "--time-off", str(paths["off.csv"]))
    assert code == 1 and "off.csv: row 2, column agent_id" in stderr
    code, _, stderr = _schedule(paths, out, "--week", "2026-03-24")
    assert code != 0 and "Monday" in stderr
