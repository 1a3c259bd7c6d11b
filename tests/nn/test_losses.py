"""The losses and accuracy: by hand, against closed forms, and property-based against NumPy."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from helpers import CLASSES, FEW, ROWS, floats, labels, linreg_data, matrix, np_softmax
from jaxlin import accuracy, cross_entropy, linreg, softmax, softmax_cross_entropy, squared_loss
from jaxlin.chapters.ch3_04_softmax_regression import sigmoid_squared_loss
from jaxlin.nn.losses import binary_cross_entropy, binary_cross_entropy_logits


def test_squared_loss_gradient_matches_closed_form():
    X, y = linreg_data()
    params = {"w": jnp.array([[0.3], [-0.2]]), "b": jnp.array([0.1])}
    grads = jax.grad(lambda p: squared_loss(linreg(p, X), y).sum())(params)
    r = linreg(params, X) - y                            # dL/dŷ for L = Σ ½(ŷ − y)²
    np.testing.assert_allclose(grads["w"], X.T @ r, rtol=1e-4)
    np.testing.assert_allclose(grads["b"], r.sum(0), rtol=1e-4)


def test_squared_loss_gradient_matches_finite_differences():
    X = jnp.array([[0.5, -1.0], [2.0, 0.3], [-0.7, 0.9]], jnp.float32)
    y = jnp.array([[1.0], [-2.0], [0.5]])
    f = lambda w: float(squared_loss(X @ w.reshape(2, 1), y).sum())  # noqa: E731
    w = np.array([0.2, -0.4], np.float64)
    g = jax.grad(lambda w: squared_loss(X @ w.reshape(2, 1), y).sum())(jnp.asarray(w, jnp.float32))
    eps = 1e-2
    fd = [(f(jnp.asarray(w + eps * e, jnp.float32)) - f(jnp.asarray(w - eps * e, jnp.float32))) / (2 * eps)
          for e in np.eye(2)]
    np.testing.assert_allclose(g, fd, rtol=1e-3)


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


def test_binary_losses_hand_values():
    y_hat, y = jnp.array([0.8, 0.8, 1.0]), jnp.array([1, 0, 1])
    np.testing.assert_allclose(binary_cross_entropy(y_hat, y), [-math.log(0.8), -math.log(0.2), 0.0], rtol=1e-5)
    o = jnp.array([0.0, 2.0, -3.0, 100.0])
    yo = jnp.array([1, 0, 1, 0])
    expected = [math.log(2), math.log(1 + math.exp(2)), math.log(1 + math.exp(3)), 100.0]
    np.testing.assert_allclose(binary_cross_entropy_logits(o, yo), expected, rtol=1e-5)
    np.testing.assert_allclose(binary_cross_entropy_logits(o[:3], yo[:3]),
                               binary_cross_entropy(jax.nn.sigmoid(o[:3]), yo[:3]), rtol=1e-5)
    np.testing.assert_allclose(sigmoid_squared_loss(jnp.array([0.0, 0.0]), jnp.array([1, 0])), [0.125, 0.125])


def np_logsumexp(o: np.ndarray) -> np.ndarray:
    o = o.astype(np.float64)
    m = o.max(axis=1)
    return m + np.log(np.exp(o - m[:, None]).sum(axis=1))


@FEW
@given(n=ROWS, flat=st.booleans(), data=st.data())
def test_squared_loss_matches_numpy(n, flat, data):
    y_hat = data.draw(matrix(n, 1))
    y = data.draw(arrays(np.float32, (n,) if flat else (n, 1), elements=floats(50)))
    out = squared_loss(jnp.asarray(y_hat), jnp.asarray(y))
    assert out.shape == (n, 1)                       # never an (n, n) broadcast
    expected = (y_hat.astype(np.float64) - y.reshape(n, 1)) ** 2 / 2
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    assert np.all(np.asarray(out) >= 0)


@FEW
@given(n=ROWS, extra=st.sampled_from([1, 3]))
def test_squared_loss_rejects_a_label_count_that_differs(n, extra):
    with pytest.raises((TypeError, ValueError)):
        squared_loss(jnp.zeros((n, 1)), jnp.zeros(n + extra))


@FEW
@given(n=ROWS, c=CLASSES, data=st.data())
def test_cross_entropy_is_minus_log_of_the_true_class(n, c, data):
    probs = np_softmax(data.draw(matrix(n, c, bound=15))).astype(np.float32)
    y = data.draw(labels(n, c))
    out = cross_entropy(jnp.asarray(probs), jnp.asarray(y))
    assert out.shape == (n,)
    np.testing.assert_allclose(out, -np.log(probs[np.arange(n), y].astype(np.float64)),
                               rtol=1e-5, atol=1e-6)


@FEW
@given(n=ROWS, c=CLASSES, data=st.data())
def test_softmax_cross_entropy_matches_logsumexp_and_stays_finite(n, c, data):
    logits = data.draw(matrix(n, c, bound=1e3))        # exp would overflow float32 here
    y = data.draw(labels(n, c))
    out = np.asarray(softmax_cross_entropy(jnp.asarray(logits), jnp.asarray(y)))
    assert out.shape == (n,) and np.all(np.isfinite(out))
    expected = np_logsumexp(logits) - logits[np.arange(n), y]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-3)    # float32 ulp at 1e3 ~ 6e-5
    assert np.all(out >= -1e-3)


@FEW
@given(n=ROWS, c=CLASSES, data=st.data())
def test_softmax_cross_entropy_equals_cross_entropy_of_softmax_for_moderate_logits(n, c, data):
    logits = jnp.asarray(data.draw(matrix(n, c, bound=8)))
    y = jnp.asarray(data.draw(labels(n, c)))
    np.testing.assert_allclose(softmax_cross_entropy(logits, y), cross_entropy(softmax(logits), y),
                               rtol=1e-4, atol=1e-5)


@FEW
@given(n=ROWS, c=CLASSES, data=st.data())
def test_accuracy_counts_argmax_hits(n, c, data):
    # small integer scores make ties likely: both sides take the first maximum
    y_hat = data.draw(arrays(np.float32, (n, c), elements=st.integers(0, 3).map(float)))
    y = data.draw(labels(n, c))
    assert int(accuracy(jnp.asarray(y_hat), jnp.asarray(y))) == int((y_hat.argmax(axis=1) == y).sum())
    predicted = y_hat.argmax(axis=1).astype(np.int32)              # labels already predicted
    assert int(accuracy(jnp.asarray(predicted), jnp.asarray(y))) == int((predicted == y).sum())


@FEW
@given(n=ROWS, c=CLASSES, extra=st.sampled_from([1, 2]))
def test_accuracy_rejects_a_label_count_that_differs(n, c, extra):
    with pytest.raises((TypeError, ValueError)):
        accuracy(jnp.zeros((n, c)), jnp.zeros(n + extra, jnp.int32))


def test_scratch_losses_equal_their_optax_counterparts():
    """The book's hand-written losses against the pieces the concise code uses."""
    k1, k2, k3 = jax.random.split(jax.random.key(7), 3)
    logits = 3 * jax.random.normal(k1, (50, 10))
    y = jax.random.randint(k2, (50,), 0, 10)
    reference = optax.softmax_cross_entropy_with_integer_labels(logits, y)
    np.testing.assert_allclose(cross_entropy(jax.nn.softmax(logits), y), reference, rtol=1e-5, atol=1e-6)
    y_hat, target = jax.random.normal(k3, (50, 1)), jnp.linspace(-1, 1, 50).reshape(50, 1)
    np.testing.assert_allclose(squared_loss(y_hat, target), optax.l2_loss(y_hat, target), rtol=1e-6)
    np.testing.assert_allclose(squared_loss(y_hat, target), optax.squared_error(y_hat, target) / 2, rtol=1e-6)


@pytest.mark.parametrize("jit", [False, True])
def test_class_losses_are_nan_for_a_label_outside_the_classes(jit):
    wrap = jax.jit if jit else (lambda f: f)
    logits, y = jnp.zeros((2, 10)), jnp.array([0, 10])
    np.testing.assert_allclose(wrap(softmax_cross_entropy)(logits, y), [math.log(10), np.nan], rtol=1e-6)
    np.testing.assert_allclose(wrap(cross_entropy)(softmax(logits), jnp.array([-1, 3])),
                               [np.nan, math.log(10)], rtol=1e-6)


def test_a_bad_label_leaves_the_other_rows_gradient_as_it_was():
    o = jax.random.normal(jax.random.key(3), (3, 4))
    g = jax.grad(lambda o: jnp.nansum(softmax_cross_entropy(o, jnp.array([0, 4, 2]))))(o)
    good = jax.grad(lambda o: softmax_cross_entropy(o[::2], jnp.array([0, 2])).sum())(o)
    np.testing.assert_allclose(g, good, atol=1e-6)
    assert bool(jnp.isfinite(g).all())
