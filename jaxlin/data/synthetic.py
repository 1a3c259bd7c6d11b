"""Synthetic regression data (D2L 3.2.1) and minibatches from arrays (3.2.2, 3.3.2)."""
from __future__ import annotations

from collections.abc import Iterator

import jax
import jax.numpy as jnp

from jaxlin.checks import check_batch_size, check_positive_int, check_same_length
from jaxlin.data.shuffle import shuffle


def synthetic_data(key: jax.Array, w: jax.Array, b: float, num_examples: int,
                   noise: float = 0.01) -> tuple[jax.Array, jax.Array]:
    """Generate y = Xw + b + ε with X ~ N(0, 1) of shape (n, len(w)) and ε ~ N(0, noise²).

    Returns ``(X, y)`` with ``y`` of shape (n, 1), as in the book. Written out in
    scripts/ch3_02_linear_regression_scratch.py (3.2.1).
    """
    num_examples = check_positive_int(num_examples, "num_examples")
    w = jnp.asarray(w, dtype=jnp.float32).reshape(-1)
    key_x, key_eps = jax.random.split(key)
    X = jax.random.normal(key_x, (num_examples, w.shape[0]))
    y = X @ w + b
    y = y + noise * jax.random.normal(key_eps, y.shape)
    return X, y.reshape(-1, 1)


def data_iter(key: jax.Array, batch_size: int, features: jax.Array, labels: jax.Array,
              *, drop_remainder: bool = False) -> Iterator[tuple[jax.Array, jax.Array]]:
    """Yield shuffled minibatches ``(X, y)`` that cover every example once.

    The order is :func:`~jaxlin.data.shuffle.shuffle` of ``key``: pass a new key (e.g.
    ``jax.random.fold_in(key, epoch)``) each epoch. With ``drop_remainder=True``
    the last incomplete batch is skipped so every batch has the same shape and a
    jitted step compiles once; the book's (written out in
    scripts/ch3_02_linear_regression_scratch.py, 3.2.2) keeps it, as the default does.
    """
    n = check_same_length(features, labels, "features", "labels")
    batch_size = check_batch_size(batch_size, n)
    indices = shuffle(key, n)
    stop = n - n % batch_size if drop_remainder else n
    for i in range(0, stop, batch_size):
        batch = indices[i:i + batch_size]
        yield features[batch], labels[batch]


def array_batches(batch_size: int, features: jax.Array, labels: jax.Array
                  ) -> Iterator[tuple[jax.Array, jax.Array]]:
    """Yield ``(X, y)`` in order, every example exactly once (the last batch may be smaller)."""
    n = check_same_length(features, labels, "features", "labels")
    batch_size = min(check_batch_size(batch_size), n)   # evaluation may ask for more than n
    for i in range(0, n, batch_size):
        yield features[i:i + batch_size], labels[i:i + batch_size]


def load_array(data_arrays: tuple[jax.Array, jax.Array], batch_size: int, *,
               key: jax.Array | None = None) -> Iterator[tuple[jax.Array, jax.Array]]:
    """The book's ``load_array`` (3.3.2): shuffled batches when a ``key`` is given, else in order.
    Written out in scripts/ch3_03_linear_regression_concise.py (3.3.2)."""
    features, labels = data_arrays
    if key is None:
        return array_batches(batch_size, features, labels)
    return data_iter(key, batch_size, features, labels)
