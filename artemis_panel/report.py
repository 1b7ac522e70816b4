"""A self-contained HTML report of one run or a comparison of up to four: the fit metrics, the model
review, the cost per incremental transaction forest plot, contributions by group and the config
differences. BokehJS is inlined, so the file opens in any browser without a server or a network."""

from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import Sequence

import pandas as pd
from bokeh.embed import components
from bokeh.resources import Resources

from artemis_panel import compare_data as cd
from artemis_panel.compare_charts import ForestPlot, GroupBars
from artemis_panel.state import GROUP_LABELS
from store import queries as q
from store.reader import StoreReader

STATUS_COLORS = {"PASS": "#2e7d32", "REVIEW": "#b26a00", "FAIL": "#c62828"}

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 24px 40px; color: #1b263b; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 16px; margin-top: 28px; border-bottom: 1px solid #d7dde8; }
.meta { color: #5c677d; font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border-bottom: 1px solid #e3e7ef; padding: 5px 10px; text-align: left; vertical-align: top; }
th { background: #f3f5f9; }
.status { font-weight: 600; }
.chart { margin: 12px 0; }
"""


def _bokeh_js() -> str:
    """BokehJS inlined as plain script blocks (Panel, once imported, adds a script fetched from the server
    to Bokeh's rendered resources; a file opened without a server has none)."""
    raw = Resources(mode="inline", components=["bokeh"]).js_raw
    return "".join(f"<script>{code}</script>" for code in raw)


def _table(df: pd.DataFrame, css: str) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = []
    for _, row in df.iterrows():
        cells = []
        for v in row:
            text = html.escape(str(v))
            status = str(v).split(" ", 1)[0]
            if status in STATUS_COLORS:
                text = (f'<span class="status" style="color:{STATUS_COLORS[status]}">{status}</span>'
                        + html.escape(str(v)[len(status):]))
            cells.append(f"<td>{text}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def build_report(reader: StoreReader, run_ids: Sequence[str], brands: Sequence[str] | None = None,
                 group_by: str = "channel") -> str:
    """The report's HTML. Raises ``ValueError`` for no runs, more than four, or a run the brands may not see."""
    ids = list(dict.fromkeys(run_ids))
    if not ids:
        raise ValueError("report: name at least one run")
    if len(ids) > cd.MAX_RUNS:
        raise ValueError(f"report: at most {cd.MAX_RUNS} runs (got {len(ids)})")
    runs = q.list_runs(reader, brands)
    missing = [r for r in ids if r not in set(runs.run_id)]
    if missing:
        raise ValueError(f"report: no run {missing[0]!r} in the store")
    label = next((k for k, v in GROUP_LABELS.items() if v == group_by), group_by)
    metrics = cd.metrics_table(runs, ids, cd.cv_table(reader, ids, brands))
    review = cd.review_table(reader, ids, brands)
    forest, bars = ForestPlot(), GroupBars()
    forest.update(cd.cpit_table(reader, ids, brands))
    bars.update(cd.contributions_table(reader, ids, group_by, brands), label)
    for fig in (forest.fig, bars.fig):
        fig.toolbar_location = None
    script, divs = components({"forest": forest.fig, "bars": bars.fig})
    brand_names = ", ".join(dict.fromkeys(runs.set_index("run_id").loc[ids, "brand"]))
    title = f"Artemis MMM · {'run ' + ids[0] if len(ids) == 1 else f'{len(ids)} runs compared'}"
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f'<div class="meta">{html.escape(brand_names)} · {", ".join(html.escape(r) for r in ids)} · made '
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC</div>",
        "<h2>Fit</h2>", _table(metrics, "report-metrics"),
        "<h2>Model review</h2>", _table(review, "report-review"),
        "<h2>Cost per incremental transaction</h2>", f'<div class="chart">{divs["forest"]}</div>',
        f"<h2>Incremental transactions by {html.escape(label.lower())}</h2>", f'<div class="chart">{divs["bars"]}</div>',
    ]
    if len(ids) > 1:
        diff = cd.config_diff(reader, ids, brands)
        parts += ["<h2>Config differences</h2>",
                  _table(diff, "report-diff") if not diff.empty else "<p>The configs are the same.</p>"]
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style>{_bokeh_js()}{script}</head><body>{''.join(parts)}</body></html>")
