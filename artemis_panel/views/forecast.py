"""ForecastView: the weeks ahead under a spend plan, with uncertainty, against last year.

The plan starts as last year's spend of the same weeks; it is edited per variable (a scale factor, or a
factor applied to a whole group) or per week × variable in a table, or imported from CSV. Every edit
recomputes the forecast in NumPy over the posterior draws (milliseconds). Plans are saved in the store
as named scenarios, reloaded, compared with another scenario, and exported as CSV.
"""

from __future__ import annotations

import html
import io

import numpy as np
import pandas as pd
import panel as pn
from bokeh.models.widgets.tables import NumberFormatter

from artemis_panel import formatting as fmt
from artemis_panel import plan_data as pdx
from artemis_panel.branding import stylesheet
from artemis_panel.plan_charts import ForecastChart
from artemis_panel.views.background import in_document, notify
from artemis_panel.views.edit_table import EditTable
from artemis_panel.views.plan_view import PlanView
from jobs.response_engine import PlanError, ResponseEngine
from store import scenarios as sc

MONEY = NumberFormatter(format="$0,0")
COUNT = NumberFormatter(format="0,0")
TAXONOMY_GROUPS = ("variable", "channel", "channel_group", "pillar", "message_type")


class ForecastView(PlanView):
    def __init__(self, **params):
        super().__init__(**params)
        self.base: pd.DataFrame | None = None  # last year's plan for the chosen weeks
        self.plan: pd.DataFrame | None = None
        self.result = None
        self._compare: pd.DataFrame | None = None
        W = pn.widgets
        self._start = W.DatePicker(name="First week", width=150, css_classes=["fc-start"])
        self._weeks = W.IntInput(name="Weeks", value=pdx.DEFAULT_WEEKS, start=1, end=104, width=90,
                                 css_classes=["fc-weeks"])
        self._reset = W.Button(label="Reset to last year", width=150)
        self._mode = W.RadioButtonGroup(options=["Scale per variable", "Week × variable"], value="Scale per variable",
                                        button_type="light", css_classes=["fc-mode"])
        self._scales = EditTable(None, show_index=False, layout="fit_data_stretch", height=330,
                                 sizing_mode="stretch_width", css_classes=["fc-scales"],
                                 editors={"variable": None, "channel": None, "last_year": None, "plan": None},
                                 formatters={"last_year": MONEY, "plan": MONEY},
                                 titles={"last_year": "Last year $", "plan": "Plan $", "scale": "Scale ×"})
        self._week_table = EditTable(None, show_index=False, layout="fit_data", height=330,
                                     sizing_mode="stretch_width", css_classes=["fc-weekly"], frozen_columns=["date"])
        self._group_by = W.Select(name="Scale a group", options=list(TAXONOMY_GROUPS[1:]), value="channel", width=130)
        self._group = W.Select(name="Group", options=[], width=150)
        self._factor = W.FloatInput(name="Factor ×", value=1.1, start=0, step=0.05, width=90)
        self._apply = W.Button(label="Apply", width=80, css_classes=["fc-apply"])
        self._upload = W.FileInput(accept=".csv", multiple=False, css_classes=["fc-upload"])
        self._kpis = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["kpi-row"], stylesheets=[stylesheet()])
        self._chart = ForecastChart()
        self._groups = W.Tabulator(None, show_index=False, disabled=True, layout="fit_data_stretch", height=260,
                                   sizing_mode="stretch_width", css_classes=["fc-groups"],
                                   formatters={"spend": MONEY, "incremental": COUNT, "lo94": COUNT, "hi94": COUNT,
                                               "cost_per_incremental": NumberFormatter(format="$0,0.00")},
                                   titles={"group": "Group", "spend": "Spend", "incremental": "Incremental",
                                           "lo94": "94% low", "hi94": "94% high",
                                           "cost_per_incremental": "$ per incremental"})
        self._name = W.TextInput(name="Scenario name", placeholder="e.g. Q1 +10% social", width=220,
                                 css_classes=["fc-name"])
        self._save = W.Button(label="Save scenario", button_type="primary", width=130, css_classes=["fc-save"])
        self._saved = W.Select(name="Saved scenarios", options={}, width=240, css_classes=["fc-saved"])
        self._load = W.Button(label="Load", width=70, css_classes=["fc-load"])
        self._delete = W.Button(label="Delete", width=70, button_type="danger")
        self._compare_with = W.Select(name="Compare with", options={"(none)": ""}, width=240,
                                      css_classes=["fc-compare"])
        self._comparison = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["fc-comparison"])
        self._download = W.FileDownload(callback=self._csv, filename="artemis-forecast.csv", label="Download CSV",
                                        button_type="primary", embed=False, width=160, css_classes=["fc-download"])
        self._note = pn.pane.Markdown("", css_classes=["fc-note"])
        self._status = pn.pane.HTML("", css_classes=["forecast-status"], height=0, margin=0)
        self._editor = pn.Column(self._scales, sizing_mode="stretch_width")
        self._layout = pn.Column(
            pn.Row(self._start, self._weeks, self._reset, pn.Spacer(width=20), self._mode, sizing_mode="stretch_width"),
            self._kpis,
            pn.pane.Bokeh(self._chart.fig, sizing_mode="stretch_width"),
            pn.Row(
                pn.Column(pn.pane.Markdown("#### Spend plan"), self._editor,
                          pn.Row(self._group_by, self._group, self._factor, self._apply),
                          pn.Row(pn.pane.Markdown("Import a plan (CSV: `date` + one column per variable, or "
                                                  "`date, variable, spend`):", width=300), self._upload),
                          sizing_mode="stretch_width"),
                pn.Column(pn.pane.Markdown("#### Totals by group"), self._groups,
                          pn.Row(self._name, self._save), pn.Row(self._saved, self._load, self._delete),
                          self._compare_with, self._comparison, pn.Row(pn.Spacer(), self._download),
                          sizing_mode="stretch_width"),
                sizing_mode="stretch_width"),
            self._note, self._status, sizing_mode="stretch_width")
        self._init_engine(self._layout, "Forecast")
        self._scales.on_edit(self._scale_edited)
        self._week_table.on_edit(self._week_edited)
        self._start.param.watch(self._period_changed, "value")
        self._weeks.param.watch(self._period_changed, "value")
        self._reset.on_click(lambda _e: self._period_changed())
        self._mode.param.watch(lambda _e: self._show_editor(), "value")
        self._group_by.param.watch(lambda _e: self._fill_groups(), "value")
        self._apply.on_click(self._apply_group)
        self._upload.param.watch(self._uploaded, "value")
        self._save.on_click(self._save_scenario)
        self._load.on_click(self._load_scenario)
        self._delete.on_click(self._delete_scenario)
        self._compare_with.param.watch(self._compare_changed, "value")
        self.state.param.watch(lambda _e: self._draw(), ["group_by"])
        self.state.param.watch(lambda e: self._take(e.new), ["handoff"])
        self._pending: tuple | None = None
        self._take(self.state.handoff)  # (a plan sent before this view was built: the tab opens for it)

    # ------------------------------------------------------------------ run and period
    def _engine_gone(self) -> None:
        self.result = self.plan = self.base = None
        self._draw()

    def _engine_ready(self, engine: ResponseEngine) -> None:
        self.engine = engine
        self._fill_groups()
        start = pdx.next_week(engine)
        pending, self._pending = self._pending, None
        if pending is not None:
            start, plan = pending
            self._set_period(start, len(plan), plan)
        else:
            self._set_period(start, self._weeks.value or pdx.DEFAULT_WEEKS)
        self._refresh_saved()

    def _set_period(self, start, weeks: int, plan: pd.DataFrame | None = None) -> None:
        """Show ``weeks`` weeks from ``start`` with last year's plan (or ``plan``), without re-entering
        the period watchers."""
        self._setting = True
        try:
            self._start.value = pd.Timestamp(start).date()
            self._weeks.value = int(weeks)
        finally:
            self._setting = False
        self.base = self.engine.default_plan(pd.Timestamp(start), int(weeks))
        self.plan = self.base.copy() if plan is None else plan.reindex(columns=self.engine.media, fill_value=0.0)
        self.plan.index = self.base.index
        self._recompute()

    def _period_changed(self, *_events) -> None:
        if getattr(self, "_setting", False) or self.engine is None or self._start.value is None:
            return
        start, weeks = pd.Timestamp(self._start.value), self._weeks.value or pdx.DEFAULT_WEEKS
        if self.plan is not None and start == self.plan.index[0] and weeks == len(self.plan):
            return  # (a widget echoing the value it was given: keep the edited plan)
        try:
            self.engine.week_of(start)
        except PlanError as e:
            self._bg.failed(e)
            return
        self._set_period(self._start.value, self._weeks.value or pdx.DEFAULT_WEEKS)

    # ------------------------------------------------------------------ editing
    def _number(self, value, what: str) -> float | None:
        """An edited cell as spend or a factor (a number >= 0); otherwise a notification, the table redrawn
        as it was, and None."""
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if np.isfinite(number) and number >= 0:
            return number
        notify(f"Forecast: {what} must be a number ≥ 0; got {value!r}", error=True)
        self._show_tables()
        return None

    def _scale_edited(self, event) -> None:
        var = self._scales.value.iloc[event.row]["variable"]
        factor = self._number(event.value, f"the scale of {var}")
        if factor is not None:
            self.set_scale(var, factor)

    def _week_edited(self, event) -> None:
        var = event.column
        if var not in self.plan.columns:
            return
        value = self._number(event.value, f"the spend of {var}")
        if value is not None:
            self.plan.iloc[event.row, self.plan.columns.get_loc(var)] = value
            self._recompute()

    def _fill_groups(self) -> None:
        if self.engine is None:
            return
        tax = self.engine.taxonomy[self._group_by.value].dropna().astype(str)
        self._group.options = sorted(tax.unique().tolist())
        if self._group.value not in self._group.options:
            self._group.value = self._group.options[0] if self._group.options else None

    def _apply_group(self, _event=None) -> None:
        if self.engine is None or not self._group.value:
            return
        factor = self._factor.value
        if factor is None or factor < 0:
            notify("Forecast: the factor must be a number ≥ 0", error=True)
            return
        tax = self.engine.taxonomy[self._group_by.value].astype(object)
        for var in tax.index[tax == self._group.value]:
            self.plan[var] = self.base[var] * float(factor)
        self._recompute()

    def set_scale(self, variable: str, factor: float) -> None:
        """Scale one variable's plan to ``factor`` × last year (what an edit of the scale table does)."""
        self.plan[variable] = self.base[variable] * float(factor)
        self._recompute()

    def _uploaded(self, event) -> None:
        if not event.new or self.engine is None:
            return
        try:
            start, plan = pdx.read_plan_csv(self.engine, io.BytesIO(event.new))
        except PlanError as e:
            notify(f"Forecast: {self._upload.filename or 'the plan'}: {e}", error=True)
            return
        self._set_period(start, len(plan), plan)
        notify(f"Forecast: plan of {len(plan)} weeks imported from {self._upload.filename}")

    def _take(self, h: dict | None) -> None:
        """A plan sent from another tab (Maximize's 'Open in Forecast')."""
        if not h:
            return
        start, plan = pd.Timestamp(h["start"]), h["plan"]
        if self.engine is None or self._opened != self.state.run_id:
            self._pending = (start, plan)
            self.open_run()
        else:
            self._set_period(start, len(plan), plan)
        self._name.value = h.get("name", "")

    # ------------------------------------------------------------------ computing and drawing
    def _recompute(self) -> None:
        try:
            self.result = self.engine.forecast(self.plan.index[0], self.plan)
        except PlanError as e:
            self._bg.failed(e)
            return
        self._draw()

    def _show_editor(self) -> None:
        self._editor.objects = [self._scales if self._mode.value == "Scale per variable" else self._week_table]

    def _show_tables(self) -> None:
        if self.plan is None:
            return
        self._scales.value = pdx.scale_table(self.engine, self.base, self.plan)
        weekly = self.plan.reset_index()
        weekly["date"] = weekly["date"].dt.date
        self._week_table.formatters = {c: MONEY for c in self.plan.columns}
        self._week_table.editors = {"date": None}
        self._week_table.value = weekly

    def _draw(self) -> None:
        in_document(self._draw_now)

    def _draw_now(self) -> None:
        r = self.result
        if self.engine is None or r is None:
            self._chart.update(None)
            self._kpis.object = '<div class="kpi-empty">No forecast: this run has no response draws.</div>'
            self._status.object = self._status_html(None)
            return
        weekly = r.weekly()
        self._chart.update(weekly, self._compare)
        t = r.totals()
        ly = t["last_year"]
        change = (t["transactions"] / ly - 1) * 100 if ly else None
        cards = [
            ("Expected transactions", fmt.number(t["transactions"]),
             f"94%: {fmt.number(t['transactions_lo'])} – {fmt.number(t['transactions_hi'])}"),
            ("vs last year", fmt.change(change) if change is not None else "no last year",
             f"last year {fmt.number(ly)}" if ly else ""),
            ("Incremental from media", fmt.number(t["incremental"]),
             f"94%: {fmt.number(t['incremental_lo'])} – {fmt.number(t['incremental_hi'])}"),
            ("Planned spend", fmt.money(t["spend"]), f"last year {fmt.money(self.base.to_numpy().sum())}"),
            ("$ per incremental", fmt.money(t["spend"] / t["incremental"]) if t["incremental"] > 0 else "–", ""),
        ]
        self._kpis.object = fmt.cards_html(cards)
        group = self.state.group_by if self.state.group_by in TAXONOMY_GROUPS else "channel"
        self._groups.value = r.by_group(group)
        self._show_tables()
        self._show_editor()
        self._download.filename = f"artemis-forecast-{self.state.run_id}.csv".replace(":", "-")
        self._note.object = (f"{len(weekly)} weeks from {weekly['date'].iloc[0].date()}; baseline projected "
                             "(trend, seasonality), controls and holidays as the same weeks last year; bands are "
                             "50% and 94% intervals of the expected transactions over the posterior draws.")
        self.renders += 1
        self._status.object = self._status_html(t)

    def _status_html(self, totals: dict | None) -> str:
        if totals is None:
            return f'<span class="forecast-status" data-renders="{self.renders}" data-total="" data-spend=""></span>'
        return (f'<span class="forecast-status" data-renders="{self.renders}" '
                f'data-total="{totals["transactions"]:.6f}" data-spend="{totals["spend"]:.2f}" '
                f'data-weeks="{len(self.plan)}"></span>')

    def _csv(self) -> io.StringIO:
        return io.StringIO(pdx.forecast_csv(self.result) if self.result is not None else "")

    # ------------------------------------------------------------------ scenarios
    def _refresh_saved(self) -> None:
        s = self.state
        if not s.run_id:
            return
        saved = sc.list_scenarios(s.reader, s.run_id, s.brands)
        opts = {f"{r.name} ({r.kind})": r.scenario_id for r in saved.itertuples()}
        self._saved.options = opts
        self._compare_with.options = {"(none)": "", **opts}

    def save(self, name: str) -> str:
        s = self.state
        sid = sc.save_scenario(self.store_path, s.reader, run_id=s.run_id, name=name, kind="forecast",
                               payload=pdx.plan_to_payload(self.plan.index[0], self.plan), brands=s.brands)
        self._refresh_saved()
        return sid

    def _save_scenario(self, _event=None) -> None:
        try:
            self.save(self._name.value)
        except (sc.ScenarioError, PlanError) as e:
            notify(f"Forecast: {e}", error=True)
            return
        notify(f"Scenario '{self._name.value.strip()}' saved")

    def _plan_of(self, scenario_id: str) -> tuple[pd.Timestamp, pd.DataFrame, str]:
        s = self.state
        found = sc.load_scenario(s.reader, scenario_id, s.brands)
        if found["run_id"] != s.run_id:
            raise PlanError(f"scenario '{found['name']}' belongs to run {found['run_id']}")
        start, plan = pdx.payload_to_plan(self.engine, found["payload"])
        return start, plan, found["name"]

    def load(self, scenario_id: str) -> None:
        start, plan, name = self._plan_of(scenario_id)
        self._set_period(start, len(plan), plan)
        self._name.value = name

    def _load_scenario(self, _event=None) -> None:
        if not self._saved.value:
            return
        try:
            self.load(self._saved.value)
        except (sc.ScenarioError, PlanError) as e:
            notify(f"Forecast: {e}", error=True)

    def _delete_scenario(self, _event=None) -> None:
        if not self._saved.value:
            return
        s = self.state
        try:
            sc.delete_scenario(self.store_path, s.reader, self._saved.value, s.brands)
        except sc.ScenarioError as e:
            notify(f"Forecast: {e}", error=True)
        self._refresh_saved()

    def _compare_changed(self, event) -> None:
        self.compare(event.new or None)

    def compare(self, scenario_id: str | None) -> None:
        """Overlay a saved scenario's forecast and list the two side by side."""
        if not scenario_id or self.engine is None:
            self._compare = None
            self._comparison.object = ""
            self._draw()
            return
        try:
            start, plan, name = self._plan_of(scenario_id)
            other = self.engine.forecast(start, plan)
        except (sc.ScenarioError, PlanError) as e:
            notify(f"Forecast: {e}", error=True)
            return
        self._compare = other.weekly()
        a, b = self.result.totals(), other.totals()
        rows = [("Weeks", f"{len(self.plan)} from {self.plan.index[0].date()}", f"{len(plan)} from {start.date()}"),
                ("Spend", fmt.money(a["spend"]), fmt.money(b["spend"])),
                ("Expected transactions", fmt.number(a["transactions"]), fmt.number(b["transactions"])),
                ("Incremental from media", fmt.number(a["incremental"]), fmt.number(b["incremental"])),
                ("$ per incremental", fmt.money(a["spend"] / a["incremental"]) if a["incremental"] > 0 else "–",
                 fmt.money(b["spend"] / b["incremental"]) if b["incremental"] > 0 else "–")]
        body = "".join(f"<tr><td>{html.escape(x)}</td><td>{html.escape(y)}</td><td>{html.escape(z)}</td></tr>"
                       for x, y, z in rows)
        self._comparison.object = (f'<table class="fc-compare-table"><tr><th></th><th>This plan</th>'
                                   f'<th>{html.escape(name)}</th></tr>{body}</table>')
        self._draw()
