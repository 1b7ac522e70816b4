"""MaximizeView: the split of a budget that buys the most transactions (or the least spend reaching a
goal), with bounds, locks and a risk-aware objective; what it gains over the current split and how sure
that is; response curves, a budget sweep; the result saved as a scenario or opened in Forecast."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import panel as pn
from bokeh.models.widgets.tables import NumberFormatter

from artemis_panel import formatting as fmt
from artemis_panel import plan_data as pdx
from artemis_panel.branding import stylesheet
from artemis_panel.plan_charts import AllocationBars, ResponseCurve, SweepChart
from artemis_panel.views.background import in_document, notify
from artemis_panel.views.plan_view import PlanView
from jobs.budget import Allocation, BudgetProblem
from jobs.response_engine import PlanError, ResponseEngine
from store import scenarios as sc

MONEY = NumberFormatter(format="$0,0")
OBJECTIVES = {"Expected transactions": "mean", "Risk-aware: 5th percentile": "quantile"}
SWEEP = np.linspace(0.5, 1.5, 9)


class MaximizeView(PlanView):
    def __init__(self, **params):
        super().__init__(**params)
        self.problem: BudgetProblem | None = None
        self.allocation: Allocation | None = None
        W = pn.widgets
        self._start = W.DatePicker(name="First week", width=150, css_classes=["mx-start"])
        self._weeks = W.IntInput(name="Weeks", value=pdx.DEFAULT_WEEKS, start=1, end=104, width=90)
        self._mode = W.RadioButtonGroup(options=["Budget", "Target"], value="Budget", button_type="light",
                                        css_classes=["mx-mode"])
        self._budget = W.FloatInput(name="Total budget ($)", value=None, start=0, step=100_000, width=170,
                                    css_classes=["mx-budget"], format="0,0")
        self._goal = W.FloatInput(name="Goal: incremental transactions", value=None, start=0, width=210,
                                  css_classes=["mx-goal"], format="0,0", visible=False)
        self._objective = W.Select(name="Objective", options=OBJECTIVES, value="mean", width=210)
        self._pct = W.FloatInput(name="Bounds ± % of current (blank: none)", value=None, start=0, width=230,
                                 css_classes=["mx-pct"])
        self._bounds = W.Tabulator(None, show_index=False, layout="fit_data_stretch", height=300,
                                   sizing_mode="stretch_width", css_classes=["mx-bounds"],
                                   editors={"variable": None, "current": None},
                                   formatters={"current": MONEY, "lower": MONEY, "upper": MONEY},
                                   titles={"current": "Current $", "lower": "Min $", "upper": "Max $",
                                           "locked": "Lock"})
        self._go = W.Button(label="Optimise", button_type="primary", width=120, css_classes=["mx-go"])
        self._sweep_button = W.Button(label="Budget sweep", width=130, css_classes=["mx-sweep"])
        self._summary = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["kpi-row"],
                                     stylesheets=[stylesheet()])
        self._bars = AllocationBars()
        self._table = W.Tabulator(None, show_index=False, disabled=True, layout="fit_data_stretch", height=300,
                                  sizing_mode="stretch_width", css_classes=["mx-table"],
                                  formatters={"current": MONEY, "optimal": MONEY, "change": MONEY,
                                              "change_pct": NumberFormatter(format="+0.0", nan_format="–"),
                                              "lower": MONEY, "upper": MONEY,
                                              "marginal_cost_current": NumberFormatter(format="$0,0.00",
                                                                                       nan_format="–"),
                                              "marginal_cost_optimal": NumberFormatter(format="$0,0.00",
                                                                                       nan_format="–")},
                                  titles={"change_pct": "Δ %", "marginal_cost_current": "Marginal $/tx now",
                                          "marginal_cost_optimal": "Marginal $/tx optimal"})
        self._curve_var = W.Select(name="Response curve of", options=[], width=240, css_classes=["mx-curve-var"])
        self._curve = ResponseCurve()
        self._sweep = SweepChart()
        self._name = W.TextInput(name="Scenario name", placeholder="e.g. Q1 optimal", width=200)
        self._save = W.Button(label="Save as scenario", width=140, disabled=True)
        self._to_forecast = W.Button(label="Open in Forecast", width=140, disabled=True, css_classes=["mx-open"])
        self._download = W.FileDownload(callback=self._csv, filename="artemis-allocation.csv", label="Download CSV",
                                        button_type="primary", embed=False, width=150, disabled=True)
        self._note = pn.pane.Markdown("", css_classes=["mx-note"])
        self._status = pn.pane.HTML("", css_classes=["maximize-status"], height=0, margin=0)
        self._layout = pn.Column(
            pn.Row(self._start, self._weeks, self._mode, self._budget, self._goal, self._objective,
                   sizing_mode="stretch_width"),
            pn.Row(pn.Column(pn.pane.Markdown("#### Bounds and locks"), self._pct, self._bounds,
                             pn.Row(self._go, self._sweep_button), sizing_mode="stretch_width"),
                   pn.Column(self._summary, pn.pane.Bokeh(self._bars.fig, sizing_mode="stretch_width"),
                             sizing_mode="stretch_width"),
                   sizing_mode="stretch_width"),
            self._table,
            pn.Row(pn.Column(self._curve_var, pn.pane.Bokeh(self._curve.fig, sizing_mode="stretch_width"),
                             sizing_mode="stretch_width"),
                   pn.pane.Bokeh(self._sweep.fig, sizing_mode="stretch_width"), sizing_mode="stretch_width"),
            pn.Row(self._name, self._save, self._to_forecast, pn.Spacer(), self._download, sizing_mode="stretch_width"),
            self._note, self._status, sizing_mode="stretch_width")
        self._init_engine(self._layout, "Maximize")
        self._inputs_ready(False)
        self._mode.param.watch(self._mode_changed, "value")
        self._start.param.watch(lambda _e: self._period_changed(), "value")
        self._weeks.param.watch(lambda _e: self._period_changed(), "value")
        self._pct.param.watch(lambda _e: self._fill_bounds(), "value")
        self._budget.param.watch(lambda _e: self._fill_bounds(), "value")
        self._go.on_click(lambda _e: self.optimise())
        self._sweep_button.on_click(lambda _e: self.sweep())
        self._curve_var.param.watch(lambda _e: self._draw_curve(), "value")
        self._save.on_click(self._save_scenario)
        self._to_forecast.on_click(lambda _e: self.open_in_forecast())
        self._setting = False

    # ------------------------------------------------------------------ run, period, inputs
    def _inputs_ready(self, ready: bool) -> None:
        """The budget, the goal and the buttons that solve, usable only once the run's engine is in: the engine's
        arrival sets the budget to the period's current spend, which would replace a budget typed while it loaded."""
        for w in (self._budget, self._goal, self._go, self._sweep_button):
            w.disabled = not ready

    def open_run(self) -> None:
        self._inputs_ready(False)
        super().open_run()

    def _engine_gone(self) -> None:
        self.problem = self.allocation = None
        self._bounds.value = None
        self._draw()

    def _engine_ready(self, engine: ResponseEngine) -> None:
        self.engine = engine
        self._setting = True
        try:
            self._start.value = pdx.next_week(engine).date()
        finally:
            self._setting = False
        self._curve_var.options = list(engine.media)
        if self._curve_var.value not in engine.media:
            self._curve_var.value = engine.media[0] if engine.media else None
        self._period_changed()
        self._inputs_ready(True)

    def _period_changed(self) -> None:
        if self._setting or self.engine is None or self._start.value is None:
            return
        try:
            self.problem = BudgetProblem(self.engine, pd.Timestamp(self._start.value), int(self._weeks.value or 13))
        except PlanError as e:
            self._bg.failed(e)
            return
        self.allocation = None
        self._setting = True
        try:
            self._budget.value = round(float(self.problem.reference.sum()), 2)
            self._goal.value = None
        finally:
            self._setting = False
        self._fill_bounds()
        in_document(lambda: self._sweep.update(None))
        self._draw()

    def _mode_changed(self, _event) -> None:
        target = self._mode.value == "Target"
        self._goal.visible, self._budget.visible = target, not target
        self._go.label = "Find least spend" if target else "Optimise"

    def _fill_bounds(self) -> None:
        """The bounds table for the current budget: each variable's current spend (the reference split
        scaled to the budget), and min / max from the ± % (editable afterwards)."""
        if self._setting or self.problem is None:
            return
        budget = self._budget.value or float(self.problem.reference.sum())
        old = self._bounds.value
        locked = set(old.loc[old["locked"], "variable"]) if old is not None and len(old) else set()
        try:
            current, lo, hi = self.problem.bounds(budget, pct=self._pct.value, check_total=False)
        except PlanError as e:
            self._bg.failed(e)
            return
        has_pct = self._pct.value is not None
        self._bounds.value = pd.DataFrame({
            "variable": self.problem.variables, "current": np.round(current, 2),
            "lower": np.round(lo, 2) if has_pct else np.zeros(len(lo)),
            "upper": np.round(hi, 2) if has_pct else np.full(len(hi), np.nan),
            "locked": [v in locked for v in self.problem.variables]})

    def _constraints(self) -> dict:
        t = self._bounds.value
        lower = {r.variable: float(r.lower) for r in t.itertuples() if pd.notna(r.lower)}
        upper = {r.variable: float(r.upper) for r in t.itertuples() if pd.notna(r.upper)}
        locked = [r.variable for r in t.itertuples() if bool(r.locked)]
        return {"lower": lower, "upper": upper, "locked": locked}

    # ------------------------------------------------------------------ solving
    def optimise(self) -> None:
        if self.problem is None:
            return
        problem, cons = self.problem, self._constraints()
        objective = self._objective.value
        if self._mode.value == "Target":
            goal = self._goal.value
            if goal is None:
                notify("Maximize: set a goal of incremental transactions", error=True)
                return
            work = lambda: problem.minimum_spend(float(goal), **cons)  # noqa: E731
        else:
            budget = self._budget.value
            if budget is None or budget <= 0:
                notify(f"Maximize: the budget must be a positive amount; got {budget}", error=True)
                return
            work = lambda: problem.optimize(float(budget), objective=objective, **cons)  # noqa: E731
        self._bg.run(work, self._solved)

    def _solved(self, alloc: Allocation) -> None:
        self.allocation = alloc
        if self._mode.value == "Target":
            self._setting = True
            try:
                self._budget.value = round(alloc.budget, 2)
            finally:
                self._setting = False
        self._draw()

    def sweep(self) -> None:
        if self.problem is None:
            return
        problem, cons, objective = self.problem, self._constraints(), self._objective.value
        budget = self._budget.value or float(problem.reference.sum())
        self._bg.run(lambda: problem.sweep(SWEEP * budget, objective=objective, **cons), self._sweep.update)  # (applied on the next tick)

    # ------------------------------------------------------------------ drawing
    def _draw(self) -> None:
        in_document(self._draw_now)

    def _draw_now(self) -> None:
        a = self.allocation
        for w in (self._save, self._to_forecast, self._download):
            w.disabled = a is None
        if a is None:
            self._bars.update(None)
            self._table.value = None
            self._summary.object = ('<div class="kpi-empty">Set the budget, bounds and locks, then press '
                                    '<b>Optimise</b>.</div>' if self.engine is not None else
                                    '<div class="kpi-empty">No run with response draws for this brand.</div>')
            self._draw_curve_now()
            self._status.object = f'<span class="maximize-status" data-renders="{self.renders}"></span>'
            return
        s = a.summary()
        cards = [
            ("Budget", fmt.money(s["budget"]), f"{self._weeks.value} weeks"),
            ("Incremental, optimal split", fmt.number(s["incremental_optimal"]),
             f"94%: {fmt.number(s['incremental_optimal_lo'])} – {fmt.number(s['incremental_optimal_hi'])}"),
            ("Incremental, current split", fmt.number(s["incremental_current"]), ""),
            ("Lift", f"{fmt.number(s['lift'])} ({s['lift_pct']:+.1f}%)" if s["lift_pct"] is not None else "–",
             f"94%: {fmt.number(s['lift_lo'])} – {fmt.number(s['lift_hi'])}"),
            ("Chance it beats current", fmt.percent(s["prob_better"], 0), f"over {len(a.lift)} draws"),
        ]
        self._summary.object = fmt.cards_html(cards)
        table = a.table()
        self._bars.update(table)
        self._table.value = table
        self._draw_curve_now()
        self._note.object = (f"Solved in {s['seconds'] * 1000:,.0f} ms ({s['iterations']} iterations, "
                             f"{'converged' if s['converged'] else 'stopped: ' + a.message}). Spend is spread over "
                             "the weeks like last year's; carry-over into the weeks after the period is counted.")
        self._download.filename = f"artemis-allocation-{self.state.run_id}.csv".replace(":", "-")
        self.renders += 1
        self._status.object = (f'<span class="maximize-status" data-renders="{self.renders}" '
                               f'data-budget="{a.budget:.2f}" data-optimal="{s["incremental_optimal"]:.4f}" '
                               f'data-current="{s["incremental_current"]:.4f}"></span>')

    def _draw_curve(self) -> None:
        in_document(self._draw_curve_now)

    def _draw_curve_now(self) -> None:
        var, p = self._curve_var.value, self.problem
        if var is None or p is None:
            self._curve.update(None)
            return
        i = p.variables.index(var)
        a = self.allocation
        cur = a.current[i] if a is not None else p.reference[i]
        top = max(cur, a.optimal[i] if a is not None else 0.0) * 2 or float(p.reference.sum()) / len(p.variables)
        grid = np.linspace(0.0, top, 41)
        draws = p.response_curve(var, grid)
        points = [("current", cur, float(p.response_curve(var, np.array([cur])).mean()), "#8d99ae")]
        if a is not None:
            points.append(("optimal", a.optimal[i], float(p.response_curve(var, np.array([a.optimal[i]])).mean()),
                           "#e4572e"))
        self._curve.update(var, grid, draws, points)

    def _csv(self) -> io.StringIO:
        return io.StringIO(pdx.allocation_csv(self.allocation) if self.allocation is not None else "")

    # ------------------------------------------------------------------ scenario and hand-off
    def _payload(self) -> dict:
        plan = pdx.allocation_plan(self.problem, self.allocation)
        payload = pdx.plan_to_payload(plan.index[0], plan)
        payload["allocation"] = self.allocation.summary()
        return payload

    def _save_scenario(self, _event=None) -> None:
        s = self.state
        try:
            sc.save_scenario(self.store_path, s.reader, run_id=s.run_id, name=self._name.value, kind="allocation",
                             payload=self._payload(), brands=s.brands)
        except (sc.ScenarioError, PlanError) as e:
            notify(f"Maximize: {e}", error=True)
            return
        notify(f"Scenario '{self._name.value.strip()}' saved; open it in Forecast")

    def open_in_forecast(self) -> None:
        """Send the optimal plan to the Forecast tab (the app switches to it)."""
        if self.allocation is None:
            return
        plan = pdx.allocation_plan(self.problem, self.allocation)
        self.state.handoff = {"start": plan.index[0], "plan": plan,
                              "name": self._name.value or f"optimal {fmt.money(self.allocation.budget)}"}
