"""Evaluate a fitted model's components in NumPy over posterior draws (no PyMC at run time).

The contributions saved with a run, the forecasts and the budget optimiser all come from these
functions, so a what-if reproduces the run's own numbers exactly.
"""

from __future__ import annotations

import numpy as np

from jobs.design import ModelData
from jobs.transforms import adstock_weights, hill_saturation, logistic_saturation


def saturate(adstocked: np.ndarray, params: dict[str, np.ndarray], saturation: str) -> np.ndarray:
    """Saturation of adstocked scaled media, (D, T, V), per draw's parameters (D, V)."""
    if saturation == "hill":
        return hill_saturation(adstocked, params["half_saturation"][:, None, :], params["hill_slope"][:, None, :])
    return logistic_saturation(adstocked, params["saturation_lambda"][:, None, :])


def adstock_draws(xlag: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    r"""Adstock of lagged scaled media (L, T, V) under each draw's decay (D, V): (D, T, V).

    .. math:: a_{dtv} = \sum_l w_{dlv} x_{l t v}, \quad w_{dlv} = \alpha_{dv}^l / \sum_{l'} \alpha_{dv}^{l'}
    """
    L = xlag.shape[0]
    w = np.moveaxis(adstock_weights(alpha.T, L), -1, 0)  # (L, V, D) -> (D, L, V)
    return np.einsum("ltv,dlv->dtv", xlag, w)


def media_response(d: ModelData, params: dict[str, np.ndarray], saturation: str) -> tuple[np.ndarray, np.ndarray]:
    r"""Saturated media (D, T, V) and the effect scale :math:`\beta` (D, V): transactions per week
    at full saturation.

    .. math:: \beta_{dv} = S_v / (c_{dv} \sum_{t \in \text{train}} h_{dtv})
    """
    sat = saturate(adstock_draws(d.xlag, params["adstock_decay"]), params, saturation)
    beta = d.spend_train[None, :] / (params["cost_per_transaction"] * sat[:, : d.n_train].sum(axis=1))
    return sat, beta


def components(d: ModelData, params: dict[str, np.ndarray], saturation: str) -> dict[str, np.ndarray]:
    """Every component of the expected target in original units, per draw.

    Returns ``media`` (D, T, V), ``others`` (D, T, O), ``baseline`` (D, T) (intercept and trend),
    ``seasonality`` (D, T) and ``mu`` (D, T), their sum.
    """
    D = len(params["intercept"])
    T = d.T
    ys = d.y_scale
    baseline = params["intercept"][:, None] * np.ones((1, T))
    if "trend" in params:
        baseline = baseline + params["trend"][:, None] * d.trend[None, :]
    baseline = baseline * ys
    season = (params["seasonality"] @ d.fourier.T) * ys if "seasonality" in params else np.zeros((D, T))
    others = (d.z[None, :, :] * params["coefficient"][:, None, :]) * ys if d.others else np.zeros((D, T, 0))
    if d.media:
        sat, beta = media_response(d, params, saturation)
        media = sat * beta[:, None, :]
    else:
        media = np.zeros((D, T, 0))
    mu = baseline + season + others.sum(axis=2) + media.sum(axis=2)
    return {"media": media, "others": others, "baseline": baseline, "seasonality": season, "mu": mu}
