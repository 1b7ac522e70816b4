"""What the Compare tab computes without widgets: runs side by side (fit metrics, cost per incremental
transaction with intervals, contributions by group), the model review checks of each run, and the
differences between their configs."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from store import queries as q
from store.reader import StoreReader

MAX_RUNS = 4
METRICS = [  # (row label, runs column, digits)
    ("Train MAPE %", "train_mape", 2), ("Train R²", "train_r2", 3), ("Train Durbin-Watson", "train_durbin_watson", 2),
    ("Test MAPE %", "test_mape", 2), ("Test R²", "test_r2", 3), ("Test Durbin-Watson", "test_durbin_watson", 2),
    ("Max R-hat", "max_rhat", 3), ("Min bulk ESS", "min_ess_bulk", 0), ("Divergences", "divergences", 0),
    ("Fit seconds", "fit_seconds", 1),
]


def short(run_id: str) -> str:
    """A run's column name: its date and hash (``2026-11-24 51f26e0``)."""
    return f"{run_id[:10]} {run_id.rsplit('-', 1)[-1]}" if len(run_id) > 20 else run_id


def check_selection(run_ids: Sequence[str]) -> list[str]:
    ids = list(dict.fromkeys(run_ids))
    if len(ids) < 2:
        raise ValueError("Compare: pick at least 2 runs")
    if len(ids) > MAX_RUNS:
        raise ValueError(f"Compare: pick at most {MAX_RUNS} runs (got {len(ids)})")
    return ids


CV_METRICS = [  # (row label, mean column, sd column, digits): the folds' test scores, mean ± sd
    ("CV test MAPE %", "test_mape_mean", "test_mape_sd", 2), ("CV test R²", "test_r2_mean", "test_r2_sd", 3),
    ("CV CRPS, % of mean week", "test_crps_pct_mean", "test_crps_pct_sd", 2),
    ("CV 94% interval coverage", "test_coverage_94_mean", None, 2),
]


def _number(v, digits: int) -> str:
    return "–" if v is None or pd.isna(v) else f"{float(v):,.{digits}f}"


def cv_table(reader: StoreReader, run_ids: Sequence[str], brands: Sequence[str] | None = None) -> pd.DataFrame:
    """The newest completed cross-validation of each run's model on its dataset (runs without one left out)."""
    from store.cv_results import cv_for_runs

    return cv_for_runs(reader, list(run_ids), brands)


