"""CRPS from draws against the closed form for a normal forecast, and interval coverage."""

from __future__ import annotations

import numpy as np
from scipy import stats

from jobs.scores import coverage, crps_draws


def crps_normal(mu: float, sigma: float, y: np.ndarray) -> np.ndarray:
    z = (y - mu) / sigma
    return sigma * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))


def test_crps_of_normal_draws_matches_the_closed_form():
    rng = np.random.default_rng(0)
    y = np.array([95.0, 100.0, 103.0, 130.0])
    draws = rng.normal(100.0, 5.0, size=(20_000, 1)) * np.ones((1, 4))
    got = crps_draws(draws, y)
    np.testing.assert_allclose(got, crps_normal(100.0, 5.0, y), rtol=0.02)


def test_crps_of_a_point_forecast_is_the_absolute_error_and_sharper_right_forecasts_score_better():
    y = np.array([10.0, 20.0])
    np.testing.assert_allclose(crps_draws(np.array([[12.0, 17.0]] * 5), y), [2.0, 3.0])
    rng = np.random.default_rng(1)
    wide = rng.normal(10, 10, size=(4000, 1))
    narrow = rng.normal(10, 1, size=(4000, 1))
    assert crps_draws(narrow, np.array([10.0]))[0] < crps_draws(wide, np.array([10.0]))[0]


def test_coverage_counts_actuals_inside_the_central_interval():
    rng = np.random.default_rng(2)
    draws = rng.normal(0, 1, size=(10_000, 3))
    y = np.array([0.0, 1.5, 2.5])  # the 94% interval is about ±1.88
    assert coverage(draws, y, 0.94) == 2 / 3
