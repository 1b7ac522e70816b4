"""MeasureView: the Measure tab (KPI cards, contributions over time, waterfall, bars with intervals,
driver bubbles, table with CSV download), linked by the session's chart selection."""

from __future__ import annotations

import asyncio
import html
import io
import logging

import panel as pn
import param
from bokeh.models.widgets.tables import NumberFormatter
from panel.io.document import hold

from artemis_panel import charts
from artemis_panel.branding import stylesheet
from artemis_panel.measure_data import MeasureData, kpi_cards, load_measure, select, table_csv
from artemis_panel.state import AppState

log = logging.getLogger(__name__)

LOADING_DELAY_S = 0.15  # answers quicker than this redraw without the loading indicator

_TABLE_FORMATS = {
    "contribution": NumberFormatter(format="0,0"), "lo": NumberFormatter(format="0,0"),
    "hi": NumberFormatter(format="0,0"), "share": NumberFormatter(format="0.0%"),
    "spend": NumberFormatter(format="$0,0"), "impressions": NumberFormatter(format="0,0"),
    "efficiency": NumberFormatter(format="$0,0.00"), "effectiveness": NumberFormatter(format="0.000"),
    "contribution_prior": NumberFormatter(format="0,0"), "change_pct": NumberFormatter(format="+0.0"),
}
# Column widths, px: each heading's own width (as Tabulator measured it) and room for the longest group names. Given,
# they spare the browser measuring every cell to fit the columns when the table is first drawn (about 45 ms of a first
# visit), and the group names are no longer cut to the width of their heading.
_WIDTHS = {"group": 180, "contribution": 120, "lo": 96, "hi": 102, "share": 113, "spend": 101, "impressions": 123,
           "efficiency": 157, "effectiveness": 152, "contribution_prior": 142, "change_pct": 109}
# Every row of the table is one line this high, px (29 with its border: what Tabulator measured of each row, said
# once). Given, Tabulator no longer measures each row it draws, a forced layout of the page apiece: about 20 ms of a
# redraw grouped by audience, profiled in Chromium.
ROW_HEIGHT = 28
_TITLES = {"group": "Group", "contribution": "Incremental", "lo": "94% low", "hi": "94% high",
           "share": "Share of tx", "spend": "Spend", "impressions": "Impressions",
           "efficiency": "$ per incremental", "effectiveness": "Incr. per 1k impr.",
           "contribution_prior": "Incremental PY", "change_pct": "Δ vs PY %"}


_NO_RUN = '<div class="kpi-empty">No run in the store for this brand. Run <code>artemis sync</code>.</div>'


class _Table(pn.widgets.Tabulator):
    """Panel's Tabulator, without working out its column definitions and configuration again for a new value with the
    same columns (Measure's table always has the same): Panel does so on every value it is given, about a third of
    the server's time for the table in a redraw."""

    def _update_columns(self, event, model):
        if event.name == "value" and event.old is not None and event.new is not None and \
                list(event.old.columns) == list(event.new.columns):
            return
        super()._update_columns(event, model)


