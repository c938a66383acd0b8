"""A deterministic demo contact centre: Swedish site, 20 teams, 4 channels, two years of history.

`generate` returns pandas DataFrames whose columns are exactly the import file formats of DESIGN.md
("Files"), so the app loads them through its normal importer, validated like a user's file. The output
depends only on ``(seed, end, years)``; each part draws from its own child of one `numpy.random.SeedSequence`,
so changing one part never shifts the random numbers of another.

What is realistic, and how
--------------------------
* **History** (15-minute intervals, site time zone Europe/Stockholm, timestamps with their UTC offset, so
  the 23- and 25-hour days are exact): daily means with a weekly pattern (Monday highest, weekends low), a
  yearly season (January and late-summer peaks, July dip, Christmas low), a trend of +4 % a year, Swedish
  public holidays (``holidays.SE`` with ``include_sundays=False``: voice and chat closed, email and social
  lower), de facto eves (Christmas,
  New Year, Midsummer) at half volume, a catch-up day after a closure, about four unannounced campaign
  days a year (up to +80 %, decaying over two days) and about two outages a year (two hours of doubled
  voice and social arrivals). Intraday profiles per channel (voice peaks near 10:00 and 14:00); counts are
  gamma-Poisson (negative binomial) around the mean, with 5 % day-level noise. Voice and chat are closed
  outside opening hours; email and social arrive around the clock with a day-heavy profile.
* **Service** for voice and chat follows load: staff is planned on the expected volume (not on campaign
  days, with 5 % daily planning noise); the ratio of offered to planned drives the service level, the
  abandon rate (a few % on normal days) and the mean wait. Email and social are worked as FIFO queues
  with capacity only in opening hours (a Lindley recursion, vectorised as a reflected random walk); each
  item's wait is exact up to its position within its 15-minute interval, so ``answered_within_sl`` counts
  items handled within the response window (24 h email, 4 h social) and ``total_wait_seconds`` sums waits.
  Handle times vary by channel and hour (longer in the evening); ``aht_seconds`` is the mean of the
  interval's handled contacts (a gamma draw of their mean) and 0 when nothing was handled.
* **People**: about 280 agents employed at any time (teams of 12-16 around targets of 13-15), 400-460
  over two years; monthly hazards of leaving by reason; hires fill each team's gap on the first Monday of
  a month, and gaps of two or more again two weeks later; 80 % full time. Vacation: a 2-4 week summer
  block (mostly July) and often a winter week; short requests in the six weeks after ``end``, some still
  pending. Sick spells of 1-5 days (more in winter and in low-engagement team-months); care-of-child days
  (``other``). Worked hours follow contracts, a one-weekend-in-four rotation, holidays and absences.

Planted relationships (the ground truth the triad pages should find)
--------------------------------------------------------------------
Latent engagement ``z[team, month]`` = a persistent team offset (25 % of the variance) + an AR(1) over
months with coefficient 0.6 (75 %), standardised to mean 0 and sd 1 across the team-months of the
history (frame ``engagement``). It drives, with the parameters in `PLANTED`:

* **turnover in the same month**: the monthly hazard of a *voluntary* leave is
  ``1.7 % * min(exp(-1.2 z - 0.72), 5)`` (the ``- 0.72`` keeps 1.7 % the mean over z; the cap keeps a
  team in crisis from emptying), x1.6 in an agent's first year; involuntary (0.35 %, x1.6 in the first
  year) and other (0.15 %) leaves do not depend on ``z``. Turnover comes out at about 30 % a year.
* **CSAT one month later**: ``logit(share satisfied)`` in month t+1 moves by +0.065 per sd of ``z`` in
  month t (about +1 point at 80 %), observed through about 20 customer survey responses per agent and
  month; NPS (+0.04 logit per sd on promoters, -0.04 on detractors) and FCR (+0.03 logit) a little.
* **sick leave**: the daily hazard of a new sick spell is multiplied by ``exp(-0.3 z)``.
* **pulse answers** (`enps_answers`, for issue 8): a 0-10 answer is ``round(7.5 + 1.2 z + e)`` with ``e``
  logistic of scale 1.1, clipped to 0..10; ``respondents`` (about 12 per team and month) is
  Binomial(headcount, 0.85). eNPS is about 0 at ``z = 0`` and moves about 43 points per sd.

Observed sizes (measured, not planted). eNPS computed from simulated answers (% 9-10 minus % 0-6), team
means removed, pooled over the 20 teams x 24 months of ``end=2026-10-31``; mean (sd) over seeds 0-39:

=========================================================  ===============
eNPS(t) vs CSAT(t+1), within teams                          +0.26 (0.05)
eNPS(t) vs turnover rate (all reasons) in month t           -0.27 (0.04)
eNPS(t) vs voluntary turnover rate in month t               -0.30 (0.04)
eNPS(t) vs CSAT(t), same month (through autocorrelation)    +0.14 (0.04)
CSAT(t) vs eNPS(t+1), the reverse direction                 +0.07 (0.05)
eNPS(t) vs NPS(t+1) / FCR(t+1)                              +0.19 / +0.14
z(t) vs eNPS(t), the measurement                            +0.83 (0.02)
z(t-1) vs z(t), within teams (0.6 planted; short panel)     +0.52 (0.05)
=========================================================  ===============

These sit inside the band published for unit-level engagement and customer or turnover outcomes (Harter,
Schmidt & Hayes 2002: about .2-.35 after corrections; raw correlations in one operation tend to be lower),
so the triad pages have something honest to find. ``docs/demo.md`` has the same table and how to rerun it.

Loading order: the site (Europe/Stockholm, holiday country SE, SEK, 15-minute intervals), teams and
channels first (they are settings, not files), then ``agents``, then the files that name agents or teams
(``absences``, ``availability``, ``worked_hours``, ``outcomes``); ``history``, ``finance`` and ``overhead``
in any order. `DemoData.files` gives them in `IMPORT_ORDER`.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd
from holidays.countries.sweden import Sweden

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

SITE_TIME_ZONE = "Europe/Stockholm"
HOLIDAY_COUNTRY = "SE"
CURRENCY = "SEK"
INTERVAL_MINUTES = 15
_SLOTS_PER_DAY = 24 * 60 // INTERVAL_MINUTES
_INTERVAL_SECONDS = INTERVAL_MINUTES * 60

HISTORY_COLUMNS = (
    "interval_start",
    "channel",
    "offered",
    "handled",
    "abandoned",
    "aht_seconds",
    "answered_within_sl",
    "total_wait_seconds",
)
AGENT_COLUMNS = (
    "agent_id",
    "name",
    "team",
    "skills",
    "min_hours_week",
    "max_hours_week",
    "hourly_cost",
    "max_days_week",
    "hire_date",
    "leave_date",
    "leave_reason",
    "email",
)
ABSENCE_COLUMNS = ("agent_id", "start", "end", "kind", "approved")
AVAILABILITY_COLUMNS = ("agent_id", "weekday", "start", "end", "kind")
OUTCOME_COLUMNS = ("period", "team", "channel", "csat_pct", "nps", "fcr_pct", "responses")
FINANCE_COLUMNS = ("month", "revenue", "active_customers")
OVERHEAD_COLUMNS = ("month", "category", "cost")
WORKED_HOURS_COLUMNS = ("agent_id", "date", "hours", "channel")
ENGAGEMENT_COLUMNS = ("period", "team", "engagement", "headcount", "respondents")
OVERHEAD_CATEGORIES = ("facilities", "IT and telephony", "management", "training", "recruitment")

# The import kinds of DESIGN.md in an order that satisfies their references (agents before the files
# that name agents). Teams and channels are settings and come before all of them.
IMPORT_ORDER = ("agents", "history", "absences", "availability", "worked_hours", "outcomes", "finance", "overhead")

OpeningHours = tuple[int, int]


@dataclass(frozen=True)
class DemoChannel:
    """A channel's settings as the app stores them.

    ``opening_hours`` has one entry per ISO weekday (index 0 = Monday): ``(opens_minute, closes_minute)``
    in minutes after local midnight, or None when closed. Public holidays close voice and chat.
    """

    name: str
    kind: str
    staffing_model: str
    service_level_target: float
    answer_within_seconds: int
    concurrency: float
    response_window_hours: float
    opening_hours: tuple[OpeningHours | None, ...]

    def hours_on(self, weekday: int) -> OpeningHours | None:
        """Opening hours on ISO ``weekday`` (1 = Monday .. 7 = Sunday)."""
        return self.opening_hours[weekday - 1]


def _week(weekdays: OpeningHours | None, weekend: OpeningHours | None) -> tuple[OpeningHours | None, ...]:
    return (weekdays,) * 5 + (weekend,) * 2


CHANNELS: tuple[DemoChannel, ...] = (
    DemoChannel("voice", "voice", "erlang_a", 0.8, 20, 1.0, 24.0, _week((8 * 60, 20 * 60), (10 * 60, 16 * 60))),
    DemoChannel("chat", "chat", "erlang_c", 0.8, 60, 2.0, 24.0, _week((8 * 60, 22 * 60), (10 * 60, 18 * 60))),
    DemoChannel("email", "email", "deferred", 0.9, 0, 1.0, 24.0, _week((8 * 60, 17 * 60), None)),
    DemoChannel("social", "social", "deferred", 0.9, 0, 1.0, 4.0, _week((8 * 60, 20 * 60), (8 * 60, 20 * 60))),
)
_CHANNEL_NAMES = tuple(channel.name for channel in CHANNELS)

# (name, primary function). Function decides the skill mix of the team's agents.
_TEAMS: tuple[tuple[str, str], ...] = (
    ("Stockholm Voice 1", "voice"),
    ("Stockholm Voice 2", "voice"),
    ("Stockholm Voice 3", "voice"),
    ("Stockholm Chat", "chat"),
    ("Stockholm Email", "email"),
    ("Göteborg Voice 1", "voice"),
    ("Göteborg Voice 2", "voice"),
    ("Göteborg Chat", "chat"),
    ("Malmö Voice 1", "voice"),
    ("Malmö Voice 2", "voice"),
    ("Malmö Email", "email"),
    ("Uppsala Voice", "voice"),
    ("Uppsala Social", "social"),
    ("Västerås Voice", "voice"),
    ("Örebro Voice", "voice"),
    ("Linköping Voice", "voice"),
    ("Norrköping Email", "email"),
    ("Jönköping Voice", "voice"),
    ("Norrland Chat", "chat"),
    ("Luleå Voice", "voice"),
)
TEAMS: tuple[str, ...] = tuple(name for name, _ in _TEAMS)

# Skill sets by team function: (skills, probability).
_SKILL_MIX: dict[str, tuple[tuple[str, float], ...]] = {
    "voice": (("voice", 0.70), ("voice;chat", 0.20), ("voice;email", 0.10)),
    "chat": (("chat", 0.50), ("chat;voice", 0.35), ("chat;social", 0.15)),
    "email": (("email", 0.50), ("email;social", 0.35), ("email;voice", 0.15)),
    "social": (("social;email", 0.60), ("social", 0.25), ("social;chat", 0.15)),
}

FIRST_NAMES = (
    "Anna", "Eva", "Maria", "Karin", "Sara", "Emma", "Elin", "Ida", "Maja", "Linnea",
    "Johanna", "Sofia", "Hanna", "Frida", "Klara", "Wilma", "Ebba", "Alva", "Alice", "Lisa",
    "Amira", "Fatima", "Leyla", "Nour", "Astrid", "Ingrid", "Saga", "Tove", "Malin", "Jenny",
    "Erik", "Lars", "Johan", "Anders", "Karl", "Oskar", "Lucas", "Liam", "William", "Hugo",
    "Elias", "Filip", "Viktor", "Axel", "Gustav", "Emil", "Nils", "Olof", "Per", "Mikael",
    "Jonas", "Daniel", "Ali", "Mohammed", "Ahmed", "Omar", "Hassan", "Björn", "Magnus", "Sebastian",
)  # fmt: skip
LAST_NAMES = (
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
    "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson", "Bengtsson", "Jönsson",
    "Lindberg", "Jakobsson", "Magnusson", "Lindström", "Olofsson", "Lindqvist", "Lindgren", "Berg",
    "Axelsson", "Bergström", "Lundberg", "Lundqvist", "Mattsson", "Berglund", "Fredriksson", "Sandberg",
    "Forsberg", "Sjöberg", "Wallin", "Engström", "Ekström", "Holm", "Yilmaz", "Hosseini",
)  # fmt: skip


@dataclass(frozen=True)
class Planted:
    """The planted people-side parameters (see the module docstring for what they produce).

    Engagement ``z`` is standardised (mean 0, sd 1 over team-months). Hazards are per agent and month
    unless named per day; logit effects are per sd of ``z``.
    """

    engagement_autocorrelation: float = 0.6  # AR(1) coefficient of the month-to-month part of z
    team_offset_share: float = 0.25  # share of z's variance that is a persistent team offset
    voluntary_leave_per_month: float = 0.017  # times min(exp(-b z - b^2 / 2), max multiplier)
    voluntary_leave_log_per_sd: float = 1.2  # b above
    voluntary_leave_max_multiplier: float = 5.0  # keeps a team in crisis from emptying in a month
    involuntary_leave_per_month: float = 0.0035  # independent of z
    other_leave_per_month: float = 0.0015  # independent of z
    newcomer_leave_multiplier: float = 1.6  # voluntary and involuntary hazards in the first year of tenure
    csat_base_pct: float = 80.0
    csat_logit_per_sd: float = 0.065  # z in month t -> CSAT in month t+1
    nps_promoter_logit_per_sd: float = 0.04  # z in month t -> share of promoters in month t+1
    nps_detractor_logit_per_sd: float = -0.04  # z in month t -> share of detractors in month t+1
    fcr_base_pct: float = 72.0
    fcr_logit_per_sd: float = 0.03  # z in month t -> FCR in month t+1
    survey_responses_per_agent_month: float = 20.0  # customer survey responses behind CSAT, NPS, FCR
    sick_spells_per_day: float = 0.016  # a new spell on a weekday (x1.5 in Jan-Mar, x0.6 in Jun-Aug)
    sick_log_per_sd: float = -0.3  # sick-spell hazard multiplier exp(-0.3 z)
    enps_centre: float = 7.5  # pulse answer = round(centre + slope z + logistic(scale)), clipped to 0..10
    enps_slope_per_sd: float = 1.2
    enps_noise_scale: float = 1.1
    pulse_participation: float = 0.85  # planned pulse respondents = Binomial(headcount, participation)


PLANTED = Planted()


@dataclass(frozen=True, eq=False)
class DemoData:
    """Everything the demo loads, as import files (column names exactly as in DESIGN.md "Files").

    Cells are what a file holds: dates and times as ISO text, ``''`` where an optional value is absent,
    ``approved`` as ``'true'``/``'false'``, counts as integers. ``engagement`` is not an import file: it is
    the planted ground truth, one row per team and month (``period, team, engagement, headcount,
    respondents``; ``respondents`` is the planned number of pulse answers for `enps_answers`).
    """

    seed: int
    start: dt.date
    end: dt.date
    teams: tuple[str, ...]
    channels: tuple[DemoChannel, ...]
    history: pd.DataFrame
    agents: pd.DataFrame
    absences: pd.DataFrame
    availability: pd.DataFrame
    outcomes: pd.DataFrame
    finance: pd.DataFrame
    overhead: pd.DataFrame
    worked_hours: pd.DataFrame
    engagement: pd.DataFrame

    def files(self) -> list[tuple[str, pd.DataFrame]]:
        """``(kind, frame)`` pairs for ``wfm import KIND`` in `IMPORT_ORDER`."""
        return [(kind, getattr(self, kind)) for kind in IMPORT_ORDER]


def enps_answers(
    engagement: float | npt.ArrayLike, n: int, rng: np.random.Generator, planted: Planted = PLANTED
) -> IntArray:
    """Draw ``n`` answers (0-10) to "How likely are you to recommend working here?" per engagement value.

    Model: each answer is ``round(centre + slope * engagement + e)`` clipped to 0..10, with ``e`` logistic
    with scale ``planted.enps_noise_scale`` (an ordered-logit response with equally spaced cut points).
    At engagement 0 about 29 % answer 9-10 and 29 % 0-6 (eNPS about 0); +1 sd moves eNPS by about +43.

    Parameters
    ----------
    engagement
        Latent engagement in sd units, a scalar or an array of any shape.
    n
        Answers per engagement value.
    rng
        The random generator to draw from.

    Returns
    -------
    numpy.ndarray
        Integer answers of shape ``numpy.shape(engagement) + (n,)``.
    """
    if n < 0:
        raise ValueError(f"n must be at least 0, got {n}")
    z = np.asarray(engagement, dtype=np.float64)[..., np.newaxis]
    noise = rng.logistic(0.0, planted.enps_noise_scale, size=(*z.shape[:-1], n))
    latent = planted.enps_centre + planted.enps_slope_per_sd * z + noise
    return np.clip(np.rint(latent), 0, 10).astype(np.int64)


# How strongly each pulse driver statement (1-5) follows a person's momentary state behind the eNPS answer
# (per unit of ``slope z + e``, the same draw `enps_answers` rounds): manager support and workload lead,
# tools barely move with it. The key-driver ranking on the pulse pages should come out in this order,
# give or take neighbours.
DRIVER_LOADINGS: dict[str, float] = {
    "manager_support": 0.35,
    "workload": 0.30,
    "schedule_fairness": 0.28,
    "recognition": 0.25,
    "wellbeing": 0.22,
    "growth": 0.18,
    "team": 0.15,
    "service_climate": 0.12,
    "tools": 0.06,
}
DRIVER_CENTRE = 3.4
DRIVER_NOISE_SD = 0.8


def pulse_answers(
    engagement: float, n: int, rng: np.random.Generator, planted: Planted = PLANTED
) -> tuple[IntArray, dict[str, IntArray]]:
    """Draw ``n`` people's pulse answers at one engagement value: the 0-10 eNPS answer as `enps_answers`
    draws it, and each driver of `DRIVER_LOADINGS` as ``round(3.4 + loading * (slope z + e) + N(0, 0.8))``
    clipped to 1..5, where ``slope z + e`` is the same person's draw behind their eNPS answer.
    """
    if n < 0:
        raise ValueError(f"n must be at least 0, got {n}")
    state = planted.enps_slope_per_sd * engagement + rng.logistic(0.0, planted.enps_noise_scale, size=n)
    enps = np.clip(np.rint(planted.enps_centre + state), 0, 10).astype(np.int64)
    drivers = {
        key: np.clip(np.rint(DRIVER_CENTRE + loading * state + rng.normal(0, DRIVER_NOISE_SD, size=n)), 1, 5).astype(
            np.int64
        )
        for key, loading in DRIVER_LOADINGS.items()
    }
    return enps, drivers


def generate(seed: int = 7, end: dt.date | None = None, years: int = 2) -> DemoData:
    """Generate the demo contact centre: history up to ``end`` (inclusive) and its people.

    Parameters
    ----------
    seed
        Seed of every random draw; the same ``(seed, end, years)`` gives identical frames.
    end
        Last day of history, inclusive. Default: yesterday in Europe/Stockholm.
    years
        Length of the history in years; it starts the day after the same date ``years`` earlier.

    Returns
    -------
    DemoData
        The teams, channels and import frames (see `DemoData`).
    """
    if years < 1:
        raise ValueError(f"years must be at least 1, got {years}")
    if end is None:
        end = dt.datetime.now(ZoneInfo(SITE_TIME_ZONE)).date() - dt.timedelta(days=1)
    start = _years_before(end, years) + dt.timedelta(days=1)
    streams = dict(
        zip(
            ("engagement", "people", "history", "absences", "availability", "outcomes", "finance", "worked"),
            (np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(8)),
            strict=True,
        )
    )
    calendar = _Calendar.build(start, end)
    months = _months(start, end)
    # One month before the history is simulated too: CSAT in the first month depends on it.
    engagement = _engagement(streams["engagement"], len(TEAMS), len(months) + 1)
    people = _simulate_people(streams["people"], calendar, months, engagement[:, 1:])
    history = _history(streams["history"], calendar)
    day_codes = _absence_codes(streams["absences"], calendar, people, engagement[:, 1:])
    availability = _availability_frame(streams["availability"], calendar, people)
    avoids_weekends = _avoids_weekends(availability, people.count)
    return DemoData(
        seed=seed,
        start=start,
        end=end,
        teams=TEAMS,
        channels=CHANNELS,
        history=history,
        agents=_agents_frame(people, calendar),
        absences=_absences_frame(streams["absences"], calendar, people, day_codes),
        availability=availability,
        outcomes=_outcomes_frame(streams["outcomes"], months, engagement, people),
        finance=_finance_frame(streams["finance"], months),
        overhead=_overhead_frame(streams["finance"], months, people, history),
        worked_hours=_worked_hours_frame(streams["worked"], calendar, people, day_codes, avoids_weekends),
        engagement=_engagement_frame(streams["people"], months, engagement[:, 1:], people),
    )


# --- calendar ----------------------------------------------------------------------------------------------


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True)
class _Month:
    label: str  # YYYY-MM
    first_day: int  # day index of the month's first day (relative to the history start)
    last_day: int  # day index of its last day within the history (inclusive)
    days_in_month: int


def _months(start: dt.date, end: dt.date) -> list[_Month]:
    months = []
    first = start.replace(day=1)
    while first <= end:
        following = (first + dt.timedelta(days=32)).replace(day=1)
        last = min(following - dt.timedelta(days=1), end)
        months.append(
            _Month(
                label=f"{first:%Y-%m}",
                first_day=max((first - start).days, 0),
                last_day=(last - start).days,
                days_in_month=(following - first).days,
            )
        )
        first = following
    return months


@dataclass(frozen=True, eq=False)
class _Calendar:
    """Days of the history plus a planning horizon after it, as arrays indexed by day (0 = ``start``)."""

    start: dt.date
    end: dt.date
    days: pd.DatetimeIndex  # history and horizon, naive dates
    n_history_days: int
    weekday: IntArray  # ISO weekday 1..7
    holiday: BoolArray  # Swedish public holiday (voice and chat closed)
    eve: BoolArray  # Christmas Eve, New Year's Eve, Midsummer Eve
    month_index: IntArray  # index into the history's months; -1 after ``end``

    HORIZON_DAYS = 84

    @classmethod
    def build(cls, start: dt.date, end: dt.date) -> _Calendar:
        days = pd.date_range(start, end + dt.timedelta(days=cls.HORIZON_DAYS), freq="D")
        years = range(start.year, days[-1].year + 1)
        # holidays.SE counts every Sunday as a holiday unless told not to; voice opens on Sundays.
        public = Sweden(years=years, include_sundays=False)
        holiday = np.array([day.date() in public for day in days], dtype=np.bool_)
        month, dom = days.month.to_numpy(), days.day.to_numpy()
        weekday = days.isocalendar().day.to_numpy(dtype=np.int64)
        midsummer_eve = (month == 6) & (dom >= 19) & (dom <= 25) & (weekday == 5)
        eve = ((month == 12) & ((dom == 24) | (dom == 31))) | midsummer_eve
        n_history = (end - start).days + 1
        month_of_day = (days.year.to_numpy() - start.year) * 12 + month - start.month
        month_of_day = np.where(np.arange(len(days)) < n_history, month_of_day, -1)
        return cls(
            start=start,
            end=end,
            days=days,
            n_history_days=n_history,
            weekday=weekday.astype(np.int64),
            holiday=holiday,
            eve=eve,
            month_index=month_of_day.astype(np.int64),
        )

    def iso(self, day_index: npt.ArrayLike) -> npt.NDArray[np.object_]:
        """ISO dates (YYYY-MM-DD) of day indices, which may fall before the start or after the horizon."""
        stamps = pd.Timestamp(self.start) + pd.to_timedelta(np.asarray(day_index, dtype=np.int64), unit="D")
        return np.asarray(stamps.strftime("%Y-%m-%d"), dtype=object)


# --- engagement --------------------------------------------------------------------------------------------


def _engagement(rng: np.random.Generator, n_teams: int, n_months: int, planted: Planted = PLANTED) -> FloatArray:
    """Latent engagement (teams x months): a team offset plus a stationary AR(1), standardised.

    Column 0 is the month before the history; standardisation uses the history months only.
    """
    phi, share = planted.engagement_autocorrelation, planted.team_offset_share
    offset = rng.normal(0.0, math.sqrt(share), n_teams)
    shocks = rng.normal(0.0, math.sqrt((1 - share) * (1 - phi**2)), (n_teams, n_months))
    state = np.empty((n_teams, n_months))
    state[:, 0] = rng.normal(0.0, math.sqrt(1 - share), n_teams)
    for month in range(1, n_months):
        state[:, month] = phi * state[:, month - 1] + shocks[:, month]
    latent = offset[:, np.newaxis] + state
    history = latent[:, 1:]
    return (latent - history.mean()) / history.std()


# --- people ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _People:
    """Everyone employed at some time in the history; day indices relative to the history start."""

    team: IntArray
    hire_day: IntArray
    leave_day: IntArray  # last day employed (inclusive); a large number when still employed
    leave_reason: npt.NDArray[np.object_]  # '' while employed
    first_name: npt.NDArray[np.object_]
    last_name: npt.NDArray[np.object_]
    skills: tuple[tuple[str, ...], ...]
    max_hours_week: IntArray
    min_hours_week: IntArray
    max_days_week: IntArray
    hourly_cost_sek: IntArray
    targets: IntArray  # planned headcount per team

    @property
    def count(self) -> int:
        return len(self.team)

    def employed(self, n_days: int) -> BoolArray:
        """agents x days: employed on the day."""
        day = np.arange(n_days)
        return (self.hire_day[:, np.newaxis] <= day) & (day <= self.leave_day[:, np.newaxis])


_STILL_EMPLOYED = 10**6
_LEAVE_REASONS = ("voluntary", "involuntary", "other")


def _simulate_people(
    rng: np.random.Generator,
    calendar: _Calendar,
    months: list[_Month],
    engagement: FloatArray,
    planted: Planted = PLANTED,
) -> _People:
    """Month by month: who leaves (hazard by reason, the voluntary one driven by engagement) and who is hired.

    Hiring rounds on the first Monday of each month fill every team's gap to its target (sometimes one
    extra); a second round two weeks later fills gaps of two or more, as a centre backfills urgent losses.
    """
    n_teams = len(TEAMS)
    targets = rng.choice(np.array([13, 14, 14, 15]), n_teams)
    # The stable core: employed at the start, tenure roughly exponential (mean 3.5 years, at least a month).
    core_team = np.repeat(np.arange(n_teams), targets)
    roster = _Roster(core_team, -(30 + rng.exponential(3.5 * 365, len(core_team))).astype(np.int64))
    for index, month in enumerate(months):
        first_monday = month.first_day + (8 - int(calendar.weekday[month.first_day])) % 7
        if index > 0 and first_monday <= month.last_day:
            gaps = targets - roster.heads_on(first_monday - 1, n_teams)
            gaps = np.where(gaps > 0, gaps + (rng.random(n_teams) < 0.1), 0)
            roster.hire(np.repeat(np.arange(n_teams), gaps), first_monday)
        staying = (roster.hire_day <= month.last_day) & (roster.leave_day == _STILL_EMPLOYED)
        _decide_leaves(rng, roster, np.flatnonzero(staying), month, engagement[:, index], planted)
        second_round = first_monday + 14
        if second_round <= month.last_day:
            gaps = targets - roster.heads_on(second_round - 1, n_teams)
            hired = roster.hire(np.repeat(np.arange(n_teams), np.where(gaps >= 2, gaps, 0)), second_round)
            _decide_leaves(rng, roster, hired, month, engagement[:, index], planted)
    return _describe_people(rng, roster, targets)


class _Roster:
    """Employment spells while the simulation runs (a private, mutable builder)."""

    def __init__(self, team: IntArray, hire_day: IntArray) -> None:
        self.team = team.astype(np.int64)
        self.hire_day = hire_day.astype(np.int64)
        self.leave_day = np.full(len(team), _STILL_EMPLOYED, dtype=np.int64)
        self.leave_reason = np.full(len(team), "", dtype=object)

    def heads_on(self, day: int, n_teams: int) -> IntArray:
        employed = (self.hire_day <= day) & (day <= self.leave_day)
        return np.bincount(self.team[employed], minlength=n_teams).astype(np.int64)

    def hire(self, teams: IntArray, day: int) -> IntArray:
        """Add agents starting on ``day``; returns their indices."""
        first = len(self.team)
        self.team = np.r_[self.team, teams].astype(np.int64)
        self.hire_day = np.r_[self.hire_day, np.full(len(teams), day)].astype(np.int64)
        self.leave_day = np.r_[self.leave_day, np.full(len(teams), _STILL_EMPLOYED)].astype(np.int64)
        self.leave_reason = np.r_[self.leave_reason, np.full(len(teams), "", dtype=object)]
        return np.arange(first, len(self.team))


def _decide_leaves(
    rng: np.random.Generator,
    roster: _Roster,
    members: IntArray,
    month: _Month,
    engagement: FloatArray,
    planted: Planted,
) -> None:
    """Draw who of ``members`` leaves in ``month``, why, and on which day (exposure from their start)."""
    first_day = np.maximum(roster.hire_day[members], month.first_day)
    exposure = np.clip((month.last_day - first_day + 1) / month.days_in_month, 0.0, 1.0)
    newcomer = np.where(month.first_day - roster.hire_day[members] < 365, planted.newcomer_leave_multiplier, 1.0)
    z = engagement[roster.team[members]]
    beta = planted.voluntary_leave_log_per_sd  # exp(-beta z - beta^2 / 2) has mean 1 over z ~ N(0, 1)
    hazards = (
        np.stack(
            [
                planted.voluntary_leave_per_month
                * np.minimum(np.exp(-beta * z - beta**2 / 2), planted.voluntary_leave_max_multiplier)
                * newcomer,
                planted.involuntary_leave_per_month * newcomer,
                np.full(len(members), planted.other_leave_per_month),
            ]
        )
        * exposure
    )
    total = hazards.sum(axis=0)
    for position in np.flatnonzero(rng.random(len(members)) < total):
        agent = members[position]
        cause = rng.choice(3, p=hazards[:, position] / total[position])
        roster.leave_day[agent] = rng.integers(first_day[position], month.last_day + 1)
        roster.leave_reason[agent] = _LEAVE_REASONS[cause]


def _describe_people(rng: np.random.Generator, roster: _Roster, targets: IntArray) -> _People:
    """Names, skills, contracts and pay for the simulated employment spells."""
    team, hire = roster.team, roster.hire_day
    count = len(team)
    pairs = rng.choice(len(FIRST_NAMES) * len(LAST_NAMES), count, replace=False)
    first = np.array([FIRST_NAMES[p // len(LAST_NAMES)] for p in pairs], dtype=object)
    last = np.array([LAST_NAMES[p % len(LAST_NAMES)] for p in pairs], dtype=object)
    skills = []
    for member in team:
        mix = _SKILL_MIX[_TEAMS[member][1]]
        choice = rng.choice(len(mix), p=[p for _, p in mix])
        skills.append(tuple(mix[choice][0].split(";")))
    # Contracts: 80 % full time (40 h, min 32, 5 days); part time 20-30 h over 3-4 days.
    part_time = np.array([(30, 24, 4), (25, 20, 4), (20, 16, 4), (24, 20, 3)])
    contract = np.where(rng.random(count) < 0.8, -1, rng.integers(0, len(part_time), count))
    max_hours = np.where(contract < 0, 40, part_time[contract, 0])
    min_hours = np.where(contract < 0, 32, part_time[contract, 1])
    max_days = np.where(contract < 0, 5, part_time[contract, 2])
    tenure_years = np.clip(-hire / 365.0, 0.0, None)
    cost = 300 + 9 * np.minimum(tenure_years, 8) + rng.normal(0, 18, count)
    return _People(
        team=team,
        hire_day=hire,
        leave_day=roster.leave_day,
        leave_reason=roster.leave_reason,
        first_name=first,
        last_name=last,
        skills=tuple(skills),
        max_hours_week=max_hours.astype(np.int64),
        min_hours_week=min_hours.astype(np.int64),
        max_days_week=max_days.astype(np.int64),
        hourly_cost_sek=np.rint(np.clip(cost, 280, 420)).astype(np.int64),
        targets=targets.astype(np.int64),
    )


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _agents_frame(people: _People, calendar: _Calendar) -> pd.DataFrame:
    numbers = np.arange(1, people.count + 1)
    left = people.leave_day < _STILL_EMPLOYED
    return pd.DataFrame(
        {
            "agent_id": [f"A{n:04d}" for n in numbers],
            "name": people.first_name + " " + people.last_name,
            "team": np.array(TEAMS, dtype=object)[people.team],
            "skills": [";".join(s) for s in people.skills],
            "min_hours_week": people.min_hours_week,
            "max_hours_week": people.max_hours_week,
            "hourly_cost": people.hourly_cost_sek,
            "max_days_week": people.max_days_week,
            "hire_date": calendar.iso(people.hire_day),
            "leave_date": np.where(left, calendar.iso(np.where(left, people.leave_day, 0)), ""),
            "leave_reason": people.leave_reason,
            "email": [
                f"{_ascii(f)}.{_ascii(s)}.{n}@demo.triad.example"
                for f, s, n in zip(people.first_name, people.last_name, numbers, strict=True)
            ],
        },
        columns=list(AGENT_COLUMNS),
    )


def _engagement_frame(
    rng: np.random.Generator, months: list[_Month], engagement: FloatArray, people: _People
) -> pd.DataFrame:
    heads = _mean_headcount(people, months)
    respondents = rng.binomial(np.rint(heads).astype(np.int64), PLANTED.pulse_participation)
    return pd.DataFrame(
        {
            "period": np.tile([m.label for m in months], len(TEAMS)),
            "team": np.repeat(TEAMS, len(months)),
            "engagement": engagement.ravel(),
            "headcount": np.round(heads.ravel(), 2),
            "respondents": respondents.ravel().astype(np.int64),
        },
        columns=list(ENGAGEMENT_COLUMNS),
    )


def _mean_headcount(people: _People, months: list[_Month]) -> FloatArray:
    """teams x months: mean daily headcount."""
    n_days = months[-1].last_day + 1
    daily = np.zeros((len(TEAMS), n_days))
    np.add.at(daily, people.team, people.employed(n_days).astype(np.float64))
    return np.stack([daily[:, m.first_day : m.last_day + 1].mean(axis=1) for m in months], axis=1)


# --- history -----------------------------------------------------------------------------------------------

Bump = tuple[float, float, float]  # weight, centre (hour of day), width (minutes)


@dataclass(frozen=True)
class _Demand:
    """How one channel's contacts arrive and are served."""

    weekday_volume: float  # mean offered on an average weekday (Monday-Friday), at the middle of the history
    weekday_factors: tuple[float, ...]  # Monday..Sunday, relative to weekday_volume
    weekday_shape: tuple[float, tuple[Bump, ...]]  # base level and bumps of the intraday profile
    weekend_shape: tuple[float, tuple[Bump, ...]]
    holiday_factor: float  # volume on a public holiday relative to a Sunday (0: closed)
    campaign_share: float  # share of a campaign's extra volume that reaches this channel
    outage_factor: float  # arrivals multiplier during an outage
    aht_day_seconds: float
    aht_evening_extra_seconds: float  # added after 17:00
    aht_cv: float  # coefficient of variation of one contact's handle time
    abandon_scale: float = 0.0  # voice/chat: abandon rate = scale * (1 - SL) ** 1.3
    asa_at_target_seconds: float = 0.0  # voice/chat: mean wait of answered contacts at an 82 % SL
    patience_seconds: float = 0.0  # voice/chat: mean wait of abandoned contacts
    clear_factor: float = 0.0  # deferred: capacity per open interval / mean arrivals per open interval


