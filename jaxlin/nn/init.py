"""Parameter initialization (D2L 4.8.2): Xavier initialization written from its formula.

Weights have shape (n_in, n_out), convolution kernels (kh, kw, c_in, c_out) with fans
kh·kw·c_in and kh·kw·c_out (as PyTorch's ``xavier_uniform_``, which 6.6 uses). Xavier keeps the variance of activations and
gradients about constant across layers by choosing Var(w) = 2 / (n_in + n_out).
"""
from __future__ import annotations

import math

import jax

from jaxlin.checks import check_fans


def xavier_uniform(key: jax.Array, shape: tuple[int, ...], gain: float = 1.0) -> jax.Array:
    """W ~ U(−a, a) with a = gain·√(6 / (n_in + n_out)) (eq. 4.8.5), so Var(W) = gain²·2/(n_in + n_out)."""
    n_in, n_out = check_fans(shape)
    a = gain * math.sqrt(6.0 / (n_in + n_out))
    return jax.random.uniform(key, shape, minval=-a, maxval=a)


def xavier_normal(key: jax.Array, shape: tuple[int, ...], gain: float = 1.0) -> jax.Array:
    """W ~ N(0, σ²) with σ = gain·√(2 / (n_in + n_out)) (eq. 4.8.4)."""
    n_in, n_out = check_fans(shape)
    return gain * math.sqrt(2.0 / (n_in + n_out)) * jax.random.normal(key, shape)


def normal_init(sigma: float = 1.0):
    """``init(key, shape)`` drawing W ~ N(0, sigma²): the fixed-scale baseline Xavier fixes."""
    def init(key: jax.Array, shape: tuple[int, int]) -> jax.Array:
        check_fans(shape)
        return sigma * jax.random.normal(key, shape)
    return init


__all__ = ["normal_init", "xavier_normal", "xavier_uniform"]
