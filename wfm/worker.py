"""Job runners: the embedded loop over the `Job` table (SQLite) and procrastinate workers (PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time

import procrastinate

from wfm import jobs
from wfm.db import bind_tables, close_pool, every_table, make_engine, start_pool
from wfm.settings import Settings

log = logging.getLogger("wfm.worker")
TASK_NAME = "wfm.run_job"


def limit_threads() -> None:
    """One thread each for BLAS, OpenMP and solvers, so a job leaves the other core to the web."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ.setdefault(name, "1")


def procrastinate_app(database_url: str, heartbeat_seconds: float = 5.0) -> procrastinate.App:
    """The procrastinate app of a PostgreSQL deployment; one task runs any `Job` by its id."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=database_url))

    @app.task(name=TASK_NAME, pass_context=False)
    async def run_job(job_id: int) -> None:
        if await jobs.claim(job_id):
            await jobs.execute(job_id, heartbeat_seconds)

    # Hourly: procrastinate defers a periodic task once per tick across all workers.
    @app.periodic(cron="7 * * * *", periodic_id="forecast_snapshot")
    @app.task(name="wfm.forecast_snapshot", queueing_lock="forecast_snapshot", pass_context=False)
    async def forecast_snapshot(timestamp: int) -> None:
        job_id = await jobs.start_forecast_snapshot()
        if job_id is not None and await jobs.claim(job_id):
            await jobs.execute(job_id, heartbeat_seconds)

    return app


async def ensure_procrastinate_schema(app: procrastinate.App) -> bool:
    """Apply procrastinate's schema once (part of `wfm migrate` on PostgreSQL); True when it was applied now."""
    async with app.open_async():
        rows = await app.connector.execute_query_all_async("SELECT to_regclass('procrastinate_jobs') AS t")
        if rows[0]["t"] is not None:
            return False
        await app.schema_manager.apply_schema_async()
        return True


async def defer(app: procrastinate.App, job_id: int) -> None:
    await app.configure_task(TASK_NAME).defer_async(job_id=job_id)


async def run_embedded(settings: Settings, stop: asyncio.Event, poll_seconds: float = 0.5) -> None:
    """Run queued jobs one at a time until ``stop`` is set, re-queueing jobs whose worker died; once an
    hour, queue the daily forecast snapshot when it is due."""
    next_tick = 0.0
    while not stop.is_set():
        try:
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + 3600
                if (snapshot := await jobs.start_forecast_snapshot()) is not None:
                    log.info("job %s: daily forecast snapshot queued", snapshot)
            for stalled_id in await jobs.requeue_stalled(settings.job_stalled_seconds):
                log.warning("job %s stalled; queued again", stalled_id)
            job_id = await jobs.claim_next()
        except Exception:
            # A busy or briefly unreachable database must not end the worker: try again shortly.
            log.exception("could not look for jobs; trying again")
            job_id = None
        if job_id is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll_seconds)
            continue
        log.info("job %s: %s", job_id, await jobs.execute(job_id, settings.job_heartbeat_seconds))


async def _retry_stalled(app: procrastinate.App, settings: Settings, stop: asyncio.Event) -> None:
    """Give jobs of dead procrastinate workers back to the queue (`jobs.claim` caps the attempts)."""
    while not stop.is_set():
        for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=settings.job_stalled_seconds):
            log.warning("procrastinate job %s stalled; retrying", job.id)
            with contextlib.suppress(Exception):  # another worker may have retried it first
                await app.job_manager.retry_job(job)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(settings.job_stalled_seconds / 3, 0.5))


async def run_procrastinate(settings: Settings, stop: asyncio.Event) -> None:
    app = procrastinate_app(settings.database_url, settings.job_heartbeat_seconds)
    async with app.open_async():
        reaper = asyncio.create_task(_retry_stalled(app, settings, stop))
        worker = asyncio.create_task(
            app.run_worker_async(
                concurrency=1,
                update_heartbeat_interval=settings.job_heartbeat_seconds,
                stalled_worker_timeout=settings.job_stalled_seconds,
                install_signal_handlers=False,
            )
        )
        # Stop when asked, or as soon as the procrastinate worker or the reaper dies: a crashed worker must
        # end the process with its error (so it gets restarted), not leave it running without taking jobs.
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({stopping, worker, reaper}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        worker.cancel()
        reaper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        with contextlib.suppress(asyncio.CancelledError):
            await reaper


async def main(settings: Settings) -> None:
    """Entry point of `wfm worker`: stop cleanly on SIGTERM or SIGINT."""
    limit_threads()
    engine = make_engine(settings.database_url)
    bind_tables(engine, every_table())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if settings.is_postgres:
        await start_pool(engine, max_size=4)
        try:
            await run_procrastinate(settings, stop)
        finally:
            await close_pool(engine)
    else:
        await run_embedded(settings, stop)
