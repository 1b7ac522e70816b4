"""Media transforms in NumPy: geometric adstock and Hill / logistic saturation.

These are the reference implementations: the demo-data generator simulates with them, the
response engine evaluates posterior draws with them, and the PyMC model mirrors them in PyTensor
(``jobs/model.py``); tests pin all of them to hand-computed arrays.
"""

from __future__ import annotations

import numpy as np


def adstock_weights(alpha: np.ndarray | float, l_max: int, normalize: bool = True) -> np.ndarray:
    r"""Geometric adstock weights.

    .. math:: w_l = \alpha^l, \quad l = 0, \dots, L-1, \qquad w \leftarrow w / \sum_l w_l \text{ if normalised}

    Parameters
    ----------
    alpha : array_like, shape (...,)
        Retention rate(s) in [0, 1).
    l_max : int
        Number of weeks the effect lasts (the current week included).
    normalize : bool
        Whether the weights sum to one (the adstocked series keeps the input's scale).

    Returns
    -------
    ndarray, shape (l_max, ...)
    """
    alpha = np.asarray(alpha, dtype=float)
    lags = np.arange(l_max, dtype=float).reshape((l_max,) + (1,) * alpha.ndim)
    w = alpha[None, ...] ** lags
    if normalize:
        w = w / w.sum(axis=0, keepdims=True)
    return w


def lag_stack(x: np.ndarray, l_max: int, history: np.ndarray | None = None) -> np.ndarray:
    """Shifted copies of ``x`` along time: ``out[l, t] = x[t - l]`` (zero, or ``history``, before the start).

    Parameters
    ----------
    x : ndarray, shape (T, ...)
    l_max : int
    history : ndarray, shape (H, ...), optional
        Values of the weeks just before ``x[0]`` (oldest first), used for carry-over.
    """
    x = np.asarray(x, dtype=float)
    if history is None:
        history = np.zeros((0,) + x.shape[1:])
    history = np.asarray(history, dtype=float)[-(l_max - 1) :] if l_max > 1 else history[:0]
    pad = np.zeros((l_max - 1 - len(history),) + x.shape[1:])
    full = np.concatenate([pad, history, x], axis=0)
    T = x.shape[0]
    return np.stack([full[l_max - 1 - l : l_max - 1 - l + T] for l in range(l_max)], axis=0)


def geometric_adstock(
    x: np.ndarray,
    alpha: np.ndarray | float,
    l_max: int = 8,
    normalize: bool = True,
    history: np.ndarray | None = None,
) -> np.ndarray:
    r"""Geometric adstock along axis 0.

    .. math:: a_t = \sum_{l=0}^{L-1} w_l \, x_{t-l}

    Parameters
    ----------
    x : ndarray, shape (T,) or (T, V)
        Media input per week (and variable).
    alpha : float or ndarray, shape (V,)
        Retention rate per variable.
    l_max : int
        Maximum lag in weeks.
    normalize : bool
        Normalise the weights to sum to one.
    history : ndarray, optional
        Weeks before ``x`` that carry over into it.
    """
    w = adstock_weights(alpha, l_max, normalize)  # (L, V) or (L,)
    lagged = lag_stack(x, l_max, history)  # (L, T, V) or (L, T)
    return np.einsum("lt...,l...->t...", lagged, w)


def hill_saturation(x: np.ndarray, half_saturation: np.ndarray | float, slope: np.ndarray | float) -> np.ndarray:
    r"""Hill saturation, 0 at 0, 1/2 at the half-saturation point, approaching 1.

    .. math:: h(x) = \frac{x^s}{x^s + k^s}
    """
    x = np.clip(np.asarray(x, dtype=float), 0.0, None)
    k = np.asarray(half_saturation, dtype=float)
    s = np.asarray(slope, dtype=float)
    xs = x**s
    return xs / (xs + k**s)


def logistic_saturation(x: np.ndarray, lam: np.ndarray | float) -> np.ndarray:
    r"""Logistic saturation as in pymc-marketing.

    .. math:: f(x) = \frac{1 - e^{-\lambda x}}{1 + e^{-\lambda x}}
    """
    e = np.exp(-np.asarray(lam, dtype=float) * np.clip(np.asarray(x, dtype=float), 0.0, None))
    return (1.0 - e) / (1.0 + e)
