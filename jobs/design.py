"""Turn one weekly series of a dataset into the scaled arrays and prior vectors the model fits.

Scalings follow the seed: media by their maximum over the training weeks, controls by their mean
absolute value, the target by its training mean. Controls and holidays are then centred, and the
trend runs from -1/2 to 1/2 over the training weeks, so the intercept is the average training
week and does not trade off against them (the sampler mixes far better). Everything the response
engine needs to undo them is kept here and saved with the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from jobs.config import ModelConfig
from jobs.transforms import lag_stack

NATIONAL = ""  # audience label of a national series

YEAR_DAYS = 365.25


@dataclass
class ModelData:
    """Arrays for one series (national, or one audience), in the order of the variables lists."""

    audience: str
    dates: np.ndarray  # (T,) datetime64[ns]
    n_train: int
    y: np.ndarray  # (T,) original units
    y_scale: float
    media: list[str]
    signal: list[str]  # per media variable: "spend" | "impressions"
    x: np.ndarray  # (T, V) the model input (spend or impressions), original units
    x_scale: np.ndarray  # (V,)
    spend: np.ndarray  # (T, V)
    impressions: np.ndarray  # (T, V), NaN where the dataset has none
    others: list[str]  # controls, owned, earned, holidays
    other_kind: list[str]
    z_raw: np.ndarray  # (T, O) original units
    z_scale: np.ndarray  # (O,)
    z_center: np.ndarray  # (O,) training mean after scaling, subtracted
    fourier_names: list[str]
    priors: dict[str, np.ndarray] = field(default_factory=dict)
    l_max: int = 8
    # Media input (original units) of the weeks just before ``dates[0]``: adstock carry-over into the
    # first weeks (a cross-validation fold's warm-up). None: nothing was spent before.
    x_before: np.ndarray | None = None

    @property
    def T(self) -> int:
        return len(self.dates)

    @property
    def xlag(self) -> np.ndarray:
        """(L, T, V) lagged scaled media input, zero before the first week."""
        history = None if self.x_before is None else self.x_before / self.x_scale
        return lag_stack(self.x / self.x_scale, self.l_max, history=history)

    @property
    def z(self) -> np.ndarray:
        return self.z_raw / self.z_scale - self.z_center

    @property
    def trend(self) -> np.ndarray:
        return trend_index(self.T, self.n_train)

    @property
    def fourier(self) -> np.ndarray:
        return fourier_terms(self.dates, len(self.fourier_names) // 2)

    @property
    def spend_train(self) -> np.ndarray:
        return self.spend[: self.n_train].sum(axis=0)


def trend_index(n_weeks: int, n_train: int, start: int = 0) -> np.ndarray:
    """Linear trend: -1/2 at the first training week, 1/2 at the last."""
    return np.arange(start, start + n_weeks, dtype=float) / max(n_train - 1, 1) - 0.5


def fourier_terms(dates: np.ndarray, order: int) -> np.ndarray:
    r"""Yearly Fourier terms :math:`\sin(2\pi k d / 365.25), \cos(2\pi k d / 365.25)`, d = days since 1970."""
    days = (pd.to_datetime(np.asarray(dates)) - pd.Timestamp("1970-01-01")).days.to_numpy(dtype=float)
    cols = []
    for k in range(1, order + 1):
        cols += [np.sin(2 * np.pi * k * days / YEAR_DAYS), np.cos(2 * np.pi * k * days / YEAR_DAYS)]
    return np.column_stack(cols) if cols else np.zeros((len(days), 0))


def fourier_names(order: int) -> list[str]:
    return [f"{f}_{k}" for k in range(1, order + 1) for f in ("sin", "cos")]


def national_series(ds) -> pd.DataFrame:
    """The dataset's national weekly series: audiences summed (target, spend, impressions),
    controls averaged and holidays taken as their maximum over audiences."""
    df = ds.training
    if ds.audiences is None:
        return df.reset_index(drop=True)
    media_cols = [c for c in df.columns if c.endswith("_spend") or c.endswith("_impressions")]
    agg = {ds.target: "sum", **{c: "sum" for c in media_cols}}
    agg.update({v: "mean" for v in ds.controls})
    agg.update({v: "max" for v in ds.holidays})
    return df.groupby("date", as_index=False).agg(agg).sort_values("date").reset_index(drop=True)


def series_names(ds, variant: str) -> list[str]:
    """The series a variant fits: every audience (``per_audience``), or the national one."""
    if variant == "per_audience":
        if not ds.audiences:
            raise ValueError(f"variant 'per_audience' needs an 'audience' column in {ds.path}'s training data")
        return list(ds.audiences)
    return [NATIONAL]


def series_for(ds, audience: str) -> pd.DataFrame:
    if audience == NATIONAL:
        return national_series(ds)
    return ds.training[ds.training["audience"] == audience].sort_values("date").reset_index(drop=True)


def media_input(ds, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spend, impressions (NaN where the dataset has none) and the model's input (spend or impressions,
    per variable), each (T, V) in the order of ``ds.media``."""
    T, media = len(frame), list(ds.media)
    if not media:
        return np.zeros((T, 0)), np.zeros((T, 0)), np.zeros((T, 0))
    spend = np.column_stack([frame[f"{v}_spend"].to_numpy(float) for v in media])
    impressions = np.column_stack(
        [frame[f"{v}_impressions"].to_numpy(float) if f"{v}_impressions" in frame else np.full(T, np.nan) for v in media]
    )
    x = np.column_stack([spend[:, i] if ds.signal[v] == "spend" else impressions[:, i] for i, v in enumerate(media)])
    return spend, impressions, x


