"""Model review checks against numbers computed here by other routes: synthetic fitted series built with
the training code's own tables (``analysis.analyse``) from parameter draws chosen to pass or fail each
check, then the real trained run and the ``artemis review`` command."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.optimize import brentq
from scipy.stats import norm

from artemis_panel.cli import main
from jobs.analysis import analyse
from jobs.config import load_config
from jobs.design import ModelData, fourier_names, fourier_terms, prior_vectors, trend_index
from jobs.response import components
from jobs.review import (
    CHECK_NAMES, CONVERGENCE, FAIL, GOODNESS_OF_FIT, NEGATIVE_BASELINE, PASS, PREDICTIVE, PRIOR_SHIFT,
    REVIEW, ROI_CONSISTENCY, STATUSES, Check, checks_table, review_folder, review_run, series_draws,
)

GOOD_METRICS = {"max_rhat": 1.01, "min_ess_bulk": 400.0, "divergences": 0, "fit_seconds": 1.0,
                "train": {"mape": 3.0, "r2": 0.9, "durbin_watson": 1.8},
                "test": {"mape": None, "r2": None, "durbin_watson": None}}
MEDIA = ["TV", "Search", "Social"]
TAXONOMY = pd.DataFrame({"variable": MEDIA, "kind": "media", "channel": MEDIA, "channel_group": "Paid",
                         "pillar": "Performance", "message_type": "Brand", "signal": "spend"})
Y_SCALE = 1000.0


# ---------------------------------------------------------------------------------------------- builders


def series(audience: str = "", T: int = 52, n_train: int = 52, seed: int = 0) -> ModelData:
    """A weekly series with three spend-driven media variables, two controls and yearly seasonality."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-02", periods=T, freq="7D").to_numpy("datetime64[ns]")
    spend = rng.uniform(100.0, 1000.0, (T, len(MEDIA)))
    spend[rng.random((T, len(MEDIA))) < 0.2] = 0.0  # flighting
    z_raw = np.column_stack([rng.normal(20.0, 5.0, T), rng.normal(3.0, 1.0, T)])
    z_scale = np.abs(z_raw[:n_train]).mean(axis=0)
    return ModelData(
        audience=audience, dates=dates, n_train=n_train, y=np.full(T, Y_SCALE), y_scale=Y_SCALE,
        media=list(MEDIA), signal=["spend"] * len(MEDIA), x=spend, x_scale=spend[:n_train].max(axis=0),
        spend=spend, impressions=np.full((T, len(MEDIA)), np.nan), others=["temperature", "price"],
        other_kind=["control", "control"], z_raw=z_raw, z_scale=z_scale,
        z_center=(z_raw[:n_train] / z_scale).mean(axis=0), fourier_names=fourier_names(2), l_max=4,
    )


def prior(d: ModelData) -> tuple[float, float]:
    """Log-median and log-sd of the default CPIT prior, from the training code's ``prior_vectors``."""
    p = prior_vectors(d, load_config(), None)
    assert np.all(p["cpit_mu"] == p["cpit_mu"][0])
    return float(p["cpit_mu"][0]), float(p["cpit_sigma"][0])


