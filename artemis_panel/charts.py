"""The Measure tab's charts: Bokeh figures made once per session and updated in place.

Each chart owns its figure and ``ColumnDataSource``; a filter change replaces the source's data (a few
dozen rows), so it costs milliseconds instead of rebuilding plots. A chart is drawn in two steps:
``draw(frame, ...)``, a static method, works out everything the chart will show (its sources' columns, axis
ranges and factors, title) from the data alone, touching no model, so it can run in any thread and its result
can be kept with a shared answer and shown by every session that asks the same; ``show(drawing)`` sets the
models from it. ``update(frame, ...)`` does both. Hover tooltips show preformatted figures ($, k, M, %). The bars
and the bubbles are selectable (tap, box select): their ``selected`` callbacks report the picked groups.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
from bokeh.models import ColumnDataSource, FactorRange, HoverTool, Label, NumeralTickFormatter, Range1d, Whisker
from bokeh.plotting import figure

from artemis_panel import formatting as fmt
from artemis_panel.measure_data import stack_steps

FIXED_COLORS = {"Baseline": "#c9ced6", "Controls": "#8d99ae", "Holidays": "#f2c14e"}
PALETTE = ["#2f6fdf", "#e4572e", "#17bebb", "#76b041", "#a259c4", "#ff9f1c", "#d1495b", "#00798c",
           "#6c757d", "#edae49", "#3d405b", "#81b29a", "#f28482", "#84a59d", "#5e548e", "#9c6644"]
KIND_COLORS = {"baseline": "#c9ced6", "controls": "#8d99ae", "holidays": "#f2c14e", "media": "#2f6fdf",
               "total": "#1b263b"}
# Tools: hover on every chart, tap and box select where groups are picked, save (PNG) everywhere, and pan and zoom
# along the weeks of the time chart only. (Zooming a bar chart of a dozen groups helps nobody; each tool is Bokeh
# models to build and send for every page, and buttons to draw.)
TOOLS = "save"
TIME_TOOLS = "xpan,xwheel_zoom,reset,save"
# Groups drawn one by one on a categorical axis (bars, waterfall steps) and bubbles labelled by name: a readable
# chart, and a cheap redraw (the browser measures every axis label again on each one; 94 rotated audience
# names made a redraw several times slower). The rest stay in the table, which lists every group.
MAX_CATEGORIES = 15
MAX_BANDS = 12  # media groups stacked one by one over time; the rest are summed into "Other media"
DAY_MS = 86_400_000.0


def _count_ticks() -> NumeralTickFormatter:  # (a Bokeh model belongs to one document: one per figure)
    return NumeralTickFormatter(format="0.[0]a")


def colors(groups: list[str]) -> dict[str, str]:
    """A stable colour per group: fixed ones for Baseline / Controls / Holidays, the palette for media."""
    out, i = {}, 0
    for g in groups:
        if g in FIXED_COLORS:
            out[g] = FIXED_COLORS[g]
        else:
            out[g] = PALETTE[i % len(PALETTE)]
            i += 1
    return out


def _figure(tools: str = TOOLS, **kw) -> figure:
    """A chart's figure. Its numeric axes have explicit ranges, set from the data on each update (:func:`_span`):
    the browser then knows every axis's extent when it lays the page out once after a redraw, where ranges it
    worked out itself while painting changed the axes' size and made it lay the whole page out again, chart
    by chart."""
    kw.setdefault("x_range", Range1d(0, 1))
    kw.setdefault("y_range", Range1d(0, 1))
    fig = figure(height=340, sizing_mode="stretch_width", tools=tools, toolbar_location="above", **kw)
    fig.title.text_font_size = "13px"
    fig.outline_line_color = None
    fig.grid.grid_line_alpha = 0.4
    return fig


def _span(*values, pad: float = 0.05, zero: bool = True) -> tuple[float, float]:
    """The range spanning ``values`` (arrays; NaNs ignored) with ``pad`` of the span either side; with ``zero``
    the span includes 0 (the baseline of bars and areas), not padded below it when all values are positive."""
    xs = np.concatenate([np.asarray(v, dtype=float).ravel() for v in values] or [np.zeros(0)])
    xs = xs[np.isfinite(xs)]
    if xs.size == 0:
        lo, hi = 0.0, 1.0
    else:
        lo, hi = float(xs.min()), float(xs.max())
        if zero:
            lo, hi = min(lo, 0.0), max(hi, 0.0)
        span = hi - lo if hi > lo else max(abs(hi), 1.0)
        lo = lo if zero and lo == 0.0 else lo - pad * span
        hi = hi if zero and hi == 0.0 else hi + pad * span
        if hi <= lo:  # (nothing but zeros, or one value and no padding)
            lo, hi = (lo, lo + 1.0) if zero else (lo - 0.5 * span, hi + 0.5 * span)
    return lo, hi


def _set_range(rng: Range1d, span: tuple[float, float]) -> None:
    """Set a range to ``span`` (from :func:`_span`); zoom's reset returns to it."""
    lo, hi = span
    rng.update(start=lo, end=hi, reset_start=lo, reset_end=hi)


