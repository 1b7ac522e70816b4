"""Budget optimisation over the posterior: the split of a budget between media variables that buys the
most incremental transactions, solved on gradients and curvatures vectorised over the draws.

The problem is posed on a :class:`~jobs.response_engine.ResponseEngine` for a period of weeks:

* each variable's budget :math:`B_v` is spread over the weeks (and audiences) as its spend was in the
  reference plan (the same weeks a year earlier; evenly where it had none), so the model input of
  week *t* is :math:`B_v p_{tv}` and its adstock :math:`h_{dtv} + B_v q_{dtv}`: linear in the budget,
  with :math:`h` the carry-over of the actual weeks before the period;
* the objective counts the incremental transactions of the period's weeks *and* of the ``l_max - 1``
  weeks after it (carry-over, with no spend then), per draw:
  :math:`F_d(B) = \\sum_{v,t} \\beta_{dv} \\, s_{dv}(h_{dtv} + B_v q_{dtv})`;
* maximised is the mean over draws (``"mean"``) or, risk-aware, a lower quantile of :math:`F_d`
  (``"quantile"``, smoothed over the draws nearest to it so that SLSQP sees a gradient).

The variables are separable, so marginal returns :math:`\\partial \\bar F / \\partial B_v` are equal at the
optimum across the variables not held at a bound; :meth:`BudgetProblem.marginal` reports them.

How it is solved: the expected value by Newton's method on those optimality conditions (the Hessian
is diagonal, so a step costs one pass over draws × weeks × variables, and the budget's multiplier is
found with SciPy's ``brentq``), a handful of steps from the current split; then the traps of S-shaped
responses are checked (:meth:`BudgetProblem._refine`); should Newton stop short of the conditions,
SciPy's SLSQP takes over from there. The risk-aware quantile is not separable and is solved with
SLSQP on the vectorised gradients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import brentq, minimize

from jobs.response_engine import PlanError, ResponseEngine, interval


@dataclass
class Allocation:
    """An optimised split and what it buys, against the reference (current) split of the same budget."""

    variables: list[str]
    budget: float
    current: np.ndarray  # (V,) reference split scaled to the budget
    optimal: np.ndarray  # (V,)
    lower: np.ndarray
    upper: np.ndarray
    value_current: np.ndarray  # (D,) incremental transactions per draw
    value_optimal: np.ndarray  # (D,)
    marginal_current: np.ndarray  # (V,) d mean / d budget: incremental transactions per extra dollar
    marginal_optimal: np.ndarray
    objective: str
    iterations: int
    seconds: float
    converged: bool
    message: str

    @property
    def lift(self) -> np.ndarray:
        return self.value_optimal - self.value_current

    def summary(self) -> dict:
        lo, hi = interval(self.lift, 0.94)
        vlo, vhi = interval(self.value_optimal, 0.94)
        cur = float(self.value_current.mean())
        return {
            "budget": self.budget, "objective": self.objective,
            "incremental_current": cur, "incremental_optimal": float(self.value_optimal.mean()),
            "incremental_optimal_lo": float(vlo), "incremental_optimal_hi": float(vhi),
            "lift": float(self.lift.mean()), "lift_lo": float(lo), "lift_hi": float(hi),
            "lift_pct": float(self.lift.mean() / cur * 100) if cur else None,
            "prob_better": float((self.lift > 0).mean()),
            "iterations": self.iterations, "seconds": self.seconds, "converged": self.converged,
        }

    def table(self) -> pd.DataFrame:
        """One row per variable: current and optimal spend, change, bounds, marginal cost per transaction."""
        with np.errstate(divide="ignore", invalid="ignore"):
            mc_cur = np.where(self.marginal_current > 0, 1 / self.marginal_current, np.nan)
            mc_opt = np.where(self.marginal_optimal > 0, 1 / self.marginal_optimal, np.nan)
            pct = np.where(self.current > 0, (self.optimal / self.current - 1) * 100, np.nan)
        return pd.DataFrame({
            "variable": self.variables, "current": self.current, "optimal": self.optimal,
            "change": self.optimal - self.current, "change_pct": pct, "lower": self.lower, "upper": self.upper,
            "marginal_cost_current": mc_cur, "marginal_cost_optimal": mc_opt,
        })


class BudgetProblem:
    """The response of each variable's budget over a period, per draw, with gradients.

    Parameters
    ----------
    engine : ResponseEngine
    start : date or week index
        First week of the period.
    weeks : int
        Length of the period.
    reference : DataFrame, optional
        Reference plan (weeks × variables) whose weekly pattern and split are the "current" allocation;
        defaults to the engine's default plan (the same weeks a year earlier).
    carryover : bool
        Count the ``l_max - 1`` weeks after the period (default True).
    """

    def __init__(self, engine: ResponseEngine, start, weeks: int, reference: pd.DataFrame | None = None,
                 carryover: bool = True):
        if weeks < 1:
            raise PlanError(f"the period must be at least one week; got {weeks}")
        k = engine.week_of(start) if not isinstance(start, (int, np.integer)) else int(start)
        ref = engine.default_plan(k, weeks) if reference is None else reference
        P = engine._plan_array(k, ref)[1]
        self.engine, self.start, self.weeks = engine, k, weeks
        self.variables = list(engine.media)
        self.reference = P.sum(axis=0)  # (V,) the reference budget per variable
        # weekly pattern of each variable's budget: as in the reference plan, else even
        totals = P.sum(axis=0)
        pattern = np.where(totals > 0, P / np.where(totals > 0, totals, 1.0), 1.0 / weeks)  # (H, V)
        self.pattern = pattern
        tail = max((s.l_max for s in engine.series), default=1) - 1 if carryover else 0
        self.tail = tail
        parts = []  # per series: (index, h, q, beta, saturation params)
        for s in engine.series:
            if not s.media:
                continue
            # adstock is linear in the input: h = adstock with the period's spend at zero, q = per dollar
            h = engine.adstock(s, engine._input(s, k, np.zeros_like(P), tail))
            unit = engine._input(s, k, pattern, tail)
            unit[: s.l_max - 1] = 0.0
            q = engine.adstock(s, unit)
            parts.append((s, h, q))
        self._parts = parts
        self.draws = engine.draws

    @classmethod
    def from_arrays(cls, series_parts, variables: list[str], reference: np.ndarray, draws: int) -> "BudgetProblem":
        """A problem given directly as (series, h, q) parts (for tests with closed-form answers)."""
        self = cls.__new__(cls)
        self.engine, self.start, self.weeks, self.tail = None, 0, 0, 0
        self.variables, self.reference, self.draws = list(variables), np.asarray(reference, float), draws
        self._parts = list(series_parts)
        return self

    # --------------------------------------------------------------------------------------- evaluation

    def _stack(self) -> None:
        """The series' parts side by side on one axis of (series × variable) columns, for one vectorised
        pass per evaluation: h, q (D, T, M), beta (D, M), saturation parameters and the column's variable."""
        parts = self._parts
        self._col = np.concatenate([s.index for s, _, _ in parts]) if parts else np.zeros(0, int)
        T = max((h.shape[1] for _, h, _ in parts), default=0)
        pad = lambda x: np.pad(x, ((0, 0), (0, T - x.shape[1]), (0, 0)))  # noqa: E731
        self._h = np.concatenate([pad(h) for _, h, _ in parts], axis=2) if parts else np.zeros((self.draws, 0, 0))
        self._q = np.concatenate([pad(q) for _, _, q in parts], axis=2) if parts else np.zeros((self.draws, 0, 0))
        self._beta = np.concatenate([s.beta for s, _, _ in parts], axis=1) if parts else np.zeros((self.draws, 0))
        self._hill = bool(parts) and parts[0][0].saturation == "hill"
        if self._hill:
            self._n = np.concatenate([s.slope for s, _, _ in parts], axis=1)[:, None, :]
            self._nlogk = self._n * np.log(np.concatenate([s.half for s, _, _ in parts], axis=1))[:, None, :]
        else:
            self._lam = np.concatenate([s.lam for s, _, _ in parts], axis=1)[:, None, :]
        if self._hill:  # (full-shape copies: NumPy's in-place products run faster without broadcasting)
            shape = self._h.shape
            self._n_full = np.ascontiguousarray(np.broadcast_to(self._n, shape))
            self._nlogk_full = np.ascontiguousarray(np.broadcast_to(self._nlogk, shape))
            self._n1_full = self._n_full - 1.0
            self._m2n_full = -2.0 * self._n_full

    def _by_variable(self, x: np.ndarray) -> np.ndarray:
        """(..., V) the columns (..., M) of each variable summed (not a product with a 0/1 matrix: an infinite
        slope at zero spend in one column must not turn the others into NaN)."""
        if len(self._col) == len(self.variables) and np.array_equal(self._col, np.arange(len(self._col))):
            return x
        out = np.zeros(x.shape[:-1] + (len(self.variables),))
        for m, v in enumerate(self._col):
            out[..., v] += x[..., m]
        return out

    def values(self, budget: np.ndarray) -> np.ndarray:
        """(D,) incremental transactions per draw over the period (and carry-over weeks)."""
        return self.evaluate(budget, grad=False)[0]

    def evaluate(self, budget: np.ndarray, grad: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Per-draw value (D,) and, if asked, its gradient (D, V) with respect to each variable's budget."""
        if not hasattr(self, "_h"):
            self._stack()
        b = np.asarray(budget, dtype=float)[self._col]
        a = self._q * b  # adstocked input (D, T, M)
        a += self._h
        np.maximum(a, 1e-300, out=a)
        if self._hill:  # s = 1 / (1 + (k / a)^n) = 1 / (1 + exp(n log k - n log a))
            r = np.log(a)
            r *= -self._n
            r += self._nlogk
            with np.errstate(over="ignore"):
                np.exp(r, out=r)  # (inf where a = 0: s = 0)
            r += 1.0
            sat = np.reciprocal(r, out=r)
        else:
            sat = np.tanh(self._lam * a / 2.0)
        value = np.einsum("dtm,dm->d", sat, self._beta)
        if not grad:
            return value, None
        if self._hill:  # ds/da = n s (1 - s) / a
            d = 1.0 - sat
            d *= sat
            d *= self._n
            d /= a
        else:  # ds/da = lam / 2 (1 - s^2)
            d = 1.0 - sat * sat
            d *= self._lam / 2.0
        d *= self._q
        g = self._by_variable(np.einsum("dtm,dm->dm", d, self._beta))
        return value, g

    def curvature(self, budget: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(V,) first and second derivatives of the expected value in each variable's own budget (the
        Hessian is diagonal: the variables are separable)."""
        return self._vgh(budget)[1:]

    def _vgh(self, budget: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """The expected value, its gradient (V,) and its Hessian's diagonal (V,), in one pass over the draws."""
        if not hasattr(self, "_h"):
            self._stack()
        B = np.asarray(budget, dtype=float)
        last = getattr(self, "_vgh_last", None)
        if last is not None and np.array_equal(last[0], B):
            return last[1]
        with np.errstate(over="ignore", invalid="ignore"):  # (the curvature at zero spend of a slope < 1: inf)
            out = self._vgh_pass(B[self._col])
        self._vgh_last = (B.copy(), out)
        return out

    def _vgh_pass(self, b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        a = self._q * b
        a += self._h
        np.maximum(a, 1e-300, out=a)
        w = np.divide(self._q, a)  # d a / d B, over a
        if self._hill:  # s = 1 / (1 + (k / a)^n);  s' = n s (1 - s) / a;  s'' = s' (n (1 - 2 s) - 1) / a
            s = np.log(a)
            s *= self._n_full
            np.subtract(self._nlogk_full, s, out=s)
            np.exp(s, out=s)
            s += 1.0
            np.reciprocal(s, out=s)
            d1 = 1.0 - s
            d1 *= s
            d1 *= self._n_full
            d1 *= w  # d s / d B
            d2 = s * self._m2n_full
            d2 += self._n1_full
        else:  # s = tanh(lam a / 2);  s' = lam / 2 (1 - s^2);  s'' = -lam s s'
            s = np.tanh(self._lam * a / 2.0)
            d1 = 1.0 - s * s
            d1 *= self._lam / 2.0
            d1 *= self._q
            d2 = s * -self._lam
            d2 *= a  # (over a below)
        d2 *= d1
        d2 *= w  # d2 s / d B2
        D = self.draws
        value = float(np.einsum("dtm,dm->", s, self._beta)) / D
        g = self._by_variable(np.einsum("dtm,dm->m", d1, self._beta) / D)
        h = self._by_variable(np.einsum("dtm,dm->m", d2, self._beta) / D)
        return value, g, h

    def response_curve(self, variable: str, budgets: np.ndarray) -> np.ndarray:
        """(D, G) one variable's own incremental transactions per draw as its budget runs over ``budgets``
        (the variables are separable: the others' budgets do not change it)."""
        i = self.variables.index(variable)
        out = np.zeros((self.draws, len(budgets)))
        for j, b in enumerate(budgets):
            B = np.zeros(len(self.variables))
            B[i] = b
            out[:, j] = self._single(i, B)
        return out

    def _single(self, i: int, B: np.ndarray) -> np.ndarray:
        """(D,) the response of variable i alone at budget B[i]."""
        value = np.zeros(self.draws)
        for s, h, q in self._parts:
            pos = np.flatnonzero(s.index == i)
            if not len(pos):
                continue
            p = pos[0]
            a = np.maximum(h[:, :, p] + B[i] * q[:, :, p], 0.0)
            if s.saturation == "hill":
                with np.errstate(divide="ignore", over="ignore"):
                    r = np.exp(s.slope[:, None, p] * (np.log(s.half[:, None, p]) - np.log(np.maximum(a, 1e-300))))
                sat = 1.0 / (1.0 + r)
            else:
                sat = np.tanh(s.lam[:, None, p] * a / 2.0)
            value += sat.sum(axis=1) * s.beta[:, p]
        return value

    def marginal(self, budget: np.ndarray) -> np.ndarray:
        """(V,) expected incremental transactions per extra dollar of each variable."""
        return self.evaluate(budget)[1].mean(axis=0)

    # --------------------------------------------------------------------------------------- objective

    def _objective(self, objective: str, quantile: float):
        D = self.draws
        if objective == "mean":
            def f(B):
                v, g = self.evaluate(B)
                return v.mean(), g.mean(axis=0)
            f.objective = "mean"
            return f
        if objective != "quantile":
            raise PlanError(f"objective must be 'mean' or 'quantile'; got {objective!r}")
        if not 0 < quantile < 0.5:
            raise PlanError(f"the risk-aware quantile must be between 0 and 0.5; got {quantile}")
        width = max(3, int(round(0.04 * D)))  # the draws within ±2% of the quantile

        def f(B):
            v, g = self.evaluate(B)
            order = np.argsort(v)
            centre = int(np.clip(round(quantile * (D - 1)), 0, D - 1))
            sel = order[max(0, centre - width // 2): centre + width // 2 + 1]
            return v[sel].mean(), g[sel].mean(axis=0)
        f.objective = "quantile"
        return f

    def score(self, values: np.ndarray, objective: str, quantile: float) -> float:
        return float(values.mean() if objective == "mean" else np.quantile(values, quantile))

    # --------------------------------------------------------------------------------------- bounds

    def bounds(self, budget: float, lower=None, upper=None, locked=(), pct: float | None = None,
               check_total: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(current, lower, upper): the reference split scaled to ``budget``, and per-variable bounds.

        ``lower`` / ``upper``: dicts {variable: dollars} (absolute); ``pct``: ± that percentage of the
        current spend for the variables without absolute bounds; ``locked``: variables held at their
        current spend. Defaults: 0 and the whole budget.
        """
        V = len(self.variables)
        ref_total = self.reference.sum()
        current = self.reference * (budget / ref_total) if ref_total > 0 else np.full(V, budget / V)
        lo, hi = np.zeros(V), np.full(V, float(budget))
        if pct is not None:
            if pct < 0:
                raise PlanError(f"the ± % bound must be positive; got {pct}")
            lo, hi = current * max(0.0, 1 - pct / 100), current * (1 + pct / 100)
        for name, bound, arr in (("lower", lower, lo), ("upper", upper, hi)):
            for var, value in (bound or {}).items():
                if var not in self.variables:
                    raise PlanError(f"the {name} bound names an unknown media variable {var!r}")
                if value is None or (isinstance(value, float) and np.isnan(value)):
                    continue
                if value < 0:
                    raise PlanError(f"the {name} bound of {var!r} is negative ({value:g})")
                arr[self.variables.index(var)] = float(value)
        for var in locked or ():
            if var not in self.variables:
                raise PlanError(f"cannot lock unknown media variable {var!r}")
            i = self.variables.index(var)
            lo[i] = hi[i] = current[i]
        bad = np.flatnonzero(lo > hi + 1e-9)
        if len(bad):
            v = self.variables[bad[0]]
            raise PlanError(f"the bounds of {v!r} are crossed: lower {lo[bad[0]]:,.0f} > upper {hi[bad[0]]:,.0f}")
        if check_total and lo.sum() > budget * (1 + 1e-9):
            raise PlanError(f"the lower bounds add up to {lo.sum():,.0f}, more than the budget {budget:,.0f}")
        if check_total and hi.sum() < budget * (1 - 1e-9):
            raise PlanError(f"the upper bounds add up to {hi.sum():,.0f}, less than the budget {budget:,.0f}")
        return current, lo, hi

    # --------------------------------------------------------------------------------------- solving

    def optimize(self, budget: float, lower=None, upper=None, locked=(), pct: float | None = None,
                 objective: str = "mean", quantile: float = 0.05, start: np.ndarray | None = None,
                 tol: float = 1e-10, maxiter: int = 300) -> Allocation:
        """The split of ``budget`` that maximises the objective within the bounds."""
        import time

        t0 = time.perf_counter()
        if not np.isfinite(budget) or budget <= 0:
            raise PlanError(f"the budget must be a positive amount; got {budget:g}")
        current, lo, hi = self.bounds(budget, lower, upper, locked, pct)
        f = self._objective(objective, quantile)  # (checks the objective and quantile)
        x0 = _project(current if start is None else np.asarray(start, float), lo, hi, budget)
        default = _project(current, lo, hi, budget)
        if objective == "mean":
            self._nit = 0
            best = self._refine(x0, lo, hi, budget)
            values_best, grad_best = self.evaluate(best)
            converged, spread = self.kkt(best, lo, hi, grad_best.mean(axis=0))
            if start is not None and (not converged or values_best.mean() < self._vgh(default)[0]):
                # a start in a flat corner (S-shaped responses at zero have no gradient), or one that led to
                # a local optimum worse than the current split: try again from the current split and keep
                # the better answer
                again = self._refine(default, lo, hi, budget)
                values_again, grad_again = self.evaluate(again)
                if values_again.mean() > values_best.mean():
                    best, values_best, grad_best = again, values_again, grad_again
                    converged, spread = self.kkt(best, lo, hi, grad_best.mean(axis=0))
            if not converged:
                # Newton stopped short of the optimality conditions: SciPy's SLSQP from there, then the
                # Newton polish again; kept if it buys more
                x, nit_slsqp, _ = self._slsqp(f, current, best, default, lo, hi, budget, None, tol, maxiter)
                self._nit += nit_slsqp
                again = self._refine(x, lo, hi, budget)
                values_again, grad_again = self.evaluate(again)
                if values_again.mean() > values_best.mean():
                    best, values_best, grad_best = again, values_again, grad_again
                    converged, spread = self.kkt(best, lo, hi, grad_best.mean(axis=0))
            nit, message = self._nit, ""
        else:
            best, nit, message = self._slsqp(f, current, x0, default, lo, hi, budget, start, tol, maxiter)
            values_best, grad_best = self.evaluate(best)
        value_current, grad_current = self.evaluate(current)
        # never worse than the current split (when it is feasible)
        cur_ok = np.all(current >= lo - 1e-9) and np.all(current <= hi + 1e-9)
        if cur_ok and (self.score(value_current, objective, quantile) > self.score(values_best, objective, quantile)):
            best, values_best, grad_best = current.copy(), value_current, grad_current
            if objective == "mean":
                converged, spread = self.kkt(best, lo, hi, grad_best.mean(axis=0))
        if objective == "mean":
            message = (f"optimal: equal marginal returns inside the bounds (spread {spread:.1e})" if converged
                       else f"stopped before the optimality conditions held (spread {spread:.1e})")
        else:
            converged = message.startswith("Optimization terminated successfully") or message.startswith("nothing")
        return Allocation(
            variables=self.variables, budget=float(budget), current=current, optimal=best, lower=lo, upper=hi,
            value_current=value_current, value_optimal=values_best,
            marginal_current=grad_current.mean(axis=0), marginal_optimal=grad_best.mean(axis=0),
            objective=objective, iterations=int(nit), seconds=time.perf_counter() - t0,
            converged=bool(converged), message=message,
        )

    def _slsqp(self, f, current, x0, default, lo, hi, budget, start, tol, maxiter):
        """SciPy's SLSQP: the risk-aware objective (a smoothed quantile over the draws is not separable),
        and the fallback of the expected one."""
        # scaled problem over the variables free to move (lo < hi): u = B / budget, sum(u) = 1, and the
        # objective over its value at the current split (SLSQP's tolerances are then relative)
        scale = abs(f(current)[0]) or 1.0
        free = hi - lo > 1e-9 * budget
        fixed_total = x0[~free].sum()

        def full(u):
            B = x0.copy()
            B[free] = u * budget
            return B

        def fun(u):
            v, g = f(full(u))
            return -v / scale, -g[free] * budget / scale

        def solve(start: np.ndarray):
            if free.sum() < 2:
                return _Result(start[free] / budget)
            # (SLSQP can report its constraints incompatible from a start exactly on a bound: start a
            # millionth of the way towards the middle of the box)
            start = _project(start + 1e-6 * ((lo + hi) / 2 - start), lo, hi, budget)
            return minimize(fun, start[free] / budget, jac=True, method="SLSQP",
                            bounds=list(zip(lo[free] / budget, hi[free] / budget)),
                            constraints=[{"type": "eq", "fun": lambda u: u.sum() - (budget - fixed_total) / budget,
                                          "jac": lambda u: np.ones_like(u)}],
                            options={"ftol": tol if f.objective == "mean" else max(tol, 1e-7), "maxiter": maxiter})

        res = solve(x0)
        if not res.success and start is not None:
            # a start in a flat corner (S-shaped responses at zero have no gradient) can stall SLSQP: try
            # again from the current split and keep the better answer
            again = solve(default)
            if again.success or -again.fun > -getattr(res, "fun", np.inf):
                res = again
        return _project(full(res.x), lo, hi, budget), res.nit, str(res.message)

    def _newton(self, B: np.ndarray, lo: np.ndarray, hi: np.ndarray, budget: float, iters: int = 100) -> np.ndarray:
        r"""Projected Newton steps on the expected value from ``B``, kept inside the bounds and the budget.

        The objective is separable, so its Hessian is diagonal and each step solves the quadratic model
        exactly: :math:`B_v + (\lambda - g_v) / H_v` clipped to the bounds, with :math:`\lambda` (the common
        marginal return) such that the budget is spent, found over the breakpoints where variables meet
        a bound. Where a curve is convex (the foot of an S-curve) the model takes a curvature of the
        same size as the gradient per dollar spent instead. Each step is halved until the expected value
        does not fall; the steps stop at the optimality conditions (equal marginal returns inside the
        bounds, to 1e-10) or when no step gains."""
        B = _project(B, lo, hi, budget)
        value, g, H = self._vgh(B)
        g = np.nan_to_num(g, posinf=1e300)
        floor = 1e-3 * budget / max(len(B), 1)
        for _ in range(iters):
            self._nit += 1
            if _stationary(B, g, lo, hi, budget):
                break
            # (a Hill curve with slope below 1 rises infinitely steeply from zero spend: there the gradient is
            # huge and the curvature may overflow; the surrogate then takes over)
            Hs = np.where((H < 0) & np.isfinite(H), H, -np.maximum(np.abs(g), 1e-300) / np.maximum(B, floor))
            d = _newton_step(B, g, Hs, lo, hi, budget) - B
            if np.abs(d).max() <= 1e-13 * budget:
                break
            t = 1.0
            while t > 1e-9:
                cand = _project(B + t * d, lo, hi, budget)
                v, gc, hc = self._vgh(cand)
                if v >= value - 1e-14 * abs(value):
                    break
                t *= 0.25
            else:
                break
            gain = v - value
            B, value, g, H = cand, v, np.nan_to_num(gc, posinf=1e300), hc
            if gain <= 1e-15 * abs(value) and t < 1.0:
                break
        return B

    def _refine(self, B, lo, hi, budget) -> np.ndarray:
        r"""Newton's answer, then the two ways S-shaped responses fool a local solver:

        * a variable left in the convex part of its curve (marginal return still rising, below the
          others'): not a maximum, so re-solve with it at its lower bound;
        * a variable at its lower bound whose curve is flat there (zero marginal return, so the
          optimality conditions hold) but which would pay further up: for each, the best level on a grid
          of its curve by the Lagrangian profit :math:`f_v(B) - \lambda B` (:math:`\lambda` the common
          marginal return); if it beats staying at the bound, re-solve from there.

        Each change is kept only if the expected value rises."""
        B = self._newton(B, lo, hi, budget)
        value = self._vgh(B)[0]
        tol = 1e-9 * budget
        for _ in range(2 * len(B)):
            _, g, H = self._vgh(B)
            inner = (B > lo + tol) & (B < hi - tol)
            if not inner.any():
                break
            lam = np.median(g[inner & (H < 0)]) if (inner & (H < 0)).any() else np.median(g[inner])
            moves = [("drop", v) for v in np.flatnonzero(inner & ((H >= 0) | (g < 0.99 * lam)))]
            for v in np.flatnonzero((B <= lo + tol) & (hi > lo + tol)):
                top = min(hi[v] - lo[v], budget / 2)  # (a geometric grid: small spends can pay most)
                grid = lo[v] + np.r_[0.0, top * np.logspace(-5, 0, 36)]
                f = self.response_curve(self.variables[v], grid).mean(axis=0)
                profit = f - lam * (grid - lo[v])
                k = int(np.argmax(profit))
                if profit[k] > profit[0] * (1 + 1e-9) + 1e-12:
                    moves.append(("fund", v, grid[k]))
            improved = False
            for move in moves:
                x = B.copy()
                if move[0] == "drop":
                    x[move[1]] = lo[move[1]]
                else:
                    v, level = move[1], move[2]
                    others = inner.copy()
                    others[v] = False
                    if not others.any():
                        continue
                    x[v] = level
                    x[others] -= (level - lo[v]) * B[others] / B[others].sum()
                cand = self._newton(x, lo, hi, budget)
                v_new = self._vgh(cand)[0]
                if v_new > value * (1 + 1e-12):
                    B, value, improved = cand, v_new, True
                    break
            if not improved:
                break
        return B

    def kkt(self, B, lo, hi, g: np.ndarray | None = None) -> tuple[bool, float]:
        """Whether ``B`` meets the optimality conditions of the expected value: equal marginal returns
        (within 0.1%) inside the bounds, none higher at a lower bound nor lower at an upper bound (1%);
        and the relative spread of the marginal returns inside the bounds."""
        g = self.marginal(B) if g is None else g
        tol = 1e-9 * max(B.sum(), 1.0)
        inner = (B > lo + tol) & (B < hi - tol)
        if not inner.any():
            return True, 0.0
        lam = g[inner].mean()
        spread = float((g[inner].max() - g[inner].min()) / abs(lam)) if lam else 0.0
        # at a lower bound, the return of the next dollars (a secant over 0.1% of an even share): a Hill
        # curve whose slope is below 1 in some draws has an infinite derivative at zero spend there
        step = 1e-3 * max(B.sum(), 1.0) / len(B)
        at_lo = np.flatnonzero((B <= lo + tol) & ~inner & (hi > lo + step))
        nxt = np.array([np.diff(self.response_curve(self.variables[v], np.array([lo[v], lo[v] + step])).mean(axis=0))[0]
                        / step for v in at_lo])
        ok = (spread <= 1e-3 and not (nxt > lam * 1.01).any()
              and not (g[(B >= hi - tol) & ~inner] < lam * 0.99).any())
        return bool(ok), spread

    def minimum_spend(self, goal: float, lower=None, upper=None, locked=(), pct: float | None = None,
                      reference_budget: float | None = None, rtol: float = 1e-4) -> Allocation:
        """Target mode: the least budget whose optimal split reaches ``goal`` expected incremental transactions.

        The optimal value :math:`V(B)` rises with the budget and its slope is the common marginal return
        at the optimum (the budget constraint's multiplier), so Newton's method on :math:`V(B) = goal`,
        kept inside a bracket, needs a handful of optimisations, each warm-started from the last.
        ``pct`` and ``locked`` refer to the reference split at ``reference_budget`` (by default the
        reference plan's total) and then hold as absolute bounds.
        """
        if not np.isfinite(goal) or goal <= 0:
            raise PlanError(f"the goal must be a positive number of transactions; got {goal:g}")
        ref = float(reference_budget or self.reference.sum() or 1.0)
        _, lo, hi = self.bounds(ref, lower, upper, locked, pct, check_total=False)
        lower_abs, upper_abs = dict(zip(self.variables, lo)), dict(zip(self.variables, hi))
        most = self.values(hi).mean()
        if most < goal:
            raise PlanError(f"{goal:,.0f} incremental transactions cannot be reached within the bounds: "
                            f"spending every upper bound ({hi.sum():,.0f}) buys about {most:,.0f}")
        a_lo = max(lo.sum(), 0.0)  # bracket: V(a_lo) < goal <= V(b_hi)
        if a_lo > 0 and self.values(lo).mean() >= goal:
            return self.optimize(a_lo, lower_abs, upper_abs)
        b_hi, best = hi.sum(), None
        budget = min(max(ref, a_lo * 1.01 + 1e-9), b_hi)
        start = None
        for _ in range(40):
            alloc = self.optimize(budget, lower_abs, upper_abs, start=start)
            value = alloc.value_optimal.mean()
            if value >= goal:
                b_hi, best = budget, alloc
            else:
                a_lo = budget
            if best is not None and (b_hi - a_lo) <= rtol * b_hi:
                break
            free = (alloc.optimal > alloc.lower + 1e-9 * budget) & (alloc.optimal < alloc.upper - 1e-9 * budget)
            slope = alloc.marginal_optimal[free].mean() if free.any() else alloc.marginal_optimal.max()
            step = (goal - value) / slope if slope > 0 else np.inf
            nxt = budget + step * (1 + 1e-6 if step > 0 else 1 - 1e-6)
            if not (a_lo < nxt < b_hi):
                nxt = (a_lo + b_hi) / 2
            if best is not None and abs(nxt - budget) <= rtol * budget / 2 and value >= goal:
                break
            start, budget = alloc.optimal * nxt / budget, nxt
        if best is None:
            best = self.optimize(b_hi, lower_abs, upper_abs)
        return best

    def sweep(self, budgets, lower=None, upper=None, locked=(), pct: float | None = None,
              objective: str = "mean", quantile: float = 0.05) -> pd.DataFrame:
        """Budget → optimal expected incremental transactions (and interval), warm-started along the sweep."""
        rows, start = [], None
        for b in budgets:
            try:
                a = self.optimize(float(b), lower, upper, locked, pct, objective, quantile,
                                  start=None if start is None else start * b / start.sum())
            except PlanError:
                continue
            start = a.optimal
            lo, hi = interval(a.value_optimal, 0.94)
            rows.append({"budget": float(b), "incremental": float(a.value_optimal.mean()), "lo94": float(lo),
                         "hi94": float(hi), "incremental_current": float(a.value_current.mean()),
                         "cost_per_incremental": float(b / a.value_optimal.mean()) if a.value_optimal.mean() > 0
                         else np.nan})
        return pd.DataFrame(rows)


class _Result:
    """What ``minimize`` returns, for a problem with nothing left to choose."""

    def __init__(self, x):
        self.x, self.nit, self.success, self.message = x, 0, True, "nothing to optimise: every variable is fixed"
        self.fun = -np.inf


def _project(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: float) -> np.ndarray:
    """The point of {lo <= x <= hi, sum x = total} nearest to ``x``: ``x`` shifted evenly, clipped."""
    x = np.asarray(x, float)
    out = _split(x, np.zeros_like(x), -np.ones_like(x), lo, hi, total)
    out *= total / out.sum() if out.sum() > 0 else 1.0
    return np.clip(out, lo, hi)


def _stationary(B, g, lo, hi, budget, rtol: float = 1e-10) -> bool:
    """Whether the optimality conditions hold at ``B``: equal marginal returns ``g`` inside the bounds
    (relative spread ≤ ``rtol``), none higher at a lower bound nor lower at an upper bound."""
    tol = 1e-12 * budget
    inner = (B > lo + tol) & (B < hi - tol)
    if not inner.any():
        return True
    lam = g[inner].mean()
    band = rtol * abs(lam)
    return bool(g[inner].max() - g[inner].min() <= band
                and not (g[(B <= lo + tol) & ~inner] > lam + band).any()
                and not (g[(B >= hi - tol) & ~inner] < lam - band).any())


def _split(B, g, H, lo, hi, total) -> np.ndarray:
    r"""The maximum of the separable quadratic model :math:`\sum_v g_v x_v + H_v x_v^2 / 2` (``H`` < 0) of
    steps from ``B`` within the bounds and the budget: :math:`x_v = \mathrm{clip}(B_v + (\lambda - g_v) / H_v)`
    with the sum at ``total``. The sum falls as :math:`\lambda` rises, piecewise linearly between the
    breakpoints where a variable meets a bound; :math:`\lambda` is interpolated between two of them."""
    inv = 1.0 / H
    lams = np.sort(np.concatenate([g + H * (lo - B), g + H * (hi - B)]))
    sums = np.clip(B + (lams[:, None] - g) * inv, lo, hi).sum(axis=1)  # non-increasing in lambda
    k = int(np.searchsorted(-sums, -total))  # first breakpoint whose sum is at or below the total
    if k == 0:
        lam = lams[0]
    elif k == len(lams):
        lam = lams[-1]
    else:
        s0, s1 = sums[k - 1], sums[k]
        lam = lams[k] if s0 == s1 else lams[k - 1] + (s0 - total) / (s0 - s1) * (lams[k] - lams[k - 1])
    return np.clip(B + (lam - g) * inv, lo, hi)


def _newton_step(B, g, H, lo, hi, total) -> np.ndarray:
    r"""The next point of the separable Newton iteration on the optimality conditions :math:`g_v(B_v) = \lambda`.

    A saturating response's marginal return falls like a power of the spend, so where a variable has
    spend and a positive marginal return the condition is linearised in logs:
    :math:`\log B_v' = \log B_v + (\log\lambda - \log g_v) / \varepsilon_v`, with the elasticity
    :math:`\varepsilon_v = H_v B_v / g_v` (< 0), which is exact for a power law and takes a handful of
    steps where the plain Newton step creeps; elsewhere (no spend, or a flat curve) the plain step
    :math:`B_v + (\lambda - g_v) / H_v`. Each is clipped to the bounds, and :math:`\lambda` is found by
    SciPy's ``brentq`` (in logs) so that the budget is spent."""
    logs = (B > 0) & (g > 0) & np.isfinite(g)
    inv_e = np.zeros_like(B)
    inv_e[logs] = g[logs] / (H[logs] * B[logs])  # 1 / elasticity
    log_g = np.log(np.where(logs, g, 1.0))

    def at(lam_log: float) -> np.ndarray:
        lam = np.exp(lam_log)
        with np.errstate(over="ignore"):
            x = np.where(logs, B * np.exp(np.minimum((lam_log - log_g) * inv_e, 700.0)), B + (lam - g) / H)
        return np.clip(x, lo, hi)

    if not np.any(hi - lo > 0):
        return np.clip(B, lo, hi)
    finite = g[np.isfinite(g) & (g > 0)]
    centre = np.log(finite).mean() if len(finite) else 0.0
    a, b = centre - 60.0, centre + 60.0  # sum(at(a)) >= total >= sum(at(b)): the bounds hold the budget
    fa, fb = at(a).sum() - total, at(b).sum() - total
    if fa <= 0 or fb >= 0:
        x = at(a if fa <= 0 else b)
    else:
        x = at(brentq(lambda m: at(m).sum() - total, a, b, xtol=1e-12, rtol=1e-14))
    return _project(x, lo, hi, total)
