"""The question bank of pulse surveys (pure): one eNPS question, driver statements, one optional comment.

Drivers are statements answered on a 1-5 agreement scale (1 strongly disagree .. 5 strongly agree), the
usual form of engagement-driver items (e.g. Gallup Q12 and the UK NHS Staff Survey use agreement scales).
The list covers what contact-centre staff surveys keep finding matters: workload, schedule fairness, tools,
recognition, manager support, growth, wellbeing, team and service climate (Schneider et al. 1998, "Linking
service climate and customer perceptions of service quality").
"""

from __future__ import annotations

from dataclasses import dataclass

ENPS_TEXT = "How likely are you to recommend working here to a friend?"
COMMENT_TEXT = "Anything you would like to add? (optional, shown to leads only in groups large enough)"
AGREEMENT = ("Strongly disagree", "Disagree", "Neither", "Agree", "Strongly agree")
CADENCES = {"weekly": "every week", "biweekly": "every 2 weeks", "monthly": "every month"}


@dataclass(frozen=True)
class Driver:
    key: str
    label: str
    statement: str


DRIVERS: tuple[Driver, ...] = (
    Driver("workload", "Workload", "My workload is manageable."),
    Driver("schedule_fairness", "Schedule fairness", "My shifts and time off are planned fairly."),
    Driver("tools", "Tools", "I have the tools and information I need to help customers."),
    Driver("recognition", "Recognition", "I get recognition for good work."),
    Driver("manager_support", "Manager support", "My team lead supports me when I need it."),
    Driver("growth", "Growth", "I can learn and grow here."),
    Driver("wellbeing", "Wellbeing", "I can keep a healthy balance between work and the rest of my life."),
    Driver("team", "Team", "People in my team help each other."),
    Driver("service_climate", "Service climate", "We are rewarded for serving customers well."),
)
DRIVER_KEYS: tuple[str, ...] = tuple(d.key for d in DRIVERS)
BY_KEY = {d.key: d for d in DRIVERS}


def parse_drivers(text: str) -> tuple[str, ...]:
    """The driver keys of a survey's `;`-separated list, in bank order; unknown keys are refused."""
    keys = {k.strip() for k in text.split(";") if k.strip()}
    unknown = keys - set(DRIVER_KEYS)
    if unknown:
        raise ValueError(f"unknown drivers: {', '.join(sorted(unknown))}")
    return tuple(k for k in DRIVER_KEYS if k in keys)
