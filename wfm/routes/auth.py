"""Sign in, sign out, change your password, set a password through a one-time link."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from wfm import security
from wfm.forms import ChangePassword, FormError, NewPassword, SignIn, parse_form
from wfm.routes.common import client_ip, form_values, page, safe_next
from wfm.services import accounts, audit
from wfm.settings import Settings

LOGIN_STORE = "login_rate_limit"


class AuthController(Controller):
    @get("/login", name="login", opt=security.public())
    async def login_form(
        self, request: Request[Any, Any, Any], next_path: Annotated[str, QueryParameter(name="next")] = "/"
    ) -> Template:
        return await page(request, "wfm/login.html", next=safe_next(next_path), errors={}, username="")

    @post("/login", name="login_submit", opt=security.public())
    async def login(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        settings: Settings = request.app.state.settings
        values = await form_values(request)
        ip = client_ip(request)
        store = request.app.stores.get(LOGIN_STORE)
        if await security.over_rate_limit(store, f"ip:{ip}", settings.login_attempts_per_minute, 60):
            await audit.record(str(values.get("username", ""))[:150], "sign_in_throttled", ip=ip)
            return await page(
                request,
                "wfm/login.html",
                status_code=429,
                next=safe_next(str(values.get("next", "/"))),
                username=str(values.get("username", "")),
                errors={"form": "Too many sign-in attempts from here. Wait a minute and try again."},
            )
        try:
            form = parse_form(SignIn, values)
        except FormError as error:
            return await page(request, "wfm/login.html", status_code=422, next="/", username="", errors=error.errors)
        user_id = await accounts.authenticate(form.username, form.password)
        if user_id is None:
            await audit.record(form.username, "sign_in_failed", ip=ip)
            return await page(
                request,
                "wfm/login.html",
                status_code=422,
                next=safe_next(form.next),
                username=form.username,
                errors={"form": "Wrong username or password."},
            )
        session: dict[str, Any] = {}
        security.start_session(session, user_id)
        request.set_session(session)
        await audit.record(form.username, "sign_in", ip=ip)
        return Redirect(safe_next(form.next or "/"))

    @post("/logout", name="logout", opt=security.roles(*security.ALL_ROLES))
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        user = request.user
        request.clear_session()
        await audit.record(user.username, "sign_out", ip=client_ip(request))
        return Redirect(request.app.route_reverse("login"))

    @get("/account/password", name="password", opt=security.roles(*security.ALL_ROLES))
    async def password_form(self, request: Request[Any, Any, Any]) -> Template:
        return await page(request, "wfm/password.html", errors={}, saved=False)

    @post("/account/password", name="password_submit", opt=security.roles(*security.ALL_ROLES))
    async def change_password(self, request: Request[Any, Any, Any]) -> Template:
        try:
            form = parse_form(ChangePassword, await form_values(request))
            await accounts.change_password(request.user, form.current, form.password, form.confirm)
        except FormError as error:
            return await page(request, "wfm/password.html", status_code=422, errors=error.errors, saved=False)
        return await page(request, "wfm/password.html", errors={}, saved=True)

    @get("/set-password/{token:str}", name="set_password", opt=security.public())
    async def set_password_form(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Template:
        username = await accounts.link_owner(token)
        return await page(
            request,
            "wfm/set_password.html",
            status_code=200 if username else 404,
            token=token,
            username=username,
            errors={},
        )

    @post("/set-password/{token:str}", name="set_password_submit", opt=security.public())
    async def set_password(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Template | Redirect:
        try:
            form = parse_form(NewPassword, await form_values(request))
            await accounts.use_set_password_link(token, form.password, form.confirm)
        except FormError as error:
            username = await accounts.link_owner(token)
            return await page(
                request, "wfm/set_password.html", status_code=422, token=token, username=username, errors=error.errors
            )
        return Redirect(request.app.route_reverse("login") + "?next=/")
