"""Activations and their derivatives: closed forms and the learnable PReLU slope."""
from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np

from jaxlin.nn.activations import derivative, init_prelu, prelu, prelu_slope_grad, relu, sigmoid, tanh

X_GRID = jnp.linspace(-8.0, 8.0, 161)


def test_derivatives_match_closed_forms():
    s = sigmoid(X_GRID)
    np.testing.assert_allclose(derivative(sigmoid)(X_GRID), s * (1 - s), atol=1e-6)
    np.testing.assert_allclose(derivative(tanh)(X_GRID), 1 - jnp.tanh(X_GRID) ** 2, atol=1e-6)
    np.testing.assert_array_equal(derivative(relu)(X_GRID), (X_GRID > 0).astype(jnp.float32))
    np.testing.assert_allclose(sigmoid(X_GRID), 1 / (1 + jnp.exp(-X_GRID)), atol=1e-6)
    assert float(derivative(relu)(jnp.zeros(1))[0]) == 0.0  # the left derivative, as in the book
    assert bool(jnp.all(jnp.isfinite(derivative(sigmoid)(jnp.asarray([-200.0, 200.0])))))


def test_prelu_slope_is_learnable():
    params = init_prelu()
    assert float(params["alpha"]) == 0.25
    np.testing.assert_allclose(prelu(params, X_GRID), jnp.where(X_GRID > 0, X_GRID, 0.25 * X_GRID))
    np.testing.assert_allclose(derivative(functools.partial(prelu, params))(X_GRID),
                               jnp.where(X_GRID > 0, 1.0, 0.25))
    grad = prelu_slope_grad(params, X_GRID)["alpha"]
    np.testing.assert_allclose(grad, jnp.minimum(X_GRID, 0).sum(), rtol=1e-6)
