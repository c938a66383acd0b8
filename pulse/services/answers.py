"""Answering a round: who may, what a valid answer is, and the one short transaction that stores it.

The response row gets a random UUID key and the round and team, nothing else about the person; the
participation row says that the person answered the round. Both are written together or not at all,
and the unique (round, user) index makes a double submit or a retry store nothing the second time.
Nothing here logs the answer or who gave it.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from pulse import questions
from pulse.services.surveys import RoundView, roster_team, round_view, site_today
from pulse.tables import PulseParticipation, PulseResponse, PulseRound, PulseSurveyTeam, score_column
from wfm.db import write_transaction

MAX_COMMENT_CHARS = 2000


class CannotAnswerError(Exception):
    """Why this person cannot answer this round, in words for them."""


@dataclass(frozen=True)
class AnswerForm:
    enps: int
    scores: tuple[tuple[str, int], ...]
    comment: str


@dataclass(frozen=True)
class Answerable:
    round: RoundView
    drivers: tuple[questions.Driver, ...]
    ask_comment: bool
    team_id: int
    answered: bool


async def answerable(round_id: int, user_id: int) -> Answerable:
    """The round as this person may answer it, or `CannotAnswerError` saying why not.

    A handful of narrow queries: this runs on every answer, and a whole centre answers within minutes.
    """
    row = (
        await PulseRound.select(
            *PulseRound.all_columns(),
            PulseRound.survey.name.as_alias("survey_name"),
            PulseRound.survey.drivers.as_alias("drivers"),
            PulseRound.survey.ask_comment.as_alias("ask_comment"),
        )
        .where(PulseRound.id == round_id)
        .first()
    )
    if row is None:
        raise CannotAnswerError("There is no such survey round.")
    team = await roster_team(user_id)
    if team is None or not await PulseSurveyTeam.exists().where(
        (PulseSurveyTeam.survey == row["survey"]) & (PulseSurveyTeam.team == team)
    ):
        raise CannotAnswerError("This survey is not for your team, so there is nothing for you to answer here.")
    found = round_view(row, row["survey_name"], await site_today())
    if found.state == "upcoming":
        raise CannotAnswerError(f"This round opens on {found.opens_on:%A %d %B %Y}.")
    answered = await PulseParticipation.exists().where(
        (PulseParticipation.round == round_id) & (PulseParticipation.user == user_id)
    )
    if found.state == "closed" and not answered:
        raise CannotAnswerError(f"This round closed on {found.closes_on:%A %d %B %Y}; answers are no longer taken.")
    drivers = tuple(questions.BY_KEY[k] for k in questions.parse_drivers(row["drivers"]))
    return Answerable(found, drivers, bool(row["ask_comment"]), team, answered)


def parse_answer(values: dict[str, Any], target: Answerable) -> AnswerForm:
    """Read the answer form; every question but the comment needs an answer. Raises ValueError naming it."""
    missing = []
    raw = str(values.get("enps", ""))
    if not raw.isdigit() or not 0 <= int(raw) <= 10:
        missing.append("how likely you are to recommend working here (0-10)")
    scores = []
    for driver in target.drivers:
        text = str(values.get(driver.key, ""))
        if text not in ("1", "2", "3", "4", "5"):
            missing.append(f"“{driver.statement}”")
        else:
            scores.append((driver.key, int(text)))
    if missing:
        raise ValueError("Please answer: " + "; ".join(missing) + ".")
    comment = str(values.get("comment", "")).strip() if target.ask_comment else ""
    if len(comment) > MAX_COMMENT_CHARS:
        raise ValueError(f"The comment is {len(comment)} characters; keep it under {MAX_COMMENT_CHARS}.")
    return AnswerForm(int(raw), tuple(scores), comment)


async def submit(target: Answerable, user_id: int, answer: AnswerForm) -> bool:
    """Store the answer once; False when this person had already answered (a retry or a double submit)."""
    if target.round.state != "open":
        raise CannotAnswerError("This round is not open.")
    response = PulseResponse(id=uuid.uuid4(), round=target.round.id, team=target.team_id, enps=answer.enps)
    response.comment = answer.comment
    for key, value in answer.scores:
        setattr(response, score_column(key), value)
    participation = PulseParticipation(id=uuid.uuid4(), round=target.round.id, user=user_id, team=target.team_id)
    try:
        async with write_transaction(PulseResponse._meta.db):
            if await PulseParticipation.exists().where(
                (PulseParticipation.round == target.round.id) & (PulseParticipation.user == user_id)
            ):
                return False
            await PulseParticipation.insert(participation)
            await PulseResponse.insert(response)
    except (asyncpg.UniqueViolationError, sqlite3.IntegrityError):
        # Two submits raced past the check: the unique index let one in and rolled this one back whole.
        return False
    return True
