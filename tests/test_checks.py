"""The argument checks: public functions reject bad inputs by name."""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import pytest

from jaxlin import (
    cross_entropy,
    data_iter,
    dropout_layer,
    init_softmax_regression,
    make_train_epoch,
    make_train_step,
    sgd,
    softmax_regression,
)
from jaxlin.train.evaluate import evaluate_accuracy, evaluate_loss


def test_public_functions_reject_bad_inputs_by_name():
    params = init_softmax_regression(jax.random.key(0), 784, 10)
    with pytest.raises(ValueError, match="784 features per example"):
        softmax_regression(params, jnp.zeros((2, 27, 27, 1)))
    with pytest.raises(ValueError, match="784 features per example"):
        make_train_step(softmax_regression, cross_entropy, functools.partial(sgd, lr=0.1))(
            params, (), jnp.zeros((2, 27, 27, 1)), jnp.zeros(2, jnp.int32))
    with pytest.raises(ValueError, match="lr must be a positive finite number"):
        make_train_step(softmax_regression, cross_entropy, functools.partial(sgd, lr=-1.0))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        make_train_epoch(softmax_regression, cross_entropy, functools.partial(sgd, lr=0.1), 0)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        evaluate_loss(softmax_regression, params, (jnp.zeros((2, 784)), jnp.array([3, 10])), cross_entropy)
    with pytest.raises(TypeError, match="labels must be integer class indices"):
        evaluate_accuracy(softmax_regression, params, (jnp.zeros((2, 784)), jnp.array([0.0, 1.0])))
    with pytest.raises(ValueError, match="dropout must lie in"):
        dropout_layer(jnp.ones(3), 1.5, key=jax.random.key(0))
    with pytest.raises(ValueError, match="same number of examples"):
        next(data_iter(jax.random.key(0), 2, jnp.zeros((5, 2)), jnp.zeros(4)))
