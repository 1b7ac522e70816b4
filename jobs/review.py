r"""Model review: checks of a fitted run, each PASS / REVIEW / FAIL with the figures behind it.

In the spirit of Google Meridian's model reviewer (``meridian.analysis.review``). The module is pure:
plain inputs (the run's metrics, config, response draws and contributions), no store, no Panel, no
PyMC; ``review_folder`` reads them from a run folder.

The checks and their thresholds (module constants):

1. **Convergence** (``metrics.json``): PASS when max R-hat ≤ ``RHAT_PASS`` (1.05), min bulk ESS ≥
   ``ESS_PASS`` (100) and no divergences; FAIL when max R-hat > ``RHAT_FAIL`` (1.2) or min bulk ESS <
   ``ESS_FAIL`` (20); REVIEW otherwise. (Meridian reviews above R-hat 1.2 and fails above 10; we are
   stricter because every downstream number is a posterior summary.)
2. **Negative baseline**: the baseline is everything that is not paid media: intercept, trend and
   seasonality (from the response draws) plus controls, owned / earned media and holidays (the run's
   weekly mean contributions scaled per draw by the draw's coefficient over the mean coefficient,
   exact for the model's linear controls, as the response engine does). Reported: the posterior
   probability that its total over the training weeks is negative (the status) and the share of
   training weeks whose mean baseline is negative. Meridian's thresholds: PASS below
   ``NEGATIVE_BASELINE_REVIEW`` (0.2), REVIEW below ``NEGATIVE_BASELINE_FAIL`` (0.8), FAIL from 0.8.
3. **Posterior predictive**: expected transactions per draw and training week are evaluated from the
   draws exactly as the response engine does (media: adstock and saturation of the actual weekly
   inputs in ``contributions``, times ``beta``; plus the baseline and controls above), so they
   reproduce the run's own contributions. The predictive distribution of a week is the mixture over
   draws of Normal(expected, ``sigma`` · ``y_scale``); an actual week is inside its central 94%
   interval when the mixture's CDF at the actual value lies in [0.03, 0.97] (exact, no noise is
   simulated). Reported: the share of training weeks inside (coverage) and the bias of the total,
   100 · (mean predicted total − actual total) / actual total. PASS coverage ≥ ``PPC_COVERAGE_PASS``
   (0.85) and \|bias\| ≤ ``PPC_BIAS_PASS`` (5%); FAIL coverage < ``PPC_COVERAGE_FAIL`` (0.6) or
   \|bias\| > ``PPC_BIAS_FAIL`` (20%); REVIEW otherwise.
4. **Goodness of fit** (``metrics.json``): train R² and MAPE, test MAPE when there is a test split.
   FAIL when train R² ≤ ``FIT_R2_FAIL`` (0: no better than the mean; Meridian's review threshold);
   REVIEW when R² < ``FIT_R2_PASS`` (0.5), train MAPE > ``FIT_MAPE_PASS`` (15%), or test MAPE >
   ``OVERFIT_RATIO`` (2) × train MAPE (overfitting); PASS otherwise.
5. **ROI consistency**: per media variable, the posterior mean cost per incremental transaction (CPIT)
   against its prior, LogNormal(m, s) with s = ``priors.cost_per_transaction_sigma`` and
   m = log(S / (``priors.media_share`` · Y)) + s²/2 as ``design.prior_vectors`` sets it, S being the
   total training spend of all media of the series and Y its total training transactions (both from
   the contributions' training weeks). A variable whose posterior mean lies outside the prior's central
   ``ROI_PRIOR_INTERVAL`` (99%; Meridian uses its 1st-99th percentiles) is flagged. PASS none flagged,
   FAIL more than half, REVIEW otherwise. ROI = 1 / CPIT (incremental transactions per dollar) is
   given alongside. A ``priors.csv`` override of a variable's CPIT prior is not in the run's tables,
   so such a variable is judged against the default prior.
6. **Prior-to-posterior shift**: per media variable, on log CPIT (prior Normal(m, s)): the shift of the
   posterior mean from the prior mean in prior sds, (mean − m) / s, and the contraction
   1 − var_post / s². A variable with \|shift\| < ``SHIFT_MIN`` (0.1) and contraction <
   ``CONTRACTION_MIN`` (0.1) was not informed by the data (its posterior is its prior). PASS none,
   FAIL all, REVIEW some. (Meridian tests the shift by bootstrap; this is the deterministic analogue.)

Per-audience runs: every check is computed per audience and the check reports the worst audience
(named in the figure), with each audience's numbers under ``values["audiences"]``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from jobs.config import PriorConfig
from jobs.design import fourier_terms, trend_index
from jobs.response_engine import PlanError, ResponseEngine

PASS, REVIEW, FAIL = "PASS", "REVIEW", "FAIL"
STATUSES = (PASS, REVIEW, FAIL)  # in order of severity

# Check names, in the order review_run returns them.
CONVERGENCE = "Convergence"
NEGATIVE_BASELINE = "Negative baseline"
PREDICTIVE = "Posterior predictive check"
GOODNESS_OF_FIT = "Goodness of fit"
ROI_CONSISTENCY = "ROI consistency with prior"
PRIOR_SHIFT = "Prior-to-posterior shift"
CHECK_NAMES = (CONVERGENCE, NEGATIVE_BASELINE, PREDICTIVE, GOODNESS_OF_FIT, ROI_CONSISTENCY, PRIOR_SHIFT)

RHAT_PASS = 1.05
RHAT_FAIL = 1.2
ESS_PASS = 100.0
ESS_FAIL = 20.0
NEGATIVE_BASELINE_REVIEW = 0.2
NEGATIVE_BASELINE_FAIL = 0.8
PPC_INTERVAL = 0.94
PPC_COVERAGE_PASS = 0.85
PPC_COVERAGE_FAIL = 0.6
PPC_BIAS_PASS = 5.0  # percent
PPC_BIAS_FAIL = 20.0  # percent
FIT_R2_PASS = 0.5
FIT_R2_FAIL = 0.0
FIT_MAPE_PASS = 15.0  # percent
OVERFIT_RATIO = 2.0
ROI_PRIOR_INTERVAL = 0.99
SHIFT_MIN = 0.1
CONTRACTION_MIN = 0.1

RUN_INPUTS = ("manifest.json", "metrics.json", "config.yaml", "contributions.parquet", "response.parquet")


@dataclass
class Check:
    """One review check: its status, a short figure, one sentence of meaning and advice, the numbers."""

    name: str
    status: str  # "PASS" | "REVIEW" | "FAIL"
    figure: str
    detail: str
    values: dict = field(default_factory=dict)


@dataclass
class SeriesDraws:
    """Per-draw components of one fitted series (an audience, or national: ``audience`` None) over all
    its weeks, in original units."""

    audience: str | None
    dates: np.ndarray  # (N,) datetime64[D]
    n_train: int
    actual: np.ndarray  # (N,) actual transactions
    baseline: np.ndarray  # (D, N) intercept + trend + seasonality
    controls: np.ndarray  # (D, N) controls, owned / earned media and holidays
    media: np.ndarray  # (D, N, V) incremental transactions per media variable
    media_names: list[str]
    noise_sd: np.ndarray  # (D,) sigma * y_scale: the Normal noise of a week
    cpit: np.ndarray  # (D, V) cost per incremental transaction
    spend_train: np.ndarray  # (V,) training spend per media variable

    @property
    def label(self) -> str:
        return self.audience or "national"

    @property
    def expected(self) -> np.ndarray:
        """(D, N) expected transactions per draw and week."""
        return self.baseline + self.controls + self.media.sum(axis=2)


# ---------------------------------------------------------------------------------------------- draws


def series_draws(response: pd.DataFrame, contributions: pd.DataFrame) -> list[SeriesDraws]:
    """Every series' components per draw, evaluated with the response engine's fitted functions.

    Raises ``PlanError`` (a ``ValueError``) when the tables cannot be evaluated (no response draws,
    missing parameters, weeks that are not consecutive).
    """
    engine = ResponseEngine(response, contributions)
    resp = response.copy()
    resp["audience"] = resp["audience"].astype(object).where(resp["audience"].notna(), None)
    out = []
    for s in engine.series:
        D, N, V = engine.draws, len(engine.dates), len(s.media)
        base = s.intercept[:, None] * np.ones((1, N))
        if s.trend is not None:
            base = base + s.trend[:, None] * trend_index(N, s.n_train)[None, :]
        if s.season.shape[1]:
            base = base + s.season @ fourier_terms(engine.dates.astype("datetime64[ns]"), s.season.shape[1] // 2).T
        base = base * s.y_scale
        controls = s.others[None, :] * s.others_ratio
        if V:
            x = np.where(s.uses_impressions, np.nan_to_num(s.impressions), s.spend)
            xs = np.vstack([np.zeros((s.l_max - 1, V)), x]) / s.x_scale
            media = s.saturate(ResponseEngine.adstock(s, xs)) * s.beta[:, None, :]
        else:
            media = np.zeros((D, N, 0))
        rows = resp[(resp["audience"].isna() if s.audience is None else resp["audience"] == s.audience)]
        sigma = _parameter(rows, "baseline", "sigma", D)
        cpit = (np.column_stack([_parameter(rows, v, "cost_per_transaction", D) for v in s.media])
                if V else np.zeros((D, 0)))
        out.append(SeriesDraws(
            audience=s.audience, dates=engine.dates, n_train=s.n_train,
            actual=np.asarray(s.actual, dtype=float), baseline=base, controls=controls, media=media,
            media_names=list(s.media), noise_sd=sigma * s.y_scale, cpit=cpit,
            spend_train=s.spend[: s.n_train].sum(axis=0),
        ))
    return out


def _parameter(rows: pd.DataFrame, variable: str, parameter: str, draws: int) -> np.ndarray:
    r = rows[(rows["variable"] == variable) & (rows["parameter"] == parameter)].sort_values("draw")
    if len(r) != draws:
        raise PlanError(f"the response draws have {len(r)} draws of '{parameter}' for '{variable}', expected {draws}")
    return r["value"].to_numpy(float)


# ---------------------------------------------------------------------------------------------- checks


def review_run(metrics: dict, config: dict | None, response: pd.DataFrame, contributions: pd.DataFrame) -> list[Check]:
    """The six checks of a fitted run (see the module docstring), in the order of ``CHECK_NAMES``."""
    metrics = metrics or {}
    try:
        series = series_draws(response, contributions)
        missing = None
    except (PlanError, KeyError, ValueError) as e:
        series, missing = [], str(e)

    def per_series(name, fn):
        if missing is not None:
            return Check(name, REVIEW, "not available",
                         f"The run's response draws cannot be evaluated ({missing}); rerun training to get them.",
                         {"error": missing})
        return _worst(name, [(s.label, *fn(s)) for s in series])

    share = _prior_setting(config, "media_share")
    sigma = _prior_setting(config, "cost_per_transaction_sigma")
    return [
        _worst(CONVERGENCE, [(label, *_convergence(m)) for label, m in _metric_sets(metrics)]),
        per_series(NEGATIVE_BASELINE, _negative_baseline),
        per_series(PREDICTIVE, _predictive),
        _worst(GOODNESS_OF_FIT, [(label, *_goodness_of_fit(m)) for label, m in _metric_sets(metrics)]),
        per_series(ROI_CONSISTENCY, lambda s: _roi_consistency(s, share, sigma)),
        per_series(PRIOR_SHIFT, lambda s: _prior_shift(s, share, sigma)),
    ]


def _metric_sets(metrics: dict) -> list[tuple[str, dict]]:
    """(label, metrics) per fitted series: per audience when the run has them, else the run's own."""
    audiences = metrics.get("audiences")
    if isinstance(audiences, dict) and audiences:
        return list(audiences.items())
    return [("national", metrics)]


