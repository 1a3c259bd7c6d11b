"""Softmax regression (D2L 3.4-3.7): softmax and the model; its losses are in :mod:`jaxlin.nn.losses`."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxlin.checks import check_positive_int

Params = dict[str, jax.Array]


def softmax(X: jax.Array) -> jax.Array:
    """softmax(X)_ij = exp(X_ij) / Σ_k exp(X_ik) (eq. 3.6.1), the book's row-wise version.
    Written out in scripts/ch3_06_softmax_regression_scratch.py (3.6.2).

    Overflows for large logits; the loss uses :func:`softmax_cross_entropy` instead.
    """
    X_exp = jnp.exp(X)
    return X_exp / X_exp.sum(axis=1, keepdims=True)


def init_softmax_regression(key: jax.Array, num_inputs: int = 784, num_outputs: int = 10,
                            sigma: float = 0.01) -> Params:
    """``W ~ N(0, sigma²)`` of shape (num_inputs, num_outputs) and ``b = 0``."""
    num_inputs = check_positive_int(num_inputs, "num_inputs")
    num_outputs = check_positive_int(num_outputs, "num_outputs")
    return {"W": sigma * jax.random.normal(key, (num_inputs, num_outputs)),
            "b": jnp.zeros(num_outputs)}


def flatten(X: jax.Array, num_inputs: int) -> jax.Array:
    """Reshape a batch of images to (batch, num_inputs), naming the mismatch if impossible."""
    if X.ndim < 1 or X.size != X.shape[0] * num_inputs:
        raise ValueError(f"expected inputs with {num_inputs} features per example "
                         f"(e.g. images of shape (batch, 28, 28, 1)), got shape {tuple(X.shape)}")
    return X.reshape(X.shape[0], num_inputs)


def softmax_regression_logits(params: Params, X: jax.Array) -> jax.Array:
    """The model's logits o = XW + b on flattened inputs (eq. 3.4.3), for the stable
    :func:`~jaxlin.nn.losses.softmax_cross_entropy` (3.7)."""
    W, b = params["W"], params["b"]
    return flatten(X, W.shape[0]) @ W + b.reshape(1, -1)


def softmax_regression(params: Params, X: jax.Array) -> jax.Array:
    """ŷ = softmax(o), o the logits (eq. 3.4.5); written out as ``net`` in
    scripts/ch3_06_softmax_regression_scratch.py (3.6.3)."""
    return softmax(softmax_regression_logits(params, X))