def _frozen(data: dict) -> dict:
    """A drawing's column data, its arrays made read-only: one drawing is shown by every session that asks the same
    question, so no session's source may change it in place."""
    for v in data.values():
        for a in (v if isinstance(v, list) else [v]):
            if isinstance(a, np.ndarray):
                a.flags.writeable = False
    return data


class _Chart:
    """A figure with a message shown when there is nothing to draw."""

    def __init__(self, fig: figure):
        self.fig = fig
        self._message = Label(x=10, y=150, x_units="screen", y_units="screen", text="", text_color="#5c677d")
        fig.add_layout(self._message)

    def _say(self, text: str) -> None:
        self._message.text = text


class StackedArea(_Chart):
    """Weekly contributions stacked: baseline, controls and holidays at the bottom, then media groups."""

    def __init__(self):
        super().__init__(_figure(TIME_TOOLS, x_axis_type="datetime", title="Contributions over time"))
        self.bands = ColumnDataSource({"xs": [], "ys": [], "group": [], "color": [], "total": []})
        self.weeks = ColumnDataSource({"date": [], "top": [], "group": [], "value": []})
        bands = self.fig.patches("xs", "ys", source=self.bands, fill_color="color", line_color=None,
                                 fill_alpha=0.88, legend_field="group")
        dots = self.fig.scatter("date", "top", source=self.weeks, size=6, alpha=0)
        self.fig.add_tools(HoverTool(renderers=[dots], tooltips=[("group", "@group"), ("week", "@date{%F}"),
                                                                  ("contribution", "@value{0.[0]a}")],
                                     formatters={"@date": "datetime"}, mode="mouse"))
        self.fig.add_tools(HoverTool(renderers=[bands], tooltips=[("group", "@group"), ("period", "@total")]))
        legend = self.fig.legend[0]
        self.fig.center.remove(legend)
        self.fig.add_layout(legend, "right")
        legend.label_text_font_size = "11px"
        legend.click_policy = "hide"
        self.fig.yaxis.formatter = _count_ticks()
        self.fig.yaxis.axis_label = "Transactions"

    def update(self, over_time: pd.DataFrame, group_label: str, palette: dict[str, str]) -> None:
        self.show(self.draw(over_time, group_label, palette))

    @staticmethod
    def draw(over_time: pd.DataFrame, group_label: str, palette: dict[str, str]) -> dict:
        """The stack: one band per group (media groups beyond ``MAX_BANDS`` summed into "Other media"), the weekly
        points the hover reads, and the axes' ranges."""
        title = f"Contributions over time by {group_label.lower()}"
        if over_time.empty:
            return {"title": title, "message": "No data for these filters", "bands": None, "weeks": None}
        # (groupby + unstack: the same frame as pivot_table in a third of its time)
        wide = over_time.groupby(["date", "group"]).contribution.sum().unstack(fill_value=0.0)
        fixed = [g for g in FIXED_COLORS if g in wide.columns]
        media = (over_time[over_time.kind_group == "media"].groupby("group").contribution.sum()
                 .sort_values(ascending=False).index.tolist())
        if len(media) > MAX_BANDS:  # a readable stack: the largest groups, then the rest together
            rest = media[MAX_BANDS - 1:]
            wide["Other media"] = wide[rest].sum(axis=1)
            media = media[:MAX_BANDS - 1] + ["Other media"]
        dates = pd.to_datetime(wide.index).to_numpy(dtype="datetime64[ms]").astype("int64").astype(float)
        order = fixed + media
        values = wide[order].to_numpy(dtype=float).T  # (a row per band)
        tops = np.cumsum(values, axis=0)
        bottoms = tops - values
        n = len(dates)
        bands = {"xs": [np.concatenate([dates, dates[::-1]]) for _ in order],
                 "ys": [np.concatenate([top, bottom[::-1]]) for top, bottom in zip(tops, bottoms)],
                 "group": order, "color": [palette.get(g, "#999999") for g in order],
                 "total": [f"{fmt.number(v)} transactions" for v in values.sum(axis=1)]}
        weeks = {"date": np.tile(dates, len(order)), "top": tops.ravel(),
                 "group": [g for g in order for _ in range(n)], "value": values.ravel()}
        x = _span(dates, *([dates - 3.5 * DAY_MS, dates + 3.5 * DAY_MS] if n == 1 else []), pad=0.0, zero=False)
        return {"title": title, "message": "", "bands": _frozen(bands), "weeks": _frozen(weeks), "x": x,
                "y": _span(*bands["ys"])}

    def show(self, drawing: dict) -> None:
        self.fig.title.text = drawing["title"]
        self._say(drawing["message"])
        if drawing["bands"] is None:
            self.bands.data = {k: [] for k in self.bands.data}
            self.weeks.data = {k: [] for k in self.weeks.data}
            return
        self.bands.data = drawing["bands"]
        self.weeks.data = drawing["weeks"]
        _set_range(self.fig.x_range, drawing["x"])
        _set_range(self.fig.y_range, drawing["y"])


