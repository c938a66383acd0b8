"""A job's page and its progress fragment, which polls itself until the job is done."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.plugins.htmx import HXStopPolling
from litestar.response import Template

from wfm import jobs, security
from wfm.routes.common import page

STAFF = security.roles(security.ADMIN, security.LEAD, security.FINANCE)


async def _visible_job(request: Request[Any, Any, Any], job_id: FromPath[int]) -> jobs.JobView:
    """Admins see every job; others only the jobs they started."""
    job = await jobs.get(job_id)
    if job is None:
        raise NotFoundException()
    if request.user.role != security.ADMIN and await jobs.created_by(job_id) != request.user.username:
        raise NotFoundException()
    return job


class JobsController(Controller):
    path = "/jobs"

    @get("/{job_id:int}", name="job", opt=STAFF)
    async def show(self, request: Request[Any, Any, Any], job_id: FromPath[int]) -> Template:
        job = await _visible_job(request, job_id)
        return await page(request, "wfm/job.html", job=job, title=jobs.KIND_TITLES.get(job.kind, job.kind))

    @get("/{job_id:int}/progress", name="job_progress", opt=STAFF)
    async def progress(self, request: Request[Any, Any, Any], job_id: FromPath[int]) -> Template | HXStopPolling:
        job = await _visible_job(request, job_id)
        response = await page(request, "wfm/partials/job_progress.html", job=job)
        if job.done and request.headers.get("hx-request"):
            # 286 tells htmx to stop polling; the body still replaces the bar with the outcome.
            response.status_code = 286
        return response
