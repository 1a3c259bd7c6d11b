"""Input standardization (D2L 4.8, 4.10): rescale each feature to mean 0 and variance 1."""
from __future__ import annotations

import jax
import jax.numpy as jnp


def standardization_stats(X: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Per-feature mean μ and standard deviation σ over the examples (axis 0), shapes (1, d).

    A constant feature gets σ = 1 so standardizing it gives 0, never NaN.
    """
    X = jnp.asarray(X, jnp.float32)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (num_examples, num_features), got {X.shape}")
    mean = X.mean(axis=0, keepdims=True)
    std = X.std(axis=0, keepdims=True)
    return mean, jnp.where(std > 0, std, jnp.ones_like(std))


def standardize(X: jax.Array, mean: jax.Array | None = None,
                std: jax.Array | None = None) -> jax.Array:
    """x ← (x − μ) / σ per feature. μ and σ default to X's own; pass the training set's
    statistics to transform a test set the same way."""
    if (mean is None) != (std is None):
        raise ValueError("give both mean and std, or neither")
    if mean is None:
        mean, std = standardization_stats(X)
    return (jnp.asarray(X, jnp.float32) - mean) / std


__all__ = ["standardization_stats", "standardize"]
