"""The triad panel and its statistics (pure): how employee, customer and company measures move together.

The panel has one row per team and period (``period`` any sortable label, ``team`` any label) and numeric
measures (eNPS, turnover, CSAT, cost per contact...). A lag of k pairs x in period t with y in period t + k,
counted in panel steps (the sorted distinct periods), within the same team.

Correlations come pooled (every team-period as one point) and within teams (each team's means removed,
so stable differences between teams do not count), Pearson and Spearman. Team-periods are not independent:
a team's months follow each other. The interval and p-value therefore use Bartlett's effective sample size,
n_eff = n / (1 + 2 sum_k (1 - k/T) r_x(k) r_y(k)), from the two measures' autocorrelations inside teams
(Bartlett 1946; Pyper & Peterman 1998, "Comparison of methods to account for autocorrelation in correlation
analyses of fish data"): within teams over lags up to T/4, less one degree of freedom per team; pooled over
every lag, because around the grand mean a team's offset is a correlation that never decays. The interval
is Fisher's z with se 1 / sqrt(n_eff - 3), or a team-block bootstrap's se when that is wider (it carries
the terms Bartlett's null formula leaves out when r is not 0); the p-value tests z against the same se.
On null panels with team effects and AR(1) months this holds its 5% (tests/wfm/test_triad.py).
q-values are Benjamini-Hochberg (1995) across every pair reported.

The panel regression y(t + lag) = b x(t) + team effect + e uses the within transformation and cluster-robust
standard errors by team of the CR2 kind (Bell & McCaffrey 2002; Pustejovsky & Tipton 2018) with t(G - 1)
reference degrees of freedom, which keeps its size close to nominal with as few as 10-20 teams.

Correlation is not cause: the reports say "moves with".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

FloatArray = npt.NDArray[np.float64]
MIN_PAIRS = 12  # below this many team-periods a correlation is not reported
MIN_TEAMS_FOR_REGRESSION = 4
# Published ranges, for the plausibility note: unit-level engagement against customer outcomes about
# 0.1-0.35 (Harter, Schmidt & Hayes 2002), turnover against performance about -0.15 (Park & Shaw 2013).
PLAUSIBLE_ABS_R = 0.5


@dataclass(frozen=True)
class PairResult:
    x: str
    y: str
    lag: int
    n: int
    teams: int
    r: float
    ci_low: float
    ci_high: float
    p: float
    q: float
    method: str
    n_eff: float


@dataclass(frozen=True)
class RegressionResult:
    x: str
    y: str
    lag: int
    n: int
    teams: int
    coef: float
    se: float
    ci_low: float
    ci_high: float
    p: float
    method: str


@dataclass(frozen=True)
class TriadResult:
    pairs: tuple[PairResult, ...]
    regressions: tuple[RegressionResult, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """The result format of DESIGN.md (`wfm triad --out`)."""
        return {
            "pairs": [_rounded(asdict(p)) for p in self.pairs],
            "regressions": [_rounded(asdict(r)) for r in self.regressions],
            "warnings": list(self.warnings),
        }


def _rounded(record: dict[str, Any]) -> dict[str, Any]:
    """Floats to 6 decimals; NaN (undefined, e.g. a constant measure) to null."""
    return {k: (round(v, 6) if math.isfinite(v) else None) if isinstance(v, float) else v for k, v in record.items()}


# The panel's named measures (DESIGN.md, "triad panel"): employee side first, then customer and company.
EMPLOYEE_MEASURES = (
    "enps",
    "participation_rate",
    "turnover_rate",
    "turnover_voluntary",
    "turnover_involuntary",
    "newcomer_share",
    "absence_rate",
)
OUTCOME_MEASURES = ("csat_pct", "nps", "fcr_pct", "service_level", "cost_per_contact")


def default_pairs(columns: Iterable[str]) -> list[tuple[str, str]]:
    """Every employee measure present against every customer or company measure present."""
    present = set(columns)
    return [(x, y) for x in EMPLOYEE_MEASURES if x in present for y in OUTCOME_MEASURES if y in present]


def read_panel(text: str, name: str) -> pd.DataFrame:
    """A panel CSV: ``period``, ``team`` and numeric measures (empty cells are missing values).

    Raises ValueError naming the file, row and column of the first bad value.
    """
    import io

    try:
        panel = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise ValueError(f"{name}: not a CSV file ({error})") from None
    try:
        check_panel(panel)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
    for column in panel.columns:
        if column in ("period", "team"):
            continue
        values = panel[column].str.strip()
        numbers = pd.to_numeric(values.where(values != ""), errors="coerce")
        bad = numbers.isna() & (values != "")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(f"{name} row {row + 2}, column {column}: {values.iloc[row]!r} is not a number")
        panel[column] = numbers.astype(np.float64)
    return panel


def check_panel(panel: pd.DataFrame) -> None:
    """A panel needs ``period`` and ``team`` columns and at most one row per (team, period)."""
    missing = {"period", "team"} - set(panel.columns)
    if missing:
        raise ValueError(f"the panel has no {', '.join(sorted(missing))} column")
    duplicated = panel.duplicated(["team", "period"])
    if duplicated.any():
        first = panel[duplicated].iloc[0]
        raise ValueError(
            f"row {int(np.flatnonzero(duplicated.to_numpy())[0]) + 2}: team {first['team']!r} has period "
            f"{first['period']!r} twice"
        )


def lagged(panel: pd.DataFrame, x: str, y: str, lag: int) -> pd.DataFrame:
    """Columns ``team``, ``step``, ``x`` (at step t) and ``y`` (at step t + lag) where both are known."""
    steps = {p: i for i, p in enumerate(sorted(panel["period"].unique()))}
    frame = pd.DataFrame(
        {"team": panel["team"].to_numpy(), "step": panel["period"].map(steps).to_numpy(dtype=np.int64)}
    )
    left = frame.assign(x=pd.to_numeric(panel[x], errors="coerce").to_numpy(dtype=np.float64))
    right = frame.assign(y=pd.to_numeric(panel[y], errors="coerce").to_numpy(dtype=np.float64))
    right["step"] = right["step"] - lag
    joined = left.merge(right, on=["team", "step"], how="inner").dropna(subset=["x", "y"])
    return joined.sort_values(["team", "step"]).reset_index(drop=True)


def _demean(values: FloatArray, codes: npt.NDArray[np.int64]) -> FloatArray:
    sums = np.bincount(codes, weights=values)
    counts = np.bincount(codes)
    return values - (sums / np.maximum(counts, 1))[codes]


def autocorrelations(
    values: FloatArray, codes: npt.NDArray[np.int64], steps: npt.NDArray[np.int64], max_lag: int
) -> FloatArray:
    """Pooled autocorrelations at lags 1..max_lag inside teams: the mean product of centred values ``k`` steps
    apart in the same team over the mean square. ``values`` are centred by the caller."""
    mean_square = float(np.mean(values**2))
    out = np.zeros(max_lag)
    if mean_square == 0:
        return out
    # Teams x steps, NaN where a team has no value: lag k pairs are the columns k apart.
    grid = np.full((int(codes.max()) + 1, int(steps.max() - steps.min()) + 1), np.nan)
    grid[codes, steps - steps.min()] = values
    for k in range(1, max_lag + 1):
        products = grid[:, :-k] * grid[:, k:]
        known = ~np.isnan(products)
        if int(known.sum()) < 3:
            break
        out[k - 1] = float(np.mean(products[known])) / mean_square
    return out


def effective_n(
    x: FloatArray, y: FloatArray, codes: npt.NDArray[np.int64], steps: npt.NDArray[np.int64], within: bool
) -> float:
    """Bartlett's effective sample size for the correlation of two autocorrelated series (already centred):
    n / (1 + 2 sum_k (1 - k / T) r_x(k) r_y(k)), over lags up to a quarter of the series (Pyper & Peterman 1998)."""
    n = len(x)
    periods = max(2, round(n / max(1, len(np.unique(codes)))))
    # Around the grand mean a team's offset is a correlation that never decays: every lag counts.
    max_lag = max(1, periods // 4 if within else periods - 1)
    r_x = autocorrelations(x, codes, steps, max_lag)
    r_y = autocorrelations(y, codes, steps, max_lag)
    weights = 1 - np.arange(1, max_lag + 1) / periods
    inflation = 1 + 2 * float(np.sum(weights * r_x * r_y))
    return n / max(inflation, 1.0)


def correlation(frame: pd.DataFrame, method: str, within: bool) -> tuple[float, float, float, float, float]:
    """r, its 95% interval, p and n_eff of an aligned frame (`lagged`); ``method`` pearson or spearman."""
    codes = pd.factorize(frame["team"])[0].astype(np.int64)
    steps = frame["step"].to_numpy(dtype=np.int64)
    x = frame["x"].to_numpy(dtype=np.float64)
    y = frame["y"].to_numpy(dtype=np.float64)
    if method == "spearman":
        x, y = stats.rankdata(x), stats.rankdata(y)
    if within:
        x, y = _demean(x, codes), _demean(y, codes)
    else:
        x, y = x - x.mean(), y - y.mean()
    n = len(x)
    if n < 4 or x.std() == 0 or y.std() == 0:
        return math.nan, math.nan, math.nan, math.nan, 0.0
    r = float(np.clip(np.corrcoef(x, y)[0, 1], -0.999999, 0.999999))
    # Within teams, each team's mean costs a degree of freedom.
    lost = len(np.unique(codes)) - 1 if within else 0
    n_eff = max(4.0, effective_n(x, y, codes, steps, within) * (n - lost) / n)
    # The interval takes the wider of the effective-n standard error and a team-block bootstrap's (which
    # also carries the cross-correlation terms Bartlett's null formula leaves out when r is not 0).
    se = max(1 / math.sqrt(n_eff - 3), _block_bootstrap_se(x, y, codes))
    half = stats.norm.ppf(0.975) * se
    z = math.atanh(r)
    p = float(2 * stats.norm.sf(abs(z) / se))  # the same test as the interval: 0 outside it means p < 0.05
    return r, math.tanh(z - half), math.tanh(z + half), p, n_eff


def _block_bootstrap_se(x: FloatArray, y: FloatArray, codes: npt.NDArray[np.int64], draws: int = 400) -> float:
    """Standard error of atanh(r) when whole teams are resampled (centred x and y kept as given), scaled by
    sqrt(G / (G - 1)) for the few-cluster shrinkage of the bootstrap. Vectorised through per-team sums."""
    teams = int(codes.max()) + 1
    if teams < 3:
        return 0.0
    sums = np.stack(
        [np.bincount(codes, weights=w, minlength=teams) for w in (x, y, x * y, x * x, y * y, np.ones_like(x))], axis=1
    )
    weights = np.random.default_rng(0).multinomial(teams, np.full(teams, 1 / teams), size=draws).astype(np.float64)
    sx, sy, sxy, sxx, syy, sn = (weights @ sums).T
    cov = sxy - sx * sy / sn
    var_x, var_y = sxx - sx * sx / sn, syy - sy * sy / sn
    ok = (var_x > 0) & (var_y > 0)
    r = np.clip(cov[ok] / np.sqrt(var_x[ok] * var_y[ok]), -0.999999, 0.999999)
    if r.size < 10:
        return 0.0
    return float(np.std(np.arctanh(r), ddof=1) * math.sqrt(teams / (teams - 1)))


def bh_qvalues(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg q-values (NaN stays NaN)."""
    p = np.asarray(p_values, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if ok.size == 0:
        return q.tolist()
    order = ok[np.argsort(p[ok])]
    ranked = p[order] * ok.size / np.arange(1, ok.size + 1)
    q[order] = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    return q.tolist()


def _cr2_within(x: FloatArray, y: FloatArray, codes: npt.NDArray[np.int64]) -> tuple[float, float, int]:
    """The within (team fixed effects) slope of y on x with its CR2 standard error; returns (b, se, G)."""
    xd, yd = _demean(x, codes), _demean(y, codes)
    sxx = float(xd @ xd)
    b = float(xd @ yd) / sxx
    e = yd - b * xd
    meat = 0.0
    teams = np.unique(codes)
    for g in teams:
        idx = np.flatnonzero(codes == g)
        t_g = len(idx)
        xg = xd[idx]
        # Hat block of the full model (team dummies + x) restricted to this team.
        h = np.full((t_g, t_g), 1.0 / t_g) + np.outer(xg, xg) / sxx
        values, vectors = np.linalg.eigh(np.eye(t_g) - h)
        inv_sqrt = np.where(values > 1e-10, 1.0 / np.sqrt(np.clip(values, 1e-10, None)), 0.0)
        adjust = (vectors * inv_sqrt) @ vectors.T
        score = float(xg @ (adjust @ e[idx]))
        meat += score * score
    return b, math.sqrt(meat) / sxx, len(teams)


def regression(frame: pd.DataFrame) -> tuple[float, float, float, float, float, int]:
    """b, se, 95% interval and p of y on x with team effects, CR2 by team, t(G - 1)."""
    codes = pd.factorize(frame["team"])[0].astype(np.int64)
    x = frame["x"].to_numpy(dtype=np.float64)
    y = frame["y"].to_numpy(dtype=np.float64)
    if _demean(x, codes).std() == 0:
        return math.nan, math.nan, math.nan, math.nan, math.nan, 0
    b, se, g = _cr2_within(x, y, codes)
    crit = float(stats.t.ppf(0.975, g - 1))
    p = float(2 * stats.t.sf(abs(b / se), g - 1)) if se > 0 else math.nan
    return b, se, b - crit * se, b + crit * se, p, g


def analyse(
    panel: pd.DataFrame,
    pairs: Iterable[tuple[str, str]],
    lags: Iterable[int] = (0, 1, 2, 3),
    both_directions: bool = True,
    methods: Sequence[str] = ("pearson_within", "spearman_within", "pearson_pooled"),
) -> TriadResult:
    """Every pair at every lag (and the reverse direction), each method, plus a within regression per pair and
    lag; q-values across all pairs reported; warnings for thin data and implausible sizes."""
    check_panel(panel)
    wanted = list(pairs)
    directions = wanted + ([(y, x) for x, y in wanted] if both_directions else [])
    lag_list = sorted(set(lags))
    raw: list[dict[str, Any]] = []
    regressions = []
    warnings: list[str] = []
    for index, (x, y) in enumerate(directions):
        for column in (x, y):
            if column not in panel.columns:
                raise ValueError(f"the panel has no {column!r} column")
        for lag in lag_list:
            if index >= len(wanted) and lag == 0:
                continue  # lag 0 is symmetric: reported once, in the asked direction
            frame = lagged(panel, x, y, lag)
            teams = int(frame["team"].nunique())
            if len(frame) < MIN_PAIRS:
                warnings.append(f"{x} vs {y} at lag {lag}: only {len(frame)} team-periods, not reported")
                continue
            for method in methods:
                kind, scope = method.split("_")
                r, low, high, p, n_eff = correlation(frame, kind, scope == "within")
                raw.append(dict(x=x, y=y, lag=lag, n=len(frame), teams=teams, r=r, ci_low=low, ci_high=high,
                                p=p, method=method, n_eff=n_eff))  # fmt: skip
            if teams < MIN_TEAMS_FOR_REGRESSION:
                warnings.append(f"{x} vs {y}: only {teams} teams, too few for a regression with team effects")
            else:
                b, se, low, high, p, g = regression(frame)
                regressions.append(
                    RegressionResult(x, y, lag, len(frame), g, b, se, low, high, p, "fe_within_cr2_t(G-1)")
                )
    q = bh_qvalues([row["p"] for row in raw])
    results = tuple(PairResult(**{**row, "q": qv}) for row, qv in zip(raw, q, strict=True))
    for result in results:
        if result.n_eff < 30 and result.method.endswith("within"):
            warnings.append(
                f"{result.x} vs {result.y} at lag {result.lag}: {result.n} team-periods count as about "
                f"{result.n_eff:.0f} independent ones; read the interval, not the point"
            )
        if math.isfinite(result.r) and abs(result.r) > PLAUSIBLE_ABS_R:
            warnings.append(
                f"{result.x} vs {result.y} at lag {result.lag}: r = {result.r:+.2f} ({result.method}) is far outside "
                "what studies across many units report (engagement vs customer outcomes about 0.1-0.35, turnover "
                "vs performance about -0.15); check the data before reading much into it"
            )
    return TriadResult(results, tuple(regressions), tuple(dict.fromkeys(warnings)))


def fitted_line(
    frame: pd.DataFrame, regression: RegressionResult, points: int = 20, teams: Sequence[str] | None = None
) -> pd.DataFrame:
    """The within-team fit of a pair over its demeaned x range: ``x, fit, low, high`` (the band is the slope's
    95% interval, so it widens away from the team means). ``teams`` limits the range to theirs."""
    codes = pd.factorize(frame["team"])[0].astype(np.int64)
    xd = _demean(frame["x"].to_numpy(dtype=np.float64), codes)
    if teams is not None:
        xd = xd[frame["team"].isin(list(teams)).to_numpy()]
    if len(xd) == 0:
        return pd.DataFrame(columns=["x", "fit", "low", "high"])
    grid = np.linspace(float(xd.min()), float(xd.max()), points)
    return pd.DataFrame(
        {
            "x": grid,
            "fit": regression.coef * grid,
            "low": np.minimum(regression.ci_low * grid, regression.ci_high * grid),
            "high": np.maximum(regression.ci_low * grid, regression.ci_high * grid),
        }
    )


def demeaned(frame: pd.DataFrame) -> pd.DataFrame:
    """x and y of an aligned frame with each team's means removed (what the within figures describe)."""
    codes = pd.factorize(frame["team"])[0].astype(np.int64)
    return pd.DataFrame(
        {
            "team": frame["team"].to_numpy(),
            "x": _demean(frame["x"].to_numpy(dtype=np.float64), codes),
            "y": _demean(frame["y"].to_numpy(dtype=np.float64), codes),
        }
    )


def summary(result: PairResult, labels: dict[str, str]) -> str:
    """One plain sentence: what moves with what, never a claim that one drives the other."""
    x, y = labels.get(result.x, result.x), labels.get(result.y, result.y)
    when = "the same month" if result.lag == 0 else f"{result.lag} month{'s' if result.lag > 1 else ''} later"
    interval = (
        f"r = {result.r:+.2f}, 95% interval {result.ci_low:+.2f} to {result.ci_high:+.2f}, {result.n} team-months"
    )
    if not math.isfinite(result.r):
        return f"Too little data to tell how {x} and {y} {when} move together ({result.n} team-months)."
    if result.q >= 0.05 and result.ci_low <= 0 <= result.ci_high:
        return f"No clear link between {x} and {y} {when} ({interval})."
    if result.q >= 0.05:
        # The interval alone excludes zero, but not once every link tested is counted.
        return (
            f"A team's {x} and its {y} {when} lean the same way ({interval}), but with this many links "
            f"tested that could be chance (q = {result.q:.2f})."
            if result.r > 0
            else f"A team's {x} and its {y} {when} lean opposite ways ({interval}), but with this many links "
            f"tested that could be chance (q = {result.q:.2f})."
        )
    direction = "higher" if result.r > 0 else "lower"
    strength = "strongly" if abs(result.r) >= 0.5 else "moderately" if abs(result.r) >= 0.3 else "weakly"
    return (
        f"When a team's {x} is above its usual level, its {y} {when} tends to be {direction}: they move "
        f"together {strength} ({interval}). Moving together does not show that one drives the other."
    )
