"""From posterior draws to the tables a run keeps: contributions, per-variable summaries,
response draws and fit metrics, all in original units with HDIs computed per draw."""

from __future__ import annotations

import numpy as np
import pandas as pd

from jobs.design import ModelData
from jobs.response import components, media_response

CONTRIBUTION_COLUMNS = [
    "date", "variable", "channel", "channel_group", "pillar", "message_type", "audience",
    "contribution", "contribution_lo", "contribution_hi", "spend", "impressions", "transactions",
    "is_media_variable", "is_control_variable", "kind", "split",
]
SUMMARY_COLUMNS = [
    "variable", "audience", "spend", "impressions", "contribution", "contribution_lo", "contribution_hi",
    "cost_per_incremental_transaction", "cost_per_incremental_transaction_lo",
    "cost_per_incremental_transaction_hi", "transactions_per_1k_impressions",
]
RESPONSE_COLUMNS = ["audience", "variable", "kind", "parameter", "draw", "value"]


def hdi(draws: np.ndarray, prob: float = 0.94, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""Highest density interval along ``axis``: the narrowest interval holding ``prob`` of the draws.

    Of the sorted draws :math:`x_{(1)} \le \dots \le x_{(n)}`, with :math:`k = \lfloor p n \rfloor`,
    the interval :math:`[x_{(i)}, x_{(i+k)}]` of least width.
    """
    x = np.sort(np.moveaxis(np.asarray(draws, dtype=float), axis, 0), axis=0)
    n = x.shape[0]
    k = min(max(int(np.floor(prob * n)), 1), n - 1) if n > 1 else 0
    if k == 0:
        return x[0], x[0]
    widths = x[k:] - x[: n - k]
    i = np.argmin(widths, axis=0)
    lo = np.take_along_axis(x, i[None, ...], axis=0)[0]
    hi = np.take_along_axis(x, (i + k)[None, ...], axis=0)[0]
    return lo, hi


def fit_metrics(y: np.ndarray, y_hat: np.ndarray) -> dict[str, float | None]:
    r"""MAPE (%), R² and Durbin-Watson of the residuals :math:`e = y - \hat y`.

    .. math:: \mathrm{MAPE} = \tfrac{100}{n}\sum |e_t| / y_t \;(y_t > 0), \quad
              R^2 = 1 - \sum e_t^2 / \sum (y_t - \bar y)^2, \quad
              DW = \sum (e_t - e_{t-1})^2 / \sum e_t^2
    """
    if len(y) == 0:
        return {"mape": None, "r2": None, "durbin_watson": None}
    e = y - y_hat
    pos = y > 0
    ss_tot = float(((y - y.mean()) ** 2).sum())
    ss_res = float((e**2).sum())
    return {
        "mape": float(np.mean(np.abs(e[pos]) / y[pos]) * 100) if pos.any() else None,
        "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else None,
        "durbin_watson": float((np.diff(e) ** 2).sum() / ss_res) if ss_res > 0 and len(e) > 1 else None,
    }


def _interval(draws: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo, hi = hdi(draws, prob, axis=0)
    return draws.mean(axis=0), lo, hi


def contributions_table(d: ModelData, comp: dict[str, np.ndarray], taxonomy: pd.DataFrame, prob: float) -> pd.DataFrame:
    """One row per date × variable: media, controls, holidays, baseline and seasonality."""
    T = d.T
    tax = taxonomy.set_index("variable")
    split = np.where(np.arange(T) < d.n_train, "train", "test")
    parts = []

    def block(name, kind, draws, spend=None, impressions=None):
        mean, lo, hi = _interval(draws, prob)
        media = kind == "media"
        row = tax.loc[name] if media and name in tax.index else None
        parts.append(pd.DataFrame({
            "date": d.dates,
            "variable": name,
            "channel": row["channel"] if row is not None else None,
            "channel_group": row["channel_group"] if row is not None else None,
            "pillar": row["pillar"] if row is not None else None,
            "message_type": row["message_type"] if row is not None else None,
            "audience": d.audience or None,
            "contribution": mean,
            "contribution_lo": lo,
            "contribution_hi": hi,
            "spend": spend if spend is not None else np.full(T, np.nan),
            "impressions": impressions if impressions is not None else np.full(T, np.nan),
            "transactions": d.y,
            "is_media_variable": media,
            "is_control_variable": kind in ("control", "holiday", "owned", "earned"),
            "kind": kind,
            "split": split,
        }))

    block("baseline", "baseline", comp["baseline"])
    block("seasonality", "seasonality", comp["seasonality"])
    for j, name in enumerate(d.others):
        block(name, d.other_kind[j], comp["others"][:, :, j])
    for i, name in enumerate(d.media):
        block(name, "media", comp["media"][:, :, i], d.spend[:, i], d.impressions[:, i])
    out = pd.concat(parts, ignore_index=True)
    for col in ("channel", "channel_group", "pillar", "message_type", "audience"):
        out[col] = out[col].astype("string")
    return out[CONTRIBUTION_COLUMNS]


def summary_table(d: ModelData, comp: dict[str, np.ndarray], prob: float) -> pd.DataFrame:
    """One row per media variable over the training weeks; intervals of totals computed per draw."""
    n = d.n_train
    totals = comp["media"][:, :n, :].sum(axis=1)  # (D, V)
    spend = d.spend_train
    impressions = np.nansum(d.impressions[:n], axis=0)
    has_impr = ~np.all(np.isnan(d.impressions[:n]), axis=0)
    mean, lo, hi = _interval(totals, prob)
    with np.errstate(divide="ignore", invalid="ignore"):
        cpit = np.where(totals > 0, spend[None, :] / totals, np.inf)
        c_mean, c_lo, c_hi = _interval(cpit, prob)
        per_1k = np.where(has_impr & (impressions > 0), mean / impressions * 1000.0, np.nan)
    return pd.DataFrame({
        "variable": d.media,
        "audience": pd.array([d.audience or None] * len(d.media), dtype="string"),
        "spend": spend,
        "impressions": np.where(has_impr, impressions, np.nan),
        "contribution": mean,
        "contribution_lo": lo,
        "contribution_hi": hi,
        "cost_per_incremental_transaction": c_mean,
        "cost_per_incremental_transaction_lo": c_lo,
        "cost_per_incremental_transaction_hi": c_hi,
        "transactions_per_1k_impressions": per_1k,
    })[SUMMARY_COLUMNS]


def response_table(d: ModelData, params: dict[str, np.ndarray], saturation: str) -> pd.DataFrame:
    """Long table of every draw of the response parameters and the constants that undo the scalings.

    Media variables: ``adstock_decay``, ``half_saturation`` and ``hill_slope`` (or
    ``saturation_lambda``), ``cost_per_transaction``, ``beta`` (transactions per week at full
    saturation), ``x_scale``, ``l_max``, ``spend_train``, ``uses_impressions`` (1 if the input is impressions). Controls and holidays: ``coefficient``,
    ``x_scale``, ``center``. ``baseline``: ``intercept``, ``trend``, ``sin_k``/``cos_k``,
    ``y_scale``, ``sigma``, ``n_train``.
    """
    D = len(params["intercept"])
    draw = np.arange(D)
    rows = []

    def add(variable, kind, parameter, values):
        rows.append(pd.DataFrame({"variable": variable, "kind": kind, "parameter": parameter, "draw": draw,
                                  "value": np.broadcast_to(np.asarray(values, dtype=float), (D,))}))

    add("baseline", "baseline", "intercept", params["intercept"])
    if "trend" in params:
        add("baseline", "baseline", "trend", params["trend"])
    for k, name in enumerate(d.fourier_names):
        add("baseline", "baseline", name, params["seasonality"][:, k])
    add("baseline", "baseline", "y_scale", d.y_scale)
    add("baseline", "baseline", "sigma", params["sigma"])
    add("baseline", "baseline", "n_train", d.n_train)
    for j, name in enumerate(d.others):
        add(name, d.other_kind[j], "coefficient", params["coefficient"][:, j])
        add(name, d.other_kind[j], "x_scale", d.z_scale[j])
        add(name, d.other_kind[j], "center", d.z_center[j])
    if d.media:
        _, beta = media_response(d, params, saturation)
        sat_params = ("half_saturation", "hill_slope") if saturation == "hill" else ("saturation_lambda",)
        for i, name in enumerate(d.media):
            for p in ("adstock_decay", *sat_params, "cost_per_transaction"):
                add(name, "media", p, params[p][:, i])
            add(name, "media", "beta", beta[:, i])
            add(name, "media", "x_scale", d.x_scale[i])
            add(name, "media", "l_max", d.l_max)
            add(name, "media", "spend_train", d.spend_train[i])
            add(name, "media", "uses_impressions", 1.0 if d.signal[i] == "impressions" else 0.0)
    out = pd.concat(rows, ignore_index=True)
    out.insert(0, "audience", pd.array([d.audience or None] * len(out), dtype="string"))
    return out[RESPONSE_COLUMNS]


def series_metrics(d: ModelData, comp: dict[str, np.ndarray], prob: float) -> dict:
    """Fit metrics on training and test weeks and the total media contribution over training weeks."""
    y_hat = comp["mu"].mean(axis=0)
    n = d.n_train
    media_total = comp["media"][:, :n, :].sum(axis=(1, 2))
    lo, hi = hdi(media_total, prob)
    return {
        "train": fit_metrics(d.y[:n], y_hat[:n]),
        "test": fit_metrics(d.y[n:], y_hat[n:]),
        "media_contribution": {"mean": float(media_total.mean()), "lo": float(lo), "hi": float(hi)},
        "media_share": float(media_total.mean() / d.y[:n].sum()),
    }


def analyse(d: ModelData, params: dict[str, np.ndarray], taxonomy: pd.DataFrame, saturation: str, prob: float) -> dict:
    """Every table and metric of one fitted series."""
    comp = components(d, params, saturation)
    return {
        "contributions": contributions_table(d, comp, taxonomy, prob),
        "summary": summary_table(d, comp, prob),
        "response": response_table(d, params, saturation),
        "metrics": series_metrics(d, comp, prob),
    }
