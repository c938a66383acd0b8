"""Long work as jobs: the `Job` row is the truth (status, progress, heartbeat, attempts); queues carry only its id.

Embedded (SQLite): the `Job` table is the queue; one worker process claims rows with a single
UPDATE ... RETURNING and a reaper re-queues a job whose heartbeat stopped. PostgreSQL: `submit`
defers a procrastinate task with the job id to `wfm worker` processes on any host, and the worker
retries jobs whose procrastinate worker stopped sending heartbeats. Either way a job is retried up
to ``max_attempts`` times, then marked failed with a message; it is never left "running".
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from wfm.services import audit
from wfm.services.site import get_site
from wfm.tables import Job

log = logging.getLogger("wfm.jobs")


@dataclass(frozen=True)
class JobView:
    id: int
    kind: str
    status: str
    progress: int
    message: str
    attempts: int
    created_at: dt.datetime
    finished_at: dt.datetime | None
    result_ref: str

    @property
    def done(self) -> bool:
        return self.status in {"succeeded", "failed"}


class JobContext:
    """What a job function gets: its inputs and a way to report progress (which also beats the heart)."""

    def __init__(self, job_id: int, inputs: dict[str, Any]) -> None:
        self.job_id = job_id
        self.inputs = inputs

    async def progress(self, percent: int, message: str = "") -> None:
        await Job.update(
            {Job.progress: max(0, min(99, percent)), Job.message: message[:500], Job.heartbeat_at: audit.utcnow()}
        ).where(Job.id == self.job_id)


JobFunction = Callable[[JobContext], Awaitable[str]]


class JobInputError(ValueError):
    """The job's inputs are wrong; retrying cannot help."""


async def audit_rollup(ctx: JobContext) -> str:
    """Rebuild the daily audit summary for the last ``days`` site-local days (default 30).

    ``pause_seconds`` (default 0) spaces out the days; the job tests use it to kill a worker mid-job.
    """
    days = int(ctx.inputs.get("days", 30))
    if not 1 <= days <= 3660:
        raise JobInputError(f"days must be 1..3660, got {days}")
    end_day = dt.date.fromisoformat(ctx.inputs["end_day"]) if "end_day" in ctx.inputs else None
    pause_seconds = float(ctx.inputs.get("pause_seconds", 0))
    site = await get_site()
    last = end_day or audit.utcnow().astimezone(ZoneInfo(site.time_zone)).date()
    first = last - dt.timedelta(days=days - 1)
    for i in range(days):
        day = first + dt.timedelta(days=i)
        await audit.rebuild_day(day, site.time_zone)
        await ctx.progress(int(100 * (i + 1) / days), f"Counted {day.isoformat()}")
        if pause_seconds:
            await asyncio.sleep(pause_seconds)
    return f"audit_daily:{first.isoformat()}..{last.isoformat()}"


async def import_upload(ctx: JobContext) -> str:
    """Import a large uploaded file (`wfm.services.imports`); a retry never imports it twice."""
    from wfm.services import imports

    upload_id = int(ctx.inputs["upload_id"])
    await ctx.progress(5, "Checking every row")
    # A refused file is a finished job too: its page links to the list of problems.
    await imports.import_upload(upload_id)
    return f"import_upload:{upload_id}"


