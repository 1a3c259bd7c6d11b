"""Activation functions of the multilayer perceptron (D2L 4.1.2) and their derivatives.

Every activation is elementwise; :func:`derivative` gives its derivative with
``jax.grad`` vectorized by ``jax.vmap``, so nothing is differentiated by hand.
"""
from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

Activation = Callable[[jax.Array], jax.Array]


def relu(x: jax.Array) -> jax.Array:
    """ReLU(x) = max(x, 0) (eq. 4.1.4); written out in scripts/ch4_02_mlp_scratch.py (4.2.2).

    Written with ``where`` so the derivative at x = 0 is the left derivative, 0, as
    the book chooses (``jnp.maximum`` would split a tie and give 1/2).
    """
    return jnp.where(x > 0, x, jnp.zeros_like(x))


def init_prelu(alpha: float = 0.25) -> dict[str, jax.Array]:
    """PReLU's one learnable parameter: the slope ``alpha`` for negative inputs (default 0.25)."""
    return {"alpha": jnp.asarray(alpha, dtype=jnp.float32)}


def prelu(params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
    """pReLU(x) = max(0, x) + α·min(0, x) (eq. 4.1.5), α = ``params["alpha"]`` (learnable)."""
    return jnp.where(x > 0, x, params["alpha"] * x)


def sigmoid(x: jax.Array) -> jax.Array:
    """sigmoid(x) = 1 / (1 + exp(−x)) (eq. 4.1.6), computed stably by ``jax.nn.sigmoid``."""
    return jax.nn.sigmoid(x)


def tanh(x: jax.Array) -> jax.Array:
    """tanh(x) = (1 − exp(−2x)) / (1 + exp(−2x)) (eq. 4.1.8)."""
    return jnp.tanh(x)


def derivative(f: Callable[[jax.Array], jax.Array]) -> Activation:
    """The elementwise derivative f'(x) of a scalar function f: ``vmap(grad(f))`` over a 1-D x.

    For the closed forms: relu' = 1[x > 0], sigmoid' = s(1 − s) (eq. 4.1.7),
    tanh' = 1 − tanh² (eq. 4.1.9).
    """
    return jax.vmap(jax.grad(f))


def prelu_slope_grad(params: dict[str, jax.Array], x: jax.Array) -> dict[str, jax.Array]:
    """∂/∂α of Σᵢ pReLU(xᵢ) = Σᵢ min(0, xᵢ): the gradient that makes the slope learnable."""
    return jax.grad(lambda p: prelu(p, x).sum())(params)


__all__ = ["derivative", "init_prelu", "prelu", "prelu_slope_grad", "relu", "sigmoid", "tanh"]
