"""Piccolo tables of the `pulse` app.

Anonymity by design (DESIGN.md, Security and privacy): a `PulseResponse` has a random UUID key, no user,
no serial id and no time finer than its round; who answered is kept apart in `PulseParticipation`, again
with nothing finer than the round. Both rows are written in one short transaction.
"""

from __future__ import annotations

from piccolo.columns import (
    UUID,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from wfm.tables import Team, User


class PulseSurvey(Table):
    """A survey: which drivers it asks, whether it asks for a comment, and its cadence."""

    id: Serial
    name = Varchar(length=120)
    cadence = Varchar(length=12, default="monthly")
    # The driver keys asked, `;`-separated (`pulse.questions`).
    drivers = Varchar(length=400, default="")
    ask_comment = Boolean(default=True)
    open_days = Integer(default=5)
    created_by = Varchar(length=150, default="")
    created_at = Timestamptz()


class PulseSurveyTeam(Table):
    """A team a survey goes to; unique on (survey, team) by an index in the migration."""

    id: Serial
    survey = ForeignKey(PulseSurvey, on_delete=OnDelete.cascade, null=False)
    team = ForeignKey(Team, on_delete=OnDelete.cascade, null=False)


class PulseRound(Table):
    """One round of a survey, open from `opens_on` to `closes_on` (both days included, site-local)."""

    id: Serial
    survey = ForeignKey(PulseSurvey, on_delete=OnDelete.cascade, null=False)
    number = Integer()
    opens_on = Date()
    closes_on = Date()
    # Closed by hand before `closes_on` (results show only for closed rounds).
    closed_early = Boolean(default=False)


class PulseResponse(Table):
    """One person's answers to one round, without saying whose. `team` is the answering agent's team."""

    id = UUID(primary_key=True)
    round = ForeignKey(PulseRound, on_delete=OnDelete.cascade, null=False)
    team = ForeignKey(Team, on_delete=OnDelete.restrict, null=True)
    enps = Integer()
    # One 1-5 column per driver of the bank (`pulse.questions`); NULL when the survey did not ask it.
    score_workload = Integer(null=True, default=None)
    score_schedule_fairness = Integer(null=True, default=None)
    score_tools = Integer(null=True, default=None)
    score_recognition = Integer(null=True, default=None)
    score_manager_support = Integer(null=True, default=None)
    score_growth = Integer(null=True, default=None)
    score_wellbeing = Integer(null=True, default=None)
    score_team = Integer(null=True, default=None)
    score_service_climate = Integer(null=True, default=None)
    comment = Text(default="")


class PulseParticipation(Table):
    """Who has answered a round; unique on (round, user) by an index in the migration."""

    id = UUID(primary_key=True)
    round = ForeignKey(PulseRound, on_delete=OnDelete.cascade, null=False)
    # NULL once the account is deleted: the round's count stays right.
    user = ForeignKey(User, on_delete=OnDelete.set_null, null=True)
    team = ForeignKey(Team, on_delete=OnDelete.restrict, null=True)


ALL_TABLES: list[type[Table]] = [PulseSurvey, PulseSurveyTeam, PulseRound, PulseResponse, PulseParticipation]


def score_column(driver_key: str) -> str:
    """The `PulseResponse` column holding a driver's 1-5 answer."""
    return f"score_{driver_key}"
