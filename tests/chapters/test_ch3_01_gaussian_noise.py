"""3.1.3 the normal distribution: densities, the NLL, and least squares as maximum likelihood."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxlin.chapters.ch3_01_gaussian_noise import (
    gaussian_nll,
    loss_and_nll,
    loss_and_nll_profile,
    normal,
    perturb_w,
    squared_loss_nll,
)
from jaxlin.data.synthetic import synthetic_data
from jaxlin.nn.linear import linreg_closed_form


def test_normal_density_values():
    np.testing.assert_allclose(normal(jnp.array([0.0, 1.0]), 0, 1),
                               [1 / math.sqrt(2 * math.pi), math.exp(-0.5) / math.sqrt(2 * math.pi)], rtol=1e-6)
    assert float(normal(jnp.float32(0.0), 0, 2)) == pytest.approx(0.199471, rel=1e-5)
    assert float(normal(jnp.float32(3.0), 3, 1)) == pytest.approx(0.398942, rel=1e-5)


@pytest.mark.parametrize("mu,sigma", [(0, 1), (0, 2), (3, 1), (-1.5, 0.3)])
def test_normal_integrates_to_one_and_matches_scipy(mu, sigma):
    x = np.linspace(mu - 10 * sigma, mu + 10 * sigma, 20001)
    p = np.asarray(normal(jnp.asarray(x), mu, sigma))
    assert np.trapezoid(p, x) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(p, jax.scipy.stats.norm.pdf(jnp.asarray(x), mu, sigma), rtol=1e-5, atol=1e-8)


def test_nll_per_example_hand_values():
    y_hat, y = jnp.array([0.0, 0.0]), jnp.array([0.0, 1.0])
    half_log_2pi = 0.5 * math.log(2 * math.pi)                      # 0.918939
    for f in (gaussian_nll, squared_loss_nll):
        np.testing.assert_allclose(f(y_hat, y, 1.0), [half_log_2pi, half_log_2pi + 0.5], rtol=1e-6)
    # σ = 2: ½·log(8π) + 1/(2·4)
    assert float(gaussian_nll(y_hat, y, 2.0)[1]) == pytest.approx(0.5 * math.log(8 * math.pi) + 0.125, rel=1e-6)


@settings(max_examples=15, deadline=None)
@given(sigma=st.floats(0.05, 5.0), seed=st.integers(0, 2 ** 16))
def test_nll_equals_constant_plus_squared_error(sigma, seed):
    """−Σ log N(y; ŷ, σ²) = n/2·log(2πσ²) + Σ(y − ŷ)²/(2σ²), the right side in float64 by hand."""
    rng = np.random.default_rng(seed)
    y_hat, y = rng.normal(size=50).astype(np.float32), rng.normal(size=50).astype(np.float32)
    by_hand = 25 * math.log(2 * math.pi * sigma ** 2) + ((y.astype(np.float64) - y_hat) ** 2).sum() / (2 * sigma ** 2)
    nll = float(gaussian_nll(jnp.asarray(y_hat), jnp.asarray(y), sigma).sum())
    assert nll == pytest.approx(by_hand, rel=1e-5, abs=1e-3)
    np.testing.assert_allclose(squared_loss_nll(jnp.asarray(y_hat), jnp.asarray(y), sigma),
                               gaussian_nll(jnp.asarray(y_hat), jnp.asarray(y), sigma), rtol=1e-5, atol=1e-5)


def test_perturb_w_and_loss_and_nll_by_hand():
    params = {"w": jnp.array([[1.0], [2.0]]), "b": jnp.array([0.5])}
    batch = perturb_w(params, 1, jnp.array([-1.0, 0.0, 3.0]))
    np.testing.assert_array_equal(batch["w"][:, :, 0], [[1, 1], [1, 2], [1, 5]])
    np.testing.assert_array_equal(batch["b"], [[0.5]] * 3)
    X, y = jnp.array([[1.0, 1.0], [0.0, 1.0]]), jnp.array([[3.5], [3.5]])   # ŷ = (3.5, 2.5)
    v = loss_and_nll(params, X, y, 1.0)
    assert float(v["loss_sum"]) == pytest.approx(0.5)
    assert float(v["nll"]) == pytest.approx(math.log(2 * math.pi) + 0.5, rel=1e-6)
    assert float(v["nll_formula"]) == pytest.approx(float(v["nll"]), rel=1e-6)


def test_least_squares_w_maximizes_the_likelihood_for_every_sigma():
    X, y = synthetic_data(jax.random.key(3), jnp.array([2.0, -3.4]), 4.2, 200, noise=0.3)
    w = linreg_closed_form(X, y)
    params = {"w": w["w"], "b": w["b"].reshape(1)}
    deltas = jnp.arange(-100, 101, dtype=jnp.float32) / 100
    for index in (0, 1):
        for sigma in (0.1, 0.3, 2.0):
            p = loss_and_nll_profile(params, X, y, sigma, index, deltas)
            assert int(jnp.argmin(p["loss_sum"])) == int(jnp.argmin(p["nll"])) == 100
            slope = (p["nll"][0] - p["nll"][100]) / (p["loss_sum"][0] - p["loss_sum"][100])
            assert float(slope) == pytest.approx(1 / sigma ** 2, rel=1e-3)
            np.testing.assert_allclose(p["nll"], p["nll_formula"], rtol=1e-5)
