"""Scores of a predictive distribution given as draws: CRPS and interval coverage."""

from __future__ import annotations

import numpy as np


def crps_draws(draws: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""Continuous ranked probability score of each column of ``draws`` (D, T) against ``y`` (T,).

    The energy form over the empirical distribution of the draws,

    .. math:: \mathrm{CRPS}(F, y) = \mathbb{E}|X - y| - \tfrac12 \mathbb{E}|X - X'|,

    with :math:`\mathbb{E}|X - X'| = \frac{2}{D^2} \sum_i (2i - D - 1) x_{(i)}` over the sorted draws.
    Lower is better; in the target's units (for a point forecast it is the absolute error).
    """
    x = np.sort(np.asarray(draws, dtype=float), axis=0)
    y = np.asarray(y, dtype=float)
    D = x.shape[0]
    spread = (2 * np.arange(1, D + 1) - D - 1)[:, None] * x
    return np.abs(x - y[None, :]).mean(axis=0) - spread.sum(axis=0) / D**2


def coverage(draws: np.ndarray, y: np.ndarray, prob: float = 0.94) -> float:
    """Share of ``y`` inside the central ``prob`` interval of the draws of its week."""
    lo, hi = np.quantile(draws, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
    y = np.asarray(y, dtype=float)
    return float(np.mean((y >= lo) & (y <= hi))) if len(y) else float("nan")
