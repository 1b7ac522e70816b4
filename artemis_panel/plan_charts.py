"""The Forecast and Maximize tabs' charts: Bokeh figures made once per session, updated in place through
their ``ColumnDataSource``s (as the Measure charts are)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from bokeh.models import ColumnDataSource, FactorRange, HoverTool, Legend, NumeralTickFormatter
from bokeh.transform import dodge

from artemis_panel import formatting as fmt
from artemis_panel.charts import _Chart, _figure

from artemis_panel.charts import _count_ticks as _count


def _money() -> NumeralTickFormatter:
    return NumeralTickFormatter(format="$0.[0]a")


def _empty(keys) -> dict:
    return {k: [] for k in keys}


class ForecastChart(_Chart):
    """Expected transactions per week with 50% and 94% bands, last year's actuals, and (optionally) a
    second scenario's line to compare with."""

    KEYS = ("date", "mean", "lo50", "hi50", "lo94", "hi94", "last_year", "actual", "tip_mean", "tip_band",
            "tip_ly", "tip_spend")

    def __init__(self):
        fig = _figure(x_axis_type="datetime", title="Forecast: expected transactions per week")
        super().__init__(fig)
        fig.height = 380
        fig.yaxis.formatter = _count()
        self.source = ColumnDataSource(_empty(self.KEYS))
        self.other = ColumnDataSource(_empty(("date", "mean", "tip")))
        band94 = fig.varea("date", "lo94", "hi94", source=self.source, fill_color="#2f6fdf", fill_alpha=0.15)
        band50 = fig.varea("date", "lo50", "hi50", source=self.source, fill_color="#2f6fdf", fill_alpha=0.3)
        line = fig.line("date", "mean", source=self.source, line_color="#2f6fdf", line_width=2.5)
        dots = fig.scatter("date", "mean", source=self.source, size=6, color="#2f6fdf")
        ly = fig.line("date", "last_year", source=self.source, line_color="#5c677d", line_dash="dashed", line_width=2)
        act = fig.scatter("date", "actual", source=self.source, marker="diamond", size=8, color="#1b263b")
        cmp_line = fig.line("date", "mean", source=self.other, line_color="#e4572e", line_width=2)
        self._legend = Legend(items=[("Forecast", [line, dots]), ("50% interval", [band50]),
                                     ("94% interval", [band94]), ("Last year (actual)", [ly]),
                                     ("Actual", [act]), ("Compared scenario", [cmp_line])],
                              location="top_left", click_policy="hide")
        fig.add_layout(self._legend, "below")
        fig.legend.orientation = "horizontal"
        fig.add_tools(HoverTool(renderers=[dots], tooltips=[
            ("Week", "@date{%F}"), ("Expected", "@tip_mean"), ("94%", "@tip_band"), ("Last year", "@tip_ly"),
            ("Spend", "@tip_spend")], formatters={"@date": "datetime"}))
        fig.add_tools(HoverTool(renderers=[cmp_line], tooltips=[("Compared", "@tip")], mode="vline"))

    def update(self, weekly: pd.DataFrame | None, compare: pd.DataFrame | None = None) -> None:
        if weekly is None or weekly.empty:
            self.source.data = _empty(self.KEYS)
            self.other.data = _empty(("date", "mean", "tip"))
            self._say("No forecast: pick a run with response draws.")
            return
        self._say("")
        self.source.data = {
            "date": weekly["date"].to_numpy(), "mean": weekly["transactions"].to_numpy(),
            "lo50": weekly["lo50"].to_numpy(), "hi50": weekly["hi50"].to_numpy(),
            "lo94": weekly["lo94"].to_numpy(), "hi94": weekly["hi94"].to_numpy(),
            "last_year": weekly["last_year"].to_numpy(), "actual": weekly["actual"].to_numpy(),
            "tip_mean": [fmt.number(v) for v in weekly["transactions"]],
            "tip_band": [f"{fmt.number(a)} – {fmt.number(b)}" for a, b in zip(weekly["lo94"], weekly["hi94"])],
            "tip_ly": [fmt.number(v) for v in weekly["last_year"]],
            "tip_spend": [fmt.money(v) for v in weekly["spend"]],
        }
        if compare is None or compare.empty:
            self.other.data = _empty(("date", "mean", "tip"))
        else:
            self.other.data = {"date": compare["date"].to_numpy(), "mean": compare["transactions"].to_numpy(),
                               "tip": [fmt.number(v) for v in compare["transactions"]]}


class AllocationBars(_Chart):
    """Current vs optimal spend per variable, side by side."""

    KEYS = ("variable", "current", "optimal", "tip_current", "tip_optimal", "mc_current", "mc_optimal")

    def __init__(self):
        fig = _figure(x_range=FactorRange(), title="Spend per variable: current vs optimal")
        super().__init__(fig)
        fig.height = 380
        fig.yaxis.formatter = _money()
        fig.xaxis.major_label_orientation = 0.9
        self.source = ColumnDataSource(_empty(self.KEYS))
        cur = fig.vbar(x=dodge("variable", -0.18, range=fig.x_range), top="current", width=0.34, source=self.source,
                       fill_color="#8d99ae", line_color=None, legend_label="current")
        opt = fig.vbar(x=dodge("variable", 0.18, range=fig.x_range), top="optimal", width=0.34, source=self.source,
                       fill_color="#2f6fdf", line_color=None, legend_label="optimal")
        fig.legend.location = "top_right"
        fig.add_tools(HoverTool(renderers=[cur, opt], tooltips=[
            ("", "@variable"), ("Current", "@tip_current (marginal @mc_current per transaction)"),
            ("Optimal", "@tip_optimal (marginal @mc_optimal per transaction)")]))

    def update(self, table: pd.DataFrame | None) -> None:
        if table is None or table.empty:
            self.fig.x_range.factors = []
            self.source.data = _empty(self.KEYS)
            self._say("Set a budget and press Optimise.")
            return
        self._say("")
        self.fig.x_range.factors = table["variable"].tolist()
        self.source.data = {
            "variable": table["variable"].tolist(), "current": table["current"].to_numpy(),
            "optimal": table["optimal"].to_numpy(),
            "tip_current": [fmt.money(v) for v in table["current"]],
            "tip_optimal": [fmt.money(v) for v in table["optimal"]],
            "mc_current": [fmt.money(v) for v in table["marginal_cost_current"]],
            "mc_optimal": [fmt.money(v) for v in table["marginal_cost_optimal"]],
        }


