"""Standardization."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxlin.data.preprocessing import standardization_stats, standardize


def test_standardize():
    X = jax.random.normal(jax.random.key(0), (500, 3)) * jnp.asarray([[0.1, 1.0, 100.0]]) + 7.0
    Z = standardize(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(Z.var(axis=0), 1.0, rtol=1e-3)
    mean, std = standardization_stats(X[:250])
    np.testing.assert_allclose(standardize(X[250:], mean, std), (X[250:] - mean) / std)
    constant = standardize(jnp.ones((4, 2)))
    assert bool(jnp.all(constant == 0))
    with pytest.raises(ValueError, match="both mean and std"):
        standardize(X, mean=mean)
