"""The `wfm` command: migrate, create-admin, demo, import, serve, worker and run (all of it, for the README)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click

from wfm.imports.spec import KINDS

# Piccolo's migration runner finds its configuration through this variable; set it before it looks.
os.environ.setdefault("PICCOLO_CONF", "wfm.piccolo_conf")


def _settings() -> Any:
    from wfm.settings import Settings

    return Settings.from_env()


def _db_url() -> str:
    from wfm.settings import database_url_from_env

    return database_url_from_env()


def _with_db(database_url: str, work: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``work`` with every table bound to the configured database (and a pool on PostgreSQL)."""
    from wfm.db import bind_tables, close_pool, every_table, make_engine, start_pool
    from wfm.tables import User

    if iterations := int(os.environ.get("PASSWORD_ITERATIONS", "0")):
        User._pbkdf2_iteration_count = iterations

    async def main() -> Any:
        engine = make_engine(database_url)
        bind_tables(engine, every_table())
        await start_pool(engine, max_size=4)
        try:
            return await work()
        finally:
            await close_pool(engine)

    return asyncio.run(main())


@click.group()
def main() -> None:
    """Triad: contact-centre forecasting, staffing, scheduling and pulse surveys."""


@main.command()
def migrate() -> None:
    """Create or upgrade the database (run once, before any server or worker starts)."""
    from wfm.settings import database_url_from_env

    database_url = database_url_from_env()
    _migrate(database_url)
    click.echo(f"Database is up to date: {_describe(database_url)}")


def _migrate(database_url: str) -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from wfm.services.site import ensure_site

    async def forwards() -> None:
        response = await run_forwards(app_name="all")
        if not response.success:
            raise click.ClickException(f"Migration failed: {response.message}")

    asyncio.run(forwards())
    if not database_url.startswith("sqlite"):
        from wfm.worker import ensure_procrastinate_schema, procrastinate_app

        asyncio.run(ensure_procrastinate_schema(procrastinate_app(database_url)))
    _with_db(database_url, ensure_site)


def _describe(database_url: str) -> str:
    if database_url.startswith("sqlite"):
        return database_url
    # Never print a password that may sit in the URL.
    return database_url.split("@")[-1]