class ThreadProgress:
    """Progress reported from a worker thread (forecasting, the schedule engine), written by the event loop;
    when several arrive between writes, the latest wins."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.loop = asyncio.get_running_loop()
        self.updates: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    def __call__(self, percent: int, message: str) -> None:
        self.loop.call_soon_threadsafe(self.updates.put_nowait, (percent, message))

    async def _report(self) -> None:
        while True:
            percent, message = await self.updates.get()
            while not self.updates.empty():
                percent, message = self.updates.get_nowait()
            await self.ctx.progress(percent, message)

    async def __aenter__(self) -> ThreadProgress:
        self.task = asyncio.create_task(self._report())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.task is not None:
            self.task.cancel()


async def forecast(ctx: JobContext) -> str:
    """Forecast channels (`wfm.services.forecasts.run`); a retry returns the versions already stored."""
    from wfm.services import forecasts

    try:
        async with ThreadProgress(ctx) as progress:
            result = await forecasts.run(
                [int(c) for c in ctx.inputs["channel_ids"]],
                int(ctx.inputs.get("horizon_days", 14)),
                str(ctx.inputs.get("method", "auto")),
                str(ctx.inputs.get("actor", "")),
                snapshot=bool(ctx.inputs.get("snapshot", False)),
                job_id=ctx.job_id,
                progress=progress,
            )
    except ValueError as error:
        raise JobInputError(str(error)) from None
    if not result.version_ids:
        raise JobInputError("; ".join(result.warnings) or "nothing to forecast")
    from wfm.services import requirements

    await ctx.progress(99, "staffing requirements")
    await requirements.follow_forecasts(result.version_ids, str(ctx.inputs.get("actor", "")))
    return "forecast_versions:" + ",".join(str(v) for v in result.version_ids)


async def schedule(ctx: JobContext) -> str:
    """Generate draft schedules for teams' week (`wfm.services.schedules.generate`), the engine in a thread of
    the worker process; a retry returns the schedules already stored."""
    from wfm.services import schedules

    try:
        async with ThreadProgress(ctx) as progress:
            ids = await schedules.generate(
                [int(t) for t in ctx.inputs["team_ids"]],
                schedules.monday_of(str(ctx.inputs["week"])),
                float(ctx.inputs.get("time_limit_seconds", 60)),
                str(ctx.inputs.get("actor", "")),
                job_id=ctx.job_id,
                progress=progress,
            )
    except ValueError as error:
        raise JobInputError(str(error)) from None
    return "schedules:" + ",".join(str(i) for i in ids)


async def start_forecast_snapshot(horizon_days: int = 14) -> int | None:
    """Queue today's forecast snapshot for the accuracy ledger, unless it exists, is pending, or there is
    no history yet; returns the job id. The worker calls this every hour (DESIGN.md, Long work)."""
    from wfm.services import forecasts
    from wfm.tables import Channel, ContactInterval

    site = await get_site()
    if not await ContactInterval.exists() or not await forecasts.snapshot_due(site.time_zone):
        return None
    pending = await Job.select(Job.inputs).where((Job.kind == "forecast") & Job.status.is_in(["queued", "running"]))
    if any(json.loads(r["inputs"]).get("snapshot") for r in pending):
        return None
    channel_ids = [r["id"] for r in await Channel.select(Channel.id).where(Channel.active == True)]  # noqa: E712
    inputs = {
        "channel_ids": channel_ids,
        "horizon_days": horizon_days,
        "method": "auto",
        "actor": "daily snapshot",
        "snapshot": True,
    }
    return await create("forecast", inputs, "daily snapshot")


# The job kinds; later issues add schedule generation here.
KINDS: dict[str, JobFunction] = {
    "audit_rollup": audit_rollup,
    "import": import_upload,
    "forecast": forecast,
    "schedule": schedule,
}
KIND_TITLES = {
    "audit_rollup": "Rebuild the daily audit summary",
    "import": "Import a file",
    "forecast": "Forecast contact volume",
    "schedule": "Generate schedules",
}


async def create(kind: str, inputs: dict[str, Any], created_by: str, max_attempts: int = 3) -> int:
    """Insert a queued job row and return its id (the caller then hands it to a queue)."""
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    rows = await Job.insert(
        Job(
            kind=kind,
            inputs=json.dumps(inputs),
            status="queued",
            created_by=created_by,
            created_at=audit.utcnow(),
            max_attempts=max_attempts,
        )
    ).returning(Job.id)
    return int(rows[0]["id"])


async def get(job_id: int) -> JobView | None:
    row = await Job.select().where(Job.id == job_id).first()
    if row is None:
        return None
    return JobView(
        id=row["id"],
        kind=row["kind"],
        status=row["status"],
        progress=row["progress"],
        message=row["message"],
        attempts=row["attempts"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        result_ref=row["result_ref"],
    )


async def recent(limit: int = 20) -> list[JobView]:
    rows = await Job.select(Job.id).order_by(Job.id, ascending=False).limit(limit)
    views = [await get(r["id"]) for r in rows]
    return [v for v in views if v is not None]


async def claim(job_id: int) -> bool:
    """Mark a job running and count the attempt (one statement, so two workers cannot both claim it).

    A job already running may be claimed again only by a retry after its worker died, which the
    queue decides; a finished job is never run twice.
    """
    now = audit.utcnow()
    rows = (
        await Job.update(
            {Job.status: "running", Job.attempts: Job.attempts + 1, Job.started_at: now, Job.heartbeat_at: now}
        )
        .where((Job.id == job_id) & Job.status.is_in(["queued", "running"]))
        .returning(Job.attempts, Job.max_attempts)
    )
    if not rows:
        return False
    if rows[0]["attempts"] > rows[0]["max_attempts"]:
        await _finish(job_id, "failed", f"Gave up after {rows[0]['max_attempts']} attempts: the worker kept stopping.")
        return False
    return True


async def claim_next() -> int | None:
    """Claim the oldest queued job (embedded queue); None when there is nothing to do."""
    now = audit.utcnow()
    rows = await Job.raw(
        "UPDATE job SET status = 'running', attempts = attempts + 1, started_at = {}, heartbeat_at = {} "
        "WHERE id = (SELECT id FROM job WHERE status = 'queued' ORDER BY id LIMIT 1) AND status = 'queued' "
        "RETURNING id, attempts, max_attempts",
        now,
        now,
    )
    if not rows:
        return None
    job_id = int(rows[0]["id"])
    if rows[0]["attempts"] > rows[0]["max_attempts"]:
        await _finish(job_id, "failed", f"Gave up after {rows[0]['max_attempts']} attempts: the worker kept stopping.")
        return None
    return job_id


async def _finish(job_id: int, status: str, message: str, result_ref: str = "") -> None:
    values: dict[Any, Any] = {Job.status: status, Job.message: message[:500], Job.finished_at: audit.utcnow()}
    if status == "succeeded":
        values[Job.progress] = 100
        values[Job.result_ref] = result_ref[:200]
    await Job.update(values).where(Job.id == job_id)


async def execute(job_id: int, heartbeat_seconds: float) -> str:
    """Run a claimed job to its end: succeeded with a result reference, or failed with a message."""
    row = await Job.select(Job.kind, Job.inputs).where(Job.id == job_id).first()
    if row is None:
        return "missing"
    ctx = JobContext(job_id, json.loads(row["inputs"]) if isinstance(row["inputs"], str) else dict(row["inputs"]))
    beat = asyncio.create_task(_beat(job_id, heartbeat_seconds))
    try:
        result_ref = await KINDS[row["kind"]](ctx)
    except Exception as error:  # a job's own error is final: record it, do not crash the worker
        log.exception("job %s (%s) failed", job_id, row["kind"])
        await _finish(job_id, "failed", f"{type(error).__name__}: {error}")
        return "failed"
    finally:
        beat.cancel()
    await _finish(job_id, "succeeded", "Done.", result_ref)
    return "succeeded"


async def _beat(job_id: int, every_seconds: float) -> None:
    while True:
        await asyncio.sleep(every_seconds)
        await Job.update({Job.heartbeat_at: audit.utcnow()}).where(Job.id == job_id)


async def requeue_stalled(stalled_seconds: float) -> list[int]:
    """Embedded queue: put back jobs whose heartbeat stopped (their worker died); returns their ids."""
    cutoff = audit.utcnow() - dt.timedelta(seconds=stalled_seconds)
    rows = (
        await Job.update({Job.status: "queued", Job.message: "Retrying: the worker stopped responding."})
        .where((Job.status == "running") & (Job.heartbeat_at < cutoff))
        .returning(Job.id)
    )
    return [int(r["id"]) for r in rows]


async def submit(queue: Any, kind: str, inputs: dict[str, Any], created_by: str, max_attempts: int = 3) -> int:
    """Create a job and hand it to the queue: procrastinate on PostgreSQL (``queue`` is its app), the
    `Job` table itself in embedded mode (``queue`` is None). A job that cannot be queued is marked failed."""
    job_id = await create(kind, inputs, created_by, max_attempts)
    if queue is not None:
        from wfm.worker import defer  # the worker module imports this one

        try:
            await defer(queue, job_id)
        except Exception as error:
            await _finish(job_id, "failed", f"Could not queue the job: {error}")
            raise
    return job_id


async def created_by(job_id: int) -> str:
    row = await Job.select(Job.created_by).where(Job.id == job_id).first()
    return "" if row is None else str(row["created_by"])
