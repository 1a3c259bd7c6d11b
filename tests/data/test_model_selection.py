"""K-fold cross-validation splits."""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from jaxlin.data.model_selection import get_k_fold_data, k_fold, k_fold_indices


@pytest.mark.parametrize("k, n", [(5, 100), (3, 10), (4, 7)])
def test_k_fold_covers_each_example_once(k, n):
    folds = k_fold_indices(k, n)
    assert len(folds) == k
    valid = np.concatenate([v for _, v in folds])
    np.testing.assert_array_equal(np.sort(valid), np.arange(n))           # each exactly once
    sizes = [len(v) for _, v in folds]
    assert max(sizes) - min(sizes) <= 1
    for train, v in folds:
        assert not set(train) & set(v)                                    # disjoint
        np.testing.assert_array_equal(np.sort(np.concatenate([train, v])), np.arange(n))
    X, y = jnp.arange(2 * n, dtype=jnp.float32).reshape(n, 2), jnp.arange(n)
    splits = list(k_fold(k, X, y))
    assert len(splits) == k
    X_train, y_train, X_valid, y_valid = get_k_fold_data(k, 1, X, y)
    np.testing.assert_array_equal(X_valid, splits[1][2])
    assert X_train.shape[0] + X_valid.shape[0] == n and y_train.shape[0] == X_train.shape[0]


def test_k_fold_bad_input():
    with pytest.raises(ValueError, match="k must be at least 2"):
        k_fold_indices(1, 10)
    with pytest.raises(ValueError, match="k=5"):
        k_fold_indices(5, 3)
    with pytest.raises(ValueError, match="fold index i"):
        get_k_fold_data(3, 3, jnp.zeros((9, 1)), jnp.zeros(9))
