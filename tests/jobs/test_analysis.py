"""HDIs and fit metrics against independent computations."""

import numpy as np
import pytest

from jobs.analysis import fit_metrics, hdi


def test_hdi_of_uniform_grid_is_narrowest_window():
    draws = np.arange(100.0)  # any 94-wide window is the same width: the first
    lo, hi = hdi(draws, 0.94)
    assert hi - lo == 94


def test_hdi_of_skewed_draws_hugs_the_mode():
    rng = np.random.default_rng(0)
    draws = rng.exponential(size=20000)
    lo, hi = hdi(draws, 0.9)
    # exponential: HDI is [0, -ln(0.1)]
    assert lo == pytest.approx(0.0, abs=0.01)
    assert hi == pytest.approx(-np.log(0.1), rel=0.03)


def test_hdi_vectorised_over_columns_matches_per_column():
    rng = np.random.default_rng(1)
    draws = rng.normal(size=(500, 3)) * [1, 2, 3]
    lo, hi = hdi(draws, 0.94, axis=0)
    for j in range(3):
        l, h = hdi(draws[:, j], 0.94)
        assert (lo[j], hi[j]) == (l, h)


def test_fit_metrics_by_hand():
    y = np.array([100.0, 200.0, 300.0, 400.0])
    y_hat = np.array([110.0, 190.0, 330.0, 400.0])
    e = y - y_hat  # -10, 10, -30, 0
    m = fit_metrics(y, y_hat)
    assert m["mape"] == pytest.approx((0.1 + 0.05 + 0.1 + 0) / 4 * 100)
    assert m["r2"] == pytest.approx(1 - (100 + 100 + 900) / 50000)
    assert m["durbin_watson"] == pytest.approx(((20) ** 2 + 40**2 + 30**2) / 1100)
    assert e.sum() == -30


def test_fit_metrics_on_empty_test_set_are_none():
    assert fit_metrics(np.array([]), np.array([])) == {"mape": None, "r2": None, "durbin_watson": None}
