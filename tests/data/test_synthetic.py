"""Synthetic data and ``data_iter``: noise, coverage of every example, bad input."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import FEW, TRUE_B, TRUE_W
from jaxlin import data_iter, load_array, synthetic_data


def test_synthetic_data_shapes_and_noise():
    X, y = synthetic_data(jax.random.key(0), TRUE_W, TRUE_B, 1000)
    assert X.shape == (1000, 2) and y.shape == (1000, 1)
    residual = y[:, 0] - (X @ TRUE_W + TRUE_B)
    assert abs(float(residual.std()) - 0.01) < 0.002       # noise N(0, 0.01²)
    assert abs(float(X.mean())) < 0.1 and abs(float(X.std()) - 1) < 0.1


def test_data_iter_covers_every_example_once_and_orders_differ():
    X, y = jnp.arange(103.0).reshape(-1, 1), jnp.arange(103)
    seen = np.concatenate([np.asarray(yb) for _, yb in data_iter(jax.random.key(0), 10, X, y)])
    assert sorted(seen.tolist()) == list(range(103))
    other = np.concatenate([np.asarray(yb) for _, yb in data_iter(jax.random.key(1), 10, X, y)])
    assert not np.array_equal(seen, other)
    for Xb, yb in data_iter(jax.random.key(0), 10, X, y):
        np.testing.assert_array_equal(Xb[:, 0], yb)           # features stay with their labels
    full = [yb.shape[0] for _, yb in data_iter(jax.random.key(0), 10, X, y, drop_remainder=True)]
    assert full == [10] * 10


@pytest.mark.parametrize("bad, match", [
    (dict(features=jnp.ones((5, 2)), labels=jnp.ones((4, 1))), "same number of examples"),
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size=-3), "batch_size"),
])
def test_data_iter_rejects_bad_input(bad, match):
    args = dict(batch_size=2, features=jnp.ones((5, 2)), labels=jnp.ones((5, 1))) | bad
    with pytest.raises(ValueError, match=match):
        next(data_iter(jax.random.key(0), **args))


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


@pytest.mark.parametrize("shuffled", [False, True])
def test_load_array_keeps_the_last_partial_batch(shuffled):
    """The book's ``load_array`` (a DataLoader without drop_last): 23 examples in batches of 10
    are 10, 10, 3, every example once, rows with their labels — in order without a key."""
    X, y = jnp.arange(46.0).reshape(23, 2), jnp.arange(23)
    batches = list(load_array((X, y), 10, key=jax.random.key(0) if shuffled else None))
    assert [int(yb.shape[0]) for _, yb in batches] == [10, 10, 3]
    seen = np.concatenate([np.asarray(yb) for _, yb in batches])
    assert sorted(seen.tolist()) == list(range(23))
    if not shuffled:
        assert seen.tolist() == list(range(23))
    for Xb, yb in batches:
        np.testing.assert_array_equal(np.asarray(Xb)[:, 0], 2 * np.asarray(yb))
