"""The response engine against the bundled demo run (made by the project's own training): it must give back
the run's own numbers in sample, and follow the stated rules out of sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jobs.response_engine import PlanError, ResponseEngine
from jobs.transforms import geometric_adstock, hill_saturation


def _media_by_week(contrib: pd.DataFrame) -> pd.DataFrame:
    m = contrib[contrib["kind"] == "media"]
    return m.pivot_table(index="date", columns="variable", values="contribution", aggfunc="sum")


def test_reproduces_the_runs_in_sample_media_contributions(engine, tables):
    _, contrib = tables
    n = len(engine.dates)
    plan = engine.default_plan(engine.first, n)  # inside the data: the actual spend of every week
    mine = engine.media_draws(engine.first, plan).mean(axis=0)  # (T, V), summed over audiences
    ref = _media_by_week(contrib).reindex(columns=engine.media).to_numpy()
    rel = np.abs(mine - ref) / np.maximum(np.abs(ref), 1e-9)
    assert rel.max() <= 1e-6


def test_reproduces_baseline_and_controls_in_sample(engine, tables):
    _, contrib = tables
    base, ctrl = engine.baseline_draws(engine.first, len(engine.dates))
    want_base = contrib[contrib["kind"].isin(["baseline", "seasonality"])].groupby("date")["contribution"].sum()
    want_ctrl = contrib[contrib["kind"].isin(["control", "holiday", "owned", "earned"])].groupby("date")[
        "contribution"].sum()
    assert np.allclose(base.mean(axis=0), want_base.to_numpy(), rtol=1e-9)
    assert np.allclose(ctrl.mean(axis=0), want_ctrl.to_numpy(), rtol=1e-9, atol=1e-6)


def test_plan_spend_carries_over_from_the_actual_weeks_before(engine, tables):
    """A zero plan from week k: each variable's effect in the plan's weeks is the adstock of the actual weeks
    before k, computed here draw by draw with the reference transforms."""
    response, contrib = tables
    k, H = 60, 10
    start = engine.first + np.timedelta64(7 * k, "D")
    zero = pd.DataFrame(0.0, index=pd.DatetimeIndex(engine.week_dates(k, H)), columns=engine.media)
    got = engine.media_draws(start, zero)
    audience, var, draw = "Loyal", "Paid Social_Value", 7
    r = response[(response["audience"] == audience) & (response["variable"] == var) & (response["draw"] == draw)]
    p = dict(zip(r["parameter"], r["value"]))
    rows = contrib[(contrib["audience"] == audience) & (contrib["variable"] == var)].sort_values("date")
    signal = rows["impressions"] if p.get("uses_impressions", 0) > 0.5 else rows["spend"]
    x = np.r_[signal.to_numpy(float)[:k], np.zeros(H)] / p["x_scale"]
    ad = geometric_adstock(x, p["adstock_decay"], int(p["l_max"]))
    want = p["beta"] * hill_saturation(ad, p["half_saturation"], p["hill_slope"])[k:]
    series = next(s for s in engine.series if s.audience == audience)
    got_one = engine.adstock(series, engine._input(series, k, zero.to_numpy(), 0))
    j = series.media.index(var)
    mine = series.saturate(got_one)[draw, :, j] * series.beta[draw, j]
    assert np.allclose(mine, want, rtol=1e-9, atol=1e-9)
    assert want[0] > 0 and want[-1] == pytest.approx(0.0, abs=1e-12)  # carry-over fades within l_max weeks
    assert got[:, 0, engine.media.index(var)].mean() > 0


def test_default_plan_is_actual_spend_then_last_years(engine, tables):
    _, contrib = tables
    spend = contrib[contrib["kind"] == "media"].pivot_table(index="date", columns="variable", values="spend",
                                                            aggfunc="sum").reindex(columns=engine.media)
    n = len(engine.dates)
    plan = engine.default_plan(engine.first + np.timedelta64(7 * (n - 4), "D"), 8)
    assert np.allclose(plan.iloc[:4].to_numpy(), spend.iloc[n - 4:].to_numpy())
    assert np.allclose(plan.iloc[4:].to_numpy(), spend.iloc[n - 52: n - 48].to_numpy())


def test_more_spend_buys_more_with_diminishing_returns(engine):
    start = engine.last + np.timedelta64(7, "D")
    base = engine.default_plan(start, 13)
    var = "Paid Search_Brand"
    totals = []
    for f in (1.0, 2.0, 3.0):
        plan = base.copy()
        plan[var] *= f
        totals.append(engine.forecast(start, plan).media[:, :, engine.media.index(var)].sum(axis=1).mean())
    assert totals[0] < totals[1] < totals[2]
    assert totals[2] - totals[1] < totals[1] - totals[0]


def test_forecast_intervals_nest(engine):
    start = engine.last + np.timedelta64(7, "D")
    w = engine.forecast(start, engine.default_plan(start, 13)).weekly()
    assert (w["lo94"] <= w["lo50"]).all() and (w["lo50"] <= w["hi50"]).all() and (w["hi50"] <= w["hi94"]).all()
    assert (w["lo94"] < w["transactions"]).all() and (w["transactions"] < w["hi94"]).all()
    assert w["actual"].isna().all() and w["last_year"].notna().all()


def test_bad_plans_name_the_culprit(engine):
    start = engine.last + np.timedelta64(7, "D")
    plan = engine.default_plan(start, 4)
    with pytest.raises(PlanError, match="'Radio_Brand'"):
        engine.forecast(start, plan.assign(Radio_Brand=1.0))
    neg = plan.copy()
    neg.iloc[2, 1] = -5.0
    with pytest.raises(PlanError, match=rf"'{plan.columns[1]}'.*negative"):
        engine.forecast(start, neg)
    with pytest.raises(PlanError, match="not a week start"):
        engine.forecast(start + np.timedelta64(2, "D"), plan)


def test_a_run_without_response_draws_is_refused(tables):
    response, contrib = tables
    with pytest.raises(PlanError, match="no response draws"):
        ResponseEngine(response.iloc[:0], contrib)