def draws(d: ModelData, D: int = 400, seed: int = 1, intercept=(0.8, 0.02), sigma: float = 0.05,
          log_cpit: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Posterior-like draws in the model's scaled units; CPIT concentrated at the prior median by default."""
    rng = np.random.default_rng(seed)
    V, O = len(d.media), len(d.others)
    m, _ = prior(d)
    return {
        "intercept": rng.normal(*intercept, D),
        "trend": rng.normal(0.02, 0.01, D),
        "seasonality": rng.normal([0.05, -0.03, 0.01, 0.0], 0.005, (D, 4)),
        "coefficient": rng.normal([0.05, -0.02], 0.01, (D, O)),
        "adstock_decay": rng.uniform(0.2, 0.5, (D, V)),
        "half_saturation": rng.uniform(0.3, 0.6, (D, V)),
        "hill_slope": rng.uniform(1.0, 2.0, (D, V)),
        "cost_per_transaction": np.exp(log_cpit if log_cpit is not None else rng.normal(m, 0.05, (D, V))),
        "sigma": np.full(D, sigma),
    }


def fitted(d: ModelData, params: dict, y: np.ndarray | None = None, seed: int = 2) -> dict:
    """The run tables of a series: actuals ``y`` (default: the mean expected week plus the model's noise)."""
    mu = components(d, params, "hill")["mu"]
    if y is None:
        rng = np.random.default_rng(seed)
        y = mu.mean(axis=0) + rng.normal(0.0, params["sigma"][0] * d.y_scale, d.T)
    d.y = np.asarray(y, dtype=float)
    return {**analyse(d, params, TAXONOMY, "hill", 0.94), "mu": mu}


def with_actuals(d: ModelData, seed: int = 2) -> ModelData:
    """Sets the series' actual transactions first (from default draws), so that the CPIT prior, which
    depends on them, is known before the CPIT draws are chosen."""
    fitted(d, draws(d), seed=seed)
    return d


def review(tables: dict | list[dict], metrics: dict = GOOD_METRICS, config: dict | None = None) -> dict[str, Check]:
    parts = tables if isinstance(tables, list) else [tables]
    response = pd.concat([t["response"] for t in parts], ignore_index=True)
    contributions = pd.concat([t["contributions"] for t in parts], ignore_index=True)
    checks = review_run(metrics, config or load_config().to_dict(), response, contributions)
    assert [c.name for c in checks] == list(CHECK_NAMES)
    return {c.name: c for c in checks}


@pytest.fixture(scope="module")
def good():
    d = series()
    return d, fitted(d, draws(d))


# ---------------------------------------------------------------------------------------------- all checks


def test_a_well_behaved_series_passes_every_check(good):
    _, tables = good
    checks = review(tables)
    assert {n: c.status for n, c in checks.items()} == {n: PASS for n in CHECK_NAMES}
    for c in checks.values():
        assert c.figure and c.detail.endswith(".") and c.values.get("audience") is None
    table = checks_table(list(checks.values()))
    assert list(table.columns) == ["check", "status", "figure", "detail"]
    assert table["check"].tolist() == list(CHECK_NAMES) and set(table["status"]) == {PASS}


def test_expected_transactions_per_draw_are_the_models_own(good):
    """The review's per-draw expected weeks (response engine route) equal the training code's ``mu``."""
    d, tables = good
    (s,) = series_draws(tables["response"], tables["contributions"])
    assert s.audience is None and s.n_train == d.n_train and s.media_names == MEDIA
    np.testing.assert_allclose(s.expected, tables["mu"], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(s.noise_sd, 0.05 * Y_SCALE)
    np.testing.assert_allclose(s.spend_train, d.spend[: d.n_train].sum(axis=0))


# ---------------------------------------------------------------------------------------------- convergence


@pytest.mark.parametrize("rhat, ess, div, status", [
    (1.01, 400, 0, PASS),
    (1.05, 100, 0, PASS),
    (1.08, 400, 0, REVIEW),
    (1.01, 60, 0, REVIEW),
    (1.01, 400, 3, REVIEW),
    (1.25, 400, 0, FAIL),
    (1.01, 15, 0, FAIL),
    (None, 400, 0, REVIEW),
])
def test_convergence_thresholds(good, rhat, ess, div, status):
    _, tables = good
    c = review(tables, {**GOOD_METRICS, "max_rhat": rhat, "min_ess_bulk": ess, "divergences": div})[CONVERGENCE]
    assert c.status == status
    assert c.values["max_rhat"] == rhat and c.values["divergences"] == div
    if rhat is not None:
        assert f"max R-hat {rhat:.3f}" in c.figure and f"{div} divergences" in c.figure


# ---------------------------------------------------------------------------------------------- negative baseline


def baseline_totals(d: ModelData, p: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per-draw training total and mean weekly baseline, straight from the parameters (not the tables)."""
    n = d.n_train
    trend = trend_index(d.T, n)[:n]
    F = fourier_terms(d.dates, 2)[:n]
    z = (d.z_raw / d.z_scale - d.z_center)[:n]
    weekly = (p["intercept"][:, None] + p["trend"][:, None] * trend[None, :] + p["seasonality"] @ F.T
              + p["coefficient"] @ z.T) * d.y_scale
    return weekly.sum(axis=1), weekly.mean(axis=0)


@pytest.mark.parametrize("intercept, status", [((0.8, 0.02), PASS), ((0.015, 0.03), REVIEW), ((-0.1, 0.05), FAIL)])
def test_negative_baseline_probability_counts_the_draws(intercept, status):
    d = series()
    p = draws(d, D=4000, intercept=intercept, seed=5)
    c = review(fitted(d, p))[NEGATIVE_BASELINE]
    totals, weekly = baseline_totals(d, p)
    prob = float(np.mean(totals < 0))
    assert c.values["probability_negative"] == pytest.approx(prob, abs=1e-12)
    assert c.values["weeks_negative"] == int((weekly < 0).sum())
    assert c.values["share_weeks_negative"] == pytest.approx(float(np.mean(weekly < 0)))
    # closed form: controls and trend sum to zero over the training weeks (centred, symmetric), so the
    # total is y_scale * (n * intercept + seasonality's sum), Normal across the draws
    F = fourier_terms(d.dates, 2)[: d.n_train].sum(axis=0)
    mean = d.n_train * intercept[0] + F @ np.array([0.05, -0.03, 0.01, 0.0])
    sd = math.sqrt((d.n_train * intercept[1]) ** 2 + 0.005**2 * float(F @ F))
    assert prob == pytest.approx(norm.cdf(-mean / sd), abs=0.03)
    assert c.status == status
    assert f"P(baseline total < 0) {prob:.2f}" in c.figure


def test_negative_baseline_shares_weeks_when_a_trend_crosses_zero():
    """A small intercept with a strong trend: early weeks negative on average, the total positive."""
    d = series()
    p = draws(d, D=1000, intercept=(0.05, 0.005), seed=6)
    p["trend"] = np.full(1000, 0.3)
    c = review(fitted(d, p))[NEGATIVE_BASELINE]
    _, weekly = baseline_totals(d, p)
    assert 0 < (weekly < 0).sum() < d.n_train
    assert c.values["weeks_negative"] == int((weekly < 0).sum())
    assert c.status == PASS and c.values["probability_negative"] == 0.0


# ---------------------------------------------------------------------------------------------- predictive check


def mixture_interval(mu: np.ndarray, sd: np.ndarray, prob: float = 0.94) -> tuple[np.ndarray, np.ndarray]:
    """Per week, the equal-tailed interval of the mixture over draws of Normal(mu, sd), by root finding."""
    q = (1 - prob) / 2
    lo, hi = [], []
    for col in mu.T:
        cdf = lambda y, c=col: norm.cdf((y - c) / sd).mean()  # noqa: E731
        a, b = col.min() - 10 * sd.max(), col.max() + 10 * sd.max()
        lo.append(brentq(lambda y: cdf(y) - q, a, b, xtol=1e-10))
        hi.append(brentq(lambda y: cdf(y) - (1 - q), a, b, xtol=1e-10))
    return np.array(lo), np.array(hi)


def test_predictive_coverage_matches_the_mixture_quantiles(good):
    d, tables = good
    c = review(tables)[PREDICTIVE]
    mu = tables["mu"]
    lo, hi = mixture_interval(mu, np.full(len(mu), 0.05 * Y_SCALE))
    inside = (d.y >= lo) & (d.y <= hi)
    assert c.values["coverage"] == pytest.approx(inside.mean(), abs=1e-12)
    assert c.values["weeks_outside"] == int((~inside).sum())
    bias = 100 * (mu.sum(axis=1).mean() - d.y.sum()) / d.y.sum()
    assert c.values["bias_pct"] == pytest.approx(bias, rel=1e-9)
    assert c.status == PASS and c.values["coverage"] >= 0.85


def identical_draws(d: ModelData, D: int = 50, sigma: float = 0.05) -> dict:
    """Every draw the same: the predictive interval of a week is exactly mu ± z sigma y_scale."""
    p = draws(d, D=1)
    return {k: np.repeat(v, D, axis=0) for k, v in p.items()} | {"sigma": np.full(D, sigma)}


@pytest.mark.parametrize("outside, status", [(0, PASS), (10, REVIEW), (30, FAIL)])
def test_predictive_coverage_counts_weeks_outside_the_band(outside, status):
    d = series()
    p = identical_draws(d)
    mu = components(d, p, "hill")["mu"][0]
    offset = np.zeros(d.T)
    offset[:outside:2], offset[1:outside:2] = 3.0, -3.0  # beyond z_0.97 = 1.88 sd, balanced: no bias
    offset[outside:] = np.resize([1.5, -1.5, 0.5, -0.5], d.T - outside)  # inside
    c = review(fitted(d, p, y=mu + offset * 0.05 * Y_SCALE))[PREDICTIVE]
    assert c.values["weeks_outside"] == outside
    assert c.values["coverage"] == pytest.approx(1 - outside / d.n_train)
    assert abs(c.values["bias_pct"]) < 0.5
    assert c.status == status


@pytest.mark.parametrize("factor, status", [(1.1, REVIEW), (1.3, FAIL)])
def test_predictive_bias_of_the_total(factor, status):
    """Actuals a constant factor below the prediction, inside a wide band: the bias alone decides."""
    d = series()
    p = identical_draws(d, sigma=0.4)
    mu = components(d, p, "hill")["mu"][0]
    c = review(fitted(d, p, y=mu / factor))[PREDICTIVE]
    assert c.values["bias_pct"] == pytest.approx(100 * (factor - 1), rel=1e-9)
    assert c.values["coverage"] == 1.0
    assert c.status == status and f"total bias +{100 * (factor - 1):.1f}%" in c.figure


# ---------------------------------------------------------------------------------------------- goodness of fit


@pytest.mark.parametrize("train, test, status", [
    ({"mape": 3.0, "r2": 0.9}, {"mape": None, "r2": None}, PASS),
    ({"mape": 3.0, "r2": 0.9}, {"mape": 5.5, "r2": 0.7}, PASS),
    ({"mape": 3.0, "r2": 0.9}, {"mape": 7.0, "r2": 0.2}, REVIEW),  # overfitting
    ({"mape": 3.0, "r2": 0.3}, {"mape": None, "r2": None}, REVIEW),
    ({"mape": 22.0, "r2": 0.8}, {"mape": None, "r2": None}, REVIEW),
    ({"mape": 12.0, "r2": -0.1}, {"mape": None, "r2": None}, FAIL),
])
def test_goodness_of_fit_thresholds(good, train, test, status):
    _, tables = good
    c = review(tables, {**GOOD_METRICS, "train": train, "test": test})[GOODNESS_OF_FIT]
    assert c.status == status
    assert c.values["train_mape"] == train["mape"] and c.values["test_mape"] == test["mape"]
    assert ("test MAPE" in c.figure) == (test["mape"] is not None)
    if test["mape"] and test["mape"] > 2 * train["mape"]:
        assert "overfitting" in c.detail


# ---------------------------------------------------------------------------------------------- ROI and shift


def log_cpit(d: ModelData, D: int, spec: list, seed: int = 3) -> np.ndarray:
    """Per variable, log CPIT draws: ``("prior",)`` from the prior itself, ``(k, sd)`` Normal at the prior
    log-median + k prior sds with log-sd ``sd`` prior sds."""
    rng = np.random.default_rng(seed)
    m, s = prior(d)
    return np.column_stack([rng.normal(m, s, D) if v[0] == "prior" else rng.normal(m + v[0] * s, v[1] * s, D)
                            for v in spec])


@pytest.mark.parametrize("spec, flagged, status", [
    ([(0.0, 0.1), (1.0, 0.1), (-1.5, 0.1)], [], PASS),
    ([(3.5, 0.05), (0.0, 0.1), (-1.0, 0.1)], ["TV"], REVIEW),
    ([(3.5, 0.05), (0.0, 0.1), (-3.5, 0.05)], ["TV", "Social"], FAIL),
])
def test_roi_consistency_flags_posterior_means_in_the_priors_tails(spec, flagged, status):
    d = with_actuals(series())
    lc = log_cpit(d, 500, spec)
    c = review(fitted(d, draws(d, D=500, log_cpit=lc), y=d.y))[ROI_CONSISTENCY]
    m, s = prior(d)
    lo, hi = np.exp(m + norm.ppf([0.005, 0.995]) * s)
    assert c.values["prior_median"] == pytest.approx(math.exp(m), rel=1e-9)
    assert c.values["prior_lo"] == pytest.approx(lo, rel=1e-9) and c.values["prior_hi"] == pytest.approx(hi, rel=1e-9)
    cpit = np.exp(lc)
    for i, v in enumerate(MEDIA):
        assert c.values["variables"][v]["cpit_mean"] == pytest.approx(cpit[:, i].mean(), rel=1e-9)
        assert c.values["variables"][v]["roi_mean"] == pytest.approx((1 / cpit[:, i]).mean(), rel=1e-9)
    assert c.values["flagged"] == flagged and c.status == status
    assert all(v in c.figure for v in flagged)
    assert "priors.csv" in c.detail


def test_roi_prior_follows_the_configs_priors():
    """media_share and cost_per_transaction_sigma of the run's config set the prior, as in training."""
    d = with_actuals(series())
    cfg = load_config(None, priors={"media_share": 0.5, "cost_per_transaction_sigma": 0.3})
    p = prior_vectors(d, cfg, None)
    m, s = float(p["cpit_mu"][0]), float(p["cpit_sigma"][0])
    lc = np.random.default_rng(4).normal(m + 3.0 * s, 0.02, (300, 3))  # 3 sd of the narrow prior
    tables = fitted(d, draws(d, D=300, log_cpit=lc), y=d.y)
    narrow = review(tables, config=cfg.to_dict())[ROI_CONSISTENCY]
    assert narrow.values["prior_median"] == pytest.approx(math.exp(m), rel=1e-9)
    assert narrow.values["prior_log_sd"] == 0.3 and narrow.status == FAIL
    default = review(tables)[ROI_CONSISTENCY]  # the default prior (share 0.25, sd 0.7) is wide enough
    assert default.values["prior_median"] == pytest.approx(math.exp(prior(d)[0]), rel=1e-9)
    assert default.status == PASS


@pytest.mark.parametrize("spec, stuck, status", [
    ([(0.0, 0.3), (0.3, 1.0), (0.05, 0.7)], [], PASS),  # informed by contraction, by shift, by contraction
    ([("prior",), (1.0, 0.5), (-0.5, 0.3)], ["TV"], REVIEW),
    ([("prior",), ("prior",), ("prior",)], MEDIA, FAIL),
])
def test_prior_shift_finds_variables_whose_posterior_is_their_prior(spec, stuck, status):
    d = with_actuals(series())
    D = 4000
    lc = log_cpit(d, D, spec, seed=11)
    c = review(fitted(d, draws(d, D=D, log_cpit=lc), y=d.y))[PRIOR_SHIFT]
    m, s = prior(d)
    for i, v in enumerate(MEDIA):
        got = c.values["variables"][v]
        assert got["shift_sd"] == pytest.approx((lc[:, i].mean() - m) / s, rel=1e-9, abs=1e-12)
        assert got["contraction"] == pytest.approx(1 - lc[:, i].var() / s**2, rel=1e-9, abs=1e-12)
        if spec[i][0] == "prior":  # drawn from the prior: no shift, no contraction (within sampling error)
            assert abs(got["shift_sd"]) < 0.1 and abs(got["contraction"]) < 0.1
    assert c.values["not_informed"] == list(stuck) and c.status == status


# ---------------------------------------------------------------------------------------------- per audience


def test_per_audience_reports_the_worst_audience_by_name():
    a, b = series("Loyal", seed=0), series("Occasional", seed=1)
    pa, pb = draws(a, D=2000, seed=1), draws(b, D=2000, seed=2, intercept=(-0.1, 0.05))
    metrics = {**GOOD_METRICS, "max_rhat": 1.3, "audiences": {
        "Loyal": {**GOOD_METRICS, "max_rhat": 1.3, "train": {"mape": 3.0, "r2": 0.4}},
        "Occasional": {**GOOD_METRICS, "max_rhat": 1.02, "train": {"mape": 4.0, "r2": 0.8}},
    }}
    checks = review([fitted(a, pa), fitted(b, pb)], metrics)
    nb = checks[NEGATIVE_BASELINE]
    assert nb.status == FAIL and nb.values["audience"] == "Occasional" and "Occasional" in nb.figure
    for name, p, d in (("Loyal", pa, a), ("Occasional", pb, b)):
        assert nb.values["audiences"][name]["probability_negative"] == pytest.approx(
            float(np.mean(baseline_totals(d, p)[0] < 0)), abs=1e-12)
    assert nb.values["statuses"] == {"Loyal": PASS, "Occasional": FAIL}
    conv = checks[CONVERGENCE]
    assert conv.status == FAIL and conv.values["audience"] == "Loyal" and conv.values["max_rhat"] == 1.3
    fit = checks[GOODNESS_OF_FIT]
    assert fit.status == REVIEW and fit.values["audience"] == "Loyal"
    pred = checks[PREDICTIVE]
    assert pred.status == PASS and pred.figure.startswith("all 2 audiences pass")
    # each audience is judged against its own prior (its own spend and transactions)
    roi = checks[ROI_CONSISTENCY].values["audiences"]
    assert roi["Loyal"]["prior_median"] == pytest.approx(math.exp(prior(a)[0]), rel=1e-9)
    assert roi["Occasional"]["prior_median"] == pytest.approx(math.exp(prior(b)[0]), rel=1e-9)


def test_a_run_without_response_draws_is_reviewed_without_them(good):
    _, tables = good
    checks = review_run(GOOD_METRICS, {}, tables["response"].iloc[0:0], tables["contributions"])
    by = {c.name: c for c in checks}
    assert by[CONVERGENCE].status == PASS and by[GOODNESS_OF_FIT].status == PASS
    for name in (NEGATIVE_BASELINE, PREDICTIVE, ROI_CONSISTENCY, PRIOR_SHIFT):
        assert by[name].status == REVIEW and by[name].figure == "not available"


# ---------------------------------------------------------------------------------------------- run folders and CLI


def write_run(folder, tables: dict, metrics: dict = GOOD_METRICS):
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"run_id": folder.name, "status": "completed"}))
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "config.yaml").write_text(yaml.safe_dump(load_config().to_dict()))
    tables["contributions"].to_parquet(folder / "contributions.parquet", index=False)
    tables["response"].to_parquet(folder / "response.parquet", index=False)
    return folder


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_review_command_exit_codes(good, tmp_path, capsys):
    _, tables = good
    ok = write_run(tmp_path / "ok", tables)
    assert [c.status for c in review_folder(ok)] == [PASS] * 6
    code, out, _ = run_cli(capsys, "review", str(ok))
    assert code == 0 and all(name in out for name in CHECK_NAMES) and "overall: PASS" in out

    bad = write_run(tmp_path / "bad", tables, {**GOOD_METRICS, "max_rhat": 1.5})
    code, out, _ = run_cli(capsys, "review", str(bad))
    assert code == 1 and "FAIL" in out and "max R-hat 1.500" in out

    review_only = write_run(tmp_path / "review", tables, {**GOOD_METRICS, "divergences": 4})
    code, out, _ = run_cli(capsys, "review", str(review_only))
    assert code == 0 and "overall: REVIEW" in out

    (ok / "response.parquet").unlink()
    code, _, err = run_cli(capsys, "review", str(ok))
    assert code == 2 and "response.parquet" in err and str(ok) in err
    code, _, err = run_cli(capsys, "review", str(tmp_path / "nowhere"))
    assert code == 2 and "not a run folder" in err
    (bad / "metrics.json").write_text("{not json")
    code, _, err = run_cli(capsys, "review", str(bad))
    assert code == 2 and "metrics.json" in err