def _prior_setting(config: dict | None, name: str) -> float:
    priors = (config or {}).get("priors") or {}
    value = priors.get(name)
    return float(value) if value is not None else float(getattr(PriorConfig, name))


def _num(value) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _worst(name: str, results: list[tuple[str, Check, float]]) -> Check:
    """One check from per-series results: the worst status (ties: the highest severity), its audience
    named when there are several series."""
    if len(results) == 1:
        label, check, _ = results[0]
        check.values.setdefault("audience", None if label == "national" else label)
        return check
    rank = {s: i for i, s in enumerate(STATUSES)}
    label, worst, _ = max(results, key=lambda r: (rank[r[1].status], r[2]))
    statuses = {lab: c.status for lab, c, _ in results}
    bad = sum(1 for s in statuses.values() if s != PASS)
    figure = (f"worst audience {label}: {worst.figure}" if bad
              else f"all {len(results)} audiences pass; {label}: {worst.figure}")
    values = {**worst.values, "audience": label, "statuses": statuses,
              "audiences": {lab: c.values for lab, c, _ in results}}
    return Check(name, worst.status, figure, worst.detail, values)


def _convergence(m: dict) -> tuple[Check, float]:
    rhat, ess, div = _num(m.get("max_rhat")), _num(m.get("min_ess_bulk")), _num(m.get("divergences"))
    values = {"max_rhat": rhat, "min_ess_bulk": ess, "divergences": None if div is None else int(div)}
    fig = (f"max R-hat {_fmt(rhat, '.3f')}, min ESS {_fmt(ess, '.0f')}, "
           f"{'?' if div is None else int(div)} divergences")
    if rhat is None or ess is None or div is None:
        return Check(CONVERGENCE, REVIEW, fig, "The sampler's diagnostics are missing from metrics.json; "
                     "rerun training to get them before relying on the numbers.", values), math.inf
    severity = max(rhat - 1.0, 0.0) + (ESS_PASS / max(ess, 1.0)) * 1e-3 + div * 1e-6
    if rhat > RHAT_FAIL or ess < ESS_FAIL:
        why = []
        if rhat > RHAT_FAIL:
            why.append(f"R-hat above {RHAT_FAIL}: the chains disagree")
        if ess < ESS_FAIL:
            why.append(f"bulk ESS below {ESS_FAIL:.0f}: too few effective draws")
        return Check(CONVERGENCE, FAIL, fig, f"The posterior is not usable ({'; '.join(why)}); rerun with more "
                     "tuning and draws, and look for conflicts between priors and data.", values), severity
    if rhat <= RHAT_PASS and div == 0 and ess >= ESS_PASS:
        return Check(CONVERGENCE, PASS, fig, f"The chains agree (R-hat ≤ {RHAT_PASS}), mix well (bulk ESS ≥ "
                     f"{ESS_PASS:.0f}) and had no divergences: the posterior summaries can be trusted.",
                     values), severity
    why = []
    if rhat > RHAT_PASS:
        why.append(f"R-hat above {RHAT_PASS}")
    if ess < ESS_PASS:
        why.append(f"bulk ESS below {ESS_PASS:.0f}")
    if div:
        why.append(f"{int(div)} divergent transitions")
    return Check(CONVERGENCE, REVIEW, fig, f"The chains have not fully converged ({', '.join(why)}); rerun with "
                 "more tuning, draws or chains (a higher target_accept for divergences) before relying on "
                 "the numbers.", values), severity


