"""The app in a real browser: Debian's chromium, driven by Playwright, against `wfm` run as a user would.

One server per module (migrate, demo data, uvicorn on a free port, embedded worker off). Every page
may load only from 127.0.0.1 (other requests are aborted and fail the test) and log no console error.
Without /usr/bin/chromium the tests skip with the reason, except under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import pytest

from tests.conftest import ROOT, LoadedDemo, run_wfm
from tests.processes import WfmProcess

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOST = "127.0.0.1"
TIMEOUT_MS = 10_000
ADMIN = ("admin", "triad-admin-demo")
AGENT = ("agent", "triad-agent-demo")
LEAD = ("lead", "triad-lead-demo")
FINANCE = ("finance", "triad-finance-demo")


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"CI requires the browser tests to run: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOCAL_HOST, 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, server: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited with {server.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection((LOCAL_HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"the server did not listen on port {port} within {timeout} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def server_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of the module's server: a fresh SQLite database in its own data directory."""
    data_dir = tmp_path_factory.mktemp("browser-data")
    return {
        "TRIAD_DATA_DIR": str(data_dir),
        "EMBEDDED_WORKER": "0",
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "TRIAD_DEMO_SCHEDULE_SECONDS": "5",
    }


@pytest.fixture(scope="module")
def base_url(server_env: dict[str, str], sqlite_demo: LoadedDemo) -> Iterator[str]:
    """A copy of the run's demo database, `wfm migrate` and `wfm demo --if-empty` on it (as `make run` does:
    both find their work done) and uvicorn; yields the site's URL."""
    _require_chromium()
    env = server_env
    data_dir = Path(env["TRIAD_DATA_DIR"])
    sqlite_demo.copy_to(data_dir)
    for command in (["migrate"], ["demo", "--if-empty"]):
        result = run_wfm(*command, env=env, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
    port = _free_port()
    log = data_dir / "server.log"
    command = [sys.executable, "-m", "uvicorn", "wfm.app:create_app", "--factory", "--host", LOCAL_HOST]
    with log.open("wb") as output:
        server = subprocess.Popen(
            [*command, "--port", str(port)],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_port(port, server, log)
        yield f"http://{LOCAL_HOST}:{port}"
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)


@pytest.fixture(scope="module")
def browser(base_url: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Watch:
    """What a page did that it must not: requests away from 127.0.0.1, console errors, page errors.

    Chromium logs every 4xx answer as a console error ("Failed to load resource"); a test names the
    ones it expects (status and path) with `allow`, and only those are let through.
    """

    outside: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    allowed: set[tuple[int, str]] = field(default_factory=set)

    def allow(self, status: int, path: str) -> None:
        self.allowed.add((status, path))

    def is_expected(self, text: str, url: str) -> bool:
        return any(
            text.startswith(f"Failed to load resource: the server responded with a status of {status} ")
            and urlsplit(url).path == path
            for status, path in self.allowed
        )

    def check(self) -> None:
        assert self.outside == [], f"the page asked for something outside {LOCAL_HOST}: {self.outside}"
        assert self.console_errors == [], f"console errors: {self.console_errors}"


def _open_page(browser: Any, watch: Watch, **context_options: Any) -> Any:
    context = browser.new_context(**context_options)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()

    def only_local(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).hostname == LOCAL_HOST:
            route.continue_()
        else:
            watch.outside.append(url)
            route.abort()

    def on_console(message: Any) -> None:
        url = message.location.get("url", "")
        if message.type == "error" and not watch.is_expected(message.text, url):
            watch.console_errors.append(f"{message.text} ({url})")

    page.route("**/*", only_local)
    page.on("console", on_console)
    page.on("pageerror", lambda error: watch.console_errors.append(f"uncaught: {error}"))
    return page


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def desktop(browser: Any, watch: Watch) -> Iterator[Any]:
    page = _open_page(browser, watch, viewport={"width": 1280, "height": 900})
    yield page
    page.context.close()


@pytest.fixture
def phone(browser: Any, watch: Watch) -> Iterator[Any]:
    page = _open_page(browser, watch, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    yield page
    page.context.close()


def _sign_in(page: Any, base_url: str, login: tuple[str, str]) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base_url}/login")
    page.get_by_label("Username").fill(login[0])
    page.get_by_label("Password").fill(login[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello,")


def _assert_htmx_loaded(page: Any) -> None:
    assert page.evaluate("typeof htmx") == "object", "htmx did not load"
    version = page.evaluate("htmx.version")
    assert str(version).startswith("2."), version


def _open_site_settings(page: Any, base_url: str) -> None:
    from playwright.sync_api import expect

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Site", exact=True).click()
    page.wait_for_url(f"{base_url}/admin/site")
    expect(page.get_by_role("heading", level=1)).to_have_text("Site settings")
    _assert_htmx_loaded(page)


def _mark_page(page: Any) -> None:
    """Leave marks a full navigation would erase: one on the window, one on the form htmx replaces."""
    page.evaluate("window.__triadMark = 'same page'; document.getElementById('site-form').__triadOld = true")


def _assert_swapped_in_place(page: Any, navigations: list[str]) -> None:
    assert page.evaluate("window.__triadMark") == "same page", "the submit reloaded the page"
    assert page.evaluate("document.getElementById('site-form').__triadOld === undefined"), "the form was not swapped"
    assert navigations == [], f"the main frame navigated: {navigations}"


def _track_navigations(page: Any) -> list[str]:
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
    return navigations


def test_admin_renames_the_site_through_the_htmx_form(desktop: Any, watch: Watch, base_url: str) -> None:
    from playwright.sync_api import expect

    page = desktop
    new_name = f"Browser Centre {uuid.uuid4().hex[:6]}"
    _sign_in(page, base_url, ADMIN)
    _assert_htmx_loaded(page)
    _open_site_settings(page, base_url)

    _mark_page(page)
    navigations = _track_navigations(page)
    form = page.locator("#site-form")
    form.get_by_label("Site name").fill(new_name)
    with page.expect_response(lambda r: r.request.method == "POST" and urlsplit(r.url).path == "/admin/site") as posted:
        form.get_by_role("button", name="Save settings").click()
    response = posted.value
    assert response.status == 200
    assert response.request.headers.get("hx-request") == "true"
    expect(page.locator("#site-form").get_by_role("status")).to_have_text("Saved.")
    _assert_swapped_in_place(page, navigations)
    expect(page.get_by_label("Site name")).to_have_value(new_name)

    page.reload()
    expect(page.get_by_label("Site name")).to_have_value(new_name)
    expect(page.get_by_role("status")).to_have_count(0)
    expect(page).to_have_title(f"Site settings · {new_name}")
    watch.check()


def test_server_validation_errors_are_swapped_into_the_form(desktop: Any, watch: Watch, base_url: str) -> None:
    from playwright.sync_api import expect

    page = desktop
    _sign_in(page, base_url, ADMIN)
    _open_site_settings(page, base_url)
    name_before = page.get_by_label("Site name").input_value()
    navigations = _track_navigations(page)
    watch.allow(422, "/admin/site")

    # Within the browser's min/max, but only the server knows comments may not come below scores.
    _mark_page(page)
    page.get_by_label("Survey score threshold (people)").fill("10")
    page.get_by_label("Survey comment threshold (people)").fill("5")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Save settings").click()
    assert posted.value.status == 422
    error = page.locator("#e-comment_threshold")
    expect(error).to_have_text("The comment threshold may not be below the score threshold.")
    expect(page.get_by_label("Survey comment threshold (people)")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Survey comment threshold (people)")).to_have_value("5")
    expect(page.get_by_role("status")).to_have_count(0)
    _assert_swapped_in_place(page, navigations)

    # Below the minimum of 3: drop the input's own min so the browser lets the server answer.
    _mark_page(page)
    score = page.get_by_label("Survey score threshold (people)")
    score.evaluate("input => input.removeAttribute('min')")
    score.fill("2")
    page.get_by_label("Survey comment threshold (people)").fill("8")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Save settings").click()
    assert posted.value.status == 422
    # The wording is the server's; it names the minimum.
    expect(page.locator("#e-score_threshold")).to_have_text(re.compile(r"\b3\b"))
    expect(page.get_by_label("Survey score threshold (people)")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#e-comment_threshold")).to_have_count(0)
    _assert_swapped_in_place(page, navigations)

    page.reload()
    expect(page.get_by_label("Site name")).to_have_value(name_before)
    expect(page.get_by_label("Survey score threshold (people)")).not_to_have_value("2")
    watch.check()


def test_an_agent_on_a_phone_sees_home_and_nav_but_not_admin(phone: Any, watch: Watch, base_url: str) -> None:
    from playwright.sync_api import expect

    page = phone
    _sign_in(page, base_url, AGENT)
    _assert_htmx_loaded(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Hello, \w+ \w+"))
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_visible()
    expect(nav.get_by_role("link", name="Home")).to_be_visible()
    expect(nav.get_by_role("link", name="My profile")).to_be_visible()
    expect(nav.get_by_role("link", name="Site", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the home page scrolls sideways on a phone"

    watch.allow(403, "/admin/site")
    response = page.goto(f"{base_url}/admin/site")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.get_by_label("Site name")).to_have_count(0)
    watch.check()


def test_admin_imports_a_broken_then_a_good_history_file_and_sees_its_chart(
    desktop: Any, watch: Watch, base_url: str
) -> None:
    from playwright.sync_api import expect

    page = desktop
    _sign_in(page, base_url, ADMIN)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import data")
    # A day in 2019, before any demo history, so the chart shows exactly this file.
    good = "interval_start,channel,offered\n" + "\n".join(
        f"2019-01-07T{h:02d}:{m:02d},voice,{h}" for h in range(8, 18) for m in (0, 15, 30, 45)
    )
    broken = good.replace("2019-01-07T09:15,voice,9", "2019-01-07T09:15,voice,-9")

    watch.allow(422, "/imports")
    page.get_by_label("Kind").select_option("history")
    page.get_by_label("File").set_input_files({"name": "broken.csv", "mimeType": "text/csv", "buffer": broken.encode()})
    page.get_by_role("button", name="Import").click()
    result = page.locator("#import-result")
    expect(result.get_by_role("heading")).to_have_text("broken.csv was refused: nothing was saved")
    expect(result).to_contain_text("row 7, column offered: is below 0 (negative)")

    page.get_by_label("Kind").select_option("history")
    page.get_by_label("File").set_input_files({"name": "good.csv", "mimeType": "text/csv", "buffer": good.encode()})
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-result")).to_contain_text("40 rows read as history: 40 rows added or changed")
    expect(page.get_by_role("row").filter(has_text="good.csv")).to_have_count(1)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()
    page.get_by_label("Channel", exact=True).select_option(label="voice")
    page.get_by_label("From", exact=True).fill("2019-01-07")
    page.get_by_label("To", exact=True).fill("2019-01-07")
    page.get_by_label("Per", exact=True).select_option("interval")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#history")).to_contain_text("500 contacts offered, 40 intervals")
    expect(page.locator("#history figure svg")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"start=2019-01-07"))
    watch.check()


def _day_row(page: Any, day: str) -> list[float]:
    """The numbers of one day's row in the forecast page's per-day table (P50, adjusted P50, ...)."""
    cells = page.get_by_role("row").filter(has=page.get_by_role("link", name=day, exact=True)).locator("td")
    return [float(text) for text in cells.all_inner_texts()[1:] if text.strip()]


def test_a_lead_runs_a_forecast_and_adjusts_a_day(
    desktop: Any, watch: Watch, base_url: str, server_env: dict[str, str], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = desktop
    worker = WfmProcess(["worker"], server_env, tmp_path / "worker.log")
    try:
        _sign_in(page, base_url, LEAD)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Forecast").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Forecast")
        page.get_by_label("Channel", exact=True).select_option(label="chat")
        page.get_by_role("button", name="Show").click()
        page.get_by_label("Days ahead").fill("7")
        page.get_by_label("Model").select_option("snaive")
        page.get_by_role("button", name="Run forecast").click()
        expect(page.get_by_label("Progress")).to_have_count(1)
        # The progress fragment polls until the job is done; seasonal naive on the demo takes seconds.
        page.get_by_role("link", name="See the forecast").click(timeout=90_000)
        assert worker.alive, worker.log()
    finally:
        worker.stop()

    card = page.locator("section.card").filter(has=page.get_by_role("heading", name=re.compile("^Forecast of ")))
    expect(page.locator("main")).to_contain_text("model snaive (asked: snaive) · by lead")
    expect(page.get_by_label("Channel", exact=True)).to_have_value(re.compile(r"\d+"))
    assert page.get_by_label("Channel", exact=True).locator("option:checked").inner_text() == "chat"
    expect(card.locator("figure svg")).to_have_count(1)
    span = re.search(r"(\d{4}-\d\d-\d\d) to (\d{4}-\d\d-\d\d)", page.locator("main").inner_text())
    assert span is not None
    first_day = span.group(1)
    p50, adjusted = _day_row(page, first_day)[:2]
    assert p50 > 0 and adjusted == p50

    next_day = (dt.date.fromisoformat(first_day) + dt.timedelta(days=1)).isoformat()
    page.get_by_label("From (local)").fill(f"{first_day}T00:00")
    page.get_by_label("To (local, exclusive)").fill(f"{next_day}T00:00")
    page.get_by_label("Change (%)").fill("20")
    page.get_by_label("Reason").fill("Mailing goes out")
    page.get_by_role("button", name="Add adjustment").click()
    expect(page.get_by_role("row").filter(has_text="Mailing goes out")).to_contain_text("+20 %")
    p50_after, adjusted_after = _day_row(page, first_day)[:2]
    # The statistical P50 stays; only the adjusted line moves, by the 20 % asked (rounded per interval).
    assert p50_after == p50
    assert adjusted_after == pytest.approx(1.2 * p50, rel=0.02)
    watch.check()


def test_a_lead_reads_a_requirement_cell_and_tries_a_what_if(desktop: Any, watch: Watch, base_url: str) -> None:
    from playwright.sync_api import expect

    page = desktop
    _sign_in(page, base_url, LEAD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Requirements").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Staffing requirements")
    page.get_by_label("Channel", exact=True).select_option(label="voice")
    page.get_by_role("button", name="Show").click()
    heatmap = page.get_by_role("table", name="Staff required per day and interval")
    expect(heatmap).to_be_visible()
    # The demo's voice line opens at 08:00: the first staffed cell of the first day explains itself in place.
    navigations = _track_navigations(page)
    page.evaluate("window.__triadMark = 'same page'")
    first = heatmap.locator("td a").first
    staff = first.inner_text()
    first.click()
    derivation = page.locator("#derivation")
    expect(derivation.get_by_role("heading")).to_contain_text("how the requirement was derived")
    expect(derivation).to_contain_text("Erlang A (M/M/n+M)")
    expect(derivation.get_by_role("row").filter(has_text="Staff required")).to_contain_text(staff)
    assert page.evaluate("window.__triadMark") == "same page" and navigations == [], "the cell reloaded the page"

    page.get_by_label("Shrinkage (%)").fill("40")
    page.get_by_role("button", name="Compare").click()
    result = page.locator("#what-if-result")
    expect(result).to_contain_text("staff-hours instead of")
    expect(result.get_by_role("row")).to_have_count(15)  # header + 14 forecast days
    watch.check()


def test_a_lead_generates_edits_and_publishes_a_week(
    desktop: Any, watch: Watch, base_url: str, server_env: dict[str, str], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = desktop
    worker = WfmProcess(["worker"], server_env, tmp_path / "worker.log")
    try:
        _sign_in(page, base_url, LEAD)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Schedules").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Schedules")
        # Next week (the page's default) holds the demo's draft; generate a fresh one in 10 s.
        page.get_by_label("Time to search").select_option("10")
        page.get_by_role("button", name="Generate a draft").click()
        expect(page.get_by_label("Progress")).to_have_count(1)
        page.get_by_role("link", name="See the schedule").click(timeout=90_000)
        assert worker.alive, worker.log()
    finally:
        worker.stop()
    expect(page.get_by_role("heading", name=re.compile(r"^Week of .*: draft$"))).to_be_visible()
    expect(page.locator("figure svg").first).to_be_visible()
    expect(page.get_by_role("table").filter(has_text="Projected service level")).to_be_visible()
    grid = page.locator("table.week-grid")
    expect(grid.get_by_role("row")).not_to_have_count(1)

    # Lengthen someone's Monday past the shift-length rule: the page says so at once.
    page.get_by_label("Change", exact=True).select_option("shift")
    agent_name = page.get_by_label("Agent", exact=True).locator("option").first.inner_text().split(" (")[0]
    page.get_by_label("Day", exact=True).select_option(index=0)
    page.get_by_label("From", exact=True).fill("06:00")
    page.get_by_label("To", exact=True).fill("18:00")
    page.get_by_role("button", name="Apply").click()
    status = page.get_by_role("status").filter(has_text="Saved in draft")
    expect(status).to_contain_text("shift_length")
    expect(grid.get_by_role("row").filter(has_text=agent_name)).to_contain_text("06:00-18:00")

    # Publishing a version that breaks a rule asks for the reason first.
    page.get_by_label(re.compile("Reason to publish anyway")).fill("Covering the launch")
    page.get_by_role("button", name="Publish this version").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Week of .*: published$"))).to_be_visible()
    expect(page.locator("main")).to_contain_text("Covering the launch")
    watch.check()


def test_an_agent_on_a_phone_asks_for_time_off_and_the_lead_approves(
    phone: Any, desktop: Any, watch: Watch, base_url: str
) -> None:
    from playwright.sync_api import expect

    _sign_in(phone, base_url, AGENT)
    phone.get_by_role("navigation", name="Main").get_by_role("link", name="My schedule").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("My schedule")
    this_week = phone.locator("section.card").first
    expect(this_week.get_by_role("listitem").first).to_be_visible()
    assert phone.evaluate("document.scrollingElement.scrollWidth") <= 390, "the page scrolls sideways on a phone"

    phone.get_by_role("navigation", name="Main").get_by_role("link", name="My time off").click()
    day = dt.date.today() + dt.timedelta(days=30)
    phone.get_by_label("First day").fill(day.isoformat())
    phone.get_by_label("Last day").fill((day + dt.timedelta(days=1)).isoformat())
    phone.get_by_label("Note for your lead (optional)").fill("Wedding")
    phone.get_by_role("button", name="Send the request").click()
    mine = phone.get_by_role("listitem").filter(has_text="pending").first
    expect(mine).to_be_visible()
    assert phone.evaluate("document.scrollingElement.scrollWidth") <= 390

    _sign_in(desktop, base_url, LEAD)
    desktop.get_by_role("navigation", name="Main").get_by_role("link", name="Time off").click()
    row = desktop.get_by_role("row").filter(has_text="Wedding")
    expect(row).to_contain_text("allowed")
    expect(row).to_contain_text(re.compile("scheduled h|no schedule for these days yet"))
    # The demo history has people off that month: the lead raises the team's limit before approving.
    limits = desktop.locator("section.card").filter(
        has=desktop.get_by_role("heading", name="How many may be off at once")
    )
    for n in range(limits.locator("form").count()):
        form = limits.locator("form").nth(n)
        form.get_by_role("spinbutton").fill("20")
        form.get_by_role("button", name="Save").click()
        expect(desktop.get_by_role("heading", level=1)).to_have_text("Time off and swaps")
    expect(row).to_contain_text("of 20 allowed")
    row.get_by_role("button", name="Approve").click()
    expect(desktop.get_by_role("row").filter(has_text="Wedding")).to_have_count(0)
    expect(desktop.locator("main")).to_contain_text("approved by lead")
    watch.check()


def _demo_agent_team(server_env: dict[str, str]) -> tuple[str, list[int]]:
    """The demo agent's team name and the user ids of their current teammates."""
    import sqlite3

    with sqlite3.connect(Path(server_env["TRIAD_DATA_DIR"]) / "triad.sqlite3") as connection:
        team_id, name = connection.execute(
            'SELECT t.id, t.name FROM agent a JOIN wfm_user u ON u.id = a."user" JOIN team t ON t.id = a.team'
            " WHERE u.username = 'agent'"
        ).fetchone()
        mates = connection.execute(
            'SELECT a."user" FROM agent a JOIN wfm_user u ON u.id = a."user"'
            " WHERE a.team = ? AND u.username != 'agent' AND (a.leave_date IS NULL OR a.leave_date >= date('now'))",
            (team_id,),
        ).fetchall()
    return str(name), [int(m[0]) for m in mates]


def _teammates_answer(server_env: dict[str, str], round_id: int, user_ids: list[int]) -> None:
    """Teammates answer through the same service the answer form uses, on the server's database."""
    import asyncio
    import concurrent.futures

    from pulse.services import answers
    from wfm.db import bind_tables, every_table, make_engine

    async def work() -> None:
        bind_tables(make_engine(f"sqlite:///{Path(server_env['TRIAD_DATA_DIR']) / 'triad.sqlite3'}"), every_table())
        for i, user_id in enumerate(user_ids):
            target = await answers.answerable(round_id, user_id)
            form = answers.AnswerForm(enps=10 - i, scores=tuple((d.key, 4) for d in target.drivers), comment="")
            assert await answers.submit(target, user_id, form)

    # Playwright's sync API runs an event loop in this thread: run the service on a thread of its own.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, work()).result()


def _create_survey(page: Any, base_url: str, name: str, team: str) -> int:
    from playwright.sync_api import expect

    page.goto(f"{base_url}/pulse")
    expect(page.get_by_role("heading", level=1)).to_have_text("Pulse surveys")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Number of rounds").fill("1")
    page.get_by_label(team, exact=True).check()
    page.get_by_role("button", name="Create the survey").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.get_by_text("No closed rounds yet")).to_be_visible()
    return int(page.url.rsplit("/", 1)[1])


def _answer_on_phone(phone: Any, base_url: str, survey_name: str) -> int:
    from playwright.sync_api import expect

    phone.goto(f"{base_url}/")
    phone.get_by_role("link", name=re.compile(f"Answer {survey_name}, round 1")).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text(survey_name)
    assert phone.evaluate("document.scrollingElement.scrollWidth") <= 390, "the survey scrolls sideways on a phone"
    round_id = int(phone.url.rsplit("/", 1)[1])
    phone.get_by_role("group", name=re.compile("recommend working here")).get_by_role("radio", name="8").check()
    for group in phone.get_by_role("group").all()[1:]:
        group.get_by_role("radio", name="4").check()
    phone.get_by_label(re.compile("Anything you would like to add")).fill("More coaching, please")
    phone.get_by_role("button", name="Send my answers").click()
    expect(phone.get_by_role("status")).to_contain_text("your answer is in")
    phone.goto(f"{base_url}/")
    expect(phone.get_by_text(re.compile(f"{survey_name}, round 1: answered"))).to_be_visible()
    return round_id


def test_an_agent_answers_a_pulse_on_a_phone_and_the_lead_sees_it_only_past_the_threshold(
    phone: Any, desktop: Any, watch: Watch, base_url: str, server_env: dict[str, str]
) -> None:
    from playwright.sync_api import expect

    team, mates = _demo_agent_team(server_env)
    assert len(mates) >= 4
    _sign_in(desktop, base_url, LEAD)
    _sign_in(phone, base_url, AGENT)
    # Alone in a round: the lead sees how many answered, not what.
    _create_survey(desktop, base_url, "Quick check-in", team)
    _answer_on_phone(phone, base_url, "Quick check-in")
    desktop.get_by_role("button", name="Close round 1 now").click()
    expect(desktop.get_by_text("Not enough responses to show: 1 answered")).to_be_visible()
    expect(desktop.locator("table.pulse-heat")).to_contain_text("hidden")
    # Five in a round (the agent and four teammates): the team's eNPS shows.
    _create_survey(desktop, base_url, "Second check-in", team)
    round_id = _answer_on_phone(phone, base_url, "Second check-in")
    _teammates_answer(server_env, round_id, mates[:4])
    desktop.reload()
    desktop.get_by_role("button", name="Close round 1 now").click()
    # Answers 8, 10, 9, 8, 7: two promoters, three passives -> eNPS +40.
    expect(desktop.locator("#headline + p strong")).to_have_text("+40")
    expect(desktop.get_by_text("5 answered")).to_be_visible()
    expect(desktop.get_by_text("More coaching, please")).to_have_count(0)  # comments need 8
    watch.check()


def test_finance_filters_costs_exports_them_and_reads_the_triad_and_a_lead_sees_their_teams(
    browser: Any, desktop: Any, watch: Watch, base_url: str
) -> None:
    from playwright.sync_api import expect

    _sign_in(desktop, base_url, FINANCE)
    nav = desktop.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Costs", exact=True).click()
    expect(desktop.get_by_role("heading", level=1)).to_have_text("Cost per contact and cost-to-serve")
    months = desktop.locator("section[aria-labelledby=months] tbody tr")
    expect(months.first).to_be_visible()
    assert desktop.locator("#finance figure.chart svg").count() == 1
    # The filter swaps the fragment in place (the window's mark survives) and keeps the address shareable.
    desktop.evaluate("window.__triadMark = 'same page'")
    desktop.get_by_label("Channel", exact=True).select_option("chat")
    desktop.locator("#finance form").first.get_by_role("button", name="Show").click()
    expect(desktop.get_by_role("heading", name=re.compile(r"By month \(chat, all teams\)"))).to_be_visible()
    assert desktop.evaluate("window.__triadMark") == "same page"
    assert "channel=chat" in desktop.url
    channels = desktop.locator("section[aria-labelledby=channels] tbody tr td:nth-child(2)").all_inner_texts()
    assert channels and set(channels) == {"chat"}
    with desktop.expect_download() as download:
        desktop.get_by_role("link", name="Download CSV").click()
    exported = pd.read_csv(download.value.path())
    assert len(exported) > 0 and set(exported["channel"]) == {"chat"}
    assert {"month", "team", "total_cost", "handled", "cost_per_contact"} <= set(exported.columns)

    # The triad page: scorecard, the links with their charts, the trend; another period swaps in place.
    nav.get_by_role("link", name="Triad", exact=True).click()
    expect(desktop.get_by_role("heading", level=1)).to_have_text("Customers, employees and the company")
    expect(desktop.get_by_role("heading", name="Scorecard")).to_be_visible()
    expect(desktop.locator("article.pair").first).to_be_visible()
    assert desktop.locator("#triad figure.chart svg").count() >= 3
    assert desktop.get_by_role("columnheader", name="Your teams").count() == 0
    last = desktop.get_by_label("To", exact=True).input_value()
    first = f"{int(last[:4]) - 1}{last[4:]}"  # 13 months instead of 12
    desktop.evaluate("window.__triadMark = 'triad page'")
    desktop.get_by_label("From", exact=True).fill(first)
    desktop.get_by_role("button", name="Show").click()
    expect(desktop.get_by_text(f"{first} to {last}")).to_be_visible()
    assert desktop.evaluate("window.__triadMark") == "triad page"
    expect(desktop.locator("article.pair").first).to_be_visible()
    assert f"first={first}" in desktop.url
    sentences = " ".join(desktop.locator("#triad .summary").all_inner_texts())
    assert re.search(r"\bcaus(e|es|ed|ing|al|ally)\b", sentences) is None

    # A lead sees their teams beside the centre and only their own teams' points; costs are not theirs.
    lead = _open_page(browser, watch, viewport={"width": 1280, "height": 900})
    try:
        _sign_in(lead, base_url, LEAD)
        lead_nav = lead.get_by_role("navigation", name="Main")
        assert lead_nav.get_by_role("link", name="Costs", exact=True).count() == 0
        lead_nav.get_by_role("link", name="Triad", exact=True).click()
        expect(lead.get_by_role("columnheader", name="Your teams")).to_be_visible()
        expect(lead.locator("figcaption").first).to_contain_text("Points: your teams'")
        watch.allow(403, "/finance")
        assert lead.goto(f"{base_url}/finance").status == 403
    finally:
        lead.context.close()
    watch.check()