class MeasureView(pn.viewable.Viewer):
    """What each group contributed for the session's filters. Queries run off the event loop (in a
    worker thread) with the tab's loading indicator on; a failed query shows a notification and
    leaves the last good charts in place."""

    state = param.ClassSelector(class_=AppState, doc="The session's filters.")
    renders = param.Integer(default=0, doc="How many times the charts were drawn (tests and benchmarks wait on it).")

    def __init__(self, **params):
        super().__init__(**params)
        self._data: MeasureData | None = None
        self._shown: MeasureData | None = None
        self._token = 0
        self._origin: str | None = None  # the chart the current selection was made in
        self._selected: tuple | None = None  # (answer, selection, what select() made of them), the latest
        self._kpis = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["kpi-row"],
                                 stylesheets=[stylesheet()])
        self._area_chart, self._waterfall_chart = charts.StackedArea(), charts.Waterfall()
        self._bars_chart, self._bubbles_chart = charts.IntervalBars(), charts.Bubbles()
        self._bars_chart.on_pick(lambda groups: self._picked(groups, "bars"))
        self._bubbles_chart.on_pick(lambda groups: self._picked(groups, "bubbles"))
        self._area = pn.pane.Bokeh(self._area_chart.fig, sizing_mode="stretch_width")
        self._waterfall = pn.pane.Bokeh(self._waterfall_chart.fig, sizing_mode="stretch_width")
        self._bars = pn.pane.Bokeh(self._bars_chart.fig, sizing_mode="stretch_width")
        self._bubbles = pn.pane.Bokeh(self._bubbles_chart.fig, sizing_mode="stretch_width")
        self._table = _Table(
            None, show_index=False, disabled=True, sizing_mode="stretch_width", layout="fit_data_stretch",
            formatters=_TABLE_FORMATS, titles=_TITLES, widths=_WIDTHS, css_classes=["measure-table"], height=320,
            configuration={"rowHeight": ROW_HEIGHT})
        self._download = pn.widgets.FileDownload(
            callback=self._csv, filename="artemis-measure.csv", label="Download CSV", button_type="primary",
            embed=False, width=160, css_classes=["measure-download"])
        self._clear = pn.widgets.Button(label="Clear selection", width=140, disabled=True)
        self._clear.on_click(lambda _e: setattr(self.state, "selection", []))
        self._note = pn.pane.Markdown("", css_classes=["selection-note"], margin=(0, 10))
        self._prior = pn.widgets.Checkbox.from_param(self.state.param.prior_year, name="Show prior year")
        self._layout = pn.Column(
            self._kpis,
            pn.Row(self._clear, self._note, sizing_mode="stretch_width"),
            self._area,
            pn.Row(self._waterfall, self._bars, sizing_mode="stretch_width"),
            pn.Row(pn.Column(self._prior, self._bubbles, sizing_mode="stretch_width"),
                   pn.Column(pn.Row(pn.pane.Markdown("#### Numbers by group"), pn.Spacer(), self._download,
                                    sizing_mode="stretch_width"),
                             self._table, sizing_mode="stretch_width"),
                   sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )
        self.state.param.watch(self._filters_changed, ["run_id", "date_range", "audiences", "group_by", "channels"])
        self.state.param.watch(self._selection_changed, ["selection"])
        self.state.param.watch(lambda _e: self._draw(), ["prior_year"])

    def __panel__(self):
        return self._layout

    def show(self) -> None:
        """The tab is shown: the first draw (later ones follow the filters)."""
        if self._data is None and self.renders == 0:
            self.schedule_reload()

    # ------------------------------------------------------------------ loading
    def _filters_changed(self, *_events) -> None:
        self.schedule_reload()

    def schedule_reload(self) -> None:
        """Reload off the event loop when served; at once otherwise (scripts, unit tests)."""
        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            pn.state.execute(self._reload_async, schedule=True)
        else:
            self.reload()

    def _ask(self) -> MeasureData | None:
        s = self.state
        if not s.run_id:
            return None
        data = load_measure(s.reader, s.run_id, s.group_by, s.filters())
        # Drawn here too, off the event loop: the redraw there then only shows the drawing. A drawing is kept with
        # its answer, and answers are shared, so a session asking what another asked before is drawn nothing anew.
        self._drawing(data, self._select(data))
        return data

    def reload(self) -> None:
        """Ask the store and redraw, in this thread."""
        self._token += 1
        try:
            data = self._ask()
        except Exception as e:  # noqa: BLE001 - any failure is the user's to see, not a broken page
            self._failed(e)
            return
        self._loaded(data)

    async def _reload_async(self) -> None:
        self._token += 1
        token = self._token
        doc = pn.state.curdoc
        task = asyncio.ensure_future(asyncio.to_thread(self._ask))
        # the loading indicator only for an answer that keeps the user waiting: flashing it on a fast
        # one costs the browser two layouts of the whole tab for nothing
        done, _ = await asyncio.wait({task}, timeout=LOADING_DELAY_S)
        if not done and token == self._token:
            self._layout.loading = True
        try:
            data = await task
        except Exception as e:  # noqa: BLE001
            data, error = None, e
        else:
            error = None

        if token != self._token:  # a newer change is being answered
            return
        # Drawn here, on the server's event loop thread, outside Bokeh's document lock (Panel runs this coroutine
        # as an unlocked callback): Panel then writes every change held below (the charts, the table, the cards)
        # to the browser as one message, which applies them together and lays the tab out once. From a locked
        # next-tick callback Bokeh sent each change as a message of its own (about 40 per redraw), and the
        # browser handled them one by one (measured, one session: p50 232 -> 197 ms, browser CPU 233 -> 206 ms
        # a redraw).
        with hold(doc):
            try:
                if error is not None:
                    self._failed(error)
                else:
                    self._loaded(data)
            finally:
                self._layout.loading = False

    def _failed(self, e: Exception) -> None:
        log.exception("Measure query failed")
        msg = f"Measure: the store could not answer ({type(e).__name__}: {e})"
        if pn.state.notifications is not None:
            pn.state.notifications.error(msg, duration=8000)
        self._note.object = f"⚠️ {html.escape(msg)}"

    def _loaded(self, data: MeasureData | None) -> None:
        self._data = data
        if data is not None:
            keep = [g for g in self.state.selection if g in set(data.groups)]
            if keep != list(self.state.selection):
                self._origin = None
                self.state.selection = keep  # (redraws through _selection_changed)
                return
        self._draw()

    # ------------------------------------------------------------------ selection
    def _selection_changed(self, *_events) -> None:
        if not self.state.selection:
            self._origin = None
        self._draw(skip=self._origin)

    def _picked(self, groups: list[str], origin: str) -> None:
        """Groups picked in a chart (tap, shift-tap, box select; none: the selection was cleared there)."""
        if groups == list(self.state.selection):
            return
        self._origin = origin if groups else None
        self.state.selection = groups

    # ------------------------------------------------------------------ drawing
    def _draw(self, skip: str | None = None) -> None:
        """Draw every chart (all but ``skip``, the chart the selection was made in) from the loaded data,
        sent to the browser as one change."""
        with hold(pn.state.curdoc):
            self._draw_now(skip)

    def _select(self, data: MeasureData) -> MeasureData:
        """What the session's selection leaves of ``data`` (the answer itself when nothing is selected), made once
        per answer and selection."""
        selection = tuple(self.state.selection)
        last = self._selected
        if last is not None and last[0] is data and last[1] == selection:
            return last[2]
        shown = select(data, selection)
        self._selected = (data, selection, shown)
        return shown

    def _drawing(self, data: MeasureData, shown: MeasureData) -> dict:
        """Everything the charts and cards will show of ``shown`` (``data`` with the selection applied), worked out
        once and kept with it (see ``MeasureData.kept``); colours by group from the whole answer, so a group keeps
        its colour when others are selected away."""
        s = self.state
        label, prior = s.group_label, s.prior_year

        def palette() -> dict[str, str]:
            groups = data.groups + [g for g in data.over_time.group.unique() if g not in data.groups]
            return charts.colors(["Baseline", "Controls", "Holidays", *groups])

        def draw() -> dict:
            colors = data.kept("palette", palette)
            return {"area": charts.StackedArea.draw(shown.over_time, label, colors),
                    "waterfall": charts.Waterfall.draw(shown.waterfall),
                    "bars": charts.IntervalBars.draw(shown.intervals, label, colors),
                    "bubbles": charts.Bubbles.draw(shown.drivers, shown.drivers_prior if prior else None, label,
                                                   colors),
                    "kpis": self._kpi_html(shown) if shown.kpis else _NO_RUN}

        return shown.kept(("drawing", label, prior), draw)

    def _draw_now(self, skip: str | None) -> None:
        s = self.state
        data = self._data if self._data is not None else MeasureData.empty_of(s.group_by)
        shown = self._select(data)
        drawing = self._drawing(data, shown)
        label = s.group_label
        self._area_chart.show(drawing["area"])
        self._waterfall_chart.show(drawing["waterfall"])
        if skip != "bars":
            self._bars_chart.show(drawing["bars"])
        if skip != "bubbles":
            self._bubbles_chart.show(drawing["bubbles"])
        self._table.value = shown.table_frame.copy()  # (a copy: the table widget's own, the answer stays shared)
        self._download.filename = f"artemis-measure-{s.run_id}-{s.group_by}.csv".replace(":", "-")
        self._clear.disabled = not s.selection
        self._note.object = (f"Selected: **{', '.join(s.selection)}** — the other charts and the table show "
                             f"only these {label.lower()} groups." if s.selection else "")
        self._shown = shown
        self.renders += 1
        # Last, and as one change: the cards and the status marker. The browser lays the whole page out again when
        # an HTML pane changes; after every chart's new data it is the one layout the redraw needs (each HTML
        # change, and each chart whose size changed after it, cost one more).
        self._kpis.object = drawing["kpis"] + self._status_html()

    def _status_html(self) -> str:
        """A hidden marker saying what is drawn (tests and benchmarks read it; users never see it)."""
        d = self._shown
        groups = "|".join(d.groups) if d is not None else ""
        total = f"{d.over_time.contribution.sum():.6g}" if d is not None else ""
        return (f'<span class="measure-status" data-renders="{self.renders}" '
                f'data-group-by="{html.escape(self.state.group_by)}" data-groups="{html.escape(groups)}" '
                f'data-total="{total}" data-selection="{html.escape("|".join(self.state.selection))}"></span>')

    def _kpi_html(self, data: MeasureData) -> str:
        k = data.kpis
        cards = []
        for c in kpi_cards(k):
            tone = {True: "good", False: "bad", None: "neutral"}[c["good"]]
            cards.append(
                f'<div class="kpi-card" data-kpi="{c["name"]}"><div class="kpi-title">{html.escape(c["title"])}</div>'
                f'<div class="kpi-value">{html.escape(c["value"])}</div>'
                f'<div class="kpi-change {tone}" title="prior year: {html.escape(c["prior"])}">'
                f'{html.escape(c["change"])}</div></div>')
        span = ""
        if k.get("start"):
            span = f'{k["start"]:%d %b %Y} – {k["end"]:%d %b %Y} ({k["weeks"]} weeks)'
            if k.get("prior_weeks"):
                span += f' · prior year {k["prior_start"]:%d %b %Y} – {k["prior_end"]:%d %b %Y}'
                if k["prior_weeks"] < k["weeks"]:
                    span += f' (only {k["prior_weeks"]} weeks in the run)'
        return f'<div class="kpi-span">{html.escape(span)}</div><div class="kpi-cards">{"".join(cards)}</div>'

    def _csv(self) -> io.StringIO:
        shown = self._shown
        return io.StringIO(table_csv(shown) if shown is not None else "")