def build_model_data(ds, frame: pd.DataFrame, cfg: ModelConfig, audience: str = NATIONAL) -> ModelData:
    """Scaled arrays and per-variable prior vectors for one series.

    Raises ``ValueError`` naming the variable when the training weeks leave it unusable.
    """
    T = len(frame)
    n_train = T - cfg.holdout_weeks
    if n_train < max(2 * cfg.l_max, 26):
        raise ValueError(
            f"only {n_train} training weeks after holding out {cfg.holdout_weeks}: "
            f"at least {max(2 * cfg.l_max, 26)} are needed"
        )
    y = frame[ds.target].to_numpy(dtype=float)
    y_scale = float(y[:n_train].mean())
    if not y_scale > 0:
        raise ValueError(f"the target '{ds.target}' averages {y_scale} over the training weeks; it must be positive")

    media = list(ds.media)
    signal = [ds.signal[v] for v in media]
    spend, impressions, x = media_input(ds, frame)
    x_scale = x[:n_train].max(axis=0) if media else np.zeros(0)
    for v, sc, sp in zip(media, x_scale, spend[:n_train].sum(axis=0)):
        if not sc > 0 or not sp > 0:
            raise ValueError(f"media variable '{v}' has no spend in the training weeks{'' if audience == NATIONAL else f' of audience {audience!r}'}; drop it or shorten the holdout")

    others = list(ds.controls) + list(ds.holidays)
    kinds = [ds.kinds[v] for v in others]
    z_raw = np.column_stack([frame[v].to_numpy(float) for v in others]) if others else np.zeros((T, 0))
    z_scale = np.ones(len(others))
    z_center = np.zeros(len(others))
    for j, kind in enumerate(kinds):
        if kind != "holiday":
            m = np.abs(z_raw[:n_train, j]).mean()
            z_scale[j] = m if m > 0 else 1.0
        # centred so that the intercept is the average week, not the week where every control is 0
        z_center[j] = (z_raw[:n_train, j] / z_scale[j]).mean()

    data = ModelData(
        audience=audience,
        dates=frame["date"].to_numpy(dtype="datetime64[ns]"),
        n_train=n_train,
        y=y,
        y_scale=y_scale,
        media=media,
        signal=signal,
        x=x,
        x_scale=x_scale,
        spend=spend,
        impressions=impressions,
        others=others,
        other_kind=kinds,
        z_raw=z_raw,
        z_scale=z_scale,
        z_center=z_center,
        fourier_names=fourier_names(cfg.yearly_seasonality),
        l_max=cfg.l_max,
    )
    data.priors = prior_vectors(data, cfg, ds.priors)
    return data


