"""Adstock and saturation against hand-computed arrays."""

import numpy as np
import pytest

from jobs.transforms import adstock_weights, geometric_adstock, hill_saturation, lag_stack, logistic_saturation


def test_unnormalised_adstock_of_an_impulse_decays_geometrically():
    x = np.array([10.0, 0, 0, 0, 0])
    np.testing.assert_allclose(geometric_adstock(x, 0.5, l_max=3, normalize=False), [10, 5, 2.5, 0, 0])


def test_normalised_adstock_keeps_total_and_uses_weights_summing_to_one():
    # weights for alpha=0.5, L=3: [1, .5, .25] / 1.75
    x = np.array([7.0, 0, 0, 7.0])
    out = geometric_adstock(x, 0.5, l_max=3)
    np.testing.assert_allclose(out, [4.0, 2.0, 1.0, 4.0])
    np.testing.assert_allclose(adstock_weights(np.array([0.5, 0.0]), 3).sum(axis=0), [1.0, 1.0])


def test_adstock_per_variable_columns_use_their_own_decay():
    x = np.array([[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    out = geometric_adstock(x, np.array([0.5, 0.0]), l_max=2, normalize=False)
    np.testing.assert_allclose(out, [[1, 1], [0.5, 0], [0, 0]])


def test_adstock_carries_over_history_before_the_first_week():
    # a_0 = 0 + .5*4 + .25*2 ; a_1 = 0 + .5*0 + .25*4
    out = geometric_adstock(np.zeros(2), 0.5, l_max=3, normalize=False, history=np.array([2.0, 4.0]))
    np.testing.assert_allclose(out, [2.5, 1.0])


def test_lag_stack_shifts_with_zeros():
    np.testing.assert_allclose(lag_stack(np.array([1.0, 2.0, 3.0]), 3), [[1, 2, 3], [0, 1, 2], [0, 0, 1]])


@pytest.mark.parametrize(
    "x,k,s,expected",
    [(0.0, 0.5, 2.0, 0.0), (0.5, 0.5, 2.0, 0.5), (1.0, 0.5, 2.0, 0.8), (1.0, 1.0, 1.0, 0.5), (3.0, 1.0, 1.0, 0.75)],
)
def test_hill_saturation_hand_values(x, k, s, expected):
    # x^s / (x^s + k^s): 1/(1+.25) = .8 ; 3/(3+1) = .75
    assert hill_saturation(np.array([x]), k, s)[0] == pytest.approx(expected)


def test_logistic_saturation_hand_values():
    lam = np.log(3.0)  # e^{-lam x} = 1/3 at x = 1 -> (1 - 1/3)/(1 + 1/3) = 0.5
    np.testing.assert_allclose(logistic_saturation(np.array([0.0, 1.0]), lam), [0.0, 0.5])
