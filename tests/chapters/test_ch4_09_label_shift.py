"""4.9.3.2 label shift: the confusion matrix, the estimate of q(y) from C q̂ = μ(ŷ), the correction."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin.chapters.ch4_09_label_shift import (
    class_conditional_data,
    confusion_matrix,
    corrected_predictions,
    estimate_label_distribution,
    mean_prediction,
)


def test_confusion_matrix_columns_are_p_of_prediction_given_label():
    y = jnp.array([0, 0, 0, 0, 1, 1, 2, 2])
    y_hat = jnp.array([0, 0, 0, 1, 1, 2, 2, 2])
    C = confusion_matrix(y_hat, y, 3)
    np.testing.assert_allclose(C, [[0.75, 0, 0], [0.25, 0.5, 0], [0, 0.5, 1]])
    np.testing.assert_allclose(C.sum(axis=0), 1.0)
    np.testing.assert_allclose(mean_prediction(y_hat, 3), [3 / 8, 2 / 8, 3 / 8])


def test_the_estimate_solves_c_q_equals_mu():
    C = jnp.array([[0.8, 0.1, 0.2], [0.1, 0.7, 0.1], [0.1, 0.2, 0.7]])
    q = jnp.array([0.1, 0.3, 0.6])
    np.testing.assert_allclose(estimate_label_distribution(C, C @ q), q, atol=1e-6)
    # noise that pushes a class below 0 is clipped, and the estimate stays a distribution
    q_hat = estimate_label_distribution(jnp.eye(3), jnp.array([-0.02, 0.42, 0.6]))
    assert float(q_hat.min()) == 0.0 and float(q_hat.sum()) == 1.0


def test_class_conditional_data_follows_the_proportions():
    means = jnp.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    X, y = class_conditional_data(jax.random.key(0), means, jnp.array([0.1, 0.3, 0.6]), 20000)
    np.testing.assert_allclose(np.bincount(np.asarray(y), minlength=3) / 20000, [0.1, 0.3, 0.6], atol=0.01)
    np.testing.assert_allclose(X[y == 2].mean(axis=0), [0.0, 3.0], atol=0.05)


def test_corrected_predictions_favour_the_weighted_class():
    logits = jnp.log(jnp.array([[0.5, 0.3, 0.2]]))
    assert int(corrected_predictions(logits, jnp.ones(3))[0]) == 0
    assert int(corrected_predictions(logits, jnp.array([0.2, 1.0, 3.0]))[0]) == 2
