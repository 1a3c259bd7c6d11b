"""Label-shift correction (D2L 4.9.3.2), executed.

Under label shift the class-conditional p(x | y) is the same in both domains and only the label
distribution moves, from the source's p(y) to the target's q(y). A classifier f trained on the
source has the confusion matrix C, ``C[i, j] = P(f(x) = i | y = j)`` (estimated on held-out source
data, each column sums to 1); on the target its predictions have the mean
μ(ŷ)ᵢ = Σⱼ C[i, j] q(y = j), so q̂ solves the linear system C q̂ = μ(ŷ), and the importance weights
of 4.9.3.2 are β(y) = q̂(y) / p(y).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from jaxlin.nn.losses import softmax_cross_entropy
from jaxlin.nn.softmax import init_softmax_regression, softmax_regression_logits
from jaxlin.train.epoch import make_train_epoch
from jaxlin.train.fit import Fitted, fit


def class_conditional_data(key: jax.Array, means: jax.Array, proportions: jax.Array,
                           num_examples: int) -> tuple[jax.Array, jax.Array]:
    """Labels y ~ Categorical(proportions), inputs x | y ~ N(means[y], I): the same p(x | y) for any
    label distribution, which is what label shift assumes."""
    key_y, key_x = jax.random.split(key)
    y = jax.random.choice(key_y, means.shape[0], (num_examples,), p=proportions)
    X = means[y] + jax.random.normal(key_x, (num_examples, means.shape[1]))
    return X, y.astype(jnp.int32)


def train_softmax_classifier(X: jax.Array, y: jax.Array, num_classes: int, *, key: jax.Array,
                             num_epochs: int, learning_rate: float, batch_size: int) -> Fitted:
    """Softmax regression on (X, y) with Adam: the source classifier f."""
    init_key, fit_key = jax.random.split(key)
    params = init_softmax_regression(init_key, X.shape[1], num_classes)
    epoch = make_train_epoch(softmax_regression_logits, softmax_cross_entropy, optax.adam(learning_rate),
                             batch_size)
    return fit(epoch, epoch.init(params, fit_key), (X, y), num_epochs=num_epochs)


def confusion_matrix(y_hat: jax.Array, y: jax.Array, num_classes: int) -> jax.Array:
    """``C[i, j]`` = the fraction of the examples of class j predicted as i (columns sum to 1)."""
    counts = jnp.zeros((num_classes, num_classes)).at[y_hat, y].add(1.0)
    return counts / counts.sum(axis=0, keepdims=True)


def mean_prediction(y_hat: jax.Array, num_classes: int) -> jax.Array:
    """μ(ŷ): the fraction of the inputs predicted as each class."""
    return jnp.bincount(y_hat, length=num_classes) / y_hat.shape[0]


def estimate_label_distribution(C: jax.Array, mu: jax.Array) -> jax.Array:
    """q̂ solving C q̂ = μ(ŷ), clipped at 0 and renormalized (sampling noise can push a small
    class slightly below 0)."""
    q = jnp.clip(jnp.linalg.solve(C, mu), 0.0, None)
    return q / q.sum()


def corrected_predictions(logits: jax.Array, beta: jax.Array) -> jax.Array:
    """argmax of β(y)·p(y | x), the source posterior reweighted to the target's labels: the
    classifier that the book's β-weighted training converges to."""
    return jnp.argmax(jax.nn.log_softmax(logits, axis=1) + jnp.log(beta).reshape(1, -1), axis=1)