def fold_media_steps(steps: pd.DataFrame, most: int) -> pd.DataFrame:
    """A waterfall with at most ``most`` media steps: the largest ``most - 1`` and one "Other media (N)" step
    summing the rest (which come last, as the store orders media steps largest first); the total is unchanged."""
    media = np.flatnonzero((steps.kind == "media").to_numpy())
    if len(media) <= most:
        return steps
    rest = media[most - 1:]
    body = np.setdiff1d(np.flatnonzero((steps.kind != "total").to_numpy()), rest)
    values = steps.value.fillna(0.0).to_numpy(dtype=float)
    names, kinds = steps.step.to_numpy(dtype=object), steps.kind.to_numpy(dtype=object)
    return stack_steps([*names[body], f"Other media ({len(rest)})"], np.append(values[body], values[rest].sum()),
                      [*kinds[body], "media"])


class Waterfall(_Chart):
    """Baseline → controls → holidays → media groups → total, as floating bars."""

    def __init__(self):
        super().__init__(_figure(x_range=FactorRange(), title="Decomposition of transactions"))
        self.source = ColumnDataSource({"step": [], "start": [], "end": [], "color": [], "value": [], "share": []})
        bars = self.fig.vbar(x="step", bottom="start", top="end", width=0.76, source=self.source,
                             fill_color="color", line_color="white")
        self.fig.add_tools(HoverTool(renderers=[bars], tooltips=[("step", "@step"), ("transactions", "@value"),
                                                                 ("share of total", "@share")]))
        self.fig.xaxis.major_label_orientation = 0.7
        self.fig.yaxis.formatter = _count_ticks()
        self.fig.yaxis.axis_label = "Transactions"

    def update(self, steps: pd.DataFrame) -> None:
        self.show(self.draw(steps))

    @staticmethod
    def draw(steps: pd.DataFrame) -> dict:
        """The steps (the smallest media ones folded), their colours and hover texts, and the value axis's range."""
        if steps.empty:
            return {"message": "No data for these filters", "source": None, "factors": []}
        steps = fold_media_steps(steps, MAX_CATEGORIES)
        total = steps.value.iloc[-1]
        start, end = steps.start.fillna(0.0).to_numpy(dtype=float), steps.end.fillna(0.0).to_numpy(dtype=float)
        names = steps.step.tolist()
        return {"message": "", "factors": names, "y": _span(start, end), "source": {
            "step": names, "start": start.tolist(), "end": end.tolist(),
            "color": [KIND_COLORS.get(k, "#2f6fdf") for k in steps.kind],
            "value": [fmt.number(v) for v in steps.value],
            "share": [fmt.percent(v / total) if total else "–" for v in steps.value],
        }}

    def show(self, drawing: dict) -> None:
        self._say(drawing["message"])
        if drawing["source"] is None:
            self.source.data = {k: [] for k in self.source.data}
            self.fig.x_range.factors = []
            return
        _set_range(self.fig.y_range, drawing["y"])
        self.fig.x_range.factors = drawing["factors"]
        self.source.data = drawing["source"]


