"""CompareView: 2 to 4 runs side by side (fit metrics, model review checks, cost per incremental
transaction with 94% intervals, contributions by group, config differences) and the run registry: a
run's status and notes, promotion as its brand's reference run, and the history of changes."""

from __future__ import annotations

import getpass
import html

import pandas as pd
import panel as pn
import param

from artemis_panel import compare_data as cd
from artemis_panel.compare_charts import CurvesChart, ForestPlot, GroupBars
from artemis_panel.state import AppState, run_label
from artemis_panel.views.background import Background, notify
from store import registry as rg
from store.access import Access

class CompareView(pn.viewable.Viewer):
    state = param.ClassSelector(class_=AppState)
    store_path = param.Parameter(doc="The store file (registry changes are saved into it).")
    renders = param.Integer(default=0, doc="How many comparisons were drawn (tests wait on it).")
    access = param.ClassSelector(class_=Access, default=Access.everything(),
                                 doc="The signed-in user: changing a run's registry status needs the modeler role.")

    def __init__(self, **params):
        super().__init__(**params)
        W = pn.widgets
        self._runs = W.MultiChoice(name=f"Runs to compare (2 to {cd.MAX_RUNS})", max_items=cd.MAX_RUNS,
                                   css_classes=["cmp-runs"], sizing_mode="stretch_width")
        self._runs.param.watch(lambda _e: self.compare(), "value")
        table = dict(disabled=True, show_index=False, sizing_mode="stretch_width", layout="fit_data_stretch")
        self._metrics = W.Tabulator(pd.DataFrame(), css_classes=["cmp-metrics"], **table)
        self._links = pn.pane.HTML("", css_classes=["cmp-links"], sizing_mode="stretch_width")
        self._review = W.Tabulator(pd.DataFrame(), css_classes=["cmp-review"], **table)
        self._diff = W.Tabulator(pd.DataFrame(), css_classes=["cmp-diff"], **table)
        self._forest_chart, self._bars_chart = ForestPlot(), GroupBars()
        self._forest = pn.pane.Bokeh(self._forest_chart.fig, sizing_mode="stretch_width", css_classes=["cmp-forest"])
        self._bars = pn.pane.Bokeh(self._bars_chart.fig, sizing_mode="stretch_width", css_classes=["cmp-bars"])
        self._note = pn.pane.Markdown("", css_classes=["cmp-note"])
        self._curve_var = W.Select(name="Response curve of", css_classes=["cmp-curve-var"], width=260)
        self._curve_var.param.watch(lambda _e: self.draw_curves(), "value")
        self._curves_chart = CurvesChart(cd.MAX_RUNS)
        self._curves = pn.pane.Bokeh(self._curves_chart.fig, sizing_mode="stretch_width", css_classes=["cmp-curves"])
        self._curves_box = pn.Column(self._curve_var, self._curves, sizing_mode="stretch_width")
        self._curves_bg = None
        self._report = W.FileDownload(callback=self._report_html, filename="artemis-report.html",
                                      label="Download report (HTML)", css_classes=["cmp-report"], width=220)
        # the registry of one run
        self._reg_run = W.Select(name="Run", css_classes=["reg-run"], width=380)
        self._reg_status = W.Select(name="Status", options=list(rg.STATUSES), css_classes=["reg-status"], width=160)
        self._reg_notes = W.TextAreaInput(name="Notes", css_classes=["reg-notes"], height=80, sizing_mode="stretch_width")
        self._reg_save = W.Button(name="Save status", button_type="primary", css_classes=["reg-save"])
        self._reg_save.on_click(lambda _e: self.save_status())
        self._reg_save.disabled = not self.access.can_launch_jobs
        self._reg_run.param.watch(lambda _e: self._show_registry(), "value")
        self._history = W.Tabulator(pd.DataFrame(), css_classes=["reg-history"], height=160, **table)
        self._reg_info = pn.pane.HTML("", css_classes=["reg-info"])
        self._status = pn.pane.HTML("", css_classes=["compare-status"], height=0, margin=0)
        registry = pn.Column(
            pn.pane.Markdown("#### Run registry", margin=(0, 10)),
            pn.Row(self._reg_run, self._reg_status), self._reg_notes, self._reg_save, self._reg_info, self._history,
            sizing_mode="stretch_width", css_classes=["reg-card"])
        self._layout = pn.Column(
            pn.Row(self._runs, self._report), self._note,
            pn.pane.Markdown("#### Fit", margin=(0, 10)), self._metrics, self._links,
            pn.pane.Markdown("#### Model review", margin=(0, 10)), self._review,
            self._forest, self._bars, self._curves_box,
            pn.pane.Markdown("#### Config differences", margin=(0, 10)), self._diff,
            registry, self._status, sizing_mode="stretch_width")
        self._bg = Background(self._layout, "Compare")
        self._shown = False  # nothing is computed for a tab the session never opens
        self.state.param.watch(lambda _e: self.compare(), ["group_by"])
        self.load_runs()

    def __panel__(self):
        return self._layout

    def show(self) -> None:
        """The tab is shown: compare (the first time; later changes recompare while it is open)."""
        if not self._shown:
            self._shown = True
            self.compare()

    # ------------------------------------------------------------------ runs and comparison
    def load_runs(self) -> None:
        """The runs the session may see, labelled with their brand; the first comparison is the current run
        and the next newest of its brand."""
        runs = self.state.all_runs
        labels = {f"{r.brand} · {run_label(r)}": r.run_id for _, r in runs.iterrows()} if not runs.empty else {}
        self._runs.options = labels
        self._reg_run.options = labels
        current = self.state.run_id
        if not self._runs.value and current:
            same = runs[(runs.brand == self.state.brand) & (runs.run_id != current)].run_id.tolist()
            self._runs.value = [current] + same[:1]
        if current in labels.values():
            self._reg_run.value = current
        self._show_registry()

    def compare(self) -> None:
        if not self._shown:
            return
        ids = list(self._runs.value)
        if len(ids) < 2:
            self._note.object = "Pick at least two runs (of any brand you may see) to compare them."
            return
        reader, brands, group = self.state.reader, self.state.brands, self.state.group_by
        runs = self.state.all_runs

        def work():
            cd.check_selection(ids)
            cv = cd.cv_table(reader, ids, brands)
            return (cd.metrics_table(runs, ids, cv), cd.links_html(runs, ids, cv), cd.review_table(reader, ids, brands),
                    cd.cpit_table(reader, ids, brands), cd.contributions_table(reader, ids, group, brands),
                    cd.config_diff(reader, ids, brands), cd.curve_variables(reader, ids, brands))

        self._bg.run(work, self._draw)

    def _draw(self, result) -> None:
        metrics, links, review, cpit, contrib, diff, variables = result
        self._note.object = ""
        keep = self._curve_var.value
        self._curve_var.options = variables
        if keep in variables:
            self.draw_curves()
        elif variables:
            self._curve_var.value = variables[0]  # (draws the curves)
        self._metrics.value = metrics
        self._links.object = f"<small>{links}</small>"
        self._review.value = review
        self._forest_chart.update(cpit)
        self._bars_chart.update(contrib, self.state.group_label)
        self._diff.value = diff if not diff.empty else pd.DataFrame({"field": ["(the configs are the same)"]})
        self.renders += 1
        worst = {c: self._worst(review[c]) for c in review.columns if c != "check"} if not review.empty else {}
        self._status.object = (f'<span class="compare-status" data-renders="{self.renders}" '
                               f'data-runs="{len(metrics.columns) - 1}" data-checks="{len(review)}" '
                               f'data-worst="{html.escape("|".join(worst.values()))}" '
                               f'data-variables="{cpit.variable.nunique() if not cpit.empty else 0}"></span>')

    @staticmethod
    def _worst(col: pd.Series) -> str:
        statuses = [str(v).split(" ", 1)[0] for v in col]
        return next((s for s in ("FAIL", "REVIEW", "PASS") if s in statuses), "")

    def draw_curves(self) -> None:
        """The chosen variable's response curve in each compared run (built off the event loop)."""
        ids, variable = list(self._runs.value), self._curve_var.value
        if len(ids) < 2 or not variable:
            return
        reader, brands = self.state.reader, self.state.brands
        if self._curves_bg is None:
            self._curves_bg = Background(self._curves_box, "Response curves")
        self._curves_bg.run(lambda: cd.response_curves(reader, ids, variable, brands),
                            lambda curves: self._curves_chart.update(curves, variable))

    def _report_html(self):
        """The compared runs (or the current run alone) as a self-contained HTML report."""
        import io

        from artemis_panel.report import build_report

        ids = list(self._runs.value) or [self.state.run_id]
        text = build_report(self.state.reader, ids, self.state.brands, self.state.group_by)
        return io.StringIO(text)

    # ------------------------------------------------------------------ registry
    def _show_registry(self) -> None:
        rid = self._reg_run.value
        if not rid:
            return
        reg = rg.registry(self.state.reader, self.state.brands)
        row = reg[reg.run_id == rid]
        if row.empty:
            return
        r = row.iloc[0]
        self._reg_status.value = r.registry_status
        self._reg_notes.value = "" if r.notes is None or pd.isna(r.notes) else str(r.notes)
        mlflow = cd.mlflow_html(r.mlflow_tracking_uri, r.mlflow_run_id)
        self._reg_info.object = f"<small>{html.escape(str(r.brand))} · {mlflow}</small>"
        self._history.value = rg.history(self.state.reader, rid, self.state.brands)

    def save_status(self) -> None:
        if not self.access.permits("change run status"):  # (modelers decide which run the business sees)
            notify("Changing a run's status needs the modeler role", error=True)
            return
        rid, status, notes = self._reg_run.value, self._reg_status.value, self._reg_notes.value
        who = self.access.user or pn.state.user or getpass.getuser()
        reader, brands = self.state.reader, self.state.brands

        def done(entry) -> None:
            notify(f"{entry['run_id']}: {entry['status']}" + (" (the brand's reference run)" if entry["status"] == "promoted" else ""))
            self.state.load_runs()
            self.load_runs()
            self._reg_run.value = rid
            self._show_registry()

        self._bg.run(lambda: rg.set_status(self.store_path, reader, rid, status, notes, by=who, brands=brands), done)