def _negative_baseline(s: SeriesDraws) -> tuple[Check, float]:
    n = s.n_train
    base = (s.baseline + s.controls)[:, :n]
    prob = float(np.mean(base.sum(axis=1) < 0))
    weekly = base.mean(axis=0)
    share = float(np.mean(weekly < 0)) if n else 0.0
    values = {"probability_negative": prob, "share_weeks_negative": share,
              "weeks_negative": int((weekly < 0).sum()), "weeks": int(n),
              "baseline_total_mean": float(base.sum(axis=1).mean())}
    fig = f"P(baseline total < 0) {prob:.2f}; {int((weekly < 0).sum())} of {n} weeks with a negative mean baseline"
    if prob >= NEGATIVE_BASELINE_FAIL:
        return Check(NEGATIVE_BASELINE, FAIL, fig, "The baseline (everything but paid media) is most likely "
                     "negative, which is impossible: media are taking credit for more than all transactions; "
                     "tighten the media priors (lower media_share) or add the missing controls.", values), prob
    if prob >= NEGATIVE_BASELINE_REVIEW:
        return Check(NEGATIVE_BASELINE, REVIEW, fig, "The baseline (everything but paid media) may be negative: "
                     "media may be over-credited; check the media priors (media_share) and the controls.",
                     values), prob
    extra = " (a few weeks dip below zero: check the trend and seasonality there)" if share > 0 else ""
    return Check(NEGATIVE_BASELINE, PASS, fig, "The baseline (everything but paid media) is positive with high "
                 f"probability{extra}.", values), prob


