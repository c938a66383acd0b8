"""The application factory: routers, plugins, templates, sessions, CSRF and the lifespan. Nothing runs at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, Router
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.logging.config import LoggingConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.security.session_auth import SessionAuth
from litestar.static_files import create_static_files_router
from litestar.stores.file import FileStore
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.stores.registry import StoreRegistry
from litestar.template.config import TemplateConfig

from pulse import routes as pulse_routes
from wfm import security
from wfm.db import bind_tables, close_pool, every_table, make_engine, start_pool
from wfm.routes import (
    admin,
    api,
    auth,
    finance,
    forecasts,
    history,
    home,
    imports,
    jobs,
    my,
    requirements,
    roster,
    schedules,
    time_off,
    triad,
)
from wfm.routes.common import template_globals
from wfm.services import accounts
from wfm.settings import Settings
from wfm.tables import User

log = logging.getLogger("wfm")
PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATE_DIR = PACKAGE_DIR.parent / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
SESSION_COOKIE = "triad_session"
CSRF_COOKIE = "triad_csrf"
LOGIN_RATE_STORE = "login_rate_limit"


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the Triad web app for ``settings`` (default: read from the environment)."""
    settings = settings or Settings.from_env()
    engine = make_engine(settings.database_url)
    bind_tables(engine, every_table())
    if settings.password_iterations:
        User._pbkdf2_iteration_count = settings.password_iterations

    session_config = security.RotatingSessionConfig(
        key=SESSION_COOKIE,
        store="sessions",
        max_age=settings.session_max_age_hours * 3600,
        secure=settings.secure_cookies,
        httponly=True,
        samesite="lax",
        renew_on_access=True,
    )

    async def retrieve_user(session: dict[str, Any], connection: ASGIConnection[Any, Any, Any, Any]) -> Any:
        user_id = session.get(security.USER_ID)
        if not user_id:
            return None
        if not security.session_is_live(
            session, settings.session_idle_minutes * 60, settings.session_max_age_hours * 3600
        ):
            connection.scope["session"] = {}
            return None
        user = await accounts.current_user(int(user_id))
        if user is not None:
            session[security.LAST_SEEN] = time.time()
        return user

    session_auth = SessionAuth[security.CurrentUser, Any](
        retrieve_user_handler=retrieve_user,
        session_backend_config=session_config,
        exclude_opt_key="public",
        exclude=["^/static/"],
    )

    static_router = create_static_files_router(
        path="/static", directories=[STATIC_DIR], opt=security.public(), include_in_schema=False
    )
    html = Router(
        path="/",
        route_handlers=[
            auth.AuthController,
            home.HomeController,
            admin.SiteController,
            admin.UsersController,
            admin.TeamsController,
            admin.ChannelsController,
            admin.AuditController,
            roster.RosterController,
            jobs.JobsController,
            imports.ImportsController,
            history.HistoryController,
            forecasts.ForecastController,
            requirements.RequirementsController,
            schedules.SchedulesController,
            my.MyController,
            my.CalendarController,
            my.MyRequestsController,
            time_off.TimeOffController,
            finance.FinanceController,
            triad.TriadController,
            pulse_routes.PulseController,
            pulse_routes.AnswerController,
        ],
        include_in_schema=False,
    )
    openapi_router = Router(path="/api/schema", route_handlers=[], opt=security.roles(*security.ALL_ROLES))

    return Litestar(
        route_handlers=[html, api.api_router, static_router],
        guards=[security.role_guard],
        on_app_init=[session_auth.on_app_init],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name=CSRF_COOKIE,
            cookie_secure=settings.secure_cookies,
            cookie_httponly=True,
            cookie_samesite="lax",
            header_name="x-csrftoken",
        ),
        template_config=TemplateConfig(
            directory=TEMPLATE_DIR, engine=JinjaTemplateEngine, engine_callback=template_globals
        ),
        plugins=[HTMXPlugin()],
        stores=_stores(settings),
        openapi_config=OpenAPIConfig(
            title="Triad API",
            version="0.1.0",
            path="/api/schema",
            render_plugins=[JsonRenderPlugin()],
            openapi_router=openapi_router,
        ),
        exception_handlers={
            NotAuthorizedException: _not_signed_in,
            PermissionDeniedException: _forbidden,
            NotFoundException: _not_found,
        },
        after_request=_security_headers,
        # Server errors are logged with their traceback (never a request body); expected 4xx answers without.
        logging_config=LoggingConfig(
            log_exceptions="always",
            disable_stack_trace={400, 401, 403, 404, 405, 409, 413, 422, 429},
            configure_root_logger=False,
        ),
        lifespan=[_lifespan(settings, engine)],
        state=State({"settings": settings}),
        request_max_body_size=20_000_000,
    )