def metrics_table(runs: pd.DataFrame, run_ids: Sequence[str], cv: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per metric, one column per run (plus its brand, variant and registry status), then the
    cross-validation scores of the runs' models when any run has one (``cv``: :func:`cv_table`)."""
    by_id = runs.set_index("run_id")
    cv_by_id = cv.set_index("run_id") if cv is not None and not cv.empty else None
    labels = ["Brand", "Variant", "Fit status", "Registry status"] + [m[0] for m in METRICS] + ["MLflow run"]
    if cv_by_id is not None:
        labels += [m[0] for m in CV_METRICS] + ["CV folds × test weeks", "CV id"]
    out = {"metric": labels}
    for rid in run_ids:
        row = by_id.loc[rid]
        values = [row.get("brand"), row.get("variant") or "national", row.get("status"), row.get("registry_status")]
        values += [_number(row.get(col), digits) for _, col, digits in METRICS]
        values.append(row.get("mlflow_run_id") or "–")
        if cv_by_id is not None:
            if rid in cv_by_id.index:
                c = cv_by_id.loc[rid]
                for _, mean, sd, digits in CV_METRICS:
                    values.append(_number(c[mean], digits) + ("" if sd is None or pd.isna(c[sd]) else f" ± {float(c[sd]):,.{digits}f}"))
                values += [f"{c['folds_scored'] if pd.notna(c['folds_scored']) else c['folds']} × {c['test_weeks']}", c["cv_id"]]
            else:
                values += ["–"] * len(CV_METRICS) + ["no cross-validation of this model on this dataset", "–"]
        out[short(rid)] = [str(v) for v in values]
    return pd.DataFrame(out)


def mlflow_url(tracking_uri, run_id) -> str | None:
    """A link to an MLflow run in the tracking server's UI (``{server}/#/runs/{id}``, which MLflow's UI
    redirects to the run's page); None for a tracking URI with no UI of its own (a file or database)."""
    if not run_id or not isinstance(tracking_uri, str) or not tracking_uri.startswith(("http://", "https://")):
        return None
    return f"{tracking_uri.rstrip('/')}/#/runs/{run_id}"


def mlflow_html(tracking_uri, run_id, what: str = "MLflow run") -> str:
    """The MLflow run as a link when its server has a UI, else its id and how to open it."""
    import html

    if not run_id or (isinstance(run_id, float) and pd.isna(run_id)):
        return "not logged to MLflow"
    url = mlflow_url(tracking_uri, run_id)
    rid = html.escape(str(run_id))
    if url:
        return f'<a class="mlflow-link" href="{html.escape(url)}" target="_blank" rel="noopener">{what} {rid}</a>'
    if isinstance(tracking_uri, str) and tracking_uri:
        return (f"{what} <code>{rid}</code> in <code>{html.escape(tracking_uri)}</code> "
                f"(open it with <code>mlflow ui --backend-store-uri {html.escape(tracking_uri)}</code>)")
    return f"{what} <code>{rid}</code>"


def links_html(runs: pd.DataFrame, run_ids: Sequence[str], cv: pd.DataFrame | None = None) -> str:
    """One line per run: its MLflow run and, when it has one, its cross-validation's MLflow parent run."""
    import html

    by_id = runs.set_index("run_id")
    cv_by_id = cv.set_index("run_id") if cv is not None and not cv.empty else None
    lines = []
    for rid in run_ids:
        row = by_id.loc[rid]
        line = f"<b>{html.escape(short(rid))}</b>: {mlflow_html(row.get('mlflow_tracking_uri'), row.get('mlflow_run_id'))}"
        if cv_by_id is not None and rid in cv_by_id.index:
            c = cv_by_id.loc[rid]
            line += " · cross-validation " + mlflow_html(c["mlflow_tracking_uri"], c["mlflow_run_id"], "parent run")
        lines.append(line)
    return "<br>".join(lines)


def cpit_table(reader: StoreReader, run_ids: Sequence[str], brands: Sequence[str] | None = None) -> pd.DataFrame:
    """Cost per incremental transaction (and ROI = transactions per dollar) per media variable and run over
    the run's fit window, with 94% intervals (exact for one variable of one audience, from the per-draw
    totals; summed bounds otherwise, flagged ``approximate``)."""
    parts = []
    for rid in run_ids:
        ci = q.contribution_intervals(reader, rid, "variable", brands)
        if ci.empty:
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            parts.append(pd.DataFrame({
                "run": short(rid), "run_id": rid, "variable": ci["group"],
                "cpit": ci.spend / ci.contribution,
                "cpit_lo": np.where(ci.hi > 0, ci.spend / ci.hi, np.nan),
                "cpit_hi": np.where(ci.lo > 0, ci.spend / ci.lo, np.inf),
                "roi": ci.contribution / ci.spend,
                "contribution": ci.contribution, "spend": ci.spend, "approximate": ci.approximate,
            }))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["run", "run_id", "variable", "cpit", "cpit_lo", "cpit_hi", "roi", "contribution", "spend", "approximate"])


def contributions_table(reader: StoreReader, run_ids: Sequence[str], group_by: str,
                        brands: Sequence[str] | None = None) -> pd.DataFrame:
    """Media contribution and spend per group and run (every week of each run)."""
    parts = []
    for rid in run_ids:
        t = q.totals(reader, rid, group_by, brands)
        if not t.empty:
            parts.append(t.assign(run=short(rid), run_id=rid))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["group", "contribution", "share", "spend", "media_share", "run", "run_id"])


