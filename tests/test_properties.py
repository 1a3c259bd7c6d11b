"""Property-based tests of the public pure functions (issue 7): random shapes and values give
the NumPy reference's result, or the documented ``ValueError``/``TypeError``.

Shapes are drawn from small sets: JAX compiles each new shape once, so a few shapes
and many values keep the file fast.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from jaxlin import (
    accuracy,
    cross_entropy,
    data_iter,
    dropout_layer,
    evaluate_loss,
    sgd,
    softmax,
    softmax_cross_entropy,
    squared_loss,
)

FEW = settings(max_examples=20, deadline=None)      # each new shape costs a compile: keep it modest

ROWS = st.sampled_from([1, 3, 8])
CLASSES = st.sampled_from([2, 10])
BAD_LR = st.sampled_from([0.0, -1.0, -1e-3, math.nan, math.inf, -math.inf])


def floats(bound: float) -> st.SearchStrategy[float]:
    return st.floats(-bound, bound, width=32, allow_nan=False, allow_infinity=False)


def matrix(rows: int, cols: int, bound: float = 50.0) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float32, (rows, cols), elements=floats(bound))


def labels(n: int, num_classes: int) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.int32, (n,), elements=st.integers(0, num_classes - 1))


def np_softmax(o: np.ndarray) -> np.ndarray:
    e = np.exp(o.astype(np.float64) - o.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def np_logsumexp(o: np.ndarray) -> np.ndarray:
    o = o.astype(np.float64)
    m = o.max(axis=1)
    return m + np.log(np.exp(o - m[:, None]).sum(axis=1))


# ------------------------------------------------------------------ losses

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


@pytest.mark.parametrize("loss", [cross_entropy, softmax_cross_entropy], ids=lambda f: f.__name__)
@FEW
@given(n=ROWS, c=CLASSES, data=st.data())
def test_evaluation_rejects_labels_outside_the_classes(loss, n, c, data):
    """Labels are checked where the data enter (here the evaluation), not inside the loss."""
    y = data.draw(labels(n, c))
    i = data.draw(st.integers(0, n - 1))
    y[i] = data.draw(st.one_of(st.integers(-5, -1), st.integers(c, c + 5)))
    net = lambda params, X: jnp.full((X.shape[0], c), 1.0 / c)  # noqa: E731
    with pytest.raises(ValueError, match=rf"labels must lie in \[0, {c}\)"):
        evaluate_loss(net, {}, (jnp.zeros((n, 1)), jnp.asarray(y)), loss)


@pytest.mark.parametrize("loss", [cross_entropy, softmax_cross_entropy], ids=lambda f: f.__name__)
@FEW
@given(n=ROWS, c=CLASSES)
def test_evaluation_rejects_float_labels(loss, n, c):
    net = lambda params, X: jnp.full((X.shape[0], c), 1.0 / c)  # noqa: E731
    with pytest.raises(TypeError, match="labels must be integer class indices"):
        evaluate_loss(net, {}, (jnp.zeros((n, 1)), jnp.zeros(n, jnp.float32)), loss)


# ------------------------------------------------------------------ softmax and accuracy

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


# ------------------------------------------------------------------ sgd

@FEW
@given(shape=st.sampled_from([(1,), (3,), (2, 4)]),
       lr=st.floats(1e-4, 10.0), batch_size=st.integers(1, 512), data=st.data())
def test_sgd_is_p_minus_lr_g_over_batch_size(shape, lr, batch_size, data):
    p = {"w": data.draw(arrays(np.float32, shape, elements=floats(10))), "b": np.float32(1.5)}
    g = {"w": data.draw(arrays(np.float32, shape, elements=floats(10))), "b": np.float32(-2.0)}
    params = jax.tree.map(jnp.asarray, p)
    new = sgd(params, jax.tree.map(jnp.asarray, g), lr=lr, batch_size=batch_size)
    for name in p:
        np.testing.assert_allclose(new[name], p[name] - lr * g[name] / batch_size, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(params["w"], p["w"])                 # nothing mutated


@FEW
@given(lr=BAD_LR)
def test_sgd_rejects_a_learning_rate_that_is_not_finite_and_positive(lr):
    params = {"w": jnp.ones(2)}
    with pytest.raises(ValueError, match="lr must be a positive finite number"):
        sgd(params, params, lr=lr, batch_size=4)


@FEW
@given(batch_size=st.one_of(st.integers(-5, 0), st.sampled_from([2.5, "4", True])))
def test_sgd_rejects_a_batch_size_that_is_not_a_positive_integer(batch_size):
    params = {"w": jnp.ones(2)}
    with pytest.raises((TypeError, ValueError), match="batch_size must be a positive integer"):
        sgd(params, params, lr=0.1, batch_size=batch_size)


# ------------------------------------------------------------------ data_iter

@FEW
@given(n=st.sampled_from([1, 5, 12]), data=st.data(), drop=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_data_iter_covers_each_example_once_with_rows_and_labels_aligned(n, data, drop, seed):
    batch_size = data.draw(st.integers(1, n))
    X = np.arange(2 * n, dtype=np.float32).reshape(n, 2)
    y = np.arange(n, dtype=np.int32)
    batches = list(data_iter(jax.random.key(seed), batch_size, jnp.asarray(X), jnp.asarray(y),
                             drop_remainder=drop))
    sizes = [int(b[1].shape[0]) for b in batches]
    assert sizes and all(s == batch_size for s in sizes[:-1]) and 0 < sizes[-1] <= batch_size
    if drop:
        assert sizes[-1] == batch_size
    seen = np.concatenate([np.asarray(b[1]) for b in batches])
    assert len(set(seen.tolist())) == len(seen)                       # no example twice
    assert len(seen) == (n - n % batch_size if drop else n)
    for Xb, yb in batches:
        np.testing.assert_array_equal(np.asarray(Xb)[:, 0], 2 * np.asarray(yb))


@FEW
@given(n=st.sampled_from([1, 4, 7]), data=st.data())
def test_data_iter_rejects_bad_batch_sizes_and_mismatched_or_empty_data(n, data):
    X, y = jnp.zeros((n, 2)), jnp.zeros(n, jnp.int32)
    key = jax.random.key(0)
    too_big = data.draw(st.integers(n + 1, n + 10))
    with pytest.raises(ValueError, match=f"batch_size={too_big} is larger than the data set"):
        next(data_iter(key, too_big, X, y))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        next(data_iter(key, data.draw(st.integers(-3, 0)), X, y))
    with pytest.raises(TypeError, match="batch_size must be a positive integer"):
        next(data_iter(key, 1.0, X, y))
    with pytest.raises(ValueError, match="same number of examples"):
        next(data_iter(key, 1, X, y[: n - 1] if n > 1 else jnp.zeros(2, jnp.int32)))
    with pytest.raises(ValueError, match="empty"):
        next(data_iter(key, 1, X[:0], y[:0]))


# ------------------------------------------------------------------ dropout

@FEW
@given(shape=st.sampled_from([(1, 1), (3, 5, 2)]), p=st.floats(0.0, 1.0),
       seed=st.integers(0, 2**31 - 1), data=st.data())
def test_dropout_zeroes_or_rescales_every_unit(shape, p, seed, data):
    X = data.draw(arrays(np.float32, shape, elements=floats(50)))
    out = np.asarray(dropout_layer(jnp.asarray(X), p, key=jax.random.key(seed)))
    assert out.shape == X.shape
    if p == 0:
        np.testing.assert_array_equal(out, X)
    elif p == 1:
        np.testing.assert_array_equal(out, np.zeros_like(X))
    else:
        kept = out != 0
        np.testing.assert_allclose(out[kept], X[kept] / np.float32(1 - p), rtol=1e-5)


@settings(max_examples=6, deadline=None)
@given(p=st.sampled_from([0.1, 0.5, 0.9]), seed=st.integers(0, 2**31 - 1))
def test_dropout_drops_a_fraction_p_and_keeps_the_mean(p, seed):
    out = np.asarray(dropout_layer(jnp.ones((200, 200)), p, key=jax.random.key(seed)))
    sigma = math.sqrt(p * (1 - p) / out.size)
    assert abs((out == 0).mean() - p) < 6 * sigma                     # a binomial fraction
    assert abs(out.mean() - 1.0) < 6 * math.sqrt((1 / (1 - p) - 1) / out.size)


@FEW
@given(p=st.one_of(st.floats(1.0, 10.0, exclude_min=True), st.floats(-10.0, 0.0, exclude_max=True),
                   st.just(math.nan)))
def test_dropout_rejects_a_rate_outside_0_1(p):
    with pytest.raises(ValueError, match=r"dropout must lie in \[0, 1\]"):
        dropout_layer(jnp.ones((2, 3)), p, key=jax.random.key(0))
