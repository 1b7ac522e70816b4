"""The budget optimiser: a closed-form case, and on the demo run's posterior the properties a user relies on
(budget and bounds kept, never worse than the current split, equal marginal returns at the optimum)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from jobs.budget import BudgetProblem
from jobs.response_engine import PlanError, ResponseEngine
from store.paths import BUNDLED_DEMO_RUNS

RUN = next(p for p in BUNDLED_DEMO_RUNS.iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def problem():
    engine = ResponseEngine(pd.read_parquet(RUN / "response.parquet"), pd.read_parquet(RUN / "contributions.parquet"))
    return BudgetProblem(engine, engine.last + np.timedelta64(7, "D"), 13)


def _hill_problem(beta, k, reference):
    """One draw, one week, no carry-over: variable v buys beta_v * B_v / (B_v + k_v)."""
    V = len(beta)
    series = SimpleNamespace(index=np.arange(V), saturation="hill", beta=np.array([beta], float),
                             half=np.array([k], float), slope=np.ones((1, V)), lam=None)
    h, q = np.zeros((1, 1, V)), np.ones((1, 1, V))
    return BudgetProblem.from_arrays([(series, h, q)], ["a", "b", "c"][:V], np.asarray(reference, float), draws=1)


def test_three_channels_reach_the_closed_form_optimum():
    beta, k, budget = np.array([900.0, 400.0, 250.0]), np.array([300.0, 100.0, 50.0]), 1200.0
    p = _hill_problem(beta, k, reference=[400, 400, 400])
    # Lagrange: beta k / (B + k)^2 = lam  =>  B = sqrt(beta k / lam) - k, with sum B = budget
    root = np.sqrt(beta * k)
    want = root * (budget + k.sum()) / root.sum() - k
    assert (want > 0).all()
    got = p.optimize(budget)
    assert np.allclose(got.optimal, want, rtol=1e-4)
    value = (beta * want / (want + k)).sum()
    assert got.value_optimal[0] == pytest.approx(value, rel=1e-9)


def test_budget_and_bounds_always_hold(problem):
    rng = np.random.default_rng(3)
    V = len(problem.variables)
    for _ in range(5):
        budget = float(problem.reference.sum() * rng.uniform(0.5, 1.5))
        upper = {v: float(budget * rng.uniform(0.1, 0.4)) for v in problem.variables}
        lower = {v: float(upper[v] * rng.uniform(0, 0.3)) for v in problem.variables[: V // 2]}
        a = problem.optimize(budget, lower, upper)
        assert a.optimal.sum() == pytest.approx(budget, rel=1e-9)
        for i, v in enumerate(problem.variables):
            assert a.optimal[i] <= upper[v] * (1 + 1e-9) + 1e-6
            assert a.optimal[i] >= lower.get(v, 0.0) * (1 - 1e-9) - 1e-6


def test_the_optimum_never_buys_less_than_the_current_split(problem):
    for budget_factor, pct in ((1.0, None), (0.7, None), (1.3, 20.0), (1.0, 5.0)):
        a = problem.optimize(problem.reference.sum() * budget_factor, pct=pct)
        assert a.value_optimal.mean() >= a.value_current.mean() * (1 - 1e-12)


def test_marginal_returns_are_equal_at_the_optimum(problem):
    a = problem.optimize(problem.reference.sum())
    tol = 1e-6 * a.budget
    free = (a.optimal > a.lower + tol) & (a.optimal < a.upper - tol)
    assert free.sum() >= 3
    m = a.marginal_optimal[free]
    assert (m.max() - m.min()) / m.mean() <= 0.01
    # and no variable held at zero would earn more than the others at the margin
    at_zero = a.optimal <= a.lower + tol
    assert (a.marginal_optimal[at_zero] <= m.mean() * 1.01).all()


def test_locked_variables_keep_their_current_spend(problem):
    locked = [problem.variables[0], problem.variables[3]]
    a = problem.optimize(problem.reference.sum() * 1.2, locked=locked)
    for v in locked:
        i = problem.variables.index(v)
        assert a.optimal[i] == pytest.approx(a.current[i], rel=1e-9)


def test_the_risk_aware_objective_protects_the_lower_quantile(problem):
    budget = problem.reference.sum()
    mean = problem.optimize(budget)
    risk = problem.optimize(budget, objective="quantile", quantile=0.05)
    q = lambda a: np.quantile(a.value_optimal, 0.05)  # noqa: E731
    assert q(risk) >= q(mean) * (1 - 2e-3)
    assert risk.value_optimal.mean() <= mean.value_optimal.mean() * (1 + 1e-9)


def test_target_mode_finds_the_least_spend_reaching_the_goal(problem):
    goal = problem.values(problem.reference).mean()
    a = problem.minimum_spend(goal)
    assert a.value_optimal.mean() >= goal * (1 - 1e-9)
    assert a.budget < problem.reference.sum()  # the current split is not optimal, so less spend will do
    short = problem.optimize(a.budget * 0.99)
    assert short.value_optimal.mean() < goal


def test_sweep_rises_with_the_budget(problem):
    b = problem.reference.sum()
    sweep = problem.sweep([0.5 * b, b, 1.5 * b])
    assert list(sweep["budget"]) == [0.5 * b, b, 1.5 * b]
    assert sweep["incremental"].is_monotonic_increasing
    assert (sweep["incremental"] >= sweep["incremental_current"] * (1 - 1e-12)).all()


@pytest.mark.parametrize("kwargs, message", [
    ({"budget": 0.0}, "positive"),
    ({"budget": -1.0}, "positive"),
    ({"budget": 1e6, "lower": {"CTV_Brand": 6e5, "OOH_Brand": 6e5}}, "lower bounds add up"),
    ({"budget": 1e6, "lower": {"Radio": 1.0}}, "'Radio'"),
    ({"budget": 1e6, "lower": {"CTV_Brand": 5.0}, "upper": {"CTV_Brand": 1.0}}, "crossed"),
    ({"budget": 1e6, "objective": "median"}, "objective"),
])
def test_impossible_requests_are_refused_clearly(problem, kwargs, message):
    with pytest.raises(PlanError, match=message):
        problem.optimize(**kwargs)


def test_upper_bounds_too_small_for_the_budget_are_refused(problem):
    with pytest.raises(PlanError, match="upper bounds add up to 12,000,000, less than the budget 100,000,000"):
        problem.optimize(1e8, upper={v: 1e6 for v in problem.variables})


def test_an_unreachable_goal_is_refused(problem):
    with pytest.raises(PlanError, match="cannot be reached"):
        problem.minimum_spend(1e12, upper={v: 1e6 for v in problem.variables})


def test_gradients_match_finite_differences(problem):
    B = problem.reference * 0.8 + 1e5
    v, g = problem.evaluate(B)
    for i in (0, 4, 10):
        fd = _central_difference(lambda x: problem.values(x).mean(), B, i)
        assert g.mean(axis=0)[i] == pytest.approx(fd, rel=1e-5)


def _central_difference(f, B, i, rel=1e-4):
    """(f(B + h e_i) - f(B - h e_i)) / 2h, h a small share of B_i."""
    h = rel * B[i]
    up, down = B.copy(), B.copy()
    up[i] += h
    down[i] -= h
    return (f(up) - f(down)) / (2 * h)


@pytest.mark.parametrize("factor", [0.45, 0.57, 1.36])
def test_no_random_start_beats_the_optimum_at_other_budgets(problem, factor):
    """Budgets where SLSQP alone stalls (S-shaped responses flat at zero spend)."""
    budget = problem.reference.sum() * factor
    a = problem.optimize(budget)
    assert a.converged
    rng = np.random.default_rng(int(factor * 100))
    for _ in range(4):
        other = problem.optimize(budget, start=rng.dirichlet(np.ones(len(problem.variables))) * budget)
        assert other.value_optimal.mean() <= a.value_optimal.mean() * (1 + 1e-6)
        assert other.converged and other.value_optimal.mean() >= other.value_current.mean()
    tol = 1e-6 * budget
    free = (a.optimal > a.lower + tol) & (a.optimal < a.upper - tol)
    m = a.marginal_optimal[free]
    assert (m.max() - m.min()) / m.mean() <= 0.01


def test_curvature_matches_finite_differences_of_the_gradient(problem):
    B = problem.reference * 0.9 + 2e5
    _, H = problem.curvature(B)
    for i in (1, 5, 9):
        fd = _central_difference(lambda x: problem.marginal(x)[i], B, i)
        assert H[i] == pytest.approx(fd, rel=1e-4)


@pytest.mark.parametrize("factor", [0.8, 1.0, 1.2])
def test_the_optimum_is_at_least_what_scipy_slsqp_finds(problem, factor):
    """An independent solver on the same objective (SciPy's SLSQP, from the current split and from an even
    split) finds nothing better than the optimiser's answer."""
    from scipy.optimize import minimize

    budget = float(problem.reference.sum() * factor)
    ours = problem.optimize(budget)
    V = len(problem.variables)
    scale = problem.values(ours.current).mean()

    def fun(u):
        v, g = problem.evaluate(u * budget)
        return -v.mean() / scale, -g.mean(axis=0) * budget / scale

    for start in (ours.current / budget, np.full(V, 1.0 / V)):
        res = minimize(fun, start, jac=True, method="SLSQP", bounds=[(0.0, 1.0)] * V,
                       constraints=[{"type": "eq", "fun": lambda u: u.sum() - 1.0}],
                       options={"ftol": 1e-12, "maxiter": 500})
        found = problem.values(np.clip(res.x, 0, None) / np.clip(res.x, 0, None).sum() * budget).mean()
        assert found <= ours.value_optimal.mean() * (1 + 1e-9)
