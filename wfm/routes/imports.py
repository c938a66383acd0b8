"""The import page: upload a file of any kind, see its problems or its batch, roll a batch back."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from wfm import jobs, security
from wfm.routes.common import page
from wfm.services import imports

IMPORTERS = security.roles(security.ADMIN, security.LEAD, security.FINANCE)
MAX_UPLOAD_BYTES = 256 * 1024 * 1024  # two years of 1-minute history for several channels fits


async def _page(request: Request[Any, Any, Any], status_code: int = 200, **context: Any) -> Template:
    user = request.user
    mine = None if user.role == security.ADMIN else user.username
    return await page(
        request,
        "wfm/imports.html",
        status_code=status_code,
        kinds=imports.kinds_for(user.role),
        specs=imports.KINDS,
        batches=await imports.batches(created_by=mine),
        job_rows=imports.JOB_ROWS,
        **context,
    )


class ImportsController(Controller):
    path = "/imports"

    @get("/", name="imports", opt=IMPORTERS)
    async def show(self, request: Request[Any, Any, Any]) -> Template:
        return await _page(request)

    @post("/", name="import_file", opt=IMPORTERS, request_max_body_size=MAX_UPLOAD_BYTES)
    async def upload(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        form = await request.form()
        kind = str(form.get("kind", ""))
        upload = form.get("file")
        if kind not in imports.kinds_for(request.user.role):
            return await _page(request, 422, upload_error="Choose a kind of file you may import.", chosen=kind)
        if not isinstance(upload, UploadFile) or not upload.filename:
            return await _page(request, 422, upload_error="Choose a file to import.", chosen=kind)
        data = await upload.read()
        actor = request.user.username
        if imports.data_rows(data) > imports.JOB_ROWS:
            upload_id = await imports.save_upload(kind, data, upload.filename, actor)
            job_id = await jobs.submit(request.app.state.queue, "import", {"upload_id": upload_id}, actor)
            return Redirect(request.app.route_reverse("job", job_id=job_id))
        result = await imports.import_file(kind, data, upload.filename, actor)
        return await _page(request, 200 if result.ok else 422, result=result, chosen=kind)

    @get("/uploads/{upload_id:int}", name="import_upload_result", opt=IMPORTERS)
    async def upload_result(self, request: Request[Any, Any, Any], upload_id: FromPath[int]) -> Template:
        mine = None if request.user.role == security.ADMIN else request.user.username
        result = await imports.upload_result(upload_id, created_by=mine)
        if result is None:
            raise NotFoundException()
        return await _page(request, result=result, chosen=result.kind)

    @post("/batches/{batch_id:int}/rollback", name="import_rollback", opt=IMPORTERS)
    async def rollback(self, request: Request[Any, Any, Any], batch_id: FromPath[int]) -> Template:
        user = request.user
        try:
            await imports.check_rollback_allowed(batch_id, user.role, user.username)
        except LookupError:
            raise NotFoundException() from None
        except PermissionError as exc:
            raise PermissionDeniedException(str(exc)) from None
        try:
            done = await imports.rollback(batch_id, user.username)
        except imports.ImportRefusedError as exc:
            return await _page(request, 409, rollback_error=str(exc))
        message = f"Batch {batch_id} rolled back: {done.restored} rows restored, {done.removed} removed."
        return await _page(request, rollback_message=message)