_DEMAND: dict[str, _Demand] = {
    "voice": _Demand(
        weekday_volume=7000.0,
        weekday_factors=(1.17, 1.04, 0.99, 0.95, 0.85, 0.30, 0.20),
        weekday_shape=(0.16, ((0.55, 10.0, 70.0), (0.45, 14.0, 85.0), (0.08, 17.0, 60.0))),
        weekend_shape=(0.15, ((1.0, 12.0, 110.0),)),
        holiday_factor=0.0,
        campaign_share=1.0,
        outage_factor=2.0,
        aht_day_seconds=330.0,
        aht_evening_extra_seconds=55.0,
        aht_cv=0.9,
        abandon_scale=0.30,
        asa_at_target_seconds=22.0,
        patience_seconds=65.0,
    ),
    "chat": _Demand(
        weekday_volume=2000.0,
        weekday_factors=(1.12, 1.03, 1.0, 0.97, 0.88, 0.45, 0.40),
        weekday_shape=(0.15, ((0.40, 10.5, 80.0), (0.40, 14.0, 100.0), (0.30, 20.0, 80.0))),
        weekend_shape=(0.20, ((0.8, 13.0, 120.0),)),
        holiday_factor=0.0,
        campaign_share=0.6,
        outage_factor=1.3,
        aht_day_seconds=500.0,
        aht_evening_extra_seconds=40.0,
        aht_cv=0.8,
        abandon_scale=0.20,
        asa_at_target_seconds=40.0,
        patience_seconds=120.0,
    ),
    "email": _Demand(
        weekday_volume=1500.0,
        weekday_factors=(1.25, 1.05, 1.0, 0.95, 0.85, 0.35, 0.35),
        weekday_shape=(0.04, ((0.60, 10.0, 150.0), (0.35, 14.5, 150.0), (0.15, 21.0, 90.0))),
        weekend_shape=(0.06, ((0.50, 12.0, 200.0), (0.30, 20.0, 120.0))),
        holiday_factor=0.5,
        campaign_share=0.3,
        outage_factor=1.0,
        aht_day_seconds=420.0,
        aht_evening_extra_seconds=20.0,
        aht_cv=1.0,
        clear_factor=1.3,
    ),
    "social": _Demand(
        weekday_volume=400.0,
        weekday_factors=(1.05, 1.0, 1.0, 1.0, 0.95, 0.90, 0.95),
        weekday_shape=(0.03, ((0.50, 12.0, 180.0), (0.35, 18.5, 90.0))),
        weekend_shape=(0.03, ((0.50, 13.0, 180.0), (0.35, 18.5, 100.0))),
        holiday_factor=0.8,
        campaign_share=0.8,
        outage_factor=2.5,
        aht_day_seconds=240.0,
        aht_evening_extra_seconds=20.0,
        aht_cv=0.9,
        clear_factor=1.6,
    ),
}


