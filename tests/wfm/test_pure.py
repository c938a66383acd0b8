"""Pure pieces with no database: settings from the environment, form rules, session liveness."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from wfm.forms import FormError, check_new_password, minute_text, parse_hours
from wfm.security import LAST_SEEN, SIGNED_IN_AT, roles, session_is_live
from wfm.settings import Settings


def test_settings_default_to_an_embedded_sqlite_file_with_a_kept_secret(tmp_path: Path) -> None:
    env = {"TRIAD_DATA_DIR": str(tmp_path)}
    first = Settings.from_env(env)
    assert first.database_url == f"sqlite:///{tmp_path / 'triad.sqlite3'}"
    assert not first.is_postgres and first.embedded_worker
    assert Settings.from_env(env).secret_key == first.secret_key  # survives a restart
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_postgres_needs_a_secret_key() -> None:
    with pytest.raises(ValueError, match="SECRET_KEY must be set"):
        Settings.from_env({"DATABASE_URL": "postgresql://db/triad"})
    settings = Settings.from_env({"DATABASE_URL": "postgresql://db/triad", "SECRET_KEY": "k" * 40})
    assert settings.is_postgres and not settings.embedded_worker


def test_unknown_database_scheme_is_named() -> None:
    with pytest.raises(ValueError, match="got mysql:"):
        Settings.from_env({"DATABASE_URL": "mysql://db/triad", "SECRET_KEY": "k" * 40})


def test_opening_hours_parse_and_midnight() -> None:
    days = parse_hours({"open_1": "08:00", "close_1": "24:00", "open_7": "", "close_7": ""})
    assert (days[0].opens_minute, days[0].closes_minute) == (480, 1440)
    assert days[6].opens_minute is None and len(days) == 7
    assert minute_text(1440) == "24:00" and minute_text(None) == ""


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"open_2": "9", "close_2": "17:00"}, "open_2"),
        ({"open_2": "09:00", "close_2": "24:30"}, "close_2"),
        ({"open_2": "09:00", "close_2": "09:00"}, "close_2"),
        ({"open_3": "09:00"}, "close_3"),
    ],
)
def test_bad_opening_hours_name_the_field(values: dict[str, str], field: str) -> None:
    with pytest.raises(FormError) as caught:
        parse_hours(values)
    assert list(caught.value.errors) == [field]


def test_password_rules() -> None:
    check_new_password("a" * 10, "a" * 10)
    with pytest.raises(FormError, match="at least 10"):
        check_new_password("a" * 9, "a" * 9)
    with pytest.raises(FormError, match="differ"):
        check_new_password("a" * 12, "b" * 12)


def test_session_liveness_idle_and_absolute() -> None:
    now = time.time()
    assert session_is_live({LAST_SEEN: now - 10, SIGNED_IN_AT: now - 100}, 60, 3600)
    assert not session_is_live({LAST_SEEN: now - 61, SIGNED_IN_AT: now - 100}, 60, 3600)
    assert not session_is_live({LAST_SEEN: now, SIGNED_IN_AT: now - 3601}, 60, 3600)
    assert not session_is_live({}, 60, 3600)


def test_roles_reject_unknown_names() -> None:
    assert roles("admin", "lead") == {"roles": frozenset({"admin", "lead"})}
    with pytest.raises(ValueError, match="unknown roles"):
        roles("boss")
