"""The triad page's work on a large centre: build the panel from the database and analyse it,
50 teams x 36 months, on SQLite and PostgreSQL.

A fresh database per engine is filled with a synthetic centre at full size: 50 teams of 14 seats (people
leave after an exponential tenure of about 40 months and are replaced), four channels with 15-minute
history around the clock for 36 months (team not named, so contacts and service level are shared by
the teams' hours), one worked-hours row per person and working day, sick days, monthly CSAT/NPS/FCR per
team, finance and overhead, and a monthly pulse survey of every team with 36 closed rounds. Then a
child process (so its peak memory is the measurement's own) times:

* ``build_panel``: `wfm.services.triad.build_panel` for the 36 months (pulse with suppression, people,
  outcomes, the cost allocation and service level);
* ``analyse``: `wfm.triad.analyse` with the page's 6 pairs x lags 0-3 x both directions;
* ``triad page``: `wfm.services.triad.triad_view`, what the page computes (panel, statistics, 7 charts).

The reference is reading the raw rows the panel summarises (history and worked hours of the 36 months)
into pandas, what any aggregation in Python would pay before it starts; the panel asks the database for
sums instead.

    .venv/bin/python benchmarks/triad_panel.py                    # both engines, about 3 minutes
    .venv/bin/python benchmarks/triad_panel.py --engines sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import resource
import subprocess
import sys
import time
import uuid
from typing import Any

import numpy as np
from _common import ENGINES, PYTHON, REPO, fresh_database, install_signal_handlers, machine_line, table

sys.path.insert(0, str(REPO))

TEAMS, SEATS, MONTHS = 50, 14, 36
CHANNELS = ("voice", "chat", "email", "social")


def _months(today: dt.date) -> tuple[dt.date, dt.date]:
    """The first day of the 36 whole months before this one, and the first day of this month."""
    end = today.replace(day=1)
    year, month = divmod(end.year * 12 + end.month - 1 - MONTHS, 12)
    return dt.date(year, month + 1, 1), end


def _load(database_url: str, tables: list[tuple[str, list[str], list[tuple[Any, ...]]]]) -> None:
    """Bulk-load rows into tables in one transaction (row by row in autocommit, SQLite syncs each one)."""
    from wfm.dbapi import DbApi

    db = DbApi(database_url)
    try:
        with db.transaction():
            for name, columns, rows in tables:
                db.load(name, columns, rows)
    finally:
        db.close()


async def seed(database_url: str) -> dict[str, int]:
    """Fill the database (migrated, empty) with the synthetic centre; returns row counts."""
    from pulse.questions import DRIVER_KEYS
    from pulse.services.surveys import SurveyForm, create_survey
    from pulse.tables import PulseRound
    from wfm.db import bind_tables, every_table, make_engine
    from wfm.tables import Channel, Team

    bind_tables(make_engine(database_url), every_table())
    rng = np.random.default_rng(11)
    start, end = _months(dt.date.today())
    days = [start + dt.timedelta(days=d) for d in range((end - start).days)]
    team_ids = [
        r["id"] for r in await Team.insert(*[Team(name=f"Team {t:02d}") for t in range(TEAMS)]).returning(Team.id)
    ]
    channel_ids = [
        r["id"] for r in await Channel.insert(*[Channel(name=c, kind=c) for c in CHANNELS]).returning(Channel.id)
    ]
    # People: each seat is a chain of tenures; the first one started before the window.
    agents: list[tuple[Any, ...]] = []
    worked: list[tuple[Any, ...]] = []
    absences: list[tuple[Any, ...]] = []
    for t, team in enumerate(team_ids):
        for seat in range(SEATS):
            hired = start - dt.timedelta(days=int(rng.integers(30, 1500)))
            while hired < end:
                tenure = int(rng.exponential(40 * 30.4))
                left = hired + dt.timedelta(days=tenure)
                n = len(agents)
                agent_id = f"A{n:05d}"
                reason = "voluntary" if rng.random() < 0.7 else "involuntary"
                agents.append((agent_id, f"Agent {n}", team, 200.0 + 10 * (n % 7), hired, left if left < end else None,
                               reason if left < end else "", CHANNELS[(t + seat) % 4]))  # fmt: skip
                channel = channel_ids[(t + seat) % 4]
                for day in days:
                    if hired <= day <= left and day.weekday() < 5:
                        if rng.random() < 0.04:
                            moment = dt.datetime.combine(day, dt.time(), dt.UTC)
                            absences.append((agent_id, moment, moment + dt.timedelta(days=1), "sick", True))
                        else:
                            worked.append((agent_id, day, channel, 8.0))
                hired = left + dt.timedelta(days=1)
    history: list[tuple[Any, ...]] = []
    quarter = dt.timedelta(minutes=15)
    moment = dt.datetime.combine(start, dt.time(), dt.UTC)
    stop = dt.datetime.combine(end, dt.time(), dt.UTC)
    while moment < stop:
        busy = 8 <= moment.hour < 20
        for c, channel in enumerate(channel_ids):
            offered = int(rng.poisson(60 / (c + 1))) if busy else 0
            within = int(offered * rng.uniform(0.7, 0.95)) if c < 2 else None
            history.append((moment, channel, 0, offered, offered, 300.0 + 60 * c, within))
        moment += quarter
    labels = sorted({f"{d:%Y-%m}" for d in days})
    outcomes = [(m, team, 0, float(rng.normal(80, 4)), float(rng.normal(20, 10)), float(rng.normal(72, 4)))
                for m in labels for team in team_ids]  # fmt: skip
    _load(database_url, [
        ("agent", ["agent_id", "name", "team", "hourly_cost", "hire_date", "leave_date", "leave_reason", "skills"],
         agents),
        ("worked_hours", ["agent_id", "day", "channel_id", "hours"], worked),
        ("absence", ["agent_id", "start_at", "end_at", "kind", "approved"], absences),
        ("contact_interval",
         ["interval_start", "channel", "team_id", "offered", "handled", "aht_seconds", "answered_within_sl"], history),
        ("outcome", ["period", "team_id", "channel_id", "csat_pct", "nps", "fcr_pct"], outcomes),
        ("finance_month", ["month", "revenue", "active_customers"], [(m, 3e8, 600_000) for m in labels]),
        ("overhead", ["month", "category", "cost"], [(m, "facilities", 2e6) for m in labels]),
    ])  # fmt: skip
    form = SurveyForm(
        "Monthly pulse", "monthly", start + dt.timedelta(days=4), MONTHS, 7, tuple(team_ids), DRIVER_KEYS[:3], False
    )
    survey = await create_survey(form, "benchmark", None)
    rounds = await PulseRound.select(PulseRound.id).where(PulseRound.survey == survey)
    responses: list[tuple[Any, ...]] = []
    participation: list[tuple[Any, ...]] = []
    for r in rounds:
        for team in team_ids:
            for _ in range(int(rng.binomial(SEATS, 0.85))):
                scores = [int(v) for v in rng.integers(1, 6, 3)]
                responses.append((uuid.uuid4(), r["id"], team, int(rng.integers(0, 11)), *scores))
                participation.append((uuid.uuid4(), r["id"], team))
    score_columns = [f"score_{k}" for k in DRIVER_KEYS[:3]]
    _load(database_url, [("pulse_response", ["id", "round", "team", "enps", *score_columns], responses),
                         ("pulse_participation", ["id", "round", "team"], participation)])  # fmt: skip
    return {"agents": len(agents), "history rows": len(history), "worked-hours rows": len(worked),
            "absences": len(absences), "pulse answers": len(responses)}  # fmt: skip


def _median_seconds(times: list[float]) -> float:
    return sorted(times)[len(times) // 2]


async def measure(database_url: str, repeats: int) -> dict[str, float]:
    """Time the cost inputs, the panel, the statistics and the page's view model, each the median of
    ``repeats`` runs after one warm-up run (in a fresh child process, with the connection pool the app
    starts)."""
    from wfm import triad
    from wfm.db import bind_tables, close_pool, database_url_of, every_table, make_engine, start_pool
    from wfm.dbapi import DbApi
    from wfm.services import costs as cost_service
    from wfm.services import triad as triad_service
    from wfm.tables import ContactInterval

    engine = make_engine(database_url)
    bind_tables(engine, every_table())
    await start_pool(engine, 4)
    start, end = _months(dt.date.today())
    first, last = f"{start:%Y-%m}", f"{end - dt.timedelta(days=1):%Y-%m}"
    out: dict[str, float] = {}

    async def timed(name: str, work: Any) -> Any:
        result = await work()
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            result = await work()
            times.append(time.perf_counter() - began)
        out[name] = _median_seconds(times)
        return result

    await timed("load_inputs", lambda: cost_service.load_inputs(first, last))
    panel = await timed("build_panel", lambda: triad_service.build_panel(first, last))
    out["panel rows"] = len(panel)
    out["panel cells filled"] = float(panel.drop(columns=["period", "team"]).notna().to_numpy().mean())
    pairs = [(x, y) for x, y in triad_service.PAIRS if panel[x].notna().any() and panel[y].notna().any()]

    async def analyse() -> Any:
        return triad.analyse(panel, pairs, (0, 1, 2, 3))

    await timed("analyse", analyse)
    await timed("triad page", lambda: triad_service.triad_view(first, last, None))
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the reference

    # The reference: the raw rows that load_inputs sums, read into pandas (any aggregation in Python pays this
    # before it starts; the app's earlier reader also built one ORM dict per row on top).
    def raw() -> int:
        db = DbApi(database_url_of(ContactInterval._meta.db))
        try:
            history = db.frame("SELECT interval_start, channel, team_id, offered, handled, aht_seconds, "
                               "answered_within_sl FROM contact_interval")  # fmt: skip
            worked = db.frame("SELECT w.day, w.agent_id, w.hours, w.channel_id, a.team, a.hourly_cost "
                              "FROM worked_hours w JOIN agent a ON a.agent_id = w.agent_id")  # fmt: skip
        finally:
            db.close()
        return len(history) + len(worked)

    async def reference() -> int:
        return raw()

    out["raw rows read"] = await timed("reference", reference)
    await close_pool(engine)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each step after a warm-up")
    parser.add_argument("--measure", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(asyncio.run(measure(args.measure, args.repeats))))
        return
    install_signal_handlers()
    print(machine_line())
    rows = []
    for engine in args.engines:
        with fresh_database(engine) as target:
            began = time.perf_counter()
            counts = asyncio.run(seed(target.database_url))
            seeded = time.perf_counter() - began
            child = subprocess.run(
                [PYTHON, __file__, "--measure", target.database_url, "--repeats", str(args.repeats)],
                env=target.env, cwd=REPO,
                capture_output=True, text=True, check=True, timeout=900,
            )  # fmt: skip
            m = json.loads(child.stdout.strip().splitlines()[-1])
            seconds = [f"{m[k]:.2f} s" for k in ("load_inputs", "reference", "build_panel", "analyse", "triad page")]
            rows.append([engine, *seconds, f"{m['peak_rss_mib']:.0f} MiB", f"{int(m['raw rows read']):,}",
                         f"{100 * m['panel cells filled']:.0f}%", f"{seeded:.0f} s"])  # fmt: skip
            print(", ".join(f"{k} {v:,}" for k, v in counts.items()), f"({engine})")
    print(
        table(
            [
                "engine",
                "load_inputs (sums in SQL)",
                "reference: raw rows to pandas",
                "build_panel",
                "analyse",
                "triad page",
                "peak RSS",
                "raw rows",
                "panel filled",
                "seed",
            ],
            rows,
            title=f"Triad panel and analysis, {TEAMS} teams x {MONTHS} months ({TEAMS * MONTHS} team-months)",
            notes=[
                "medians of --repeats runs after a warm-up, in a child process with the app's connection pool;",
                "load_inputs: labour and contacts summed by the database; reference: only reading the history",
                "and worked-hours rows it sums into pandas; build_panel: the whole panel (pulse with suppression,",
                "people, outcomes, cost allocation, service level); analyse: 6 pairs x lags 0-3 x both directions;",
                "triad page: panel + statistics + 13 charts (wfm.services.triad.triad_view)",
            ],
        )
    )


if __name__ == "__main__":
    main()