def _gauss(x: FloatArray, centre: float, width: float) -> FloatArray:
    result: FloatArray = np.exp(-0.5 * ((x - centre) / width) ** 2)
    return result


def _season(day_of_year: FloatArray) -> FloatArray:
    """Yearly multiplier: January and late-summer peaks, July dip, quiet Christmas week."""

    def circular(centre: float, width: float) -> FloatArray:
        distance = (day_of_year - centre + 182.5) % 365.0 - 182.5
        return _gauss(distance, 0.0, width)

    return 1.0 + 0.15 * circular(14, 20) + 0.10 * circular(236, 20) - 0.24 * circular(197, 17) - 0.10 * circular(359, 5)


def _profiles(channel: DemoChannel, demand: _Demand) -> FloatArray:
    """Intraday shares (8 day types x slots): ISO weekday 1..7 at index 0..6, public holiday at 7.

    A normal day's shares sum to 1. Voice and chat get nothing outside opening hours (or on holidays).
    """
    minute = (np.arange(_SLOTS_PER_DAY) * INTERVAL_MINUTES + INTERVAL_MINUTES / 2).astype(np.float64)
    table = np.zeros((8, _SLOTS_PER_DAY))
    for day_type in range(8):
        weekday = 7 if day_type == 7 else day_type + 1
        base, bumps = demand.weekday_shape if weekday <= 5 else demand.weekend_shape
        shape: FloatArray = np.full(_SLOTS_PER_DAY, base, dtype=np.float64)
        for weight, centre_hour, width in bumps:
            shape += weight * _gauss(minute, centre_hour * 60, width)
        if channel.staffing_model != "deferred":
            hours = channel.hours_on(weekday)
            if hours is None or day_type == 7:
                continue
            shape *= (minute >= hours[0]) & (minute < hours[1])
        table[day_type] = shape / shape.sum()
    return table