def _predictive(s: SeriesDraws) -> tuple[Check, float]:
    n = s.n_train
    mu = s.expected[:, :n]
    y = s.actual[:n]
    ok = np.isfinite(y)
    sd = np.maximum(s.noise_sd, 1e-12)[:, None]
    cdf = ndtr((y[None, ok] - mu[:, ok]) / sd).mean(axis=0)  # the predictive mixture's CDF at each actual
    q = (1.0 - PPC_INTERVAL) / 2.0
    inside = (cdf >= q) & (cdf <= 1.0 - q)
    coverage = float(inside.mean()) if inside.size else float("nan")
    actual_total = float(y[ok].sum())
    predicted_total = float(mu[:, ok].sum(axis=1).mean())
    bias = 100.0 * (predicted_total - actual_total) / actual_total if actual_total else float("nan")
    values = {"coverage": coverage, "interval": PPC_INTERVAL, "weeks": int(ok.sum()),
              "weeks_outside": int((~inside).sum()), "predicted_total": predicted_total,
              "actual_total": actual_total, "bias_pct": bias}
    fig = (f"{_fmt(coverage * 100, '.0f')}% of {int(ok.sum())} weeks inside the {PPC_INTERVAL:.0%} predictive "
           f"interval; total bias {_fmt(bias, '+.1f')}%")
    severity = (1.0 - coverage if math.isfinite(coverage) else 1.0) + abs(bias if math.isfinite(bias) else 100) / 100
    if not (math.isfinite(coverage) and math.isfinite(bias)):
        return Check(PREDICTIVE, REVIEW, fig, "The training weeks have no actual transactions to compare with.",
                     values), severity
    if coverage < PPC_COVERAGE_FAIL or abs(bias) > PPC_BIAS_FAIL:
        return Check(PREDICTIVE, FAIL, fig, "The model does not reproduce the data it was fitted to (too many weeks "
                     "outside the predictive interval, or a large bias of the total): look for missing drivers, "
                     "structural breaks or a mis-specified target before using it.", values), severity
    if coverage >= PPC_COVERAGE_PASS and abs(bias) <= PPC_BIAS_PASS:
        return Check(PREDICTIVE, PASS, fig, "The actual weeks fall inside the posterior predictive interval about "
                     "as often as they should, and the predicted total matches the actual one.", values), severity
    return Check(PREDICTIVE, REVIEW, fig, f"The predictive interval holds fewer weeks than it should (aim for "
                 f"≥ {PPC_COVERAGE_PASS:.0%}) or the total is biased by more than {PPC_BIAS_PASS:.0f}%: look at "
                 "the weeks outside it for missing events or controls.", values), severity


