r"""The PyMC marketing mix model: geometric adstock, Hill or logistic saturation, CPIT-parametrised
media effects, bounded controls and holidays, linear trend, yearly Fourier seasonality.

Every array is a ``pm.Data`` so one compiled model serves any series of the same shape
(audiences of a run, folds of a cross-validation, runs in a test session).

In the target's scaled units (target / its training mean :math:`\bar y`):

.. math::

    \mu_t = b_0 + b_1 \tau_t + F_t \cdot \phi + Z_t \cdot \gamma
            + \sum_v \beta_v \, h_v\big(\mathrm{adstock}_v(x_v / \max x_v)\big),
    \qquad y_t \sim \mathcal{N}(\mu_t, \sigma)

with :math:`\beta_v = S_v / (c_v \, \bar y \sum_{t \in \text{train}} h_{vt})`, so that the
variable's total contribution over the training weeks is its spend :math:`S_v` divided by its cost
per incremental transaction :math:`c_v`, the parameter that carries the prior.

Priors (defaults in ``PriorConfig``; per-variable overrides from ``priors.csv``):

* intercept :math:`b_0 \sim \mathcal{N}(1 - \text{media\_share}, \text{intercept\_sigma})`,
  trend :math:`b_1 \sim \mathcal{N}(0, \text{trend\_sigma})`, seasonality
  :math:`\phi_k \sim \mathcal{N}(0, \text{seasonality\_sigma})`, controls / holidays / owned
  :math:`\gamma_j \sim \mathcal{N}(\mu_j, \sigma_j)` truncated to their bounds;
* CPIT :math:`c_v \sim \mathrm{LogNormal}`; by default its median is set so that the prior *mean*
  of all media contributions together is ``media_share`` of the target (``design.prior_vectors``);
* adstock decay Beta(mean, sd); Hill half-saturation (share of the variable's training maximum)
  and slope LogNormal; logistic :math:`\lambda` LogNormal; noise :math:`\sigma` HalfNormal.

Sampler coordinates. The model above is sampled in coordinates that remove its two linear ridges,
without changing its prior or posterior (both maps are shears, with unit Jacobian):

* **Level.** Saturated, always-on media are nearly constant, so :math:`b_0` trades off against
  their total contributions. The sampler moves the average fitted level
  :math:`m = b_0 + \sum_v S_v / (c_v \bar y n) + C_0 \cdot \gamma` instead, which the data pin
  whatever the split; :math:`b_0` is the deterministic ``intercept``. Its prior is written as
  :math:`m \sim \mathcal{N}(1 - \text{media\_share} + \sum_v S_v / (c_v \bar y n) + C_0 \cdot
  \gamma, \text{intercept\_sigma})`, the same joint density as the prior on :math:`b_0`.
* **Controls against trend and seasonality.** Controls such as temperature (seasonal) or a
  price index (trending) are nearly collinear with the Fourier terms and the trend. With
  :math:`C` the least-squares coefficients of the centred controls on :math:`[1, \tau, F]` over
  the training weeks, the sampler moves :math:`b_1 + C_1 \cdot \gamma` and
  :math:`\phi + C_F \cdot \gamma` (``trend_shifted``, ``seasonality_shifted``), the coefficients
  of trend and seasonality once each control is replaced by its part orthogonal to them;
  ``trend`` and ``seasonality`` are deterministics.
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
    "lam_mu", "lam_sigma", "gamma_mu", "gamma_sigma", "gamma_lower", "gamma_upper", "z_basis_coef",
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
    values["z_basis_coef"] = control_basis_coef(d)
    return values


def control_basis_coef(d: ModelData) -> np.ndarray:
    """Least-squares coefficients ``C``, (2 + K, O), of the centred controls on ``[1, trend,
    Fourier]`` over the training weeks: the shear that decorrelates the sampler's coordinates."""
    n = d.n_train
    basis = np.column_stack([np.ones(n), d.trend[:n], d.fourier[:n]])
    if not d.others:
        return np.zeros((basis.shape[1], 0))
    coef, *_ = np.linalg.lstsq(basis, d.z[:n], rcond=None)
    return coef