def test_review_of_the_trained_run(trained_run, capsys):
    checks = review_folder(trained_run.run_dir)
    assert [c.name for c in checks] == list(CHECK_NAMES)
    assert all(c.status in STATUSES and c.figure and c.detail for c in checks)

    def numbers(v):
        if isinstance(v, dict):
            for x in v.values():
                yield from numbers(x)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            yield v

    by = {c.name: c for c in checks}
    for name in (NEGATIVE_BASELINE, PREDICTIVE, ROI_CONSISTENCY, PRIOR_SHIFT):
        assert all(math.isfinite(x) for x in numbers(by[name].values)), name
    assert len(by[ROI_CONSISTENCY].values["variables"]) == len(trained_run.manifest["media_variables"])
    assert by[PREDICTIVE].values["weeks"] == trained_run.manifest["weeks"]

    m = trained_run.metrics
    assert m["train"]["r2"] >= 0.5 and m["train"]["mape"] <= 15
    assert by[GOODNESS_OF_FIT].status == PASS
    assert by[GOODNESS_OF_FIT].values["train_mape"] == pytest.approx(m["train"]["mape"])
    rhat, ess, div = m["max_rhat"], m["min_ess_bulk"], m["divergences"]
    want = (FAIL if rhat > 1.2 or ess < 20 else PASS if rhat <= 1.05 and ess >= 100 and div == 0 else REVIEW)
    assert by[CONVERGENCE].status == want
    # in sample, the fitted total matches the actual total closely (the intercept absorbs the level)
    assert abs(by[PREDICTIVE].values["bias_pct"]) < 5

    code, out, _ = run_cli(capsys, "review", str(trained_run.run_dir))
    assert code == (1 if any(c.status == FAIL for c in checks) else 0)
    assert all(name in out for name in CHECK_NAMES)