def curve_variables(reader: StoreReader, run_ids: Sequence[str], brands: Sequence[str] | None = None) -> list[str]:
    """The media variables of the runs (the union), those of the first run first."""
    out: list[str] = []
    for rid in run_ids:
        t = q.contribution_intervals(reader, rid, "variable", brands)
        out += [v for v in t["group"] if v not in out]
    return out


def response_curves(reader: StoreReader, run_ids: Sequence[str], variable: str, brands: Sequence[str] | None = None,
                    weeks: int = 13, points: int = 41) -> pd.DataFrame:
    """Each run's response curve of one media variable: incremental transactions over the ``weeks`` after
    the run's data (carry-over included) as that variable's budget for them runs from 0 to twice the
    largest current budget among the runs (the others' budgets do not change it), mean and 94% interval
    over the draws; ``current`` marks each run's own current budget (last year's spend of those weeks)."""
    from artemis_panel import plan_data as pdx
    from jobs.budget import BudgetProblem
    from jobs.response_engine import PlanError

    problems = {}
    for rid in run_ids:
        try:
            engine = pdx.engine_for(reader, rid, brands)
        except PlanError:
            continue
        if variable in engine.media:
            problems[rid] = BudgetProblem(engine, pdx.next_week(engine), weeks)
    if not problems:
        return pd.DataFrame(columns=["run", "run_id", "budget", "mean", "lo", "hi", "current"])
    top = max(float(p.reference[p.variables.index(variable)]) for p in problems.values())
    budgets = np.linspace(0.0, 2.0 * top if top > 0 else 1.0, points)
    parts = []
    for rid, p in problems.items():
        draws = p.response_curve(variable, budgets)
        lo, hi = np.quantile(draws, [0.03, 0.97], axis=0)
        current = float(p.reference[p.variables.index(variable)])
        parts.append(pd.DataFrame({"run": short(rid), "run_id": rid, "budget": budgets, "mean": draws.mean(axis=0),
                                   "lo": lo, "hi": hi, "current": current}))
    return pd.concat(parts, ignore_index=True)


def run_review(reader: StoreReader, run_id: str, brands: Sequence[str] | None = None) -> list:
    """A run's model review checks, computed once per store file (a run's rows never change within one)."""
    from jobs.review import review_run

    def compute() -> list:
        config, metrics = q.run_config(reader, run_id, brands)
        if not config and not metrics:
            raise ValueError(f"no run {run_id!r} in the store")  # (or one the session may not see)
        return review_run(metrics, config, q.response_draws(reader, run_id, brands), q.run_rows(reader, run_id, brands))

    return reader.memo(("review", run_id, None if brands is None else tuple(brands)), compute)


def review_table(reader: StoreReader, run_ids: Sequence[str], brands: Sequence[str] | None = None) -> pd.DataFrame:
    """Each run's model review checks: one row per check, per run its status and the figures behind it."""
    rows: dict[str, dict] = {}
    for rid in run_ids:
        for c in run_review(reader, rid, brands):
            row = rows.setdefault(c.name, {"check": c.name})
            row[short(rid)] = f"{c.status} · {c.figure}"
    return pd.DataFrame(list(rows.values()))


def config_diff(reader: StoreReader, run_ids: Sequence[str], brands: Sequence[str] | None = None) -> pd.DataFrame:
    """The config fields whose values differ between the runs (dotted names), one column per run."""
    flat = {}
    for rid in run_ids:
        config, _ = q.run_config(reader, rid, brands)
        flat[short(rid)] = dict(_flatten(config))
    keys = sorted(set().union(*(f.keys() for f in flat.values()))) if flat else []
    rows = []
    for k in keys:
        values = [flat[c].get(k, "–") for c in flat]
        if len({repr(v) for v in values}) > 1:
            rows.append({"field": k, **{c: str(v) for c, v in zip(flat, values)}})
    return pd.DataFrame(rows, columns=["field", *flat])


def _flatten(tree, prefix: str = ""):
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _flatten(v, f"{prefix}{k}.")
    else:
        yield prefix.rstrip("."), tree