def _goodness_of_fit(m: dict) -> tuple[Check, float]:
    train, test = m.get("train") or {}, m.get("test") or {}
    r2, mape, test_mape = _num(train.get("r2")), _num(train.get("mape")), _num(test.get("mape"))
    values = {"train_r2": r2, "train_mape": mape, "test_mape": test_mape, "test_r2": _num(test.get("r2"))}
    fig = f"train R² {_fmt(r2, '.2f')}, MAPE {_fmt(mape, '.1f')}%" + (
        f"; test MAPE {test_mape:.1f}%" if test_mape is not None else "")
    if r2 is None or mape is None:
        return Check(GOODNESS_OF_FIT, REVIEW, fig, "The training fit metrics are missing from metrics.json.",
                     values), math.inf
    severity = -r2
    if r2 <= FIT_R2_FAIL:
        return Check(GOODNESS_OF_FIT, FAIL, fig, "The model explains less of the weekly variation than the mean "
                     "alone: it is not usable; check the target and the drivers.", values), severity
    why = []
    if r2 < FIT_R2_PASS:
        why.append(f"R² below {FIT_R2_PASS}")
    if mape > FIT_MAPE_PASS:
        why.append(f"MAPE above {FIT_MAPE_PASS:.0f}%")
    if test_mape is not None and test_mape > OVERFIT_RATIO * mape:
        why.append(f"test MAPE more than {OVERFIT_RATIO:g}× the train MAPE: overfitting")
    if why:
        return Check(GOODNESS_OF_FIT, REVIEW, fig, f"The fit is weak ({'; '.join(why)}): look for missing "
                     "drivers or events, or simplify the model if it overfits.", values), severity
    return Check(GOODNESS_OF_FIT, PASS, fig, "The model tracks the weekly transactions well"
                 + (" and holds up on the test weeks." if test_mape is not None else "."), values), severity


