"""The compiled epoch: the shuffle, one trace, the indexed step and a fresh key per step."""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import linreg_data
from jaxlin import (
    dropout_layer,
    init_linreg,
    init_mlp,
    init_softmax_regression,
    linreg,
    make_train_epoch,
    make_train_step,
    mlp_dropout,
    sgd,
    softmax_cross_entropy,
    softmax_regression_logits,
    squared_loss,
)
from jaxlin.data.fashion_mnist import to_float
from jaxlin.data.shuffle import epoch_indices


@pytest.fixture(scope="module")
def data():
    return linreg_data()


def test_compiled_epoch_traces_once(data):
    traces = []

    def counting_linreg(params, X):
        traces.append(1)
        return linreg(params, X)

    epoch = make_train_epoch(counting_linreg, squared_loss, functools.partial(sgd, lr=0.03), 10)
    params = init_linreg(jax.random.key(1), 2)
    for k in range(3):
        params, _, sums = epoch(params, (), *data, jax.random.key(k))
    n_traces = len(traces)
    params, _, sums = epoch(params, (), *data, jax.random.key(9))
    assert len(traces) == n_traces                         # no retrace on later epochs
    assert float(sums["n"]) == 1000


def test_indexed_step_equals_the_step_on_the_gathered_batch():
    """Gather and step in one call (the book loop's step) = the user-level step on X[idx]."""
    images = jax.random.randint(jax.random.key(3), (50, 4, 4), 0, 256).astype(jnp.uint8)
    labels = jax.random.randint(jax.random.key(4), (50,), 0, 3)
    idx = np.array([7, 3, 41, 3, 0, 19], np.int32)
    params = init_softmax_regression(jax.random.key(5), 16, 3)
    updater = functools.partial(sgd, lr=0.5)
    book = make_train_epoch(softmax_regression_logits, softmax_cross_entropy, updater, 6, loop="book",
                            prepare=to_float)
    got = book.fn(params, (), images, labels, idx)
    want = make_train_step(softmax_regression_logits, softmax_cross_entropy, updater)(
        params, (), to_float(images[idx]), labels[idx])
    assert float(jnp.abs(got[0]["W"] - params["W"]).max()) > 1e-3          # it did step
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_two_consecutive_steps_use_different_masks():
    """Record the dropout mask each step sees: a fresh key per step, never a fixed one."""
    masks = []

    def net(params, X, *, key=None):
        if key is not None:
            jax.debug.callback(lambda m: masks.append(np.asarray(m)),
                               dropout_layer(jnp.ones((1, 64)), 0.5, key=jax.random.fold_in(key, 1)))
        return mlp_dropout(params, X, key=key, dropouts=(0.5,))

    params = init_mlp(jax.random.key(0), 8, 16, 3)
    X = jax.random.normal(jax.random.key(1), (20, 8))
    y = jnp.arange(20, dtype=jnp.int32) % 3
    epoch = make_train_epoch(net, softmax_cross_entropy, functools.partial(sgd, lr=0.1), 5, stochastic=True)
    params, _, _ = epoch(params, (), X, y, jax.random.key(7))
    jax.effects_barrier()
    assert len(masks) == 4
    assert all(not np.array_equal(a, b) for a, b in zip(masks, masks[1:]))
    params, _, _ = epoch(params, (), X, y, jax.random.key(8))
    jax.effects_barrier()
    assert not any(np.array_equal(masks[4], m) for m in masks[:4])


def test_different_seeds_give_different_inits_and_shuffles():
    k0, k1 = jax.random.key(0), jax.random.key(1)
    init0, init1 = init_softmax_regression(k0, 784, 10), init_softmax_regression(k1, 784, 10)
    assert not np.array_equal(init0["W"], init1["W"])
    np.testing.assert_array_equal(init0["W"], init_softmax_regression(jax.random.key(0), 784, 10)["W"])
    order0, order1 = epoch_indices(k0, 1000, 10), epoch_indices(k1, 1000, 10)
    assert not np.array_equal(order0, order1)
    np.testing.assert_array_equal(order0, epoch_indices(jax.random.key(0), 1000, 10))
    assert not np.array_equal(epoch_indices(jax.random.fold_in(k0, 1), 1000, 10), order0)   # per epoch