@main.command("create-admin")
@click.option("--username", prompt=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--full-name", default="")
def create_admin(username: str, password: str, full_name: str) -> None:
    """Create an admin account (the first one on a new database)."""
    from wfm.forms import FormError, NewUser, check_new_password, parse_form
    from wfm.services import accounts

    try:
        check_new_password(password, password)
        form = parse_form(NewUser, {"username": username, "full_name": full_name, "role": "admin"})
        _with_db(_db_url(), lambda: accounts.create_user(form, "wfm create-admin", password=password))
    except FormError as error:
        raise click.ClickException("; ".join(f"{k}: {v}" for k, v in error.errors.items())) from None
    click.echo(f"Admin {username!r} created.")


@main.command()
@click.option("--if-empty", is_flag=True, help="Only when the database has no users yet (keeps your data).")
@click.option("--seed", type=int, default=7, show_default=True, help="The same seed gives the same demo.")
@click.option("--force", is_flag=True, help="Replace everything in a non-empty database with the demo.")
def demo(if_empty: bool, seed: int, force: bool) -> None:
    """Load the demo contact centre: 20 teams, 4 channels, 2 years of history, agents and their data."""
    from wfm import demo as demo_data

    try:
        logins = _with_db(_db_url(), lambda: demo_data.load(if_empty=if_empty, seed=seed, force=force))
    except demo_data.DemoError as error:
        raise click.ClickException(str(error)) from None
    if logins is None:
        click.echo("The database already has users; demo data not loaded.")
        return
    _print_logins(logins)


@main.command(name="import")
@click.argument("kind", type=click.Choice(sorted(KINDS)))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(kind: str, file: Path) -> None:
    """Import FILE (CSV) as KIND; a file with any problem is refused whole (exit status 1)."""
    from wfm.services import imports

    result = _with_db(_db_url(), lambda: imports.import_file(kind, file.read_bytes(), file.name, "wfm import"))
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not result.ok:
        for error in result.errors:
            click.echo(f"{file.name}: {error}", err=True)
        if result.error_count > len(result.errors):
            click.echo(f"... {result.error_count} problems in all", err=True)
        raise click.ClickException(f"{file.name} was refused ({result.error_count} problems); nothing was saved")
    click.echo(f"{file.name}: {result.rows} rows read, {result.changed} added or changed (batch {result.batch_id})")


@main.command(name="forecast")
@click.option(
    "--history", "history_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="History CSV."
)
@click.option("--horizon-days", type=click.IntRange(1, 366), default=14, show_default=True)
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), help="Forecast CSV to write.")
@click.option("--interval-minutes", type=int, default=None, help="Aggregate to this interval (default: the input's).")
@click.option("--method", type=click.Choice(["auto", "snaive", "ets", "mstl", "regression"]), default="auto")
@click.option("--country", default=None, help="Public holidays of this ISO country code (default: none).")
@click.option("--time-zone", default=None, help="IANA zone the file's naive times are in (default: none, no DST).")
@click.option("--all", "all_channels", is_flag=True, help="Forecast every channel in the database (a daily snapshot).")
def forecast_(
    history_file: Path | None,
    horizon_days: int,
    out_file: Path | None,
    interval_minutes: int | None,
    method: str,
    country: str | None,
    time_zone: str | None,
    all_channels: bool,
) -> None:
    """Forecast contact volume: from a history file to a forecast file, or (--all) for the app's channels."""
    if all_channels:
        from wfm.services import forecasts
        from wfm.tables import Channel

        async def snapshot() -> forecasts.RunResult:
            from wfm.services import requirements

            ids = [r["id"] for r in await Channel.select(Channel.id).where(Channel.active == True)]  # noqa: E712
            result = await forecasts.run(ids, horizon_days, method, "wfm forecast --all", snapshot=True)
            await requirements.follow_forecasts(result.version_ids, "wfm forecast --all")
            return result

        result = _with_db(_db_url(), snapshot)
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
        click.echo(f"{len(result.version_ids)} forecast versions stored (snapshot).")
        return
    if history_file is None or out_file is None:
        raise click.UsageError("give --history FILE and --out FILE, or --all")
    import pandas as pd

    import forecasting

    history = pd.read_csv(history_file, dtype={"channel": str})
    try:
        result = forecasting.forecast(
            history,
            horizon_days,
            interval_minutes=interval_minutes,
            method=method,
            time_zone=time_zone,
            country=country,
        )
    except ValueError as error:
        raise click.ClickException(f"{history_file.name}: {error}") from None
    frame = result.frame.copy()
    stamps = pd.to_datetime(frame["interval_start"])
    # ISO 8601 as read: naive stays naive (site-local), aware keeps its offset.
    if stamps.dt.tz is None:
        frame["interval_start"] = stamps.dt.strftime("%Y-%m-%dT%H:%M:%S")
    else:
        frame["interval_start"] = [t.isoformat() for t in stamps]
    frame.to_csv(out_file, index=False)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    for name, report in result.reports.items():
        click.echo(f"{name}: {report.model} - {report.reason}", err=True)
        for warning in report.warnings:
            click.echo(f"{name}: warning: {warning}", err=True)
    click.echo(f"{out_file}: {len(result.frame)} intervals, {len(result.reports)} channels")


@main.command(name="staff")
@click.option(
    "--forecast", "forecast_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True
)
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--channels", "channels_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@click.option("--risk", type=click.Choice(["p50", "p80", "p95"]), default="p50", show_default=True)
def staff(forecast_file: Path, out_file: Path, channels_file: Path | None, risk: str) -> None:
    """Staffing requirements from a forecast file: agents and staff per interval and channel."""
    import pandas as pd

    from wfm import staffing

    entries = {}
    if channels_file is not None:
        try:
            entries = staffing.read_channels_file(channels_file.read_text(encoding="utf-8"), channels_file.name)
        except staffing.StaffingInputError as error:
            raise click.ClickException(str(error)) from None
    forecast = pd.read_csv(forecast_file, dtype={"channel": str, "interval_start": str})
    try:
        result = staffing.requirements_for_file(forecast, entries, risk)
    except staffing.StaffingInputError as error:
        raise click.ClickException(f"{forecast_file.name}: {error}") from None
    result[list(staffing.REQUIREMENT_COLUMNS)].to_csv(out_file, index=False, float_format="%.6g")
    for channel, rows in result.groupby("channel", sort=False):
        hours = rows["staff_required"].sum() * _interval_hours(rows)
        click.echo(
            f"{channel}: {rows['model'].iloc[0]}, peak {rows['staff_required'].max()} staff, {hours:.1f} staff-hours"
        )
    click.echo(f"{out_file}: {len(result)} intervals staffed to {risk}")


