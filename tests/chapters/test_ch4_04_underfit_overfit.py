"""4.4 polynomial regression: the features and the generated data."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxlin.chapters.ch4_04_underfit_overfit import poly_features, polynomial_data


def test_poly_features_and_data():
    x = jnp.asarray([-1.5, 0.0, 2.0])
    F = poly_features(x, 5)
    expected = np.stack([np.asarray(x) ** i / math.factorial(i) for i in range(5)], axis=1)
    np.testing.assert_allclose(F, expected, rtol=1e-6)
    features, labels = polynomial_data(jax.random.key(0), [5.0, 1.2, -3.4, 5.6], 50, noise=0.0)
    assert features.shape == (50, 20) and labels.shape == (50, 1)
    np.testing.assert_allclose(labels.reshape(-1), features[:, :4] @ jnp.asarray([5.0, 1.2, -3.4, 5.6]),
                               rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="max_degree"):
        polynomial_data(jax.random.key(0), jnp.ones(25), 10)
