"""The losses of chapters 3 and 4, elementwise (one value per example), and accuracy.

Every loss is ``loss(y_hat, y) -> (n,) or (n, 1)``; the train step averages it over
the minibatch. Labels are checked where the data enter (``fit``, the evaluation,
the data loaders), not here: a check inside a loss would run on every eager call
and do nothing under ``jit``. Instead the class losses give NaN for a label outside
[0, C), eagerly and under ``jit`` alike, never a finite wrong number.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import xlogy


def squared_loss(y_hat: jax.Array, y: jax.Array) -> jax.Array:
    """Elementwise squared loss l = (ŷ − y)² / 2 (eq. 3.1.5), y reshaped to ŷ's shape.
    Written out in scripts/ch3_02_linear_regression_scratch.py (3.2.5)."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def pick(values: jax.Array, y: jax.Array) -> jax.Array:
    """``values[range(n), y]`` of floating ``values``, written as a masked sum over each row;
    NaN where ``y`` lies outside [0, C) (no host sync: the range check is one more select).

    Same numbers as indexing, but its gradient is an elementwise select rather
    than a scatter, which XLA fuses into the neighbouring ops.
    """
    if not jnp.issubdtype(y.dtype, jnp.integer):       # dtypes are static: refused while tracing
        raise TypeError(f"class labels must be integers in [0, {values.shape[-1]}), got {y.dtype} labels")
    y = y.reshape(-1)
    classes = jax.lax.broadcasted_iota(jnp.int32, values.shape, values.ndim - 1)
    picked = jnp.where(classes == y[:, None], values, 0).sum(axis=1)
    return jnp.where((y >= 0) & (y < values.shape[-1]), picked, jnp.nan)


def cross_entropy(y_hat: jax.Array, y: jax.Array) -> jax.Array:
    """l = −log ŷ_y for each example (eq. 3.4.8): picks ŷ[range(n), y]; NaN for y outside [0, C).
    Written out in scripts/ch3_06_softmax_regression_scratch.py (3.6.4)."""
    return -jnp.log(pick(y_hat, y))


def softmax_cross_entropy(logits: jax.Array, y: jax.Array) -> jax.Array:
    """Cross-entropy of softmax(o) computed stably: l = logsumexp(o) − o_y (eq. 3.7.2).

    Finite for logits of any magnitude (NaN for a label outside [0, C)); its gradient
    with respect to ``o`` is softmax(o) − onehot(y) (eq. 3.4.10).
    """
    return jax.nn.logsumexp(logits, axis=1) - pick(logits, y)


def binary_cross_entropy(y_hat: jax.Array, y: jax.Array) -> jax.Array:
    """l = −[y log ŷ + (1 − y) log(1 − ŷ)] on probabilities ŷ: eq. 3.4.8 with two classes.

    Infinite when ŷ rounds to exactly 0 or 1; train with :func:`binary_cross_entropy_logits`.
    """
    y = y.reshape(y_hat.shape).astype(y_hat.dtype)
    return -(xlogy(y, y_hat) + xlogy(1 - y, 1 - y_hat))


def binary_cross_entropy_logits(o: jax.Array, y: jax.Array) -> jax.Array:
    """The logistic loss l = softplus(o) − y·o = −[y log σ(o) + (1 − y) log(1 − σ(o))], stably.

    Its gradient with respect to the logit is σ(o) − y: eq. 3.4.10 with two classes.
    """
    return jax.nn.softplus(o) - y.reshape(o.shape).astype(o.dtype) * o


def accuracy(y_hat: jax.Array, y: jax.Array) -> jax.Array:
    """The NUMBER of correct predictions, argmax ŷ == y, as in the book (divide by n yourself).
    Written out in scripts/ch3_06_softmax_regression_scratch.py (3.6.5)."""
    if y_hat.ndim > 1 and y_hat.shape[1] > 1:
        y_hat = jnp.argmax(y_hat, axis=1)
    return (y_hat.astype(y.dtype) == y.reshape(y_hat.shape)).sum()


__all__ = ["accuracy", "binary_cross_entropy", "binary_cross_entropy_logits", "cross_entropy",
           "pick", "softmax_cross_entropy", "squared_loss"]
