"""Polynomial regression (D2L 4.4.4): the features xⁱ/i!, the data and a bias-free linear model."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxlin.checks import check_positive_int

Params = dict[str, jax.Array]


def poly_features(x: jax.Array, max_degree: int) -> jax.Array:
    """The features xⁱ / i! for i = 0 … max_degree − 1, shape (n, max_degree), from x of shape (n,).

    Dividing by i! = Γ(i + 1) keeps large powers from producing huge gradients (eq. 4.4.2's
    features rescaled as in the book).
    """
    max_degree = check_positive_int(max_degree, "max_degree")
    x = jnp.asarray(x, jnp.float32).reshape(-1, 1)
    powers = jnp.arange(max_degree, dtype=jnp.float32).reshape(1, -1)
    factorials = jnp.asarray([math.factorial(i) for i in range(max_degree)], jnp.float32).reshape(1, -1)
    return x ** powers / factorials


def polynomial_data(key: jax.Array, true_w: jax.Array, num_examples: int, *, max_degree: int = 20,
                    noise: float = 0.1) -> tuple[jax.Array, jax.Array]:
    """Draw y = Σᵢ wᵢ xⁱ/i! + ε with x ~ N(0, 1), ε ~ N(0, noise²) (eq. 4.4.2).

    ``true_w`` holds the leading coefficients; the rest of the ``max_degree`` are zero.
    Returns ``(features, labels)`` of shapes (n, max_degree) and (n, 1).
    """
    num_examples = check_positive_int(num_examples, "num_examples")
    true_w = jnp.asarray(true_w, jnp.float32).reshape(-1)
    if true_w.shape[0] > max_degree:
        raise ValueError(f"true_w has {true_w.shape[0]} coefficients, more than max_degree={max_degree}")
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    w = jnp.zeros(max_degree).at[: true_w.shape[0]].set(true_w)
    key_x, key_eps = jax.random.split(key)
    features = poly_features(jax.random.normal(key_x, (num_examples,)), max_degree)
    labels = features @ w + noise * jax.random.normal(key_eps, (num_examples,))
    return features, labels.reshape(-1, 1)


def init_polyreg(key: jax.Array, num_features: int, sigma: float = 0.01) -> Params:
    """``w ~ N(0, sigma²)`` of shape (num_features, 1); no bias (feature 0 is the constant 1)."""
    num_features = check_positive_int(num_features, "num_features")
    return {"w": sigma * jax.random.normal(key, (num_features, 1))}


def polyreg(params: Params, X: jax.Array) -> jax.Array:
    """The bias-free linear model ŷ = Xw on polynomial features (the book's ``nn.Linear(bias=False)``)."""
    return X @ params["w"]


def mse(y_hat: jax.Array, y: jax.Array) -> jax.Array:
    """Elementwise squared error (ŷ − y)², without the ½ (the book's ``nn.MSELoss`` here)."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2


__all__ = ["init_polyreg", "mse", "poly_features", "polynomial_data", "polyreg"]