class _Selectable(_Chart):
    """A chart whose source's rows are groups the user can pick (tap, shift-tap, box select)."""

    source: ColumnDataSource

    def __init__(self, fig: figure):
        super().__init__(fig)
        self._on_pick: Callable[[list[str]], None] | None = None
        self._quiet = False

    def on_pick(self, callback: Callable[[list[str]], None]) -> None:
        self._on_pick = callback
        self.source.selected.on_change("indices", self._picked)

    def _picked(self, _attr, _old, new) -> None:
        if self._quiet or self._on_pick is None:
            return
        groups = self.source.data["group"]
        self._on_pick([groups[i] for i in new if 0 <= i < len(groups)])

    def _set(self, data: dict) -> None:
        """New rows, and no selection (its indices were of the old rows)."""
        self._quiet = True
        try:
            self.source.selected.indices = []
            self.source.data = data
        finally:
            self._quiet = False


class IntervalBars(_Selectable):
    """Incremental transactions per media group with 94% intervals."""

    def __init__(self):
        self.source = ColumnDataSource({"group": [], "contribution": [], "lo": [], "hi": [], "color": [],
                                        "value": [], "interval": [], "spend": []})
        super().__init__(_figure(x_range=FactorRange(), title="Incremental transactions (94% interval)"))
        bars = self.fig.vbar(x="group", top="contribution", width=0.72, source=self.source, fill_color="color",
                             line_color="white", nonselection_fill_alpha=0.25, selection_fill_alpha=1.0)
        self.fig.add_layout(Whisker(source=self.source, base="group", upper="hi", lower="lo", line_color="#1b263b",
                                    line_width=1.5))
        self.fig.add_tools(HoverTool(renderers=[bars], tooltips=[("group", "@group"), ("incremental", "@value"),
                                                                 ("94% interval", "@interval"), ("spend", "@spend")]))
        self.fig.add_tools("tap", "box_select")
        self.fig.xaxis.major_label_orientation = 0.7
        self.fig.yaxis.formatter = _count_ticks()
        self.fig.yaxis.axis_label = "Incremental transactions"

    def update(self, intervals: pd.DataFrame, group_label: str, palette: dict[str, str]) -> None:
        self.show(self.draw(intervals, group_label, palette))

    @staticmethod
    def draw(intervals: pd.DataFrame, group_label: str, palette: dict[str, str]) -> dict:
        """The largest groups' bars with their intervals and hover texts, and the value axis's range."""
        title = f"Incremental transactions by {group_label.lower()} (94% interval)"
        if len(intervals) > MAX_CATEGORIES:  # (the store orders them largest first)
            title += f" · largest {MAX_CATEGORIES} of {len(intervals)}, all in the table"
            intervals = intervals.iloc[:MAX_CATEGORIES]
        groups = intervals.group.tolist()
        return {"title": title, "message": "" if not intervals.empty else "No media in these filters",
                "y": _span(intervals.contribution, intervals.lo, intervals.hi), "factors": groups, "source": {
                    "group": groups,
                    "contribution": intervals.contribution.tolist(),
                    "lo": intervals.lo.tolist(), "hi": intervals.hi.tolist(),
                    "color": [palette.get(g, "#2f6fdf") for g in groups],
                    "value": [fmt.number(v) for v in intervals.contribution],
                    "interval": [f"{fmt.number(a)} – {fmt.number(b)}" + (" (approx.)" if ap else "")
                                 for a, b, ap in zip(intervals.lo, intervals.hi, intervals.approximate)],
                    "spend": [fmt.money(v) for v in intervals.spend],
                }}

    def show(self, drawing: dict) -> None:
        self.fig.title.text = drawing["title"]
        self._say(drawing["message"])
        _set_range(self.fig.y_range, drawing["y"])
        self.fig.x_range.factors = drawing["factors"]
        self._set(drawing["source"])


