"""Softmax regression pieces (3.4, 3.6, 3.7) against the book's numbers and closed forms."""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxlin import (
    accuracy,
    cross_entropy,
    evaluate_loss,
    fit,
    init_softmax_regression,
    sgd,
    softmax,
    softmax_cross_entropy,
    softmax_regression,
)


def test_softmax_rows_sum_to_one_and_are_positive():
    X = jax.random.normal(jax.random.key(0), (4, 5))
    P = softmax(X)
    np.testing.assert_allclose(P.sum(1), 1.0, rtol=1e-6)
    assert bool((P > 0).all())
    np.testing.assert_allclose(softmax(jnp.array([[2.0, 1.0, 0.1]])), [[0.659, 0.242, 0.099]], atol=1e-3)


def test_cross_entropy_and_accuracy_on_the_books_toy_example():
    y_hat = jnp.array([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
    y = jnp.array([0, 2])
    np.testing.assert_allclose(cross_entropy(y_hat, y), [2.3026, 0.6931], atol=1e-4)
    assert int(accuracy(y_hat, y)) == 1
    assert float(accuracy(y_hat, y)) / len(y) == 0.5


def test_stable_cross_entropy_equals_naive_and_optax_on_moderate_logits():
    logits = 3 * jax.random.normal(jax.random.key(1), (64, 10))
    y = jax.random.randint(jax.random.key(2), (64,), 0, 10)
    stable = softmax_cross_entropy(logits, y)
    np.testing.assert_allclose(stable, cross_entropy(softmax(logits), y), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stable, optax.softmax_cross_entropy_with_integer_labels(logits, y),
                               rtol=1e-5, atol=1e-6)


def test_stable_cross_entropy_is_finite_where_naive_overflows():
    logits = jnp.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]])
    y = jnp.array([1, 0])
    assert not bool(jnp.isfinite(cross_entropy(softmax(logits), y)).all())   # naive: inf/nan
    np.testing.assert_allclose(softmax_cross_entropy(logits, y), [1e4, 1e4 + np.log(2)], rtol=1e-6)


def test_cross_entropy_gradient_is_softmax_minus_onehot():
    o = jax.random.normal(jax.random.key(3), (5, 4))
    y = jnp.array([0, 3, 1, 1, 2])
    g = jax.grad(lambda o: softmax_cross_entropy(o, y).sum())(o)
    np.testing.assert_allclose(g, softmax(o) - jax.nn.one_hot(y, 4), atol=1e-6)


def test_softmax_regression_shapes_and_init():
    params = init_softmax_regression(jax.random.key(0))
    assert params["W"].shape == (784, 10) and params["b"].shape == (10,)
    assert abs(float(params["W"].std()) - 0.01) < 0.001 and not params["b"].any()
    y_hat = softmax_regression(params, jnp.ones((3, 28, 28, 1)))
    assert y_hat.shape == (3, 10)
    np.testing.assert_allclose(y_hat.sum(1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("fn", [cross_entropy, softmax_cross_entropy])
def test_labels_out_of_range_are_refused_where_the_data_enter(fn):
    """Checked once, on the host, by the evaluation and fit (not inside the losses)."""
    net = lambda params, X: jnp.full((X.shape[0], 3), 1 / 3)  # noqa: E731
    X = jnp.zeros((2, 1))
    for y in (jnp.array([0, 3]), jnp.array([-1, 0])):
        with pytest.raises(ValueError, match=r"\[0, 3\)"):
            evaluate_loss(net, {}, (X, y), fn)
        with pytest.raises(ValueError, match=r"\[0, 3\)"):
            fit(net, {"w": jnp.zeros(1)}, fn, functools.partial(sgd, lr=0.1), (X, y), num_epochs=1,
                batch_size=1, key=jax.random.key(0))


def test_images_of_the_wrong_shape_are_refused():
    params = init_softmax_regression(jax.random.key(0))
    with pytest.raises(ValueError, match="784 features"):
        softmax_regression(params, jnp.ones((2, 32, 32, 1)))
