"""The Compare tab's Bokeh charts: a forest plot of cost per incremental transaction (one row per variable
and run, with its 94% interval) and contributions by group with the runs' bars side by side."""

from __future__ import annotations

import numpy as np
import pandas as pd
from bokeh.models import ColumnDataSource, FactorRange, HoverTool

from artemis_panel import formatting as fmt
from artemis_panel.charts import _Chart, _count_ticks, _figure
from artemis_panel.plan_charts import _empty, _money

PALETTE = ["#2f6fdf", "#e07b39", "#3a9d5d", "#9b59b6"]
CURVE = ("budget", "mean", "lo", "hi", "run")
POINT = ("budget", "mean", "run", "tip")


def _colors(runs: list[str], names: pd.Series) -> list[str]:
    return [PALETTE[runs.index(r) % len(PALETTE)] for r in names]


class ForestPlot(_Chart):
    KEYS = ("key", "run", "cpit", "lo", "hi", "color", "tip", "tip_band", "tip_roi")

    def __init__(self):
        fig = _figure(y_range=FactorRange(), x_axis_type="log", title="Cost per incremental transaction, 94% interval")
        super().__init__(fig)
        fig.xaxis.axis_label = "$ per incremental transaction (log scale)"
        fig.yaxis.group_label_orientation = "horizontal"  # the variable, once per group of runs
        fig.yaxis.major_label_text_font_size = "0px"  # the runs: told apart by colour (legend)
        fig.yaxis.major_tick_line_color = None
        self.source = ColumnDataSource(_empty(self.KEYS))
        fig.segment(x0="lo", y0="key", x1="hi", y1="key", source=self.source, line_color="color", line_width=2)
        dots = fig.scatter(x="cpit", y="key", source=self.source, fill_color="color", line_color="white", size=9,
                           legend_field="run")
        fig.legend.location = "top_right"
        fig.add_tools(HoverTool(renderers=[dots], tooltips=[("", "@tip"), ("94% interval", "@tip_band"),
                                                             ("transactions per $1k", "@tip_roi")]))

    def update(self, cpit: pd.DataFrame) -> None:
        if cpit.empty:
            self.fig.y_range.factors = []
            self.source.data = _empty(self.KEYS)
            self._say("Pick two runs or more.")
            return
        self._say("")
        runs = list(dict.fromkeys(cpit.run))
        d = cpit.sort_values(["variable", "run"], key=lambda s: s.map(runs.index) if s.name == "run" else s)
        keys = list(zip(d.variable, d.run))
        hi = np.where(np.isfinite(d.cpit_hi), d.cpit_hi, d.cpit * 10)
        self.fig.y_range.factors = keys
        self.fig.height = max(300, 18 * len(keys) + 90)
        self.source.data = {
            "key": keys, "run": d.run.tolist(), "cpit": d.cpit.to_numpy(), "lo": d.cpit_lo.to_numpy(), "hi": hi, "color": _colors(runs, d.run),
            "tip": [f"{v} · {r}: {fmt.money(c)}" for v, r, c in zip(d.variable, d.run, d.cpit)],
            "tip_band": [f"{fmt.money(a)} – {fmt.money(b)}" + (" (approx.)" if ap else "")
                         for a, b, ap in zip(d.cpit_lo, d.cpit_hi, d.approximate)],
            "tip_roi": [fmt.number(r * 1000) for r in d.roi],
        }


class GroupBars(_Chart):
    KEYS = ("key", "run", "contribution", "color", "tip")

    def __init__(self):
        fig = _figure(x_range=FactorRange(), title="Incremental transactions by group")
        super().__init__(fig)
        fig.xaxis.group_label_orientation = 0.6  # the group, once per set of bars
        fig.xaxis.major_label_text_font_size = "0px"  # the runs: told apart by colour (legend)
        fig.yaxis.axis_label = "incremental transactions"
        fig.yaxis.formatter = _count_ticks()
        self.source = ColumnDataSource(_empty(self.KEYS))
        bars = fig.vbar(x="key", top="contribution", width=0.85, source=self.source, fill_color="color", line_color=None,
                        legend_field="run")
        fig.legend.location = "top_right"
        fig.add_tools(HoverTool(renderers=[bars], tooltips=[("", "@tip")]))

    def update(self, table: pd.DataFrame, group_label: str) -> None:
        self.fig.title.text = f"Incremental transactions by {group_label.lower()}"
        if table.empty:
            self.fig.x_range.factors = []
            self.source.data = _empty(self.KEYS)
            self._say("Pick two runs or more.")
            return
        self._say("")
        runs = list(dict.fromkeys(table.run))
        order = table.groupby("group").contribution.sum().sort_values(ascending=False).index.tolist()
        d = table.assign(_g=table.group.map(order.index), _r=table.run.map(runs.index)).sort_values(["_g", "_r"])
        keys = list(zip(d.group, d.run))
        self.fig.x_range.factors = keys
        self.source.data = {"key": keys, "run": d.run.tolist(), "contribution": d.contribution.to_numpy(), "color": _colors(runs, d.run),
                            "tip": [f"{g} · {r}: {fmt.number(c)} (spend {fmt.money(s)})"
                                    for g, r, c, s in zip(d.group, d.run, d.contribution, d.spend)]}


class CurvesChart(_Chart):
    """One media variable's response curve per run, overlaid, with 94% bands and each run's current budget."""

    def __init__(self, max_runs: int = 4):
        fig = _figure(title="Response curve")
        super().__init__(fig)
        fig.xaxis.axis_label = "budget over the period ($)"
        fig.yaxis.axis_label = "incremental transactions"
        fig.xaxis.formatter = _money()
        fig.yaxis.formatter = _count_ticks()
        self.sources, self.points = [], []
        for k in range(max_runs):
            color = PALETTE[k % len(PALETTE)]
            src = ColumnDataSource(_empty(CURVE))
            pt = ColumnDataSource(_empty(POINT))
            fig.varea(x="budget", y1="lo", y2="hi", source=src, fill_color=color, fill_alpha=0.15)
            fig.line(x="budget", y="mean", source=src, line_color=color, line_width=2)
            dot = fig.scatter(x="budget", y="mean", source=pt, fill_color=color, line_color="white", size=10,
                              legend_field="run")
            fig.add_tools(HoverTool(renderers=[dot], tooltips=[("", "@tip")]))
            self.sources.append(src)
            self.points.append(pt)
        fig.legend.location = "bottom_right"

    def update(self, curves: pd.DataFrame, variable: str) -> None:
        self.fig.title.text = f"Response curve: {variable}" if variable else "Response curve"
        runs = list(dict.fromkeys(curves.run)) if not curves.empty else []
        self._say("" if runs else "No response draws for this variable in the runs compared.")
        for k, (src, pt) in enumerate(zip(self.sources, self.points)):
            if k >= len(runs):
                src.data = _empty(CURVE)
                pt.data = _empty(POINT)
                continue
            d = curves[curves.run == runs[k]]
            src.data = {"budget": d.budget.to_numpy(), "mean": d["mean"].to_numpy(), "lo": d.lo.to_numpy(),
                        "hi": d.hi.to_numpy(), "run": d.run.tolist()}
            cur = float(d.current.iloc[0])
            y = float(np.interp(cur, d.budget, d["mean"]))
            pt.data = {"budget": [cur], "mean": [y], "run": [runs[k]],
                       "tip": [f"{runs[k]}: current {fmt.money(cur)} → {fmt.number(y)} transactions"]}