@main.command(name="triad")
@click.option(
    "--panel", "panel_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="A team x period panel CSV; without it the panel is built from the database (--first, --last).",
)  # fmt: skip
@click.option("--first", default="", help="First month (YYYY-MM) of the database panel.")
@click.option("--last", default="", help="Last month (YYYY-MM) of the database panel.")
@click.option(
    "--panel-out", "panel_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Also write the database panel as CSV.",
)  # fmt: skip
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--pair",
    "pairs",
    multiple=True,
    help="X:Y, a measure and the one it may lead (repeatable). Default: every employee measure in the panel "
    "against every customer and company measure.",
)
@click.option("--max-lag", type=click.IntRange(0, 12), default=3, show_default=True, help="In panel steps.")
def triad_(
    panel_file: Path | None,
    first: str,
    last: str,
    panel_out: Path | None,
    out_file: Path,
    pairs: tuple[str, ...],
    max_lag: int,
) -> None:
    """How employee, customer and company measures move together in a team x period panel (JSON out)."""
    import json

    from wfm import triad

    try:
        if panel_file is not None:
            panel = triad.read_panel(panel_file.read_text(encoding="utf-8"), panel_file.name)
        else:
            if not first or not last:
                raise ValueError("give --panel FILE, or --first and --last months for the database's panel")
            from wfm.services import triad as triad_service

            panel = _with_db(_db_url(), lambda: triad_service.build_panel(first, last))
            if panel_out is not None:
                panel.to_csv(panel_out, index=False, float_format="%.6g")
        wanted = [tuple(p.split(":", 1)) for p in pairs] if pairs else triad.default_pairs(panel.columns)
        if not wanted or any(len(p) != 2 for p in wanted):
            raise ValueError("no pairs to analyse: give --pair X:Y, or name the panel's columns as in the README")
        result = triad.analyse(panel, [(p[0], p[1]) for p in wanted], lags=range(max_lag + 1))
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    out_file.write_text(json.dumps(result.to_json(), indent=2, allow_nan=False), encoding="utf-8")
    shown = sum(1 for p in result.pairs if p.method == "pearson_within" and p.q < 0.05)
    click.echo(
        f"{out_file}: {len(result.pairs)} correlations, {len(result.regressions)} regressions; "
        f"{shown} within-team correlations with q < 0.05; {len(result.warnings)} warnings"
    )


def _read(path: Path | None) -> bytes | None:
    return None if path is None else path.read_bytes()


