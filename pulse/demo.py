"""The pulse part of `wfm demo`: a monthly survey of every team over the demo's two years.

Rounds open on the same day of each month for 7 days, the last one open today, so the demo agent has
something to answer. Each closed round's answers come from the team's planted engagement of that month
(`wfm.demo_data.pulse_answers`), from as many of the team's people then employed as the planted number
of respondents (about 85 % participation); the open round has about a third of its answers so far, never
the demo agent's. See docs/demo.md for what the pages should then show.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import numpy as np

from pulse import rounds
from pulse.questions import DRIVER_KEYS
from pulse.services.surveys import SurveyForm, create_survey
from pulse.tables import PulseParticipation, PulseResponse, PulseRound, score_column
from wfm import demo_data
from wfm.tables import Agent, User

MONTHS = 24
OPEN_DAYS = 7
COMMENTS = {
    "high": (
        "My lead makes time for us, even on busy days.",
        "Good team, we cover for each other.",
        "The new shift pattern works well for me.",
        "I like that we get to see our schedule weeks ahead.",
    ),
    "middle": (
        "Mostly fine, but the queue after lunch is long every day.",
        "Would like more coaching on the harder email cases.",
        "Some weeks are calm, some are chaos.",
    ),
    "low": (
        "Too many back-to-back calls and no time to recover.",
        "Weekend shifts always seem to land on the same people.",
        "The knowledge base is out of date, customers notice.",
        "Nobody says thanks when targets are met.",
        "I am thinking about leaving.",
    ),
}


async def load(data: demo_data.DemoData, team_ids: list[int], actor: str) -> int:
    """Create the survey and its answers; returns the number of responses stored."""
    today = data.end + dt.timedelta(days=1)
    first = rounds.add_months(today - dt.timedelta(days=3), -MONTHS)
    form = SurveyForm(
        name="Monthly pulse",
        cadence="monthly",
        first_opens_on=first,
        rounds=MONTHS + 1,
        open_days=OPEN_DAYS,
        team_ids=tuple(team_ids),
        drivers=DRIVER_KEYS,
        ask_comment=True,
    )
    survey_id = await create_survey(form, actor, None)
    all_rounds = await PulseRound.select().where(PulseRound.survey == survey_id).order_by(PulseRound.number)
    agents = await Agent.select(Agent.team, Agent.user, Agent.hire_date, Agent.leave_date).where(
        Agent.user.is_not_null()
    )
    demo_agent = await User.select(User.id).where(User.username == "agent").first()
    skip_user = demo_agent["id"] if demo_agent else None
    frame = data.engagement
    planted: dict[tuple[str, str], tuple[float, int]] = {
        (str(p), str(t)): (float(z), int(n))
        for p, t, z, n in zip(frame["period"], frame["team"], frame["engagement"], frame["respondents"], strict=True)
    }
    team_of_name = dict(zip(data.teams, team_ids, strict=True))
    rng = np.random.default_rng(np.random.SeedSequence([data.seed, 8]))
    responses: list[PulseResponse] = []
    participations: list[PulseParticipation] = []
    for r in all_rounds:
        is_open = r["closes_on"] >= today
        for name, team_id in team_of_name.items():
            found = planted.get((f"{r['opens_on']:%Y-%m}", name))
            if found is None:
                continue
            engagement, respondents = found
            eligible = [a["user"] for a in agents if a["team"] == team_id and _employed(a, r)]
            if is_open:
                eligible = [u for u in eligible if u != skip_user]
                respondents = round(respondents / 3)
            chosen = rng.permutation(eligible)[: min(respondents, len(eligible))]
            enps, drivers = demo_data.pulse_answers(engagement, len(chosen), rng)
            for i, user_id in enumerate(chosen):
                response = PulseResponse(id=uuid.uuid4(), round=r["id"], team=team_id, enps=int(enps[i]))
                for key in DRIVER_KEYS:
                    setattr(response, score_column(key), int(drivers[key][i]))
                response.comment = _comment(int(enps[i]), rng)
                responses.append(response)
                participations.append(
                    PulseParticipation(id=uuid.uuid4(), round=r["id"], user=int(user_id), team=team_id)
                )
    for start in range(0, len(responses), 500):
        await PulseParticipation.insert(*participations[start : start + 500])
        await PulseResponse.insert(*responses[start : start + 500])
    return len(responses)


def _employed(agent: dict[str, Any], r: dict[str, Any]) -> bool:
    hired = agent["hire_date"] is None or agent["hire_date"] <= r["closes_on"]
    return hired and (agent["leave_date"] is None or agent["leave_date"] >= r["opens_on"])


def _comment(answer: int, rng: np.random.Generator) -> str:
    """About one answer in six carries a comment, in the tone of the eNPS answer."""
    if rng.random() > 1 / 6:
        return ""
    tone = "high" if answer >= 9 else "middle" if answer >= 7 else "low"
    options = COMMENTS[tone]
    return options[int(rng.integers(len(options)))]
