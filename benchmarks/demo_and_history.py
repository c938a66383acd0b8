"""`wfm demo` time and memory, and the history page over two years, on SQLite and on PostgreSQL.

For each engine: a fresh migrated database; `python -m wfm.cli demo` (wall time and the child's peak
RSS); then one uvicorn process, the demo admin signed in, and ``GET /history`` for the voice channel
over the demo's whole two years at interval, day and week grain (one warm-up, then ``--repeat``
timed requests each; the interval grain answers one page of 96 rows and a daily chart).

    .venv/bin/python benchmarks/demo_and_history.py            # about 2 minutes
    .venv/bin/python benchmarks/demo_and_history.py --quick    # 2 requests per grain
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import time
from zoneinfo import ZoneInfo

import httpx

# Run as a script, this folder is on sys.path; it is not a package.
from _common import (
    ENGINES,
    PYTHON,
    REPO,
    Target,
    fresh_database,
    install_signal_handlers,
    machine_line,
    quiet_check,
    table,
)
from web_latency import Server, sign_in, wait_for_login

DEMO_GOAL = "under about 90 s (issue 3)"


def _timed_demo(target: Target) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of `wfm demo`, measured by GNU time around that process alone."""
    report = target.data_dir / "demo.time"
    started = time.perf_counter()
    subprocess.run(
        ["/usr/bin/time", "-f", "%M", "-o", str(report), PYTHON, "-m", "wfm.cli", "demo"],
        env=target.env,
        cwd=REPO,
        capture_output=True,
        check=True,
        timeout=600,
    )
    return time.perf_counter() - started, int(report.read_text().split()[-1])


def bench(engine: str, repeat: int) -> tuple[list[object], list[list[object]], str]:
    with fresh_database(engine) as target:
        quiet = quiet_check(30)
        seconds, peak_kib = _timed_demo(target)
        demo_row: list[object] = [engine, f"{seconds:.1f}", f"{peak_kib / 1024:.0f} MiB", DEMO_GOAL]
        server = Server(target, 0)
        rows: list[list[object]] = []
        try:
            wait_for_login(server)
            cookie, _, _ = sign_in(server)
            with httpx.Client(base_url=server.url, timeout=60.0, headers={"Cookie": cookie}) as http:
                channels = {c["name"]: c["id"] for c in http.get("/api/channels").json()}
                last = dt.datetime.now(ZoneInfo("Europe/Stockholm")).date() - dt.timedelta(days=1)
                first = last - dt.timedelta(days=729)
                for grain in ("interval", "day", "week"):
                    url = f"/history?channel={channels['voice']}&start={first}&end={last}&grain={grain}"
                    warm = http.get(url)
                    if warm.status_code != 200 or "<svg" not in warm.text:
                        raise server.failed(f"GET {url} answered {warm.status_code}")
                    times = []
                    for _ in range(repeat):
                        started = time.perf_counter()
                        http.get(url).raise_for_status()
                        times.append((time.perf_counter() - started) * 1000)
                    rows.append(
                        [
                            engine,
                            grain,
                            f"{statistics.median(times):.0f}",
                            f"{max(times):.0f}",
                            f"{len(warm.content) / 1024:.0f} KiB",
                        ]
                    )
        finally:
            server.close()
        return demo_row, rows, f"{engine}: {quiet}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 timed requests per grain instead of 7")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated: sqlite,postgresql")
    args = parser.parse_args()
    install_signal_handlers()
    print(machine_line(), flush=True)
    demo_rows, history_rows, notes = [], [], []
    for engine in args.engines.split(","):
        demo_row, rows, note = bench(engine, 2 if args.quick else 7)
        demo_rows.append(demo_row)
        history_rows.extend(rows)
        notes.append(note)
    print(
        table(
            ["engine", "wfm demo s", "peak RSS", "goal"],
            demo_rows,
            "(a) wfm demo on a fresh database (2 years x 4 channels of 15-minute history, ~450 agents, all kinds)",
            ["peak RSS = the `wfm demo` process's maximum resident set (GNU time %M)."],
        )
    )
    print(
        table(
            ["engine", "grain", "median ms", "max ms", "page size"],
            history_rows,
            "(b) GET /history, voice, the demo's two years (one uvicorn process, signed in, after one warm-up)",
            ["interval = 70,000 rows aggregated, one page of 96 shown, the chart at daily grain.", *notes],
        )
    )


if __name__ == "__main__":
    main()
