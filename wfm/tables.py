"""Piccolo tables of the `wfm` app. Tables only: queries live in services, rules in the domain modules."""

from __future__ import annotations

from piccolo.apps.user.tables import BaseUser
from piccolo.columns import (
    JSON,
    Boolean,
    Column,
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
    # How many of the team may be on approved time off at once (time-off requests beyond it are refused).
    max_off_at_once = Integer(default=2)


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
    # The channels the agent works, `;`-separated names as imported; AgentSkill rows are derived from it.
    skills = Varchar(length=400, default="")
    # The import batch that last wrote this row (0: entered in the app).
    batch_id = Integer(default=0)


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
    # Staffing targets and allowances (`wfm.staffing.ChannelParams`); NULL caps are not applied.
    max_asa_seconds = Float(null=True, default=None)
    max_abandon_rate = Float(null=True, default=None)
    patience_seconds = Float(default=180.0)
    max_occupancy = Float(default=0.85)
    shrinkage = Float(default=0.30)


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


class ImportBatch(Table):
    """One import of one file: who, when, what, and whether it was rolled back."""

    id: Serial
    kind = Varchar(length=20)
    filename = Varchar(length=255, default="")
    sha256 = Varchar(length=64)
    rows = Integer(default=0)
    changed = Integer(default=0)
    warnings = Text(default="")
    created_by = Varchar(length=150, default="")
    created_at = Timestamptz()
    status = Varchar(length=12, default="applied")
    rolled_back_by = Varchar(length=150, default="")
    rolled_back_at = Timestamptz(null=True, default=None)


class ImportUpload(Table):
    """A file waiting for (or done with) an import job: large files import in a worker process.

    ``batch_id`` is set in the same transaction that writes the batch, so a retried job never imports
    twice; ``result`` holds the errors and warnings as JSON for the page.
    """

    id: Serial
    kind = Varchar(length=20)
    filename = Varchar(length=255, default="")
    content = Text(default="")
    created_by = Varchar(length=150, default="")
    created_at = Timestamptz()
    batch_id = Integer(default=0)
    result = Text(default="")


class ContactInterval(Table):
    """Contact history per interval (UTC start, planning-interval length), channel and team.

    Unique on (interval_start, channel, team_id); ``team_id`` 0 means the channel as a whole (an
    optional key column is never NULL, so re-imports cannot duplicate rows).
    """

    id: Serial
    interval_start = Timestamptz()
    channel = ForeignKey(Channel, on_delete=OnDelete.restrict, null=False)
    team_id = Integer(default=0)
    offered = Integer(default=0)
    handled = Integer(null=True, default=None)
    abandoned = Integer(null=True, default=None)
    aht_seconds = Float(null=True, default=None)
    answered_within_sl = Integer(null=True, default=None)
    total_wait_seconds = Float(null=True, default=None)
    batch_id = Integer(default=0)


class Absence(Table):
    """Time off: ``[start_at, end_at)`` in UTC; unique on (agent_id, start_at)."""

    id: Serial
    agent_id = Varchar(length=40)
    start_at = Timestamptz()
    end_at = Timestamptz()
    kind = Varchar(length=12, default="other")
    approved = Boolean(default=True)
    batch_id = Integer(default=0)


class Availability(Table):
    """A weekly availability rule in site-local minutes of the day; unique on (agent_id, weekday, start_minute)."""

    id: Serial
    agent_id = Varchar(length=40)
    weekday = Integer()
    start_minute = Integer()
    end_minute = Integer()
    kind = Varchar(length=12)
    batch_id = Integer(default=0)


class Outcome(Table):
    """Customer outcomes per period and team; ``channel_id`` 0 means all channels. Unique on the three."""

    id: Serial
    period = Varchar(length=8)
    team_id = Integer()
    channel_id = Integer(default=0)
    csat_pct = Float(null=True, default=None)
    nps = Float(null=True, default=None)
    fcr_pct = Float(null=True, default=None)
    responses = Integer(null=True, default=None)
    batch_id = Integer(default=0)


class FinanceMonth(Table):
    """Company figures per month (``YYYY-MM``), in the site currency."""

    id: Serial
    month = Varchar(length=7, unique=True)
    revenue = Float(null=True, default=None)
    active_customers = Integer(null=True, default=None)
    batch_id = Integer(default=0)


class Overhead(Table):
    """Non-labour cost per month and category, in the site currency; unique on (month, category)."""

    id: Serial
    month = Varchar(length=7)
    category = Varchar(length=60)
    cost = Float()
    batch_id = Integer(default=0)


class WorkedHours(Table):
    """Paid hours actually worked per agent and day; ``channel_id`` 0 means not split by channel."""

    id: Serial
    agent_id = Varchar(length=40)
    day = Date()
    channel_id = Integer(default=0)
    hours = Float()
    batch_id = Integer(default=0)


class ForecastVersion(Table):
    """One statistical forecast of one channel: when it was made, how, and how it was chosen.

    ``snapshot`` marks the daily copy the accuracy ledger compares with actuals; ``report`` holds the
    backtest table, the reason for the model and the warnings (JSON).
    """

    id: Serial
    channel = ForeignKey(Channel, on_delete=OnDelete.cascade, null=False)
    generated_at = Timestamptz()
    created_by = Varchar(length=150, default="")
    method = Varchar(length=20, default="auto")
    model = Varchar(length=20, default="")
    horizon_days = Integer(default=14)
    first_day = Date()
    last_day = Date()
    snapshot = Boolean(default=False)
    report = JSON(default="{}")
    # The job that made it (0: none): a retried job finds its versions instead of making more.
    job_id = Integer(default=0)


class ForecastInterval(Table):
    """The forecast of one interval (UTC start) in a version; unique on (version, interval_start)."""

    id: Serial
    version = ForeignKey(ForecastVersion, on_delete=OnDelete.cascade, null=False)
    interval_start = Timestamptz()
    offered_p50 = Float(default=0.0)
    offered_p80 = Float(default=0.0)
    offered_p95 = Float(default=0.0)
    aht_seconds = Float(null=True, default=None)
    model = Varchar(length=20, default="")


class ForecastAdjustment(Table):
    """A lead's manual change to a channel's forecast: a percentage over a time range, with a reason.

    Kept apart from the statistical forecast and shown as such; ``[start_at, end_at)`` in UTC.
    """

    id: Serial
    channel = ForeignKey(Channel, on_delete=OnDelete.cascade, null=False)
    start_at = Timestamptz()
    end_at = Timestamptz()
    percent = Float()
    reason = Text(default="")
    created_by = Varchar(length=150, default="")
    created_at = Timestamptz()


class ForecastEvent(Table):
    """A user-defined special period (site-local dates): a multiplier or "treat like day X".

    ``channel`` NULL means every channel.
    """

    id: Serial
    name = Varchar(length=80)
    first_day = Date()
    last_day = Date()
    multiplier = Float(null=True, default=None)
    like_day = Date(null=True, default=None)
    channel = ForeignKey(Channel, on_delete=OnDelete.cascade, null=True)
    created_by = Varchar(length=150, default="")


class RequirementSet(Table):
    """Staffing requirements of one channel computed from one forecast version at one risk level.

    ``params`` holds the channel parameters used (JSON, `wfm.staffing.ChannelParams` fields plus where
    the patience came from), so a set can be audited after the channel changes.
    """

    id: Serial
    channel = ForeignKey(Channel, on_delete=OnDelete.cascade, null=False)
    forecast_version = ForeignKey(ForecastVersion, on_delete=OnDelete.cascade, null=False)
    risk = Varchar(length=3, default="p50")
    params = JSON(default="{}")
    created_at = Timestamptz()
    created_by = Varchar(length=150, default="")


class RequirementInterval(Table):
    """Requirements of one interval (UTC start) in a set; unique on (requirement_set, interval_start)."""

    id: Serial
    requirement_set = ForeignKey(RequirementSet, on_delete=OnDelete.cascade, null=False)
    interval_start = Timestamptz()
    offered = Float(default=0.0)
    aht_seconds = Float(default=0.0)
    load_erlangs = Float(default=0.0)
    agents_required = Integer(default=0)
    service_level = Float(null=True, default=None)
    asa_seconds = Float(null=True, default=None)
    occupancy = Float(null=True, default=None)
    abandon_rate = Float(null=True, default=None)
    staff_required = Integer(default=0)
    backlog = Float(null=True, default=None)


class Schedule(Table):
    """One team's schedule for one week (``week_start``, the local Monday), as the engine or a lead made it.

    ``status``: ``draft``; ``published`` (what agents see; at most one per team and week); ``superseded``
    (published once, replaced by a later publish, kept as history).

    ``report`` holds the engine's figures (JSON: coverage totals, bound, violations, conflicts, shortfalls,
    fairness); ``job_id`` is the job that generated it, so a retried job finds its schedule instead of
    making another. The team's current schedule of a week is its latest row.
    """

    id: Serial
    team = ForeignKey(Team, on_delete=OnDelete.cascade, null=False)
    week_start = Date()
    status = Varchar(length=12, default="draft")
    created_at = Timestamptz()
    created_by = Varchar(length=150, default="")
    job_id = Integer(default=0)
    report = JSON(default="{}")
    published_at = Timestamptz(null=True, default=None)
    published_by = Varchar(length=150, default="")


class ScheduleActivity(Table):
    """One row of a schedule: ``[start_at, end_at)`` in UTC of ``work`` (on ``channel``, '' = any of the
    agent's skills), ``break`` or ``lunch``."""

    id: Serial
    schedule = ForeignKey(Schedule, on_delete=OnDelete.cascade, null=False)
    agent_id = Varchar(length=40)
    start_at = Timestamptz()
    end_at = Timestamptz()
    activity = Varchar(length=8)
    channel = Varchar(length=40, default="")


class TimeOffRequest(Table):
    """An agent's request for time off ``[start_at, end_at)`` (UTC) and the lead's decision; an approved
    request becomes an `Absence` row (approved), which schedules must respect."""

    id: Serial
    agent_id = Varchar(length=40)
    start_at = Timestamptz()
    end_at = Timestamptz()
    kind = Varchar(length=12, default="vacation")
    note = Varchar(length=200, default="")
    status = Varchar(length=12, default="pending")  # pending, approved, declined, cancelled
    created_at = Timestamptz()
    decided_by = Varchar(length=150, default="")
    decided_at = Timestamptz(null=True, default=None)
    decision_note = Varchar(length=200, default="")


class ShiftSwap(Table):
    """Two agents of a team exchange their shifts (or a shift and a day off) of one day: the requester asks,
    the partner agrees, the lead approves when the rules still hold, which publishes the exchange."""

    id: Serial
    requester = Varchar(length=40)
    partner = Varchar(length=40)
    day = Date()
    status = Varchar(length=12, default="proposed")  # proposed, agreed, approved, declined, refused, cancelled
    created_at = Timestamptz()
    decided_by = Varchar(length=150, default="")
    note = Varchar(length=300, default="")


class ScheduleSeen(Table):
    """The published schedule of a week an agent last looked at, so My schedule can mark what changed since.

    Unique on (agent_id, week_start), by a unique index in the migration.
    """

    id: Serial
    agent_id = Varchar(length=40)
    week_start = Date()
    schedule_id = Integer()


class CalendarToken(Table):
    """A private calendar subscription link: only the SHA-256 of its token is stored. The link serves its
    user's own published shifts while the account is active and on the roster."""

    id: Serial
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, unique=True)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz()


