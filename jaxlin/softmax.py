"""Softmax regression (D2L 3.4-3.7): softmax, the cross-entropy loss and accuracy."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxlin.validate import check_labels, check_positive_int

Params = dict[str, jax.Array]


def softmax(X: jax.Array) -> jax.Array:
    """softmax(X)_ij = exp(X_ij) / Σ_k exp(X_ik) (eq. 3.6.1), the book's row-wise version.

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


def softmax_regression(params: Params, X: jax.Array) -> jax.Array:
    """ŷ = softmax(XW + b) on flattened inputs (eq. 3.4.5)."""
    W, b = params["W"], params["b"]
    return softmax(flatten(X, W.shape[0]) @ W + b.reshape(1, -1))


def softmax_regression_logits(params: Params, X: jax.Array) -> jax.Array:
    """The unnormalised logits o = XW + b, for use with :func:`softmax_cross_entropy`."""
    W, b = params["W"], params["b"]
    return flatten(X, W.shape[0]) @ W + b.reshape(1, -1)


def pick(values: jax.Array, y: jax.Array) -> jax.Array:
    """``values[range(n), y]``, written as a masked sum over each row.

    Same numbers as indexing, but its gradient is an elementwise select rather
    than a scatter, which XLA fuses into the neighbouring ops.
    """
    classes = jax.lax.broadcasted_iota(jnp.int32, values.shape, values.ndim - 1)
    return jnp.where(classes == y.reshape(-1, 1), values, 0).sum(axis=1)


def cross_entropy(y_hat: jax.Array, y: jax.Array) -> jax.Array:
    """l = −log ŷ_y for each example (eq. 3.4.8): picks ŷ[range(n), y]."""
    check_labels(y, y_hat.shape[-1], "y")
    return -jnp.log(pick(y_hat, y))


def softmax_cross_entropy(logits: jax.Array, y: jax.Array) -> jax.Array:
    """Cross-entropy of softmax(o) computed stably: l = logsumexp(o) − o_y (eq. 3.7.2).

    Finite for logits of any magnitude; its gradient with respect to ``o`` is
    softmax(o) − onehot(y) (eq. 3.4.10).
    """
    check_labels(y, logits.shape[-1], "y")
    return jax.nn.logsumexp(logits, axis=1) - pick(logits, y)


def accuracy(y_hat: jax.Array, y: jax.Array) -> jax.Array:
    """The NUMBER of correct predictions, argmax ŷ == y, as in the book (divide by n yourself)."""
    if y_hat.ndim > 1 and y_hat.shape[1] > 1:
        y_hat = jnp.argmax(y_hat, axis=1)
    return (y_hat.astype(y.dtype) == y.reshape(y_hat.shape)).sum()
