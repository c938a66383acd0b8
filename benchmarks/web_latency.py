"""Web latency: cold start and a signed-in home page under load, on SQLite and on PostgreSQL.

For each engine: a fresh database (migrate + demo data), then ``python -m uvicorn wfm.app:create_app
--factory`` (EMBEDDED_WORKER=0, sessions in files under the data folder, as `wfm serve` without Redis).

  (a) cold start: from launching uvicorn to the first 200 of GET /login, and to the first signed-in
      home page (GET /login, POST /login as admin, GET /), repeated ``--cold-starts`` times;
  (b) load: ``--clients`` concurrent clients (benchmarks/loadgen.py, a separate process) request GET /
      with the admin's session cookie for ``--duration`` seconds; requests/s, latency percentiles,
      errors, the server's peak RSS (VmHWM) and CPU use.

    .venv/bin/python benchmarks/web_latency.py            # 3 cold starts, 30 s of load per engine
    .venv/bin/python benchmarks/web_latency.py --quick    # 1 cold start, 10 s of load per engine
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

# Run as a script, this folder is on sys.path; it is not a package.
from _common import (
    CHILDREN,
    ENGINES,
    LOCAL_HOST,
    PYTHON,
    Target,
    busy_cores,
    cpu_jiffies,
    free_port,
    fresh_database,
    install_signal_handlers,
    machine_line,
    mib,
    proc_cpu_seconds,
    proc_status_kib,
    quiet_check,
    table,
    tail,
)

ADMIN = ("admin", "triad-admin-demo")
CSRF_COOKIE = "triad_csrf"
SESSION_COOKIE = "triad_session"
SIGNED_IN_MARK = "Sign out"  # only the signed-in layout has the sign-out button
LOADGEN = Path(__file__).resolve().parent / "loadgen.py"
REFERENCE = {
    "sqlite": "323 (WAL)",
    "postgresql": "346 (pool) / 148 (no pool)",
}


@dataclass
class ColdStart:
    first_login_s: float
    first_home_s: float
    sign_in_post_s: float
    rss_kib: int


@dataclass
class EngineResult:
    engine: str
    setup: dict[str, float] = field(default_factory=dict)
    cold: list[ColdStart] = field(default_factory=list)
    load: dict[str, Any] = field(default_factory=dict)
    peak_rss_kib: int = 0
    max_sampled_rss_kib: int = 0
    rss_before_load_kib: int = 0
    server_cpu_pct: float = 0.0
    machine_cores: float = 0.0
    quiet: str = ""
    error: str = ""


class Server:
    """One uvicorn process of the app on a free port (stopped by `close`, or at exit)."""

    def __init__(self, target: Target, index: int) -> None:
        self.port = free_port()
        self.url = f"http://{LOCAL_HOST}:{self.port}"
        self.log = target.data_dir / f"server-{index}.log"
        args = [PYTHON, "-m", "uvicorn", "wfm.app:create_app", "--factory", "--host", LOCAL_HOST]
        self.started = time.perf_counter()
        self.proc = CHILDREN.spawn([*args, "--port", str(self.port)], target.env, self.log)

    def close(self) -> None:
        CHILDREN.stop(self.proc)

    def failed(self, what: str) -> RuntimeError:
        code = self.proc.poll()
        state = f"exited with {code}" if code is not None else "still running"
        return RuntimeError(f"{what} (server {state}); its log ends:\n{tail(self.log)}")


def wait_for_login(server: Server, timeout: float = 60.0) -> float:
    """Poll GET /login until it answers 200; seconds since the launch."""
    deadline = server.started + timeout
    with httpx.Client(base_url=server.url, timeout=5.0) as http:
        while time.perf_counter() < deadline:
            if server.proc.poll() is not None:
                raise server.failed("the server stopped before answering")
            try:
                if http.get("/login").status_code == 200:
                    return time.perf_counter() - server.started
            except httpx.TransportError:
                pass
            time.sleep(0.005)
    raise server.failed(f"GET /login did not answer 200 within {timeout} s")


def sign_in(server: Server) -> tuple[str, float, float]:
    """Sign in as the demo admin and load the home page; (session cookie, POST seconds, seconds since launch)."""
    with httpx.Client(base_url=server.url, timeout=30.0, follow_redirects=False) as http:
        http.get("/login").raise_for_status()
        csrf = http.cookies.get(CSRF_COOKIE)
        if not csrf:
            raise server.failed("GET /login set no CSRF cookie")
        form = {"username": ADMIN[0], "password": ADMIN[1], "_csrf_token": csrf, "next": "/"}
        posted = time.perf_counter()
        response = http.post("/login", data=form)
        post_s = time.perf_counter() - posted
        if response.status_code not in (302, 303):
            raise server.failed(f"POST /login answered {response.status_code}: {response.text[:300]}")
        session = http.cookies.get(SESSION_COOKIE)
        if not session:
            raise server.failed("POST /login set no session cookie")
        home = http.get("/")
        if home.status_code != 200 or SIGNED_IN_MARK not in home.text:
            raise server.failed(f"GET / after sign-in answered {home.status_code}, not the signed-in home page")
        return f"{SESSION_COOKIE}={session}", post_s, time.perf_counter() - server.started


def run_load(server: Server, target: Target, cookie: str, args: argparse.Namespace, result: EngineResult) -> None:
    pid = server.proc.pid
    result.quiet = quiet_check(args.wait_quiet)
    print(f"[{target.engine}] machine before the load: {result.quiet}", flush=True)
    result.rss_before_load_kib = proc_status_kib(pid, "VmRSS")
    log = target.data_dir / "loadgen.log"
    command = [PYTHON, str(LOADGEN), "--url", server.url + "/", "--cookie", cookie]
    command += ["--clients", str(args.clients), "--duration", str(args.duration), "--warmup", str(args.warmup)]
    command += ["--expect", SIGNED_IN_MARK]
    cpu0, busy0 = proc_cpu_seconds(pid), cpu_jiffies()
    wall0 = time.perf_counter()
    loadgen = CHILDREN.spawn(command, target.env, log)
    max_rss = 0
    limit = wall0 + args.warmup + args.duration + 120
    while loadgen.poll() is None:
        max_rss = max(max_rss, proc_status_kib(pid, "VmRSS"))
        if time.perf_counter() > limit:
            CHILDREN.stop(loadgen)
            raise RuntimeError(f"the load generator did not finish in time:\n{tail(log)}")
        time.sleep(0.25)
    wall = time.perf_counter() - wall0
    cpu1, busy1 = proc_cpu_seconds(pid), cpu_jiffies()
    if loadgen.returncode != 0:
        raise RuntimeError(f"the load generator exited with {loadgen.returncode}:\n{tail(log)}")
    result.load = json.loads(log.read_text().strip().splitlines()[-1])
    windows = ", ".join(f"{v:g}" for v in result.load["rps_per_window"])
    print(f"[{target.engine}] req/s per {result.load['window_s']:g} s window: {windows}", flush=True)
    result.peak_rss_kib = proc_status_kib(pid, "VmHWM")
    result.max_sampled_rss_kib = max_rss
    # Averaged over warm-up and measurement (the whole life of the load generator).
    result.server_cpu_pct = 100 * (cpu1 - cpu0) / wall
    result.machine_cores = busy_cores(busy0, busy1)
    if server.proc.poll() is not None:
        raise server.failed("the server died under load")


def bench_engine(engine: str, args: argparse.Namespace) -> EngineResult:
    result = EngineResult(engine)
    print(f"[{engine}] creating a fresh database, migrate + demo ...", flush=True)
    with fresh_database(engine, demo=True) as target:
        result.setup = dict(target.setup_seconds)
        cold_quiet = quiet_check(args.wait_quiet)
        print(f"[{engine}] machine before the cold starts: {cold_quiet}", flush=True)
        for index in range(args.cold_starts):
            server = Server(target, index)
            try:
                first_login = wait_for_login(server)
                rss = proc_status_kib(server.proc.pid, "VmRSS")
                cookie, post_s, first_home = sign_in(server)
                result.cold.append(ColdStart(first_login, first_home, post_s, rss))
                print(
                    f"[{engine}] cold start {index + 1}/{args.cold_starts}: /login after {first_login:.2f} s,"
                    f" signed-in home after {first_home:.2f} s",
                    flush=True,
                )
                if index == args.cold_starts - 1:
                    print(f"[{engine}] load: {args.clients} clients, {args.duration:g} s ...", flush=True)
                    run_load(server, target, cookie, args, result)
                    result.quiet = f"machine before the cold starts: {cold_quiet}; before the load: {result.quiet}"
            finally:
                server.close()
    return result


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def report(results: list[EngineResult], args: argparse.Namespace) -> str:
    cold_rows = []
    load_rows = []
    for r in results:
        if r.error:
            cold_rows.append([r.engine, "FAILED: " + r.error.splitlines()[0][:60], "", "", "", "", ""])
            load_rows.append([r.engine, "-", "-", "-", "-", "-", "-", "-", "-", REFERENCE[r.engine]])
            continue
        cold_rows.append(
            [
                r.engine,
                f"{r.setup.get('migrate', 0):.2f}",
                f"{r.setup.get('demo', 0):.2f}",
                spread([c.first_login_s for c in r.cold]),
                spread([c.first_home_s for c in r.cold]),
                spread([c.sign_in_post_s for c in r.cold]),
                mib(r.cold[-1].rss_kib) if r.cold else "-",
            ]
        )
        load = r.load
        errors = str(load.get("errors", "-"))
        if load.get("error_kinds"):
            errors += " " + ",".join(f"{k}:{v}" for k, v in load["error_kinds"].items())
        load_rows.append(
            [
                r.engine,
                f"{load['rps']:.1f}",
                f"{load['p50_ms']:.1f}",
                f"{load['p95_ms']:.1f}",
                f"{load['p99_ms']:.1f}",
                errors,
                mib(r.peak_rss_kib),
                f"{r.server_cpu_pct:.0f} %",
                f"{load['loadgen_cpu_pct']:.0f} %",
                f"{r.machine_cores:.2f}",
                REFERENCE[r.engine],
            ]
        )
    runs = f"{args.cold_starts} run(s), median (min-max)" if args.cold_starts > 1 else "1 run"
    cold = table(
        ["engine", "migrate s", "demo s", "first GET /login s", "first signed-in home s", "POST /login s", "RSS"],
        cold_rows,
        title=f"(a) Cold start: launch of uvicorn -> first answer ({runs})",
        notes=[
            "first signed-in home = launch -> GET /login, POST /login (admin), GET / all answered.",
            "POST /login is mostly PBKDF2-SHA256 at Piccolo's 600,000 iterations.",
            "RSS = the server's VmRSS right after its first GET /login.",
        ],
    )
    under_load = table(
        [
            "engine",
            "req/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "errors",
            "peak RSS",
            "server CPU",
            "loadgen CPU",
            "busy cores",
            "ref req/s",
        ],
        load_rows,
        title=(
            f"(b) Signed-in GET / under load: {args.clients} clients, {args.duration:g} s measured"
            f" after {args.warmup:g} s warm-up, one uvicorn process"
        ),
        notes=[
            "peak RSS = the server's VmHWM after the run; CPU = % of one core over warm-up + run;",
            "  busy cores = the whole machine (server + load generator + PostgreSQL + anything else).",
            "ref req/s = the project's research notes: Piccolo on PostgreSQL 346 req/s with a connection",
            "  pool vs 148 without; SQLite in WAL mode 323 req/s. Those were for a simple POST endpoint,",
            "  64 clients, uvicorn (machine unknown): a yardstick, not the same test. GET / here reads and",
            "  rewrites the session file, runs 8 queries (3 for the signed-in user, 5 for the page) and",
            "  renders a Jinja page.",
        ],
    )
    quiet = [f"  {r.engine}: {r.quiet}" for r in results if r.quiet]
    for r in results:
        if r.load:
            windows = ", ".join(f"{v:g}" for v in r.load["rps_per_window"])
            quiet.append(f"  {r.engine}: req/s per {r.load['window_s']:g} s window: {windows}")
    return cold + "\n\n" + under_load + ("\n" + "\n".join(quiet) if quiet else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 cold start and 10 s of load per engine")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated: sqlite,postgresql")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, help="measured seconds of load (default 30, 10 with --quick)")
    parser.add_argument("--warmup", type=float, help="seconds of load before measuring (default 2, 1 with --quick)")
    parser.add_argument("--cold-starts", type=int, help="cold starts per engine (default 3, 1 with --quick)")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=60.0,
        help="seconds to wait for other work on the machine to stop before each measurement (default 60)",
    )
    args = parser.parse_args()
    args.duration = args.duration or (10.0 if args.quick else 30.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    args.cold_starts = max(1, args.cold_starts or (1 if args.quick else 3))
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    install_signal_handlers()
    print(machine_line(), flush=True)
    results = []
    for engine in engines:
        try:
            results.append(bench_engine(engine, args))
        except Exception as error:
            traceback.print_exc()
            results.append(EngineResult(engine, error=f"{type(error).__name__}: {error}"))
    print()
    print(report(results, args))
    if any(r.error for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