def _prior_table(table: type[Table]) -> type[Table]:
    """The shadow of an imported table: the prior version of every row an import batch replaced.

    ``replaced_by`` is the batch that replaced the row; rolling that batch back copies the rows back.
    """
    columns: dict[str, Column] = {}
    for column in table._meta.columns:
        # The shadow keeps several versions of one key and no references: uniqueness and foreign keys
        # live on the real table. `id` is kept, so a restored row keeps its identity.
        params = {k: v for k, v in column._meta.params.items() if k in ("default", "null", "length")}
        if isinstance(column, (ForeignKey, Serial)):
            columns[column._meta.name] = Integer(null=True, default=None)
        else:
            columns[column._meta.name] = column.__class__(**params)
    columns["prior_key"] = Serial(primary_key=True)
    name = f"{table._meta.tablename}_prior"
    return type(f"{table.__name__}Prior", (Table,), {**columns, "replaced_by": Integer()}, tablename=name)


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
    ImportBatch,
    ImportUpload,
    ContactInterval,
    Absence,
    Availability,
    Outcome,
    FinanceMonth,
    Overhead,
    WorkedHours,
    ForecastVersion,
    ForecastInterval,
    ForecastAdjustment,
    ForecastEvent,
    RequirementSet,
    RequirementInterval,
    Schedule,
    ScheduleActivity,
    ScheduleSeen,
    CalendarToken,
    TimeOffRequest,
    ShiftSwap,
]
# Shadow tables for rollback, one per imported table (see `_prior_table`).
PRIOR_TABLES: dict[str, type[Table]] = {
    table._meta.tablename: _prior_table(table)
    for table in (Agent, ContactInterval, Absence, Availability, Outcome, FinanceMonth, Overhead, WorkedHours)
}
ALL_TABLES += list(PRIOR_TABLES.values())