def _stores(settings: Settings) -> StoreRegistry:
    """Sessions and login counters: in Redis when REDIS_URL is set (several web workers share them),
    else sessions in files under the data folder (they survive a restart) and counters in memory."""
    if settings.redis_url:
        root = RedisStore.with_client(url=settings.redis_url, namespace="triad")
        return StoreRegistry(default_factory=root.with_namespace)
    sessions = FileStore(path=settings.data_dir / "sessions")
    return StoreRegistry(stores={"sessions": sessions}, default_factory=lambda _name: MemoryStore())


def _lifespan(settings: Settings, engine: Any) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        worker: subprocess.Popen[bytes] | None = None
        await start_pool(engine, max_size=10)
        if settings.is_postgres:
            from wfm.worker import procrastinate_app

            app.state.queue = procrastinate_app(settings.database_url, settings.job_heartbeat_seconds)
            await app.state.queue.open_async()
        else:
            app.state.queue = None
        if settings.embedded_worker:
            worker = _start_embedded_worker()
        try:
            yield
        finally:
            if worker is not None:
                worker.terminate()
                try:
                    await asyncio.to_thread(worker.wait, 10)
                except subprocess.TimeoutExpired:
                    worker.kill()
            if settings.is_postgres:
                await app.state.queue.close_async()
            await close_pool(engine)

    return lifespan


def _start_embedded_worker() -> subprocess.Popen[bytes]:
    """Jobs run in a child process, one at a time, never on the web event loop."""
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    return subprocess.Popen([sys.executable, "-m", "wfm.cli", "worker"], env=env)


def _wants_html(request: Request[Any, Any, Any]) -> bool:
    return not request.url.path.startswith("/api/")


def _not_signed_in(request: Request[Any, Any, Any], exc: NotAuthorizedException) -> Response[Any]:
    if not _wants_html(request):
        return Response({"detail": "Sign in first.", "status_code": 401}, status_code=401)
    target = request.app.route_reverse("login") + f"?next={request.url.path}"
    if request.headers.get("hx-request"):
        # An htmx request whose session expired: send the whole page to the sign-in form.
        return Response("", status_code=401, headers={"HX-Redirect": target})
    return Redirect(target)


def _forbidden(request: Request[Any, Any, Any], exc: PermissionDeniedException) -> Response[Any]:
    return _error(request, 403, "Not allowed", str(exc.detail))


def _not_found(request: Request[Any, Any, Any], exc: NotFoundException) -> Response[Any]:
    return _error(request, 404, "Not found", "There is nothing here, or it is not yours to see.")


def _error(request: Request[Any, Any, Any], status: int, title: str, detail: str) -> Response[Any]:
    if not _wants_html(request):
        return Response({"detail": detail, "status_code": status}, status_code=status)
    user = request.scope.get("user")
    return Template(
        template_name="error.html",
        context={"title": title, "detail": detail, "status": status, "me": user},
        status_code=status,
    )


async def _security_headers(response: Response[Any]) -> Response[Any]:
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Vary"] = "HX-Request, Cookie"
    return response