class Bubbles(_Selectable):
    """Efficiency (x, spend per incremental transaction) against effectiveness (y, incremental
    transactions per 1,000 impressions); bubble area by spend, colour by group; the prior year as
    dashed hollow bubbles when asked. Every group is a bubble (its name in the tooltip); the largest
    spenders are labelled by name on the chart."""

    _COLS = ("group", "label", "efficiency", "effectiveness", "size", "color", "when", "efficiency_text",
             "effectiveness_text", "spend_text", "contribution_text")

    def __init__(self):
        self.source = ColumnDataSource({c: [] for c in self._COLS})
        self.prior = ColumnDataSource({c: [] for c in self._COLS})
        super().__init__(_figure(title="Driver performance"))
        tips = [("group", "@group (@when)"), ("spend per incremental", "@efficiency_text"),
                ("incremental per 1k impressions", "@effectiveness_text"), ("spend", "@spend_text"),
                ("incremental", "@contribution_text")]
        past = self.fig.scatter("efficiency", "effectiveness", size="size", source=self.prior, fill_alpha=0,
                                line_color="color", line_width=2, line_dash="dashed")
        now = self.fig.scatter("efficiency", "effectiveness", size="size", source=self.source, fill_color="color",
                               line_color="white", fill_alpha=0.8, nonselection_fill_alpha=0.15,
                               selection_fill_alpha=0.95)
        self.fig.text("efficiency", "effectiveness", text="label", source=self.source, text_font_size="9pt",
                      text_color="#1b263b", text_align="center", text_baseline="middle")
        self.fig.add_tools(HoverTool(renderers=[now, past], tooltips=tips))
        self.fig.add_tools("tap", "box_select")
        self.fig.xaxis.axis_label = "Spend per incremental transaction ($)"
        self.fig.yaxis.axis_label = "Incremental transactions per 1k impressions"
        self.fig.xaxis.formatter = NumeralTickFormatter(format="$0,0.[00]")

    @staticmethod
    def _rows(df: pd.DataFrame, when: str, top: float, palette: dict[str, str]) -> dict:
        spend = df.spend.fillna(0).clip(lower=0).to_numpy(dtype=float)
        named = set(df.group.to_numpy()[np.argsort(-spend, kind="stable")[:MAX_CATEGORIES]])  # the largest spenders
        return {
            "group": df.group.tolist(), "label": [g if g in named else "" for g in df.group],
            "efficiency": df.efficiency.tolist(),
            "effectiveness": df.effectiveness.tolist(),
            "size": (8 + 40 * np.sqrt(spend / top)).tolist() if top > 0 else [12.0] * len(df),
            "color": [palette.get(g, "#2f6fdf") for g in df.group], "when": [when] * len(df),
            "efficiency_text": [fmt.money(v) for v in df.efficiency],
            "effectiveness_text": [fmt.number(v, 2) for v in df.effectiveness],
            "spend_text": [fmt.money(v) for v in df.spend],
            "contribution_text": [fmt.number(v) for v in df.contribution],
        }

    def update(self, drivers: pd.DataFrame, prior: pd.DataFrame | None, group_label: str,
               palette: dict[str, str]) -> None:
        self.show(self.draw(drivers, prior, group_label, palette))

    @classmethod
    def draw(cls, drivers: pd.DataFrame, prior: pd.DataFrame | None, group_label: str,
             palette: dict[str, str]) -> dict:
        """This period's bubbles and (with ``prior``) the prior year's, and the axes' ranges."""
        d = drivers.dropna(subset=["efficiency", "effectiveness"]).reset_index(drop=True)
        p = (prior.dropna(subset=["efficiency", "effectiveness"]).reset_index(drop=True)
             if prior is not None else drivers.iloc[0:0])
        top = max([float(x.spend.max()) for x in (d, p) if not x.empty] or [0.0])
        return {
            "title": f"Driver performance by {group_label.lower()}" + (" · prior year dashed" if prior is not None
                                                                       else ""),
            "message": "" if not d.empty else "No group has both spend per incremental transaction and impressions",
            # (room for the largest bubbles, up to 48 px across, at the edges)
            "x": _span(d.efficiency, p.efficiency, pad=0.12, zero=False),
            "y": _span(d.effectiveness, p.effectiveness, pad=0.12, zero=False),
            "prior": cls._rows(p, "prior year", top, palette), "source": cls._rows(d, "this period", top, palette),
        }

    def show(self, drawing: dict) -> None:
        self.fig.title.text = drawing["title"]
        self._say(drawing["message"])
        _set_range(self.fig.x_range, drawing["x"])
        _set_range(self.fig.y_range, drawing["y"])
        self.prior.data = drawing["prior"]
        self._set(drawing["source"])
