"""Polynomial regression (D2L 4.4.4): the features xⁱ/i!, the data, a bias-free linear model,
its fit with the book's SGD and K-fold cross-validation of it."""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from jaxlin.checks import check_positive_int
from jaxlin.data.model_selection import k_fold
from jaxlin.nn.updaters import sgd
from jaxlin.train.evaluate import evaluate_loss
from jaxlin.train.fit import fit

Params = dict[str, jax.Array]
TRUE_W = (5.0, 1.2, -3.4, 5.6)  # y = 5 + 1.2x − 3.4x²/2! + 5.6x³/3! + ε


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




def fit_poly(data, num_features: int, num_epochs: int, *, lr: float, batch_size: int,
             key_init: jax.Array, key_fit: jax.Array, evals_names=("train", "test"),
             callback=None):
    """Train ŷ = Xw on the first ``num_features`` features with the book's SGD and MSE loss."""
    cut = {name: (X[:, :num_features], y) for name, (X, y) in data.items()}
    return fit(polyreg, init_polyreg(key_init, num_features), mse, functools.partial(sgd, lr=lr),
               cut["train"], num_epochs=num_epochs, batch_size=min(batch_size, cut["train"][0].shape[0]),
               key=key_fit, evals={name: cut[name] for name in evals_names}, eval_loss=mse,
               callback=callback)


def cross_validate(X: jax.Array, y: jax.Array, k: int, num_features: int, num_epochs: int, *,
                   lr: float, batch_size: int, key_init: jax.Array, key_fit: jax.Array) -> list[float]:
    """The validation loss of each of the ``k`` folds (trained on the other k − 1)."""
    losses = []
    for X_train, y_train, X_valid, y_valid in k_fold(k, X, y):
        result = fit_poly({"train": (X_train, y_train)}, num_features, num_epochs, lr=lr,
                          batch_size=batch_size, key_init=key_init, key_fit=key_fit,
                          evals_names=())
        losses.append(evaluate_loss(polyreg, result.params, (X_valid[:, :num_features], y_valid), mse))
    return losses


__all__ = ["TRUE_W", "cross_validate", "fit_poly", "init_polyreg", "mse", "poly_features",
           "polynomial_data", "polyreg"]
