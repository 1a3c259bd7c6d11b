"""Model selection (D2L 4.4, 4.10): K-fold cross-validation splits."""
from __future__ import annotations

from collections.abc import Iterator

import jax
import numpy as np

from jaxlin.checks import check_positive_int, check_same_length


def k_fold_indices(k: int, num_examples: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (train_indices, valid_indices) pairs: contiguous folds that cover every example.

    Fold sizes differ by at most one (unlike the book, which drops the n mod k
    left-over examples), so each example is validated exactly once.
    """
    k = check_positive_int(k, "k")
    if k < 2:
        raise ValueError(f"k must be at least 2 for K-fold cross-validation, got {k}")
    if num_examples < k:
        raise ValueError(f"cannot split {num_examples} examples into k={k} folds")
    folds = np.array_split(np.arange(num_examples), k)
    return [(np.concatenate(folds[:i] + folds[i + 1:]), folds[i]) for i in range(k)]


def get_k_fold_data(k: int, i: int, X: jax.Array, y: jax.Array
                    ) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """The book's ``get_k_fold_data``: fold ``i`` as validation, the other k − 1 for training."""
    n = check_same_length(X, y, "X", "y")
    if not 0 <= i < k:
        raise ValueError(f"fold index i must lie in [0, {k}), got {i}")
    train_idx, valid_idx = k_fold_indices(k, n)[i]
    return X[train_idx], y[train_idx], X[valid_idx], y[valid_idx]


def k_fold(k: int, X: jax.Array, y: jax.Array
           ) -> Iterator[tuple[jax.Array, jax.Array, jax.Array, jax.Array]]:
    """Yield ``(X_train, y_train, X_valid, y_valid)`` for each of the ``k`` folds."""
    for i in range(k):
        yield get_k_fold_data(k, i, X, y)
