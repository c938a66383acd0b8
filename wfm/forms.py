"""Form and API input structs: every length and range rule lives here, at the boundary.

SQLite does not enforce VARCHAR lengths and PostgreSQL does, so the limits below mirror the columns
in `wfm/tables.py`; a value that breaks them is a clear form error, never a 500 on one engine only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, available_timezones

import msgspec

Username = Annotated[str, msgspec.Meta(min_length=2, max_length=100, pattern=r"^[A-Za-z0-9_.@+-]+$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Password = Annotated[str, msgspec.Meta(max_length=128)]
Role = Literal["admin", "lead", "agent", "finance"]
ChannelKind = Literal["voice", "chat", "email", "social", "sms", "messaging"]
StaffingModel = Literal["erlang_c", "erlang_a", "deferred"]

MIN_PASSWORD_LENGTH = 10


class SignIn(msgspec.Struct, forbid_unknown_fields=False):
    username: Annotated[str, msgspec.Meta(max_length=150)]
    password: Password
    next: Annotated[str, msgspec.Meta(max_length=500)] = ""


class NewPassword(msgspec.Struct, forbid_unknown_fields=False):
    password: Password
    confirm: Password


class ChangePassword(msgspec.Struct, forbid_unknown_fields=False):
    current: Password
    password: Password
    confirm: Password


class NewUser(msgspec.Struct, forbid_unknown_fields=False):
    username: Username
    full_name: Annotated[str, msgspec.Meta(max_length=120)] = ""
    role: Role = "agent"
    email: Annotated[str, msgspec.Meta(max_length=255)] = ""
    teams: list[int] = []


class UserUpdate(msgspec.Struct, forbid_unknown_fields=False):
    full_name: Annotated[str, msgspec.Meta(max_length=120)] = ""
    role: Role = "agent"
    active: bool = False
    teams: list[int] = []


class SiteForm(msgspec.Struct, forbid_unknown_fields=False):
    name: Name
    time_zone: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    holiday_country: Annotated[str, msgspec.Meta(max_length=8, pattern=r"^([A-Za-z]{2}(-[A-Za-z0-9]{1,3})?)?$")]
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
    interval_minutes: Literal[15, 30]
    score_threshold: Annotated[int, msgspec.Meta(ge=3, le=50)]
    comment_threshold: Annotated[int, msgspec.Meta(ge=3, le=50)]


class TeamForm(msgspec.Struct, forbid_unknown_fields=False):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]


class ChannelForm(msgspec.Struct, forbid_unknown_fields=False):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
    kind: ChannelKind
    staffing_model: StaffingModel
    service_level_target: Annotated[float, msgspec.Meta(gt=0, le=1)]
    answer_within_seconds: Annotated[int, msgspec.Meta(ge=0, le=86_400)]
    concurrency: Annotated[float, msgspec.Meta(ge=1, le=20)]
    response_window_hours: Annotated[float, msgspec.Meta(gt=0, le=24 * 14)]
    max_occupancy: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.85
    shrinkage: Annotated[float, msgspec.Meta(ge=0, lt=1)] = 0.30
    patience_seconds: Annotated[float, msgspec.Meta(gt=0, le=86_400)] = 180.0
    max_asa_seconds: Annotated[float, msgspec.Meta(gt=0, le=86_400)] | None = None
    max_abandon_rate: Annotated[float, msgspec.Meta(gt=0, le=1)] | None = None
    active: bool = False


@dataclass(frozen=True)
class DayHours:
    """Opening hours of one ISO weekday, in minutes after local midnight; ``None`` when closed."""

    weekday: int
    opens_minute: int | None
    closes_minute: int | None


class FormError(Exception):
    """A form value that breaks a rule: the field and a message a person can act on."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


S = TypeVar("S", bound=msgspec.Struct)

_FIELD_IN_MESSAGE = re.compile(r"at `\$\.([A-Za-z_]+)")
_MISSING_FIELD = re.compile(r"missing required field `([A-Za-z_]+)`")
# msgspec's wording, turned into words a person filling in the form can act on.
_PLAIN_WORDS = [
    (re.compile(r"Expected `(?:int|float)` >= (\S+)"), "Must be at least {0}."),
    (re.compile(r"Expected `(?:int|float)` > (\S+)"), "Must be more than {0}."),
    (re.compile(r"Expected `(?:int|float)` <= (\S+)"), "Must be at most {0}."),
    (re.compile(r"Expected `(?:int|float)` < (\S+)"), "Must be less than {0}."),
    (re.compile(r"Expected `str` of length <= (\d+)"), "Use at most {0} characters."),
    (re.compile(r"Expected `str` of length >= (\d+)"), "Use at least {0} characters."),
    (re.compile(r"Expected `str` matching regex"), "Not in the expected format."),
    (re.compile(r"Expected `int`"), "Must be a whole number."),
    (re.compile(r"Expected `float`"), "Must be a number."),
    (re.compile(r"Invalid enum value (\S+)"), "{0} is not one of the choices."),
]


def parse_form(struct: type[S], values: dict[str, Any]) -> S:
    """Convert posted strings to ``struct``, raising `FormError` naming the field that is wrong."""
    try:
        return msgspec.convert(values, struct, strict=False)
    except msgspec.ValidationError as error:
        message = str(error)
        if missing := _MISSING_FIELD.search(message):
            raise FormError({missing.group(1): "This field is required."}) from None
        match = _FIELD_IN_MESSAGE.search(message)
        field = match.group(1) if match else "form"
        raise FormError({field: _plain(message.split(" - at ")[0])}) from None


def _plain(message: str) -> str:
    for pattern, words in _PLAIN_WORDS:
        if found := pattern.search(message):
            return words.format(*found.groups())
    return message


def check_new_password(password: str, confirm: str) -> None:
    """Length and confirmation rules for a new password (ASVS 6.2.1: at least 8; we ask 10)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise FormError({"password": f"Use at least {MIN_PASSWORD_LENGTH} characters."})
    if password != confirm:
        raise FormError({"confirm": "The two passwords differ."})


def check_time_zone(name: str) -> None:
    if name not in _time_zones():
        raise FormError({"time_zone": f"Unknown time zone {name!r}; use an IANA name such as Europe/Stockholm."})
    ZoneInfo(name)


def _time_zones() -> set[str]:
    return available_timezones()


def parse_hours(values: dict[str, Any]) -> list[DayHours]:
    """Read ``open_N``/``close_N`` (``HH:MM``, N = 1..7) into day hours; an empty pair means closed."""
    days = []
    for weekday in range(1, 8):
        opens = str(values.get(f"open_{weekday}", "")).strip()
        closes = str(values.get(f"close_{weekday}", "")).strip()
        if not opens and not closes:
            days.append(DayHours(weekday, None, None))
            continue
        field = f"open_{weekday}"
        opens_minute = _minute_of_day(opens, field)
        closes_minute = _minute_of_day(closes, f"close_{weekday}")
        if closes_minute <= opens_minute:
            raise FormError({f"close_{weekday}": "Closing time must be after opening time (24:00 for midnight)."})
        days.append(DayHours(weekday, opens_minute, closes_minute))
    return days


def _minute_of_day(text: str, field: str) -> int:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match:
        raise FormError({field: f"Use HH:MM, got {text!r}."})
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes >= 60 or hours > 24 or (hours == 24 and minutes):
        raise FormError({field: f"{text!r} is not a time of day."})
    return hours * 60 + minutes


def minute_text(minute: int | None) -> str:
    """Format minutes after midnight as ``HH:MM`` (``''`` for None)."""
    return "" if minute is None else f"{minute // 60:02d}:{minute % 60:02d}"