def shape_key(d: ModelData, cfg: ModelConfig) -> tuple:
    """Everything that changes the compiled model's structure (not its data)."""
    return (d.T, d.n_train, len(d.media), len(d.others), len(d.fourier_names), cfg.l_max,
            cfg.saturation, cfg.trend, cfg.priors.media_share, cfg.priors.intercept_sigma,
            cfg.priors.trend_sigma, cfg.priors.seasonality_sigma, cfg.priors.noise_sigma)


def build_model(d: ModelData, cfg: ModelConfig) -> pm.Model:
    """The PyMC model of one series (see the module docstring for its maths and coordinates)."""
    p = cfg.priors
    coords = {"media": d.media, "other": d.others, "fourier_term": d.fourier_names}
    vals = data_values(d)
    with pm.Model(coords=coords) as model:
        data = {name: pm.Data(name, vals[name]) for name in DATA_NAMES}
        n_train = d.n_train
        mu = pt.zeros_like(data["trend_index"])

        # controls, holidays, owned, earned
        if d.others:
            gamma = pm.TruncatedNormal(
                "coefficient", mu=data["gamma_mu"], sigma=data["gamma_sigma"],
                lower=data["gamma_lower"], upper=data["gamma_upper"], dims="other",
            )
            shear = pt.dot(data["z_basis_coef"], gamma)  # (2 + K,): C @ gamma
            mu = mu + pt.dot(data["z"], gamma)
        else:
            shear = pt.zeros((2 + len(d.fourier_names),))

        # media
        media_mean = pt.as_tensor_variable(0.0)  # average training-week media contribution
        if d.media:
            alpha = pm.Beta("adstock_decay", mu=data["alpha_mu"], sigma=data["alpha_sigma"], dims="media")
            lags = pt.arange(cfg.l_max, dtype="float64")[:, None]
            w = alpha[None, :] ** lags
            w = w / w.sum(axis=0, keepdims=True)
            adstocked = (data["xlag"] * w[:, None, :]).sum(axis=0)  # (T, V)
            if cfg.saturation == "hill":
                k = pm.LogNormal("half_saturation", mu=data["k_mu"], sigma=data["k_sigma"], dims="media")
                s = pm.LogNormal("hill_slope", mu=data["s_mu"], sigma=data["s_sigma"], dims="media")
                # x^s / (x^s + k^s) as a sigmoid in log space; exactly 0 where the adstock is 0
                on = pt.gt(adstocked, 0.0)
                log_a = pt.log(pt.switch(on, adstocked, 1.0))
                sat = pt.switch(on, pt.sigmoid(s[None, :] * (log_a - pt.log(k)[None, :])), 0.0)
            else:
                lam = pm.LogNormal("saturation_lambda", mu=data["lam_mu"], sigma=data["lam_sigma"], dims="media")
                e = pt.exp(-lam[None, :] * adstocked)
                sat = (1.0 - e) / (1.0 + e)
            cpit = pm.LogNormal("cost_per_transaction", mu=data["cpit_mu"], sigma=data["cpit_sigma"], dims="media")
            total = data["spend_train"] / (cpit * data["y_scale"])  # scaled total over the training weeks
            beta = total / sat[:n_train].sum(axis=0)
            mu = mu + pt.dot(sat, beta)
            media_mean = total.sum() / n_train

        # intercept, sampled as the average fitted level (prior on the intercept, see above)
        offset = media_mean + shear[0]
        level = pm.Normal("mean_level", mu=1.0 - p.media_share + offset, sigma=p.intercept_sigma)
        mu = mu + pm.Deterministic("intercept", level - offset)
        if cfg.trend:
            shifted = pm.Normal("trend_shifted", mu=shear[1], sigma=p.trend_sigma)
            mu = mu + pm.Deterministic("trend", shifted - shear[1]) * data["trend_index"]
        if d.fourier_names:
            shifted = pm.Normal("seasonality_shifted", mu=shear[2:], sigma=p.seasonality_sigma, dims="fourier_term")
            phi = pm.Deterministic("seasonality", shifted - shear[2:], dims="fourier_term")
            mu = mu + pt.dot(data["fourier_terms"], phi)

        sigma = pm.HalfNormal("sigma", sigma=p.noise_sigma)
        pm.Normal("y", mu=mu[:n_train], sigma=sigma, observed=data["y_train"])
    return model
