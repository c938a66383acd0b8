"""Shared helpers of the benchmark scripts: throw-away databases, child processes that are always
stopped, /proc readings and plain-text tables. Not a benchmark itself."""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
LOCAL_HOST = "127.0.0.1"
# Where throw-away PostgreSQL databases are created from (trust authentication, user postgres).
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", f"postgresql://postgres@{LOCAL_HOST}:5432/postgres")
ENGINES = ("sqlite", "postgresql")
# Variables of the caller's shell that would change what is measured; the scripts set their own.
_CLEARED = ("DATABASE_URL", "REDIS_URL", "TRIAD_DATA_DIR", "SECRET_KEY", "EMBEDDED_WORKER", "PICCOLO_CONF")


# ---------------------------------------------------------------- child processes, always stopped


class Children:
    """Every process a benchmark starts, each in its own session (process group), so that stopping it
    also stops anything it started. `stop_all` runs at exit, on SIGTERM/SIGHUP and on Ctrl-C."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []
        self._files: list[IO[bytes]] = []

    def spawn(self, args: Sequence[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        output = log.open("ab")
        self._files.append(output)
        proc = subprocess.Popen(
            list(args), env=env, cwd=REPO, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
        """SIGTERM the process group of ``proc`` (one of ours), then SIGKILL it if it lingers."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        # The group may still hold a grandchild even when the leader is gone.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        if proc in self._procs:
            self._procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self._procs):
            with contextlib.suppress(Exception):
                self.stop(proc)
        for output in self._files:
            with contextlib.suppress(Exception):
                output.close()
        self._files.clear()


CHILDREN = Children()
atexit.register(CHILDREN.stop_all)


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    # SystemExit unwinds the `finally` blocks: servers and workers stop, databases are dropped.
    raise SystemExit(128 + signum)


def install_signal_handlers() -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit_on_signal)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOCAL_HOST, 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# ---------------------------------------------------------------- throw-away databases


@dataclass
class Target:
    """One fresh database (SQLite file or PostgreSQL database) and the environment that points at it."""

    engine: str
    database_url: str
    data_dir: Path
    env: dict[str, str]
    setup_seconds: dict[str, float] = field(default_factory=dict)

    def wfm(self, *args: str, timeout: float = 300) -> float:
        """Run ``python -m wfm.cli ARGS`` against this database; returns its wall time."""
        log = self.data_dir / "wfm-cli.log"
        started = time.perf_counter()
        with log.open("ab") as output:
            result = subprocess.run(
                [PYTHON, "-m", "wfm.cli", *args],
                env=self.env,
                cwd=REPO,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        if result.returncode != 0:
            raise RuntimeError(f"`wfm {' '.join(args)}` exited with {result.returncode}:\n{tail(log)}")
        return time.perf_counter() - started


def _pg_admin_execute(statement: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(statement)  # a database name we made, not user input


@contextlib.contextmanager
def fresh_database(engine: str, *, migrate: bool = True, demo: bool = False) -> Iterator[Target]:
    """A new SQLite file in a temporary folder, or a new PostgreSQL database; migrated (and with the demo
    data when asked). Everything is removed afterwards, also when the benchmark fails."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    data_dir = Path(tempfile.mkdtemp(prefix=f"triad-bench-{engine}-"))
    db_name = ""
    try:
        env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
        env.update(
            {
                "TRIAD_DATA_DIR": str(data_dir),
                "SECRET_KEY": secrets.token_urlsafe(48),
                "EMBEDDED_WORKER": "0",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if engine == "sqlite":
            database_url = f"sqlite:///{data_dir / 'triad.sqlite3'}"
        else:
            db_name = f"triad_bench_{os.getpid()}_{secrets.token_hex(4)}"
            _pg_admin_execute(f'CREATE DATABASE "{db_name}"')
            database_url = f"postgresql://postgres@{LOCAL_HOST}:5432/{db_name}"
        env["DATABASE_URL"] = database_url
        target = Target(engine, database_url, data_dir, env)
        if migrate:
            target.setup_seconds["migrate"] = target.wfm("migrate")
        if demo:
            target.setup_seconds["demo"] = target.wfm("demo")
        yield target
    finally:
        CHILDREN.stop_all()
        if db_name:
            try:
                _pg_admin_execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            except Exception as error:
                print(f"warning: could not drop database {db_name}: {error}", file=sys.stderr)
        shutil.rmtree(data_dir, ignore_errors=True)


# ---------------------------------------------------------------- /proc readings


def proc_status_kib(pid: int, key: str) -> int:
    """A ``kB`` line of /proc/PID/status (VmRSS, VmHWM...), in KiB; 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc/PID/stat)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text.rsplit(")", 1)[1].split()
    # Fields after the command name start at field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- plain-text tables


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str = "", notes: Sequence[str] = ()) -> str:
    """A plain-text table: text columns to the left, numbers to the right."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(_looks_numeric(r[i]) for r in cells[1:]) and len(cells) > 1 for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, numeric, strict=True)]
        return "| " + " | ".join(parts) + " |"

    rule = "+-" + "-+-".join("-" * w for w in widths) + "-+"
    out = []
    if title:
        out.append(title)
    out += [rule, line(cells[0]), rule.replace("-", "=")]
    out += [line(r) for r in cells[1:]]
    out.append(rule)
    out += [f"  {n}" for n in notes]
    return "\n".join(out)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}"
    return str(value)


_NUMBER = re.compile(r"^-?[\d,]+(\.\d+)?( ?(%|s|ms|MiB|KiB))?$")


def _looks_numeric(text: str) -> bool:
    return text == "-" or bool(_NUMBER.match(text))


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB" if kib else "-"


def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def busy_cores(before: tuple[int, int], after: tuple[int, int]) -> float:
    """How many cores were busy on average between two `cpu_jiffies` readings."""
    total = max(1, after[1] - before[1])
    return (os.cpu_count() or 1) * (after[0] - before[0]) / total


def quiet_check(wait: float = 0.0, seconds: float = 2.0, limit: float = 0.25) -> str:
    """Measure how busy the machine is before a run, for up to ``wait`` more seconds until it is idle;
    a WARNING line when other work would skew the run."""
    deadline = time.monotonic() + wait
    while True:
        before = cpu_jiffies()
        time.sleep(seconds)
        cores = busy_cores(before, cpu_jiffies())
        if cores <= limit:
            return f"idle ({cores:.2f} cores busy)"
        if time.monotonic() >= deadline:
            return f"WARNING: {cores:.2f} cores busy with other work; figures will be low"


def machine_line() -> str:
    """One line about the machine the figures come from."""
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"machine: {os.cpu_count()} cores, {cpu}; Python {sys.version.split()[0]}"