def prior_vectors(data: ModelData, cfg: ModelConfig, overrides: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """Per-variable prior parameters: the config's defaults, then ``priors.csv`` rows.

    Media effects are parametrised by the cost per incremental transaction (CPIT, dollars of
    spend per transaction it causes), LogNormal(log-median ``m``, log-sd ``sigma``) with the same
    ``m`` for every variable, so a priori each variable earns in proportion to its spend. ``m`` is
    set so that the prior *mean* of the total media contribution is ``media_share`` of the target
    over the training weeks: a variable's contribution is spend / CPIT, whose mean is
    ``spend * exp(-m + sigma^2 / 2)``, hence ``m = log(total spend / (media_share * total
    target)) + sigma^2 / 2``. (With the median alone at ``total spend / (media_share * total
    target)`` the prior mean media share would be ``media_share * exp(sigma^2 / 2)``, 0.41 for
    0.25 and sigma = 1.) A ``priors.csv`` row gives the median directly.
    """
    p = cfg.priors
    V, O = len(data.media), len(data.others)
    n = data.n_train
    cpit0 = data.spend[:n].sum() / (p.media_share * data.y[:n].sum()) if V else 1.0
    out = {
        "cpit_mu": np.full(V, np.log(cpit0) + 0.5 * p.cost_per_transaction_sigma**2),
        "cpit_sigma": np.full(V, p.cost_per_transaction_sigma),
        "alpha_mu": np.full(V, p.adstock_decay_mu),
        "alpha_sigma": np.full(V, p.adstock_decay_sigma),
        "k_mu": np.full(V, np.log(p.half_saturation_median)),
        "k_sigma": np.full(V, p.half_saturation_sigma),
        "s_mu": np.full(V, np.log(p.hill_slope_median)),
        "s_sigma": np.full(V, p.hill_slope_sigma),
        "lam_mu": np.full(V, np.log(p.saturation_lambda_median)),
        "lam_sigma": np.full(V, p.saturation_lambda_sigma),
        "gamma_mu": np.zeros(O),
        "gamma_sigma": np.full(O, p.control_sigma),
        "gamma_lower": np.array([0.0 if k in ("owned", "earned") else -p.control_bound for k in data.other_kind]),
        "gamma_upper": np.full(O, p.control_bound),
    }
    if overrides is None or len(overrides) == 0:
        return out
    media_index = {v: i for i, v in enumerate(data.media)}
    other_index = {v: j for j, v in enumerate(data.others)}
    log_median = {"cost_per_transaction": "cpit", "half_saturation": "k", "hill_slope": "s", "saturation_lambda": "lam"}
    for row in overrides.itertuples(index=False):
        var, par = row.variable, row.parameter
        mu, sigma = float(row.mu), float(row.sigma)
        if var in media_index:
            i = media_index[var]
            if par == "adstock_decay":
                out["alpha_mu"][i], out["alpha_sigma"][i] = mu, sigma
            elif par in log_median:
                key = log_median[par]
                out[f"{key}_mu"][i], out[f"{key}_sigma"][i] = np.log(mu), sigma
        elif var in other_index and par == "coefficient":
            j = other_index[var]
            out["gamma_mu"][j], out["gamma_sigma"][j] = mu, sigma
            lower, upper = _num(getattr(row, "lower", None)), _num(getattr(row, "upper", None))
            if lower is not None:
                out["gamma_lower"][j] = lower
            if upper is not None:
                out["gamma_upper"][j] = upper
    # a Beta(mu, sigma) needs sigma^2 < mu (1 - mu)
    cap = np.sqrt(out["alpha_mu"] * (1 - out["alpha_mu"])) * 0.95
    out["alpha_sigma"] = np.minimum(out["alpha_sigma"], cap)
    return out


def _num(value) -> float | None:
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(f) else f
