"""4.9 distribution shift: weighted losses, importance weights, domains."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxlin.chapters.ch4_09_environment_and_distribution_shift import (
    decision_boundary,
    domain_data,
    effective_sample_size,
    gaussian_log_density_ratio,
    importance_weights,
    log_importance_weights,
    logistic_regression,
    parabola_labels,
    sample_inputs,
    weighted_error,
    weighted_logistic_loss,
    with_weights,
)
from jaxlin.nn.losses import binary_cross_entropy_logits


def test_shift_pieces_by_hand():
    h = jnp.array([[0.0], [2.0], [-1.0]])
    y = jnp.array([1.0, 0.0, 0.0])
    np.testing.assert_allclose(binary_cross_entropy_logits(h, y), [[math.log(2)], [math.log1p(math.exp(2))],
                                                     [math.log1p(math.exp(-1))]], rtol=1e-6)
    yw = with_weights(y, jnp.array([1.0, 3.0, 0.5]))
    assert yw.shape == (3, 2)
    np.testing.assert_allclose(weighted_logistic_loss(h, yw), binary_cross_entropy_logits(h, y) * yw[:, 1:2])
    np.testing.assert_allclose(weighted_error(h, yw), [[1.0], [3.0], [0.0]])
    np.testing.assert_array_equal(with_weights(y)[:, 1], 1.0)
    with pytest.raises(ValueError, match="3 labels but 2 weights"):
        with_weights(y, jnp.ones(2))
    np.testing.assert_array_equal(parabola_labels(jnp.array([[0.0, 0.0], [2.0, 2.0], [0.0, -2.0]])),
                                  [[1.0], [0.0], [0.0]])


def test_importance_weights_and_domains():
    key = jax.random.key(0)
    params = {"w": jnp.array([[2.0], [0.0]]), "b": jnp.array([-1.0])}
    X = jnp.array([[0.0, 5.0], [1.0, 0.0], [3.0, 0.0]])
    h = logistic_regression(params, X)
    np.testing.assert_allclose(importance_weights(params, X, 100, 100), jnp.exp(h), rtol=1e-6)
    np.testing.assert_allclose(log_importance_weights(params, X, 200, 100), h + math.log(2), rtol=1e-6)
    np.testing.assert_allclose(importance_weights(params, X, 100, 100, clip=2.0),
                               jnp.minimum(jnp.exp(h), 2.0), rtol=1e-6)
    assert float(effective_sample_size(jnp.ones((7, 1)))) == pytest.approx(7.0)
    x1 = jnp.array([0.0, 1.0])
    params2 = {"w": jnp.array([[1.0], [2.0]]), "b": jnp.array([0.5])}
    np.testing.assert_allclose(logistic_regression(params2, jnp.stack(
        [x1, decision_boundary(params2, x1)], axis=1)), 0.0, atol=1e-6)
    Xs = sample_inputs(key, jnp.array([-1.0, 0.0]), 1.0, 20000)
    np.testing.assert_allclose(Xs.mean(0), [-1.0, 0.0], atol=0.03)
    Xd, zd = domain_data(Xs[:3], Xs[3:5])
    assert Xd.shape == (5, 2) and zd[:, 0].tolist() == [0, 0, 0, 1, 1] and zd[:, 1].tolist() == [1] * 5
    # log N(x; μt, I) − log N(x; μs, I)
    mu_s, mu_t = jnp.array([-1.0, 0.0]), jnp.array([1.0, 0.5])
    direct = (-((X - mu_t.reshape(1, -1)) ** 2).sum(1) + ((X - mu_s.reshape(1, -1)) ** 2).sum(1)) / 2
    np.testing.assert_allclose(gaussian_log_density_ratio(X, mu_s, mu_t, 1.0)[:, 0], direct, rtol=1e-5)