def cpit_prior(spend_total: float, transactions_total: float, media_share: float, sigma: float) -> tuple[float, float]:
    """Log-median and log-sd of the default CPIT prior, as ``design.prior_vectors`` sets them."""
    return float(np.log(spend_total / (media_share * transactions_total)) + 0.5 * sigma**2), float(sigma)


def _series_prior(s: SeriesDraws, share: float, sigma: float) -> tuple[float, float]:
    y = s.actual[: s.n_train]
    return cpit_prior(float(s.spend_train.sum()), float(np.nansum(y)), share, sigma)


_PRIOR_CAVEAT = "a priors.csv override of a CPIT prior is not in the run's tables, so the default prior is used"


def _roi_consistency(s: SeriesDraws, share: float, sigma: float) -> tuple[Check, float]:
    V = len(s.media_names)
    if not V:
        return Check(ROI_CONSISTENCY, PASS, "no media variables", "Nothing to check.", {"variables": {}}), 0.0
    m, sd = _series_prior(s, share, sigma)
    z = float(ndtri(0.5 + ROI_PRIOR_INTERVAL / 2))
    lo, hi = math.exp(m - z * sd), math.exp(m + z * sd)
    post = s.cpit.mean(axis=0)
    roi = (1.0 / s.cpit).mean(axis=0)
    flagged = [v for v, c in zip(s.media_names, post) if not lo <= c <= hi]
    variables = {v: {"cpit_mean": float(c), "roi_mean": float(r), "prior_median": math.exp(m),
                     "prior_lo": lo, "prior_hi": hi, "flagged": v in flagged}
                 for v, c, r in zip(s.media_names, post, roi)}
    values = {"n_flagged": len(flagged), "n_variables": V, "flagged": flagged, "prior_log_median": m,
              "prior_log_sd": sd, "prior_median": math.exp(m), "prior_lo": lo, "prior_hi": hi, "variables": variables}
    k = len(flagged)
    interval = f"${lo:,.2f}-${hi:,.2f}"
    if not k:
        return Check(ROI_CONSISTENCY, PASS, f"all {V} media variables' posterior mean CPIT within the prior's "
                     f"central {ROI_PRIOR_INTERVAL:.0%} ({interval})", "Every variable's cost per incremental "
                     f"transaction is plausible under its prior ({_PRIOR_CAVEAT}).", values), 0.0
    names = ", ".join(f"{v} (${variables[v]['cpit_mean']:,.2f})" for v in flagged)
    fig = f"{k} of {V} media variables' posterior mean CPIT outside the prior's central {ROI_PRIOR_INTERVAL:.0%} ({interval}): {names}"
    status = FAIL if k > V / 2 else REVIEW
    return Check(ROI_CONSISTENCY, status, fig, "These variables' cost per incremental transaction lies in the tail "
                 "of its prior: the data pull hard against it, so check their data, or set a prior that reflects "
                 f"what you know (priors.csv); {_PRIOR_CAVEAT}.", values), k / V


