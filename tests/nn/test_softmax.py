"""Softmax and softmax regression: the book's numbers, shapes, and rows that are distributions."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import CLASSES, FEW, ROWS, floats, matrix, np_softmax
from jaxlin import init_softmax_regression, softmax, softmax_regression


def test_softmax_rows_sum_to_one_and_are_positive():
    X = jax.random.normal(jax.random.key(0), (4, 5))
    P = softmax(X)
    np.testing.assert_allclose(P.sum(1), 1.0, rtol=1e-6)
    assert bool((P > 0).all())
    np.testing.assert_allclose(softmax(jnp.array([[2.0, 1.0, 0.1]])), [[0.659, 0.242, 0.099]], atol=1e-3)


def test_softmax_regression_shapes_and_init():
    params = init_softmax_regression(jax.random.key(0))
    assert params["W"].shape == (784, 10) and params["b"].shape == (10,)
    assert abs(float(params["W"].std()) - 0.01) < 0.001 and not params["b"].any()
    y_hat = softmax_regression(params, jnp.ones((3, 28, 28, 1)))
    assert y_hat.shape == (3, 10)
    np.testing.assert_allclose(y_hat.sum(1), 1.0, rtol=1e-6)


def test_images_of_the_wrong_shape_are_refused():
    params = init_softmax_regression(jax.random.key(0))
    with pytest.raises(ValueError, match="784 features"):
        softmax_regression(params, jnp.ones((2, 32, 32, 1)))


def test_softmax_of_the_book_logits_keeps_their_order():
    o = jnp.array([[2.0, 1.0, 0.1]])
    y_hat = softmax(o)[0]
    np.testing.assert_allclose(y_hat, [0.659, 0.242, 0.099], atol=5e-4)
    assert float(y_hat.sum()) == pytest.approx(1.0)
    np.testing.assert_array_equal(jnp.argsort(y_hat), jnp.argsort(o[0]))


@FEW
@given(n=ROWS, c=CLASSES, shift=floats(10), data=st.data())
def test_softmax_is_a_distribution_per_row_and_shift_invariant(n, c, shift, data):
    X = data.draw(matrix(n, c, bound=30))
    out = np.asarray(softmax(jnp.asarray(X)))
    assert out.shape == (n, c)
    assert np.all(out >= 0) and np.all(out <= 1)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(out, np_softmax(X), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(softmax(jnp.asarray(X) + shift), out, rtol=1e-3, atol=1e-6)
