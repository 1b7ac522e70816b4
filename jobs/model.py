r"""The PyMC marketing mix model: geometric adstock, Hill or logistic saturation, CPIT-parametrised
media effects, bounded controls and holidays, linear trend, yearly Fourier seasonality.

Every array is a ``pm.Data`` so one compiled model serves any series of the same shape
(audiences of a run, folds of a cross-validation, runs in a test session).

In the target's scaled units (target / its training mean):

.. math::

    \mu_t = b_0 + b_1 \tau_t + F_t \cdot \phi + Z_t \cdot \gamma
            + \sum_v \beta_v \, h_v\big(\mathrm{adstock}_v(x_v / \max x_v)\big),
    \qquad y_t \sim \mathcal{N}(\mu_t, \sigma)

with :math:`\beta_v = S_v / (c_v \, \bar y \sum_{t \in \text{train}} h_{vt})`, so that the
variable's total contribution over the training weeks is its spend :math:`S_v` divided by its cost
per incremental transaction :math:`c_v`, the parameter that carries the prior.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from jobs.config import ModelConfig
from jobs.design import ModelData

# Names of the data containers, which ``with_data`` swaps in a compiled model.
DATA_NAMES = (
    "xlag", "spend_train", "y_scale", "z", "fourier_terms", "trend_index", "y_train",
    "cpit_mu", "cpit_sigma", "alpha_mu", "alpha_sigma", "k_mu", "k_sigma", "s_mu", "s_sigma",
    "lam_mu", "lam_sigma", "gamma_mu", "gamma_sigma", "gamma_lower", "gamma_upper",
)


def data_values(d: ModelData) -> dict[str, np.ndarray]:
    """The values of every data container for a series."""
    values = {
        "xlag": d.xlag,
        "spend_train": d.spend_train,
        "y_scale": np.asarray(d.y_scale, dtype=float),
        "z": d.z,
        "fourier_terms": d.fourier,
        "trend_index": d.trend,
        "y_train": d.y[: d.n_train] / d.y_scale,
    }
    values.update({k: np.asarray(v, dtype=float) for k, v in d.priors.items()})
    return values


def shape_key(d: ModelData, cfg: ModelConfig) -> tuple:
    """Everything that changes the compiled model's structure (not its data)."""
    return (d.T, d.n_train, len(d.media), len(d.others), len(d.fourier_names), cfg.l_max,
            cfg.saturation, cfg.trend, cfg.priors.media_share, cfg.priors.intercept_sigma,
            cfg.priors.trend_sigma, cfg.priors.seasonality_sigma, cfg.priors.noise_sigma)


def build_model(d: ModelData, cfg: ModelConfig) -> pm.Model:
    """The PyMC model of one series."""
    p = cfg.priors
    coords = {"media": d.media, "other": d.others, "fourier_term": d.fourier_names}
    vals = data_values(d)
    with pm.Model(coords=coords) as model:
        data = {name: pm.Data(name, vals[name]) for name in DATA_NAMES}
        n_train = d.n_train

        level = pm.Normal("mean_level", mu=1.0, sigma=p.intercept_sigma)
        mu = pt.zeros_like(data["trend_index"])
        if cfg.trend:
            trend = pm.Normal("trend", mu=0.0, sigma=p.trend_sigma)
            mu = mu + trend * data["trend_index"]
        if d.fourier_names:
            phi = pm.Normal("seasonality", mu=0.0, sigma=p.seasonality_sigma, dims="fourier_term")
            mu = mu + pt.dot(data["fourier_terms"], phi)
        if d.others:
            gamma = pm.TruncatedNormal(
                "coefficient", mu=data["gamma_mu"], sigma=data["gamma_sigma"],
                lower=data["gamma_lower"], upper=data["gamma_upper"], dims="other",
            )
            mu = mu + pt.dot(data["z"], gamma)
        if d.media:
            alpha = pm.Beta("adstock_decay", mu=data["alpha_mu"], sigma=data["alpha_sigma"], dims="media")
            lags = pt.arange(cfg.l_max, dtype="float64")[:, None]
            w = alpha[None, :] ** lags
            w = w / w.sum(axis=0, keepdims=True)
            adstocked = (data["xlag"] * w[:, None, :]).sum(axis=0)  # (T, V)
            if cfg.saturation == "hill":
                k = pm.LogNormal("half_saturation", mu=data["k_mu"], sigma=data["k_sigma"], dims="media")
                s = pm.LogNormal("hill_slope", mu=data["s_mu"], sigma=data["s_sigma"], dims="media")
                sat = pt.sigmoid(s[None, :] * (pt.log(adstocked + 1e-12) - pt.log(k)[None, :]))
            else:
                lam = pm.LogNormal("saturation_lambda", mu=data["lam_mu"], sigma=data["lam_sigma"], dims="media")
                e = pt.exp(-lam[None, :] * adstocked)
                sat = (1.0 - e) / (1.0 + e)
            cpit = pm.LogNormal("cost_per_transaction", mu=data["cpit_mu"], sigma=data["cpit_sigma"], dims="media")
            total = data["spend_train"] / (cpit * data["y_scale"])
            beta = total / sat[:n_train].sum(axis=0)
            mu = mu + pt.dot(sat, beta)
            level = level - total.sum() / n_train
        mu = mu + pm.Deterministic("intercept", level)
        sigma = pm.HalfNormal("sigma", sigma=p.noise_sigma)
        pm.Normal("y", mu=mu[:n_train], sigma=sigma, observed=data["y_train"])
    return model
