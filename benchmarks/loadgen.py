"""A small closed-loop HTTP load generator (asyncio + httpx), run as its own process by web_latency.py.

Each of ``--clients`` clients keeps one keep-alive connection and sends the next request as soon as the
last answer arrived. Requests during ``--warmup`` seconds are not counted; then every request started
within ``--duration`` seconds is. Prints one JSON object: requests, errors, requests/s, latency
percentiles (ms) and the generator's own CPU use (near 100 % would mean it, not the server, is the limit).

    .venv/bin/python benchmarks/loadgen.py --url http://127.0.0.1:8000/ --cookie 'triad_session=...'
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import time
from collections import Counter
from typing import Any

import httpx


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


async def run(url: str, cookie: str, clients: int, duration: float, warmup: float, expect: str) -> dict[str, Any]:
    latencies: list[float] = []
    finished_at: list[float] = []  # completion times of the counted requests, for the per-window rate
    errors: Counter[str] = Counter()
    phase = {"measuring": False}
    headers = {"Cookie": cookie} if cookie else {}

    async def client(stop_at: float) -> None:
        timeout = httpx.Timeout(30.0)
        async with httpx.AsyncClient(headers=headers, timeout=timeout, follow_redirects=False) as http:
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                counted = phase["measuring"]
                try:
                    response = await http.get(url)
                    ok = response.status_code == 200 and (not expect or expect in response.text)
                    kind = "" if ok else f"HTTP {response.status_code}"
                except httpx.HTTPError as error:
                    kind = type(error).__name__
                elapsed = time.perf_counter() - started
                if counted:
                    finished_at.append(started + elapsed)
                    if kind:
                        errors[kind] += 1
                    else:
                        latencies.append(elapsed)

    begin = time.perf_counter()
    cpu_begin = time.process_time()
    stop_at = begin + warmup + duration
    tasks = [asyncio.create_task(client(stop_at)) for _ in range(clients)]
    await asyncio.sleep(warmup)
    phase["measuring"] = True
    measured_from = time.perf_counter()
    cpu_measured_from = time.process_time()
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - measured_from
    cpu = time.process_time() - cpu_measured_from
    latencies.sort()
    window = 5.0 if duration >= 20 else 2.0
    buckets = Counter(int((t - measured_from) // window) for t in finished_at)
    per_window = [round(buckets.get(i, 0) / window, 1) for i in range(int(duration // window))]
    ms = [v * 1000 for v in latencies]
    done = len(latencies) + sum(errors.values())
    return {
        "clients": clients,
        "duration_s": round(wall, 3),
        "warmup_s": warmup,
        "requests": done,
        "ok": len(latencies),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "rps": done / wall if wall else 0.0,
        "ok_rps": len(latencies) / wall if wall else 0.0,
        "p50_ms": statistics.median(ms) if ms else float("nan"),
        "p95_ms": percentile(ms, 0.95),
        "p99_ms": percentile(ms, 0.99),
        "max_ms": ms[-1] if ms else float("nan"),
        "window_s": window,
        "rps_per_window": per_window,
        "loadgen_cpu_pct": 100 * cpu / wall if wall else 0.0,
        "total_wall_s": round(time.perf_counter() - begin, 3),
        "total_cpu_s": round(time.process_time() - cpu_begin, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--cookie", default="", help="Cookie header to send, e.g. 'triad_session=ID'")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before measuring")
    parser.add_argument("--expect", default="", help="text a 200 answer must contain, else it counts as an error")
    args = parser.parse_args()
    result = asyncio.run(run(args.url, args.cookie, args.clients, args.duration, args.warmup, args.expect))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
