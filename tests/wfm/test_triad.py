"""The triad statistics (`wfm.triad`) on synthetic panels with known truth, and against independent sums."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from wfm import triad

TEAMS, MONTHS = 20, 24


def _panel(seed: int, effect: float = 0.0, phi: float = 0.6, team_sd: float = 1.0) -> pd.DataFrame:
    """20 teams x 24 months: x an AR(1) with coefficient ``phi``; y(t) = effect * x(t - 1) + AR(1) noise, so
    corr(x(t - 1), y(t)) = effect inside a team; both get a persistent team offset of sd ``team_sd``."""
    rng = np.random.default_rng(seed)

    def ar1() -> np.ndarray:
        z = np.empty((TEAMS, MONTHS))
        z[:, 0] = rng.normal(size=TEAMS)
        for t in range(1, MONTHS):
            z[:, t] = phi * z[:, t - 1] + np.sqrt(1 - phi**2) * rng.normal(size=TEAMS)
        return z

    x, noise = ar1(), ar1()
    y = noise.copy()
    y[:, 1:] = effect * x[:, :-1] + np.sqrt(1 - effect**2) * noise[:, 1:]
    x += team_sd * rng.normal(size=(TEAMS, 1))
    y += team_sd * rng.normal(size=(TEAMS, 1))
    return pd.DataFrame(
        {
            "period": np.tile([f"2024-{m:02d}" if m < 12 else f"2025-{m - 11:02d}" for m in range(MONTHS)], TEAMS),
            "team": np.repeat([f"team {i}" for i in range(TEAMS)], MONTHS),
            "enps": x.ravel(),
            "csat": y.ravel(),
        }
    )


def test_a_planted_lagged_effect_is_found_with_its_sign_and_lag() -> None:
    result = triad.analyse(_panel(11, effect=0.3), [("enps", "csat")], lags=(0, 1, 2, 3))
    within = {(p.x, p.lag): p for p in result.pairs if p.method == "pearson_within"}
    found = within[("enps", 1)]
    assert found.ci_low <= 0.3 <= found.ci_high and found.ci_low > 0 and found.q < 0.05
    # The lag and direction stand out: every other lag and the reverse direction are weaker.
    others = [p for key, p in within.items() if key != ("enps", 1)]
    assert all(abs(p.r) < found.r for p in others)
    assert {("csat", lag) for lag in (1, 2, 3)} <= set(within)  # the reverse direction is reported too
    regression = next(r for r in result.regressions if r.x == "enps" and r.lag == 1)
    assert regression.ci_low <= 0.3 <= regression.ci_high and regression.p < 0.05
    assert regression.method == "fe_within_cr2_t(G-1)" and regression.teams == TEAMS


@pytest.mark.parametrize("method", ["pearson_within", "spearman_within", "pearson_pooled", "regression"])
def test_null_panels_give_about_five_percent_false_findings(method: str) -> None:
    """200 null panels (team offsets, AR(1) months, no effect): the share with p < 0.05 at lag 1 lies inside
    the 99% binomial interval around 5% (a naive test that treats team-months as independent gets about
    20% for the pooled correlation here)."""
    hits = 0
    for seed in range(200):
        frame = triad.lagged(_panel(1000 + seed), "enps", "csat", 1)
        if method == "regression":
            p = triad.regression(frame)[4]
        else:
            kind, scope = method.split("_")
            p = triad.correlation(frame, kind, scope == "within")[3]
        hits += p < 0.05
    low, high = stats.binom.interval(0.99, 200, 0.05)
    assert low <= hits <= high, f"{hits} of 200"


def test_correlations_match_an_independent_calculation() -> None:
    panel = _panel(3, effect=0.2)
    frame = triad.lagged(panel, "enps", "csat", 1)
    # Independently: shift inside each team with pandas, demean, scipy.
    shifted = panel.assign(next_csat=panel.groupby("team")["csat"].shift(-1)).dropna()
    assert len(shifted) == len(frame) == TEAMS * (MONTHS - 1)
    demeaned = shifted[["enps", "next_csat"]] - shifted.groupby("team")[["enps", "next_csat"]].transform("mean")
    expected = stats.pearsonr(demeaned["enps"], demeaned["next_csat"]).statistic
    assert triad.correlation(frame, "pearson", True)[0] == pytest.approx(expected, abs=1e-12)
    pooled = stats.pearsonr(shifted["enps"], shifted["next_csat"]).statistic
    assert triad.correlation(frame, "pearson", False)[0] == pytest.approx(pooled, abs=1e-12)


def test_cr2_standard_error_matches_the_dummy_variable_formula() -> None:
    """The within CR2 se equals the textbook one built from the full design with team dummies
    (Bell & McCaffrey 2002: A_g = (I - H_gg)^(-1/2), a pseudo-inverse where I - H_gg is singular)."""
    frame = triad.lagged(_panel(5, effect=0.25).iloc[: 6 * MONTHS], "enps", "csat", 1)
    b, se, *_ = triad.regression(frame)
    teams = pd.get_dummies(frame["team"]).to_numpy(dtype=float)
    design = np.column_stack([frame["x"].to_numpy(), teams])
    y = frame["y"].to_numpy()
    bread = np.linalg.inv(design.T @ design)
    beta = bread @ design.T @ y
    residual = y - design @ beta
    hat = design @ bread @ design.T
    meat = np.zeros_like(bread)
    for team in frame["team"].unique():
        idx = np.flatnonzero(frame["team"].to_numpy() == team)
        values, vectors = np.linalg.eigh(np.eye(len(idx)) - hat[np.ix_(idx, idx)])
        root = vectors @ np.diag([1 / np.sqrt(v) if v > 1e-10 else 0.0 for v in values]) @ vectors.T
        score = design[idx].T @ root @ residual[idx]
        meat += np.outer(score, score)
    expected = np.sqrt((bread @ meat @ bread)[0, 0])
    assert b == pytest.approx(beta[0], abs=1e-10) and se == pytest.approx(expected, rel=1e-8)


def test_q_values_are_benjamini_hochberg() -> None:
    p = [0.01, 0.04, 0.03, 0.2, float("nan"), 0.5]
    expected = multipletests([v for v in p if v == v], method="fdr_bh")[1]
    got = triad.bh_qvalues(p)
    assert np.isnan(got[4]) and np.allclose([v for v in got if v == v], expected)


def test_bad_panels_say_what_and_where() -> None:
    panel = _panel(1)
    with pytest.raises(ValueError, match="row 27: team 'team 1' has period '2024-00' twice"):
        triad.check_panel(pd.concat([panel.iloc[:25], panel.iloc[24:25]], ignore_index=True))
    with pytest.raises(ValueError, match="no period column"):
        triad.check_panel(panel.drop(columns="period"))
    with pytest.raises(ValueError, match="no 'nps' column"):
        triad.analyse(panel, [("enps", "nps")])
    short = triad.analyse(panel[panel["team"] == "team 0"].head(8), [("enps", "csat")], lags=(0,))
    assert short.pairs == () and "only 8 team-periods" in short.warnings[0]
    json = triad.analyse(panel, [("enps", "csat")], lags=(0, 1)).to_json()
    assert set(json) == {"pairs", "regressions", "warnings"}
    assert {"x", "y", "lag", "n", "r", "ci_low", "ci_high", "p", "q", "method"} <= set(json["pairs"][0])


NHS = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "nhs-staff-survey-trusts"
    / "data.NHS.2012_2019.csv"
)


@pytest.mark.skipif(not NHS.exists(), reason=f"the NHS staff survey panel is not at {NHS}")
def test_the_nhs_trust_panel_gives_the_same_correlations_as_scipy() -> None:
    """146 English acute trusts x 2012-2019 (NHS Staff Survey with SHMI mortality; PROVENANCE.md there),
    its own column names mapped explicitly: trust code -> team, year -> period."""
    raw = pd.read_csv(NHS)
    panel = pd.DataFrame(
        {
            "team": raw["Code"],
            "period": raw["Year.Index"],
            "recommend_work": raw["RecommendWork.Index"],
            "engagement": raw["Engagement.Index"],
            "shmi": raw["SHMI.Index"],
        }
    )
    result = triad.analyse(panel, [("recommend_work", "shmi"), ("engagement", "shmi")], lags=(0, 1))
    found = {(p.x, p.y, p.lag, p.method): p for p in result.pairs}
    for x in ("recommend_work", "engagement"):
        for lag in (0, 1):
            # Independently: next year's SHMI by trust with pandas, complete pairs, scipy.
            data = raw.sort_values(["Code", "Year.Index"]).copy()
            following = data.groupby("Code")["SHMI.Index"].shift(-lag)
            year_gap = data.groupby("Code")["Year.Index"].shift(-lag) - data["Year.Index"]
            column = {"recommend_work": "RecommendWork.Index", "engagement": "Engagement.Index"}[x]
            pairs = pd.DataFrame({"code": data["Code"], "x": data[column], "y": following})[year_gap == lag].dropna()
            pooled = stats.pearsonr(pairs["x"], pairs["y"]).statistic
            centred = pairs[["x", "y"]] - pairs.groupby("code")[["x", "y"]].transform("mean")
            within = stats.pearsonr(centred["x"], centred["y"]).statistic
            assert found[(x, "shmi", lag, "pearson_pooled")].n == len(pairs)
            assert found[(x, "shmi", lag, "pearson_pooled")].r == pytest.approx(pooled, abs=1e-9)
            assert found[(x, "shmi", lag, "pearson_within")].r == pytest.approx(within, abs=1e-9)
            ranks = pairs.assign(x=pairs["x"].rank(), y=pairs["y"].rank())
            ranked = ranks[["x", "y"]] - ranks.groupby("code")[["x", "y"]].transform("mean")
            assert found[(x, "shmi", lag, "spearman_within")].r == pytest.approx(
                stats.pearsonr(ranked["x"], ranked["y"]).statistic, abs=1e-9
            )


def test_wfm_triad_reads_a_panel_file_and_writes_the_result(tmp_path: Path) -> None:
    from tests.conftest import run_wfm

    panel = _panel(11, effect=0.3).rename(columns={"csat": "csat_pct"})
    path = tmp_path / "panel.csv"
    panel.to_csv(path, index=False)
    out = tmp_path / "result.json"
    done = run_wfm("triad", "--panel", str(path), "--out", str(out), "--max-lag", "2", env={})
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    lag1 = next(p for p in result["pairs"] if (p["x"], p["lag"], p["method"]) == ("enps", 1, "pearson_within"))
    assert lag1["y"] == "csat_pct" and lag1["ci_low"] <= 0.3 <= lag1["ci_high"]
    # A bad value is named by file, row and column; nothing is written.
    broken = panel.astype(object)
    broken.iloc[4, 2] = "n/a"
    broken.to_csv(path, index=False)
    out.unlink()
    refused = run_wfm("triad", "--panel", str(path), "--out", str(out), env={})
    assert refused.returncode != 0 and "panel.csv row 6, column enps: 'n/a' is not a number" in refused.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("r", "low", "high", "q", "starts"),
    [
        (
            0.31,
            0.22,
            0.40,
            0.001,
            "When a team's eNPS is above its usual level, its CSAT 1 month later tends to be higher",
        ),
        (-0.21, -0.35, -0.05, 0.08, "A team's eNPS and its CSAT 1 month later lean opposite ways"),
        (0.05, -0.10, 0.20, 0.60, "No clear link between eNPS and CSAT 1 month later"),
        (float("nan"), float("nan"), float("nan"), float("nan"), "Too little data to tell how eNPS and CSAT"),
    ],
)
def test_the_summary_says_what_the_interval_and_q_support_and_never_causes(
    r: float, low: float, high: float, q: float, starts: str
) -> None:
    result = triad.PairResult("enps", "csat_pct", 1, 240, 20, r, low, high, q / 2, q, "pearson_within", 120.0)
    sentence = triad.summary(result, {"enps": "eNPS", "csat_pct": "CSAT"})
    assert sentence.startswith(starts), sentence
    assert "240 team-months" in sentence
    assert re.search(r"\bcaus(e|es|ed|ing|al|ally)\b", sentence) is None


def test_autocorrelations_pair_only_values_of_one_team_k_steps_apart() -> None:
    """Against a direct loop over every pair of rows, on teams with gaps and of different lengths."""
    rng = np.random.default_rng(5)
    codes = np.repeat(np.arange(4), 9)
    steps = np.tile(np.arange(9), 4)
    keep = rng.random(len(codes)) > 0.2  # holes inside teams
    codes, steps = codes[keep], steps[keep]
    values = rng.normal(size=len(codes))
    values -= values.mean()
    found = triad.autocorrelations(values, codes.astype(np.int64), steps.astype(np.int64), 4)
    for k in range(1, 5):
        products = [
            values[i] * values[j]
            for i in range(len(codes))
            for j in range(len(codes))
            if codes[i] == codes[j] and steps[j] == steps[i] + k
        ]
        assert found[k - 1] == pytest.approx(np.mean(products) / np.mean(values**2))


def test_the_fitted_line_can_span_only_some_teams() -> None:
    frame = triad.lagged(_panel(seed=2), "enps", "csat", 0)
    regression = triad.RegressionResult("enps", "csat", 0, 480, 20, 0.5, 0.1, 0.3, 0.7, 0.01, "within_cr2")
    own = triad.demeaned(frame)
    own = own[own["team"] == frame["team"].iloc[0]]
    line = triad.fitted_line(frame, regression, teams=[frame["team"].iloc[0]])
    assert (line["x"].min(), line["x"].max()) == pytest.approx((own["x"].min(), own["x"].max()))
    assert line["fit"].to_numpy() == pytest.approx(0.5 * line["x"].to_numpy())
    assert triad.fitted_line(frame, regression, teams=["nobody"]).empty
