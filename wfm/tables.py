"""Piccolo tables of the `wfm` app. Tables only: queries live in services, rules in the domain modules."""

from __future__ import annotations

from piccolo.apps.user.tables import BaseUser
from piccolo.columns import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    OnDelete,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

ROLES = ("admin", "lead", "agent", "finance")
CHANNEL_KINDS = ("voice", "chat", "email", "social", "sms", "messaging")
STAFFING_MODELS = ("erlang_c", "erlang_a", "deferred")
JOB_STATUSES = ("queued", "running", "succeeded", "failed")


class User(BaseUser, tablename="wfm_user"):
    """A person who signs in. Passwords are hashed by Piccolo's BaseUser (PBKDF2-SHA256)."""

    # NULL when unknown: BaseUser's email is unique, and several users without one must coexist.
    email = Varchar(length=255, unique=True, null=True, default=None)
    role = Varchar(length=16, default="agent")
    full_name = Varchar(length=120, default="")


class Site(Table):
    """The one settings record of the contact centre (row id 1)."""

    id: Serial
    name = Varchar(length=120, default="Contact centre")
    time_zone = Varchar(length=64, default="Europe/Stockholm")
    # ISO 3166 code for the `holidays` calendar; '' means no holiday calendar.
    holiday_country = Varchar(length=8, default="")
    currency = Varchar(length=3, default="SEK")
    interval_minutes = Integer(default=15)
    score_threshold = Integer(default=5)
    comment_threshold = Integer(default=8)


class Team(Table):
    id: Serial
    name = Varchar(length=80, unique=True)


class TeamMember(Table):
    """Who belongs to which team: a lead's teams are the ones they may plan and read.

    Unique on (user, team): a unique index made by the migration (SQLite cannot add constraints later).
    """

    id: Serial
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False)
    team = ForeignKey(Team, on_delete=OnDelete.cascade, null=False)


class Agent(Table):
    """A person on the roster. ``hourly_cost`` is per paid hour, employer costs included, in the site currency.

    Pay rates are shown only to finance and admin (cost divided by hours would reveal a rate).
    """

    id: Serial
    agent_id = Varchar(length=40, unique=True)
    name = Varchar(length=120)
    team = ForeignKey(Team, on_delete=OnDelete.restrict, null=True)
    user = ForeignKey(User, on_delete=OnDelete.set_null, null=True, unique=True)
    min_hours_week = Float(default=0.0)
    max_hours_week = Float(default=40.0)
    max_days_week = Integer(default=5)
    hourly_cost = Float(default=0.0)
    hire_date = Date(null=True, default=None)
    leave_date = Date(null=True, default=None)
    leave_reason = Varchar(length=12, default="")
    email = Varchar(length=200, default="")


class Channel(Table):
    """A contact channel; `kind` picks the default staffing model."""

    id: Serial
    name = Varchar(length=40, unique=True)
    kind = Varchar(length=12, default="voice")
    staffing_model = Varchar(length=12, default="erlang_c")
    service_level_target = Float(default=0.8)
    answer_within_seconds = Integer(default=20)
    concurrency = Float(default=1.0)
    response_window_hours = Float(default=24.0)
    active = Boolean(default=True)


class ChannelHours(Table):
    """Opening hours of a channel on one ISO weekday (1 = Monday); no row means closed that day.

    Unique on (channel, weekday), by a unique index in the migration.
    """

    id: Serial
    channel = ForeignKey(Channel, on_delete=OnDelete.cascade, null=False)
    weekday = Integer()
    opens_minute = Integer()
    closes_minute = Integer()


class AgentSkill(Table):
    """A channel an agent can work; unique on (agent, channel), by a unique index in the migration."""

    id: Serial
    agent = ForeignKey(Agent, on_delete=OnDelete.cascade, null=False)
    channel = ForeignKey(Channel, on_delete=OnDelete.cascade, null=False)


class AuditEvent(Table):
    """Who did what and when: sign-ins, role changes, setting changes, imports, publishes, exports."""

    id: Serial
    at = Timestamptz()
    actor = Varchar(length=150, default="")
    action = Varchar(length=40)
    target = Varchar(length=200, default="")
    detail = Text(default="")
    ip = Varchar(length=64, default="")


class AuditDaily(Table):
    """Events per day and action, rebuilt by the `audit_rollup` job; unique on (day, action)."""

    id: Serial
    day = Date()
    action = Varchar(length=40)
    events = Integer(default=0)


class SetPasswordLink(Table):
    """A one-time set-password link; only the SHA-256 of its token is stored."""

    id: Serial
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False)
    token_sha256 = Varchar(length=64, unique=True)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    used = Boolean(default=False)


class Job(Table):
    """Long work: a queue entry, its progress and its outcome. The queue carries only the job id."""

    id: Serial
    kind = Varchar(length=40)
    inputs = JSON(default="{}")
    status = Varchar(length=12, default="queued")
    progress = Integer(default=0)
    message = Varchar(length=500, default="")
    attempts = Integer(default=0)
    max_attempts = Integer(default=3)
    created_by = Varchar(length=150, default="")
    created_at = Timestamptz()
    started_at = Timestamptz(null=True, default=None)
    heartbeat_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
    result_ref = Varchar(length=200, default="")


ALL_TABLES: list[type[Table]] = [
    User,
    Site,
    Team,
    TeamMember,
    Agent,
    Channel,
    ChannelHours,
    AgentSkill,
    AuditEvent,
    AuditDaily,
    SetPasswordLink,
    Job,
]