def _history(rng: np.random.Generator, calendar: _Calendar) -> pd.DataFrame:
    """Every 15-minute interval of every local day of the history, four channels per interval."""
    zone = ZoneInfo(SITE_TIME_ZONE)
    first = pd.Timestamp(calendar.start).tz_localize(zone)
    stop = pd.Timestamp(calendar.end + dt.timedelta(days=1)).tz_localize(zone)
    stamps = pd.date_range(first, stop, freq=f"{INTERVAL_MINUTES}min", inclusive="left")
    local = stamps.tz_localize(None)
    offset_minutes = ((local - stamps.tz_convert("UTC").tz_localize(None)) / pd.Timedelta(minutes=1)).to_numpy()
    day = ((local.normalize() - pd.Timestamp(calendar.start)) / pd.Timedelta(days=1)).to_numpy().astype(np.int64)
    slot = ((local.hour.to_numpy() * 60 + local.minute.to_numpy()) // INTERVAL_MINUTES).astype(np.int64)
    text = _with_offsets(local, offset_minutes)

    n_days = calendar.n_history_days
    days = calendar.days[:n_days]
    weekday = calendar.weekday[:n_days]
    holiday = calendar.holiday[:n_days]
    eve = calendar.eve[:n_days]
    season = _season(days.day_of_year.to_numpy().astype(np.float64))
    trend = 1.0 + 0.04 * (np.arange(n_days) / 365.0 - n_days / 730.0)
    campaign = _campaign_boost(rng, weekday, holiday, n_days)
    day_type = np.where(holiday, 7, weekday - 1)
    # The first open weekday after a closure catches up the contacts that waited.
    after_closure = np.r_[False, holiday[:-1]] & ~holiday & (weekday <= 5)
    outage = _outage_mask(rng, day, slot, weekday, holiday)

    columns: dict[str, list[npt.NDArray[np.generic]]] = {name: [] for name in HISTORY_COLUMNS[2:]}
    for channel in CHANNELS:
        demand = _DEMAND[channel.name]
        factors = np.asarray(demand.weekday_factors)[weekday - 1]
        factors = np.where(holiday, demand.weekday_factors[6] * demand.holiday_factor, factors)
        factors = factors * np.where(eve, 0.5, 1.0) * np.where(after_closure, 1.15, 1.0)
        expected_day = demand.weekday_volume * factors * season * trend
        planned_day = expected_day * np.exp(rng.normal(0.0, 0.05, n_days))  # staff planned on this
        actual_day = expected_day * (1.0 + demand.campaign_share * campaign) * np.exp(rng.normal(0.0, 0.05, n_days))
        share = _profiles(channel, demand)[day_type[day], slot]
        mean = actual_day[day] * share * np.where(outage, demand.outage_factor, 1.0)
        offered = rng.poisson(mean * rng.gamma(150.0, 1 / 150.0, len(mean))).astype(np.int64)
        hour = local.hour.to_numpy()
        evening = demand.aht_evening_extra_seconds * (hour >= 17)
        aht_mean = ((demand.aht_day_seconds + evening) * np.where(weekday[day] >= 6, 1.05, 1.0)).astype(np.float64)
        if channel.staffing_model == "deferred":
            served = _deferred(
                rng, channel, demand, offered, expected_day[day] * share, slot, weekday[day], holiday[day]
            )
        else:
            served = _queued(rng, demand, offered, planned_day[day] * share)
        handled, abandoned, within_sl, wait_seconds = served
        columns["offered"].append(offered)
        columns["handled"].append(handled)
        columns["abandoned"].append(abandoned)
        columns["aht_seconds"].append(_mean_handle_time(rng, handled, aht_mean, demand.aht_cv))
        columns["answered_within_sl"].append(within_sl)
        columns["total_wait_seconds"].append(wait_seconds)

    frame: dict[str, npt.NDArray[np.generic]] = {
        "interval_start": np.repeat(text, len(CHANNELS)),
        "channel": np.tile(np.array(_CHANNEL_NAMES, dtype=object), len(stamps)),
    }
    for name, per_channel in columns.items():
        frame[name] = np.stack(per_channel, axis=1).ravel()  # interval-major, channels in CHANNELS order
    return pd.DataFrame(frame, columns=list(HISTORY_COLUMNS))


def _with_offsets(local: pd.DatetimeIndex, offset_minutes: FloatArray) -> npt.NDArray[np.object_]:
    """``YYYY-MM-DDTHH:MM:SS+HH:MM`` for local times and their UTC offsets in minutes."""
    minutes = np.rint(offset_minutes).astype(np.int64)
    sign = np.where(minutes < 0, "-", "+")
    magnitude = np.abs(minutes)
    suffix = pd.Series(sign) + pd.Series(magnitude // 60).map("{:02d}".format) + ":"
    suffix = suffix + pd.Series(magnitude % 60).map("{:02d}".format)
    text = pd.Series(local.strftime("%Y-%m-%dT%H:%M:%S")) + suffix
    return text.to_numpy(dtype=object)


def _campaign_boost(rng: np.random.Generator, weekday: IntArray, holiday: BoolArray, n_days: int) -> FloatArray:
    """Extra volume (fraction) from unannounced campaigns: about four a year, decaying over two days."""
    candidates = np.flatnonzero((weekday <= 4) & ~holiday)
    count = min(rng.poisson(4.0 * n_days / 365.0), len(candidates))
    boost = np.zeros(n_days + 2)
    for day, size in zip(rng.choice(candidates, count, replace=False), rng.uniform(0.3, 0.8, count), strict=True):
        boost[day : day + 3] += size * np.array([1.0, 0.5, 0.25])
    return boost[:n_days]


def _outage_mask(
    rng: np.random.Generator, day: IntArray, slot: IntArray, weekday: IntArray, holiday: BoolArray
) -> BoolArray:
    """Intervals hit by an outage (about two a year): two hours of extra arrivals in the working day."""
    n_days = len(weekday)
    candidates = np.flatnonzero((weekday <= 5) & ~holiday)
    count = min(rng.poisson(2.0 * n_days / 365.0), len(candidates))
    hit = np.zeros((n_days, _SLOTS_PER_DAY), dtype=np.bool_)
    for outage_day, first_slot in zip(
        rng.choice(candidates, count, replace=False), rng.integers(9 * 4, 16 * 4, count), strict=True
    ):
        hit[outage_day, first_slot : first_slot + 8] = True
    result: BoolArray = hit[day, slot]
    return result


ServedArrays = tuple[IntArray, IntArray, IntArray, IntArray]


def _queued(rng: np.random.Generator, demand: _Demand, offered: IntArray, planned: FloatArray) -> ServedArrays:
    """Voice or chat: service follows the ratio of offered to planned load (smoothed for small volumes)."""
    load = (offered + 20.0) / (planned + 20.0)
    service_level = 1.0 / (1.0 + np.exp(-(1.9 + rng.normal(0.0, 0.25, len(offered)) - 9.0 * (load - 1.0))))
    abandon_rate = np.clip(demand.abandon_scale * (1.0 - service_level) ** 1.3, 0.0, 0.6)
    abandoned = rng.binomial(offered, abandon_rate).astype(np.int64)
    handled = offered - abandoned
    within = rng.binomial(handled, service_level).astype(np.int64)
    asa_seconds = demand.asa_at_target_seconds * ((1.0 - service_level) / 0.18) ** 1.6
    wait = handled * asa_seconds * rng.gamma(20.0, 1 / 20.0, len(offered))
    wait = wait + abandoned * demand.patience_seconds * rng.gamma(10.0, 1 / 10.0, len(offered))
    return handled, abandoned, within, np.rint(wait).astype(np.int64)


def _deferred(
    rng: np.random.Generator,
    channel: DemoChannel,
    demand: _Demand,
    offered: IntArray,
    expected: FloatArray,
    slot: IntArray,
    weekday: IntArray,
    holiday: BoolArray,
) -> ServedArrays:
    """Email or social: a FIFO queue worked only in opening hours, with exact per-item waits."""
    minute = slot * INTERVAL_MINUTES
    open_now = np.zeros(len(offered), dtype=np.bool_)
    for iso_day in range(1, 8):
        hours = channel.hours_on(iso_day)
        if hours is not None:
            open_now |= (weekday == iso_day) & (minute >= hours[0]) & (minute < hours[1])
    open_now &= ~holiday
    # Capacity: the clear factor times the mean arrivals per open interval over the surrounding four weeks.
    window = 28 * _SLOTS_PER_DAY
    arrivals_rate = pd.Series(expected).rolling(window, center=True, min_periods=1).mean().to_numpy()
    open_rate = pd.Series(open_now.astype(np.float64)).rolling(window, center=True, min_periods=1).mean().to_numpy()
    capacity_mean = demand.clear_factor * arrivals_rate / np.maximum(open_rate, 1e-9)
    capacity = np.where(open_now, rng.poisson(capacity_mean), 0).astype(np.int64)
    # Lindley recursion b[t] = max(0, b[t-1] + a[t] - c[t]) as a reflected random walk.
    walk = np.cumsum(offered - capacity)
    backlog = walk - np.minimum(np.minimum.accumulate(walk), 0)
    handled = offered + np.r_[0, backlog[:-1]] - backlog
    # FIFO: item k arrives in the first interval where cumulative arrivals reach k, leaves likewise.
    item = np.arange(1, int(handled.sum()) + 1)
    arrived = np.searchsorted(np.cumsum(offered), item)
    left = np.searchsorted(np.cumsum(handled), item)
    within_interval = rng.random((2, len(item)))
    wait = (left - arrived + within_interval[1] - within_interval[0]) * _INTERVAL_SECONDS
    wait = np.abs(wait)  # arrival and handling in the same interval: order the two draws
    window_seconds = channel.response_window_hours * 3600
    within = np.bincount(left, weights=wait <= window_seconds, minlength=len(offered))
    total_wait = np.bincount(left, weights=wait, minlength=len(offered))
    return handled, np.zeros_like(handled), within.astype(np.int64), np.rint(total_wait).astype(np.int64)


def _mean_handle_time(rng: np.random.Generator, handled: IntArray, mean_seconds: FloatArray, cv: float) -> FloatArray:
    """Mean of ``handled`` gamma handle times (mean ``mean_seconds``, coefficient of variation ``cv``); 0 if none."""
    count = np.maximum(handled, 1).astype(np.float64)
    draw = rng.gamma(count / cv**2, mean_seconds * cv**2 / count)
    result: FloatArray = np.round(np.where(handled > 0, draw, 0.0), 1).astype(np.float64)
    return result


# --- absences, availability, worked hours ------------------------------------------------------------------

_WORKING, _VACATION, _SICK, _OTHER = 0, 1, 2, 3
_ABSENCE_KINDS = {_VACATION: "vacation", _SICK: "sick", _OTHER: "other"}


def _absence_codes(
    rng: np.random.Generator,
    calendar: _Calendar,
    people: _People,
    engagement: FloatArray,
    planted: Planted = PLANTED,
) -> npt.NDArray[np.int8]:
    """agents x days (history and horizon): 0 working or off, 1 vacation, 2 sick, 3 other."""
    n_days = len(calendar.days)
    employed = people.employed(n_days)
    codes = np.zeros((people.count, n_days), dtype=np.int8)
    iso = calendar.days.isocalendar()
    week, iso_year = iso.week.to_numpy(dtype=np.int64), iso.year.to_numpy(dtype=np.int64)
    # Vacation: a summer block (mostly July) each year, and sometimes a winter week (Christmas or sport holiday).
    summer_weeks = np.arange(25, 33)
    summer_weights = np.array([0.04, 0.12, 0.20, 0.24, 0.20, 0.12, 0.05, 0.03])
    for year in range(int(iso_year.min()), int(iso_year.max()) + 1):
        in_year = iso_year == year
        first_week = rng.choice(summer_weeks, people.count, p=summer_weights)
        length = rng.choice(np.array([2, 3, 4]), people.count, p=[0.2, 0.6, 0.2])
        winter = rng.choice(np.array([0, 8, 9, 52]), people.count, p=[0.45, 0.15, 0.10, 0.30])
        block = (week >= first_week[:, np.newaxis]) & (week < (first_week + length)[:, np.newaxis])
        block |= week == winter[:, np.newaxis]
        codes[block & in_year] = _VACATION
    # Sick spells start with a daily hazard (winter-heavy, low engagement raises it) and last 1-5 days.
    month_number = calendar.days.month.to_numpy()
    summer = (month_number >= 6) & (month_number <= 8)
    winter_factor = np.select([month_number <= 3, month_number >= 10, summer], [1.5, 1.2, 0.6], 1.0)
    month_index = np.maximum(calendar.month_index, 0)
    z = engagement[people.team][:, month_index]
    weekday_factor = np.where(calendar.weekday <= 5, 1.0, 0.3)
    hazard = planted.sick_spells_per_day * winter_factor * weekday_factor * np.exp(planted.sick_log_per_sd * z)
    past = calendar.month_index >= 0
    sick = _spells(rng.random(codes.shape) < hazard, rng.choice(5, codes.shape, p=[0.3, 0.25, 0.2, 0.13, 0.12]) + 1)
    codes[sick & past & (codes == _WORKING)] = _SICK
    # Short vacation requests (1-3 days) in the coming six weeks.
    day_index = np.arange(n_days)
    soon = (day_index >= calendar.n_history_days) & (day_index < calendar.n_history_days + 42)
    request_hazard = 0.006 * soon * (calendar.weekday <= 5)
    requested = _spells(rng.random(codes.shape) < request_hazard, rng.choice(3, codes.shape) + 1)
    codes[requested & (codes == _WORKING)] = _VACATION
    # Care of a sick child and other short absences, also winter-heavy.
    other_hazard = 0.0035 * winter_factor * weekday_factor
    other = _spells(rng.random(codes.shape) < other_hazard, rng.choice(2, codes.shape, p=[0.7, 0.3]) + 1)
    codes[other & past & (codes == _WORKING)] = _OTHER
    codes[~employed] = _WORKING
    return codes


def _spells(starts: BoolArray, lengths: IntArray) -> BoolArray:
    """Days covered by spells starting where ``starts`` is true, each lasting ``lengths`` days."""
    covered = np.zeros_like(starts)
    for offset in range(int(lengths.max())):
        hits = starts & (lengths > offset)
        covered[:, offset:] |= hits[:, : hits.shape[1] - offset]
    return covered


def _absences_frame(
    rng: np.random.Generator, calendar: _Calendar, people: _People, codes: npt.NDArray[np.int8]
) -> pd.DataFrame:
    """Runs of equal absence codes as rows; future requests mostly approved, a few in the next weeks pending."""
    padded = np.concatenate([codes, np.zeros((people.count, 1), dtype=np.int8)], axis=1).astype(np.int64)
    previous = np.concatenate([np.zeros((people.count, 1), dtype=np.int64), padded[:, :-1]], axis=1)
    agent, first = np.nonzero((padded != previous) & (padded != _WORKING))
    following = np.concatenate([padded[:, 1:], np.zeros((people.count, 1), dtype=np.int64)], axis=1)
    end_agent, last = np.nonzero((padded != following) & (padded != _WORKING))
    assert np.array_equal(agent, end_agent)
    kind = padded[agent, first]
    future = first >= calendar.n_history_days
    soon = first < calendar.n_history_days + 42
    pending = future & (rng.random(len(first)) < np.where(soon, 0.35, 0.15))
    frame = pd.DataFrame(
        {
            "agent_id": [f"A{a + 1:04d}" for a in agent],
            "start": calendar.iso(first) + "T00:00:00",
            "end": calendar.iso(last + 1) + "T00:00:00",
            "kind": [_ABSENCE_KINDS[k] for k in kind],
            "approved": np.where(pending, "false", "true"),
        },
        columns=list(ABSENCE_COLUMNS),
    )
    return frame.sort_values(["start", "agent_id"], kind="stable").reset_index(drop=True)


# Availability templates: (kind, ISO weekdays, start, end). A template applies to all its weekdays.
_AVAILABILITY_TEMPLATES: tuple[tuple[str, tuple[int, ...], str, str], ...] = (
    ("unavailable", (3,), "16:00", "22:00"),  # a Wednesday evening commitment
    ("unavailable", (1, 2, 3, 4, 5), "08:00", "09:00"),  # school run
    ("preferred", (1, 2, 3, 4, 5), "08:00", "14:00"),  # mornings
    ("avoid", (6, 7), "08:00", "22:00"),  # weekends
    ("preferred", (1, 2, 3, 4), "14:00", "22:00"),  # evenings
    ("unavailable", (2,), "08:00", "22:00"),  # studies on Tuesdays
    ("unavailable", (5,), "15:00", "22:00"),  # early Friday finish
)


def _availability_frame(rng: np.random.Generator, calendar: _Calendar, people: _People) -> pd.DataFrame:
    """About 30 % of the agents employed at the end declare one or two availability templates."""
    employed_now = np.flatnonzero(people.leave_day > calendar.n_history_days - 1)
    chosen = employed_now[rng.random(len(employed_now)) < 0.3]
    rows: list[tuple[str, int, str, str, str]] = []
    for agent in chosen:
        count = 1 + int(rng.random() < 0.3)
        taken: set[tuple[int, str]] = set()
        for template in rng.choice(len(_AVAILABILITY_TEMPLATES), count, replace=False):
            kind, weekdays, start, end = _AVAILABILITY_TEMPLATES[template]
            for weekday in weekdays:
                if (weekday, start) not in taken:
                    taken.add((weekday, start))
                    rows.append((f"A{agent + 1:04d}", weekday, start, end, kind))
    return pd.DataFrame(rows, columns=list(AVAILABILITY_COLUMNS)).astype({"weekday": np.int64})


def _avoids_weekends(availability: pd.DataFrame, count: int) -> BoolArray:
    """Agents (by index) who declared they avoid weekends; the rotation leaves them out."""
    avoid = np.zeros(count, dtype=np.bool_)
    rows = availability[(availability["kind"] == "avoid") & (availability["weekday"] >= 6)]
    avoid[rows["agent_id"].str[1:].astype(int).to_numpy() - 1] = True
    return avoid


def _worked_hours_frame(
    rng: np.random.Generator,
    calendar: _Calendar,
    people: _People,
    codes: npt.NDArray[np.int8],
    avoids_weekends: BoolArray,
) -> pd.DataFrame:
    """One row per agent and past day worked: contract pattern, weekend rotation, no holidays or absences.

    Full-timers work Monday-Friday; every fourth week (by agent) they work Saturday and Sunday instead of
    Thursday and Friday, the quietest weekdays. Part-timers work four (Monday-Thursday or Tuesday-Friday)
    or three days. Email-only agents, three-day contracts and agents who avoid weekends never work
    weekends. Hours: contract hours per day with a little noise.
    """
    n_days = calendar.n_history_days
    weekday = calendar.weekday[:n_days]
    week = calendar.days[:n_days].isocalendar().week.to_numpy(dtype=np.int64)
    count = people.count
    pattern_shift = (rng.random(count) < 0.3).astype(np.int64)
    days_mask = np.zeros((count, 8), dtype=np.bool_)  # index 1..7
    for member in range(count):
        days = people.max_days_week[member]
        if days >= 5:
            days_mask[member, 1:6] = True
        elif days == 4:
            days_mask[member, 1 + pattern_shift[member] : 5 + pattern_shift[member]] = True
        else:
            days_mask[member, [1, 3, 5] if pattern_shift[member] == 0 else [2, 3, 4]] = True
    weekend_capable = np.array([set(s) != {"email"} for s in people.skills]) & (people.max_days_week >= 4)
    weekend_capable &= ~avoids_weekends
    rotation = rng.integers(0, 4, count)
    on_weekend_duty = weekend_capable[:, np.newaxis] & ((week[np.newaxis, :] % 4) == rotation[:, np.newaxis])
    works = days_mask[:, weekday]
    works = np.where(
        on_weekend_duty, np.isin(weekday, (1, 2, 3, 6, 7))[np.newaxis, :] & (works | (weekday >= 6)), works
    )
    works &= people.employed(n_days) & ~calendar.holiday[:n_days] & (codes[:, :n_days] == _WORKING)
    agent, day = np.nonzero(works)
    daily_hours = people.max_hours_week[agent] / people.max_days_week[agent]
    hours = np.clip(daily_hours * rng.normal(1.0, 0.05, len(agent)), 3.0, 10.0)
    hours = np.round(hours * 4) / 4
    channel = _day_channels(rng, people, agent, weekday[day])
    return pd.DataFrame(
        {
            "agent_id": np.char.add("A", np.char.zfill((agent + 1).astype(str), 4)).astype(object),
            "date": calendar.iso(day),
            "hours": hours,
            "channel": channel,
        },
        columns=list(WORKED_HOURS_COLUMNS),
    )


def _day_channels(
    rng: np.random.Generator, people: _People, agent: IntArray, weekday: IntArray
) -> npt.NDArray[np.object_]:
    """The channel an agent worked on a day: the primary skill 75 % of the time, among channels open that day."""
    weights = np.zeros((people.count, len(CHANNELS)))
    for index, skills in enumerate(people.skills):
        for rank, skill in enumerate(skills):
            weights[index, _CHANNEL_NAMES.index(skill)] = 0.75 if rank == 0 else 0.25 / (len(skills) - 1)
    open_on = np.array([[c.hours_on(d) is not None for c in CHANNELS] for d in range(1, 8)], dtype=np.float64)
    row = weights[agent] * open_on[weekday - 1]
    row = np.where(row.sum(axis=1, keepdims=True) > 0, row, weights[agent])
    cumulative = np.cumsum(row / row.sum(axis=1, keepdims=True), axis=1)
    pick = (rng.random(len(agent))[:, np.newaxis] > cumulative).sum(axis=1)
    return np.array(_CHANNEL_NAMES, dtype=object)[np.minimum(pick, len(CHANNELS) - 1)]


# --- outcomes, finance, overhead ---------------------------------------------------------------------------


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _expit(x: FloatArray) -> FloatArray:
    result: FloatArray = 1.0 / (1.0 + np.exp(-x))
    return result


def _outcomes_frame(
    rng: np.random.Generator,
    months: list[_Month],
    engagement: FloatArray,
    people: _People,
    planted: Planted = PLANTED,
) -> pd.DataFrame:
    """Monthly CSAT, NPS and FCR per team (all channels), driven by the team's engagement a month earlier.

    ``engagement`` includes the month before the history in column 0.
    """
    n_teams, n_months = len(TEAMS), len(months)
    previous = engagement[:, :-1]
    heads = _mean_headcount(people, months)
    fraction = np.array([(m.last_day - m.first_day + 1) / m.days_in_month for m in months])
    responses = rng.poisson(planted.survey_responses_per_agent_month * heads * fraction).astype(np.int64)
    responses = np.maximum(responses, 1)

    def shared(sd_team: float, sd_month: float, sd_cell: float) -> FloatArray:
        team = rng.normal(0.0, sd_team, (n_teams, 1))
        month = rng.normal(0.0, sd_month, (1, n_months))
        result: FloatArray = team + month + rng.normal(0.0, sd_cell, (n_teams, n_months))
        return result

    csat_p = _expit(
        _logit(planted.csat_base_pct / 100) + planted.csat_logit_per_sd * previous + shared(0.12, 0.04, 0.04)
    )
    csat = rng.binomial(responses, csat_p) / responses * 100
    quality = shared(0.10, 0.03, 0.05)
    promoter_p = _expit(_logit(0.42) + planted.nps_promoter_logit_per_sd * previous + quality)
    detractor_p = _expit(_logit(0.22) + planted.nps_detractor_logit_per_sd * previous - quality)
    promoters = rng.binomial(responses, promoter_p)
    detractors = rng.binomial(responses - promoters, np.clip(detractor_p / (1 - promoter_p), 0.0, 1.0))
    nps = (promoters - detractors) / responses * 100
    fcr_p = _expit(_logit(planted.fcr_base_pct / 100) + planted.fcr_logit_per_sd * previous + shared(0.10, 0.03, 0.05))
    fcr = rng.binomial(responses, fcr_p) / responses * 100
    return pd.DataFrame(
        {
            "period": np.tile([m.label for m in months], n_teams),
            "team": np.repeat(TEAMS, n_months),
            "channel": "",
            "csat_pct": np.round(csat.ravel(), 1),
            "nps": np.round(nps.ravel(), 1),
            "fcr_pct": np.round(fcr.ravel(), 1),
            "responses": responses.ravel(),
        },
        columns=list(OUTCOME_COLUMNS),
    )


def _finance_frame(rng: np.random.Generator, months: list[_Month]) -> pd.DataFrame:
    """Active customers (about 250,000, +3 % a year) and revenue (about 560 SEK per customer and month)."""
    step = np.arange(len(months))
    customers = 250_000 * (1 + 0.03 * (step - len(months) / 2) / 12) * np.exp(rng.normal(0, 0.004, len(months)))
    december = np.array([m.label.endswith("-12") for m in months])
    arpu = 560 * np.where(december, 1.05, 1.0) * np.exp(rng.normal(0, 0.02, len(months)))
    return pd.DataFrame(
        {
            "month": [m.label for m in months],
            "revenue": np.rint(customers * arpu).astype(np.int64),
            "active_customers": np.rint(customers).astype(np.int64),
        },
        columns=list(FINANCE_COLUMNS),
    )


def _overhead_frame(
    rng: np.random.Generator, months: list[_Month], people: _People, history: pd.DataFrame
) -> pd.DataFrame:
    """Monthly overhead by category (SEK): fixed costs, telephony by voice minutes, hiring costs by hires."""
    labels = [m.label for m in months]
    hires = np.array([np.sum((people.hire_day >= m.first_day) & (people.hire_day <= m.last_day)) for m in months])
    voice = history[history["channel"] == "voice"]
    minutes = (voice["handled"] * voice["aht_seconds"] / 60).groupby(voice["interval_start"].str[:7]).sum()
    voice_minutes = minutes.reindex(labels, fill_value=0.0).to_numpy()
    year = np.array([int(label[:4]) for label in labels]) - int(labels[0][:4])
    noise = np.exp(rng.normal(0, 0.03, (len(OVERHEAD_CATEGORIES), len(months))))
    cost = (
        np.stack(
            [
                1_850_000 * 1.02**year,  # rent, cleaning, canteen; indexed each January
                1_100_000 + 0.15 * voice_minutes,  # licences, network, telephony by the minute
                np.full(len(months), 1_650_000.0),  # team leads and managers
                180_000 + 45_000 * hires,  # onboarding classes and coaching
                15_000 + 28_000 * hires,  # advertising and agencies
            ]
        )
        * noise
    )
    return pd.DataFrame(
        {
            "month": np.tile(labels, len(OVERHEAD_CATEGORIES)),
            "category": np.repeat(OVERHEAD_CATEGORIES, len(months)),
            "cost": np.rint(cost.ravel()).astype(np.int64),
        },
        columns=list(OVERHEAD_COLUMNS),
    ).sort_values(["month", "category"], kind="stable", ignore_index=True)
