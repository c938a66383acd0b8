"""Pulse answers under load: N agents submit one round at once against uvicorn, on SQLite and PostgreSQL.

For each engine: a fresh migrated database, N agents with accounts (one shared cheap hash, see
tests/pulse/load_driver.py), one open round, then ``python -m uvicorn wfm.app:create_app --factory`` (one
process, EMBEDDED_WORKER=0, sessions in files). Every agent signs in through /login; then all submit from
``--clients`` concurrent clients, ``--duplicates`` of them twice with both requests in flight. The client
runs in this process, on the same 2 cores as the server. Columns: submits per second, latency percentiles
of the submits, the server's peak RSS, rows stored (must equal N) and server errors (must be 0). The
reference row is sign-in, the cheapest write the app has, measured in the same run.

    .venv/bin/python benchmarks/pulse_load.py                 # 1,000 agents, 64 clients, 20 % repeats
    .venv/bin/python benchmarks/pulse_load.py --agents 300    # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys

# Run as a script, this folder is on sys.path; it is not a package.
from _common import ENGINES, REPO, fresh_database, machine_line, mib, proc_status_kib, table

sys.path.insert(0, str(REPO))
from tests.pulse import load_driver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--duplicates", type=float, default=0.2)
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    args = parser.parse_args()
    rows = []
    for engine in args.engines:
        with fresh_database(engine) as target:
            round_id = load_driver.seed(target.database_url, args.agents)
            port = load_driver.free_port()
            server = load_driver.start_server(target.env, target.data_dir / "server.log", port)
            try:
                result = asyncio.run(
                    load_driver.run(f"http://127.0.0.1:{port}", round_id, args.agents, args.duplicates, args.clients)
                )
                peak = proc_status_kib(server.pid, "VmHWM")
            finally:
                load_driver.stop_server(server)
            latencies = sorted(result.latencies_ms)
            url = target.database_url
            stored = (load_driver.count_rows(url, "pulse_response"), load_driver.count_rows(url, "pulse_participation"))
            rows.append(
                [
                    engine, "submit", result.submits, f"{result.seconds:.1f} s", f"{result.throughput:.0f}/s",
                    f"{statistics.median(latencies):.0f} ms", f"{result.p95_ms:.0f} ms", f"{latencies[-1]:.0f} ms",
                    mib(peak), f"{stored[0]} / {stored[1]}", result.server_errors,
                ]
            )  # fmt: skip
            rows.append(
                [
                    engine, "sign-in (reference)", args.agents, f"{result.sign_in_seconds:.1f} s",
                    f"{args.agents / result.sign_in_seconds:.0f}/s", "", "", "", "", "", "",
                ]
            )  # fmt: skip
    print(machine_line())
    headers = ["engine", "requests", "n", "time", "throughput", "p50", "p95", "max", "server peak RSS"]
    headers += ["responses / participations", "5xx"]
    title = f"{args.agents} agents answer one pulse round, {args.clients} clients, {args.duplicates:.0%} submit twice"
    notes = [f"goal: responses = participations = {args.agents}, 0 server errors"]
    print(table(headers, rows, title=title, notes=notes))


if __name__ == "__main__":
    main()
