"""Settings: one frozen dataclass read from the environment."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_DATA_DIR = Path("var")


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment.

    ``database_url`` is ``sqlite:///PATH`` (the embedded default) or ``postgresql://...``.
    """

    database_url: str
    secret_key: str
    redis_url: str = ""
    data_dir: Path = DEFAULT_DATA_DIR
    session_idle_minutes: int = 30
    session_max_age_hours: int = 12
    login_attempts_per_minute: int = 10
    secure_cookies: bool = False
    # 0 keeps Piccolo's OWASP default (600,000); tests lower it to save minutes of hashing.
    password_iterations: int = 0
    # Embedded mode runs jobs in a child process of the web server; on PostgreSQL `wfm worker` does.
    embedded_worker: bool = True
    job_heartbeat_seconds: float = 5.0
    job_stalled_seconds: float = 30.0
    job_max_attempts: int = 3

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def sqlite_path(self) -> Path:
        if self.is_postgres:
            raise ValueError("sqlite_path asked of a PostgreSQL configuration")
        return Path(self.database_url.removeprefix("sqlite:///"))

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read settings from ``env`` (default: the process environment)."""
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("TRIAD_DATA_DIR", str(DEFAULT_DATA_DIR)))
        database_url = database_url_from_env(env)
        is_postgres = not database_url.startswith("sqlite:///")
        secret_key = env.get("SECRET_KEY", "")
        if not secret_key:
            if is_postgres:
                raise ValueError("SECRET_KEY must be set when DATABASE_URL points at PostgreSQL")
            secret_key = _embedded_secret(data_dir)
        if len(secret_key) < 32:
            raise ValueError("SECRET_KEY must be at least 32 characters")
        return cls(
            database_url=database_url,
            secret_key=secret_key,
            redis_url=env.get("REDIS_URL", ""),
            data_dir=data_dir,
            session_idle_minutes=int(env.get("SESSION_IDLE_MINUTES", "30")),
            session_max_age_hours=int(env.get("SESSION_MAX_AGE_HOURS", "12")),
            login_attempts_per_minute=int(env.get("LOGIN_ATTEMPTS_PER_MINUTE", "10")),
            secure_cookies=env.get("SECURE_COOKIES", "") in {"1", "true", "yes"},
            password_iterations=int(env.get("PASSWORD_ITERATIONS", "0")),
            embedded_worker=env.get("EMBEDDED_WORKER", "" if is_postgres else "1") in {"1", "true", "yes"},
            job_heartbeat_seconds=float(env.get("JOB_HEARTBEAT_SECONDS", "5")),
            job_stalled_seconds=float(env.get("JOB_STALLED_SECONDS", "30")),
            job_max_attempts=int(env.get("JOB_MAX_ATTEMPTS", "3")),
        )

    def with_(self, **changes: object) -> Settings:
        """Return a copy with some fields changed (tests and the CLI use it)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def database_url_from_env(env: dict[str, str] | None = None) -> str:
    """DATABASE_URL, or the embedded SQLite file under TRIAD_DATA_DIR (default ``var/``)."""
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("TRIAD_DATA_DIR", str(DEFAULT_DATA_DIR)))
    database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'triad.sqlite3'}"
    if not database_url.startswith(("sqlite:///", "postgres://", "postgresql://")):
        scheme = database_url.split(":")[0]
        raise ValueError(f"DATABASE_URL must start with sqlite:/// or postgresql://, got {scheme}:")
    return database_url


def _embedded_secret(data_dir: Path) -> str:
    """Keep one random secret per embedded install, so sessions survive a restart."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting at once must not overwrite each other's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
