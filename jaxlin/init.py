"""Parameter initialization (D2L 4.8.2): Xavier initialization written from its formula.

Weights have shape (n_in, n_out). Xavier keeps the variance of activations and
gradients about constant across layers by choosing Var(w) = 2 / (n_in + n_out).
"""
from __future__ import annotations

import math

import jax

from jaxlin.validate import check_positive_int


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) != 2:
        raise ValueError(f"shape must be (n_in, n_out), got {tuple(shape)}")
    return check_positive_int(shape[0], "n_in"), check_positive_int(shape[1], "n_out")


def xavier_uniform(key: jax.Array, shape: tuple[int, int], gain: float = 1.0) -> jax.Array:
    """W ~ U(−a, a) with a = gain·√(6 / (n_in + n_out)) (eq. 4.8.5), so Var(W) = gain²·2/(n_in + n_out)."""
    n_in, n_out = _fans(shape)
    a = gain * math.sqrt(6.0 / (n_in + n_out))
    return jax.random.uniform(key, shape, minval=-a, maxval=a)


def xavier_normal(key: jax.Array, shape: tuple[int, int], gain: float = 1.0) -> jax.Array:
    """W ~ N(0, σ²) with σ = gain·√(2 / (n_in + n_out)) (eq. 4.8.4)."""
    n_in, n_out = _fans(shape)
    return gain * math.sqrt(2.0 / (n_in + n_out)) * jax.random.normal(key, shape)


def normal_init(sigma: float = 1.0):
    """``init(key, shape)`` drawing W ~ N(0, sigma²): the fixed-scale baseline Xavier fixes."""
    def init(key: jax.Array, shape: tuple[int, int]) -> jax.Array:
        _fans(shape)
        return sigma * jax.random.normal(key, shape)
    return init


__all__ = ["normal_init", "xavier_normal", "xavier_uniform"]
