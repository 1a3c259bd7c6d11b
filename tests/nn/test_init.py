"""Initializers: Xavier's variance and the normal init."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import pytest

from jaxlin.nn.init import normal_init, xavier_normal, xavier_uniform


@pytest.mark.parametrize("init", [xavier_uniform, xavier_normal])
def test_xavier_variance_matches_formula(init):
    n_in, n_out = 256, 512
    W = init(jax.random.key(0), (n_in, n_out))
    assert W.shape == (n_in, n_out)
    assert abs(float(W.mean())) < 0.01 * math.sqrt(2 / (n_in + n_out)) * 10
    assert float(W.var()) == pytest.approx(2 / (n_in + n_out), rel=0.03)
    if init is xavier_uniform:
        assert float(jnp.abs(W).max()) <= math.sqrt(6 / (n_in + n_out))
    assert float(normal_init(0.5)(jax.random.key(1), (n_in, n_out)).var()) == pytest.approx(0.25, rel=0.03)
    with pytest.raises(ValueError, match="shape"):
        init(jax.random.key(0), (3, 4, 5))