@main.command(name="schedule")
@click.option(
    "--requirements", "requirements_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True
)
@click.option("--agents", "agents_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--week", "week", required=True, help="The Monday the week starts (YYYY-MM-DD).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--time-off", "time_off_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--availability", "availability_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--previous", "previous_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--rules", "rules_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--channels",
    "channels_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Channels file (as for wfm staff), for the projected service level.",
)
@click.option(
    "--time-limit", "time_limit", type=click.FloatRange(1, 3600), default=60, show_default=True, help="Seconds."
)
@click.option(
    "--time-zone", default="UTC", show_default=True, help="IANA zone of the files' naive times and of the week."
)
@click.option("--seed", type=int, default=0, show_default=True)
def schedule(
    requirements_file: Path,
    agents_file: Path,
    week: str,
    out_file: Path,
    time_off_file: Path | None,
    availability_file: Path | None,
    previous_file: Path | None,
    rules_file: Path | None,
    channels_file: Path | None,
    time_limit: float,
    time_zone: str,
    seed: int,
) -> None:
    """A week's schedule from requirements and agents: writes OUT, OUT.coverage.csv and OUT.report.json."""
    import json
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from wfm import staffing
    from wfm.scheduling import files
    from wfm.scheduling.engine import Problem, Weights, solve
    from wfm.scheduling.model import Rules
    from wfm.scheduling.scoring import unpopular_shifts

    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"{time_zone!r} is not an IANA time zone", param_hint="--time-zone") from None
    try:
        monday = dt.date.fromisoformat(week)
    except ValueError:
        raise click.BadParameter(f"{week!r} is not a date YYYY-MM-DD", param_hint="--week") from None
    if monday.isoweekday() != 1:
        raise click.BadParameter(f"{week} is a {monday:%A}; weeks start on Monday", param_hint="--week")
    try:
        source = files.read_requirements(requirements_file.read_bytes(), requirements_file.name, time_zone, monday)
        agents = files.read_agents(agents_file.read_bytes(), agents_file.name)
        ids = frozenset(a.agent_id for a in agents)
        time_off = (
            ()
            if time_off_file is None
            else files.read_time_off(time_off_file.read_bytes(), time_off_file.name, time_zone, ids)
        )
        windows = (
            ()
            if availability_file is None
            else files.read_availability(availability_file.read_bytes(), availability_file.name, ids)
        )
        previous = (
            ()
            if previous_file is None
            else files.read_schedule(previous_file.read_bytes(), previous_file.name, time_zone)
        )
        rules, weights = (
            (Rules(), Weights())
            if rules_file is None
            else files.read_rules(rules_file.read_text(encoding="utf-8"), rules_file.name)
        )
        entries = (
            {}
            if channels_file is None
            else staffing.read_channels_file(channels_file.read_text(encoding="utf-8"), channels_file.name)
        )
    except (files.ScheduleFileError, staffing.StaffingInputError) as error:
        raise click.ClickException(str(error)) from None
    # Unpopular shifts in the previous file (one or more past weeks) count towards fairness.
    history = unpopular_shifts(previous, [a.agent_id for a in agents], zone)
    problem = Problem(monday, zone, agents, source.requirements, rules, time_off, windows, previous, history, weights)
    try:
        result = solve(problem, time_limit_seconds=time_limit, seed=seed)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    levels = files.projected_service_level(source, result, {n: e.params for n, e in entries.items()})
    written = files.outputs(problem, result, source, levels or None)
    stem = out_file.with_suffix("") if out_file.suffix == ".csv" else out_file
    written.schedule.to_csv(out_file, index=False)
    written.coverage.to_csv(f"{stem}.coverage.csv", index=False, float_format="%.6g")
    Path(f"{stem}.report.json").write_text(json.dumps(written.report, indent=2, default=str), encoding="utf-8")
    for conflict in result.conflicts:
        click.echo(f"conflict: {conflict.detail}", err=True)
    for violation in result.violations:
        click.echo(f"violation: {violation.rule} {violation.agent_id}: {violation.detail}", err=True)
    bound = "" if result.bound_under_hours is None else f" (lower bound {result.bound_under_hours:.1f})"
    click.echo(
        f"{out_file}: {len({a.agent_id for a in result.activities})} agents scheduled, "
        f"{result.paid_hours:.1f} paid h, cost {result.labour_cost:.2f}; "
        f"under-covered {result.under_hours:.1f} of {result.required_hours:.1f} required agent-h{bound}; "
        f"{len(result.violations)} violations, {len(result.conflicts)} conflicts; {result.status}"
    )


def _interval_hours(rows: Any) -> float:
    import pandas as pd

    starts = (
        pd.Series(pd.to_datetime(rows["interval_start"], utc=True, format="ISO8601")).drop_duplicates().sort_values()
    )
    step = starts.diff().dropna()
    return float(step.min().total_seconds() / 3600.0) if len(step) else 0.25


def _print_logins(logins: list[tuple[str, str, str]]) -> None:
    click.echo("Demo sign-ins (role: username / password):")
    for role, username, password in logins:
        click.echo(f"  {role:8} {username} / {password}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", default=1, show_default=True, help="Web processes (PostgreSQL and Redis for more than 1).")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web app (migrate first)."""
    import uvicorn

    uvicorn.run("wfm.app:create_app", factory=True, host=host, port=port, workers=workers, proxy_headers=True)


@main.command()
def worker() -> None:
    """Run jobs: procrastinate on PostgreSQL (start as many as you like), the embedded queue on SQLite."""
    from wfm.worker import main as worker_main

    asyncio.run(worker_main(_settings()))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
def run(host: str, port: int) -> None:
    """Migrate, load demo data into an empty database, print the demo sign-ins and serve."""
    from wfm import demo as demo_data

    database_url = _db_url()
    _migrate(database_url)
    logins = _with_db(database_url, lambda: demo_data.load(if_empty=True))
    if logins is None:
        logins = demo_data.DEMO_LOGINS
        click.echo("Keeping your data. The demo sign-ins, if you have not changed them:")
        for role, username, password in logins:
            click.echo(f"  {role:8} {username} / {password}")
    else:
        _print_logins(logins)
    click.echo(f"Open http://{host}:{port}/")
    sys.stdout.flush()
    serve.callback(host=host, port=port, workers=1)  # type: ignore[misc]


if __name__ == "__main__":
    main()