class ResponseCurve(_Chart):
    """One variable's incremental transactions against its budget over the period: the posterior mean
    with its 94% band, and the current and optimal points."""

    def __init__(self):
        fig = _figure(title="Response curve")
        super().__init__(fig)
        fig.height = 360
        fig.xaxis.formatter = _money()
        fig.yaxis.formatter = _count()
        fig.xaxis.axis_label = "budget over the period"
        fig.yaxis.axis_label = "incremental transactions"
        self.curve = ColumnDataSource(_empty(("budget", "mean", "lo", "hi", "tip", "mc")))
        self.points = ColumnDataSource(_empty(("budget", "mean", "label", "color", "tip")))
        fig.varea("budget", "lo", "hi", source=self.curve, fill_color="#2f6fdf", fill_alpha=0.18)
        line = fig.line("budget", "mean", source=self.curve, line_color="#2f6fdf", line_width=2.5)
        pts = fig.scatter("budget", "mean", source=self.points, size=12, color="color", legend_field="label")
        fig.legend.location = "bottom_right"
        fig.add_tools(HoverTool(renderers=[line], mode="vline", tooltips=[
            ("Budget", "@budget{$0,0}"), ("Incremental", "@tip"), ("Marginal $ per transaction", "@mc")]))
        fig.add_tools(HoverTool(renderers=[pts], tooltips=[("", "@label"), ("", "@tip")]))

    def update(self, variable: str | None, budgets: np.ndarray | None = None, draws: np.ndarray | None = None,
               points: list[tuple[str, float, float, str]] | None = None) -> None:
        if variable is None or draws is None:
            self.curve.data = _empty(("budget", "mean", "lo", "hi", "tip", "mc"))
            self.points.data = _empty(("budget", "mean", "label", "color", "tip"))
            return
        mean = draws.mean(axis=0)
        lo, hi = np.quantile(draws, 0.03, axis=0), np.quantile(draws, 0.97, axis=0)
        slope = np.gradient(mean, budgets)
        with np.errstate(divide="ignore"):
            mc = np.where(slope > 0, 1 / slope, np.nan)
        self.fig.title.text = f"Response curve: {variable}"
        self.curve.data = {"budget": budgets, "mean": mean, "lo": lo, "hi": hi,
                           "tip": [fmt.number(v) for v in mean], "mc": [fmt.money(v) for v in mc]}
        pts = points or []
        self.points.data = {"budget": [p[1] for p in pts], "mean": [p[2] for p in pts],
                            "label": [p[0] for p in pts], "color": [p[3] for p in pts],
                            "tip": [f"{fmt.money(p[1])} → {fmt.number(p[2])}" for p in pts]}


class SweepChart(_Chart):
    """Total budget → optimal (and current-split) expected incremental transactions."""

    def __init__(self):
        fig = _figure(title="Budget sweep: what each total budget buys when split optimally")
        super().__init__(fig)
        fig.height = 360
        fig.xaxis.formatter = _money()
        fig.yaxis.formatter = _count()
        fig.xaxis.axis_label = "total budget"
        fig.yaxis.axis_label = "incremental transactions"
        self.source = ColumnDataSource(_empty(("budget", "incremental", "lo94", "hi94", "current", "tip", "cpi")))
        fig.varea("budget", "lo94", "hi94", source=self.source, fill_color="#2f6fdf", fill_alpha=0.15)
        opt = fig.line("budget", "incremental", source=self.source, line_color="#2f6fdf", line_width=2.5,
                       legend_label="optimal split")
        fig.scatter("budget", "incremental", source=self.source, size=7, color="#2f6fdf")
        fig.line("budget", "current", source=self.source, line_color="#8d99ae", line_dash="dashed", line_width=2,
                 legend_label="current split")
        fig.legend.location = "bottom_right"
        fig.add_tools(HoverTool(renderers=[opt], mode="vline", tooltips=[
            ("Budget", "@budget{$0,0}"), ("Incremental", "@tip"), ("$ per incremental", "@cpi")]))

    def update(self, sweep: pd.DataFrame | None) -> None:
        if sweep is None or sweep.empty:
            self.source.data = _empty(("budget", "incremental", "lo94", "hi94", "current", "tip", "cpi"))
            self._say("Press 'Budget sweep' to see what other budgets buy.")
            return
        self._say("")
        self.source.data = {
            "budget": sweep["budget"].to_numpy(), "incremental": sweep["incremental"].to_numpy(),
            "lo94": sweep["lo94"].to_numpy(), "hi94": sweep["hi94"].to_numpy(),
            "current": sweep["incremental_current"].to_numpy(),
            "tip": [fmt.number(v) for v in sweep["incremental"]],
            "cpi": [fmt.money(v) for v in sweep["cost_per_incremental"]],
        }


__all__ = ["ForecastChart", "AllocationBars", "ResponseCurve", "SweepChart"]
