"""Linear regression: the model, its closed form."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import TRUE_B, TRUE_W, linreg_data
from jaxlin import linreg, linreg_closed_form, squared_loss


@pytest.fixture(scope="module")
def data():
    return linreg_data()


def test_linreg_and_squared_loss_by_hand():
    params = {"w": jnp.array([[1.0], [2.0]]), "b": jnp.array([0.5])}
    X = jnp.array([[1.0, 1.0], [0.0, -1.0]])
    y_hat = linreg(params, X)
    np.testing.assert_allclose(y_hat, [[3.5], [-1.5]])
    # y given as (n,) is reshaped to ŷ's (n, 1): no silent (n, n) broadcast
    loss = squared_loss(y_hat, jnp.array([3.0, 0.5]))
    assert loss.shape == (2, 1)
    np.testing.assert_allclose(loss, [[0.125], [2.0]])


def test_closed_form_recovers_true_parameters(data):
    sol = linreg_closed_form(*data)
    np.testing.assert_allclose(sol["w"].reshape(-1), TRUE_W, atol=0.01)
    assert abs(float(sol["b"][0]) - TRUE_B) < 0.01


def test_closed_form_is_least_squares_for_ill_conditioned_features():
    key = jax.random.key(3)
    x = jax.random.normal(key, (200, 1))
    X = jnp.concatenate([x, 1e3 * x + 1e-2 * jax.random.normal(jax.random.key(4), (200, 1))], 1)
    y = X @ jnp.array([[1.0], [0.001]]) + 2.0
    sol = linreg_closed_form(X, y)
    fitted = linreg(sol, X)
    assert float(jnp.abs(fitted - y).max()) < 1e-2