def _prior_shift(s: SeriesDraws, share: float, sigma: float) -> tuple[Check, float]:
    V = len(s.media_names)
    if not V:
        return Check(PRIOR_SHIFT, PASS, "no media variables", "Nothing to check.", {"variables": {}}), 0.0
    m, sd = _series_prior(s, share, sigma)
    logs = np.log(s.cpit)
    shift = (logs.mean(axis=0) - m) / sd
    contraction = 1.0 - logs.var(axis=0) / sd**2
    stuck = (np.abs(shift) < SHIFT_MIN) & (contraction < CONTRACTION_MIN)
    names = [v for v, b in zip(s.media_names, stuck) if b]
    variables = {v: {"shift_sd": float(a), "contraction": float(c), "informed": not bool(b)}
                 for v, a, c, b in zip(s.media_names, shift, contraction, stuck)}
    values = {"n_not_informed": len(names), "n_variables": V, "not_informed": names, "prior_log_median": m,
              "prior_log_sd": sd, "variables": variables}
    k = len(names)
    if not k:
        return Check(PRIOR_SHIFT, PASS, f"all {V} media variables moved from their CPIT prior (|shift| ≥ "
                     f"{SHIFT_MIN} sd or contraction ≥ {CONTRACTION_MIN:.0%})", "The data informed every "
                     "variable's cost per incremental transaction.", values), 0.0
    fig = f"{k} of {V} media variables not informed by the data: {', '.join(names)}"
    status = FAIL if k == V else REVIEW
    return Check(PRIOR_SHIFT, status, fig, "Their posterior cost per incremental transaction is still their prior "
                 "(log-CPIT shift < 0.1 prior sd and contraction < 10%): their results repeat the prior, so "
                 f"rely on experiments or an informed prior for them ({_PRIOR_CAVEAT}).", values), k / V


def _fmt(x: float | None, spec: str) -> str:
    return "n/a" if x is None or not math.isfinite(x) else format(x, spec)


# ---------------------------------------------------------------------------------------------- outputs


def worst_status(checks: list[Check]) -> str:
    """The most severe status among the checks (PASS when there are none)."""
    rank = {s: i for i, s in enumerate(STATUSES)}
    return max((c.status for c in checks), key=rank.__getitem__, default=PASS)


def checks_table(checks: list[Check]) -> pd.DataFrame:
    """One row per check: ``check, status, figure, detail``."""
    return pd.DataFrame([{"check": c.name, "status": c.status, "figure": c.figure, "detail": c.detail}
                         for c in checks], columns=["check", "status", "figure", "detail"])


def review_folder(run_dir: str | Path) -> list[Check]:
    """Read a run folder's manifest, metrics, config, contributions and response draws and review them.

    Raises ``FileNotFoundError`` naming the missing file(s) when ``run_dir`` is not a run folder, and
    ``ValueError`` naming the file that cannot be read.
    """
    import yaml

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir} is not a run folder: no such folder")
    missing = [f for f in RUN_INPUTS if not (run_dir / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{run_dir} is not a run folder: no {', '.join(missing)}")

    def read(name, reader):
        try:
            return reader(run_dir / name)
        except Exception as e:  # noqa: BLE001 - any reader error is reported against its file
            raise ValueError(f"{run_dir / name}: cannot be read ({e})") from None

    manifest = read("manifest.json", lambda p: json.loads(p.read_text()))
    metrics = read("metrics.json", lambda p: json.loads(p.read_text()))
    config = read("config.yaml", lambda p: yaml.safe_load(p.read_text())) or manifest.get("config") or {}
    contributions = read("contributions.parquet", pd.read_parquet)
    response = read("response.parquet", pd.read_parquet)
    if not isinstance(metrics, dict) or not isinstance(config, dict):
        raise ValueError(f"{run_dir}: metrics.json and config.yaml must each hold a mapping")
    return review_run(metrics, config, response, contributions)
