"""Every rewrite keeps the numbers: the CPU rewrites and the plain forms agree."""
from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxlin import (
    init_mlp,
    init_softmax_regression,
    mlp,
    sgd,
    softmax_cross_entropy,
    softmax_regression_logits,
)
from jaxlin.data.fashion_mnist import to_float
from jaxlin.train.epoch import make_train_epoch
from jaxlin.train.rewrites import CPU, PLAIN, Rewrites, batch_of_one, narrow, widen
from jaxlin.train.step import train_step
from jaxlin.train.sweep import init_sweep, make_sweep

ONE_AT_A_TIME = [dataclasses.replace(PLAIN, **{name: True}) for name in ("batch_of_one",
                                                                          "row_gather")]


def images_and_labels(n=300, seed=0):
    k1, k2 = jax.random.split(jax.random.key(seed))
    return (jax.random.randint(k1, (n, 6, 6, 1), 0, 256).astype(jnp.uint8),
            jax.random.randint(k2, (n,), 0, 4).astype(jnp.int32))


def test_row_gather_equals_indexing():
    X, _ = images_and_labels()
    idx = jnp.array([[5, 0, 299], [7, 7, 1]], jnp.int32)
    np.testing.assert_array_equal(Rewrites(row_gather=True).gather(X, idx), X[idx])
    np.testing.assert_array_equal(PLAIN.gather(X, idx), X[idx])


def test_batch_of_one_is_the_same_step():
    X, y = images_and_labels()
    params = init_softmax_regression(jax.random.key(1), 36, 4)
    step = train_step(softmax_regression_logits, softmax_cross_entropy, functools.partial(sgd, lr=0.5))
    plain = jax.jit(step)(params, (), to_float(X[:32]), y[:32])
    wrapped = jax.jit(batch_of_one(step))(params, (), to_float(X[:32]), y[:32])
    for a, b in zip(jax.tree.leaves(plain), jax.tree.leaves(wrapped)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("rewrites", [CPU, *ONE_AT_A_TIME], ids=["cpu", "batch_of_one",
                                                                  "row_gather"])
def test_compiled_epoch_gives_the_same_numbers_with_and_without_each_choice(rewrites):
    X, y = images_and_labels()
    params = init_mlp(jax.random.key(2), 36, 16, 4, sigma=0.1)
    updater = functools.partial(sgd, lr=0.3)
    runs = {}
    for name, low in (("plain", PLAIN), ("lowered", rewrites)):
        epoch = make_train_epoch(mlp, softmax_cross_entropy, updater, 25, prepare=to_float, rewrites=low)
        runs[name] = epoch(params, (), X, y, jax.random.key(3))
    for a, b in zip(jax.tree.leaves(runs["plain"]), jax.tree.leaves(runs["lowered"])):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)
    assert float(jnp.abs(runs["plain"][0]["W1"] - params["W1"]).max()) > 1e-3      # it trained


def test_indexed_step_is_the_same_with_and_without_the_rewrites():
    X, y = images_and_labels()
    params = init_softmax_regression(jax.random.key(4), 36, 4)
    idx = jnp.arange(40, dtype=jnp.int32)[::-1]
    outs = [make_train_epoch(softmax_regression_logits, softmax_cross_entropy, functools.partial(sgd, lr=0.2), 40,
                             loop="book", prepare=to_float, rewrites=low).fn(params, (), X, y, idx)
            for low in (PLAIN, CPU)]
    for a, b in zip(*(jax.tree.leaves(o) for o in outs)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_wide_weights_round_trip_and_give_the_same_sweep():
    stacked = {"W": jnp.arange(2 * 3 * 4.0).reshape(2, 3, 4), "b": jnp.ones((2, 4))}
    wide = {"W": True, "b": False}
    assert widen(stacked, wide)["W"].shape == (3, 8)
    jax.tree.map(np.testing.assert_array_equal, narrow(widen(stacked, wide), wide, 2), stacked)
    np.testing.assert_array_equal(widen(stacked, wide)["W"][:, 4:], stacked["W"][1])   # model 1's block
    X, y = images_and_labels()
    init = lambda key: init_softmax_regression(key, 36, 4)  # noqa: E731
    params, state = init_sweep(init, [0.1, 0.5], [0, 1])
    results = [make_sweep(softmax_regression_logits, softmax_cross_entropy, 25, 2, prepare=to_float,
                          wide=wide, rewrites=Rewrites(wide_weights=on))(params, state, X, y, X, y,
                                                                          jax.random.key(5))
               for on in (False, True)]
    for a, b in zip(*(jax.tree.leaves(r) for r in results)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_batch_of_one_applies_only_to_the_models_it_was_measured_to_pay_for():
    from jaxlin import init_lenet, init_linreg, init_mlp
    from jaxlin.train.rewrites import batch_of_one_pays
    key = jax.random.key(0)
    assert batch_of_one_pays(init_softmax_regression(key, 784, 10))         # one-layer classifier
    assert batch_of_one_pays(init_lenet(key))                               # a conv net
    assert not batch_of_one_pays(init_mlp(key, 784, 256, 10))               # slower on Intel Xeon
    assert not batch_of_one_pays(init_linreg(key, 2))                       # one output: slower on Zen 5


def test_batch_of_one_runs_an_mlp_step_as_written():
    """Where it does not pay, the wrapped step is the step itself: the same jaxpr, no vmap."""
    from jaxlin import init_mlp, mlp
    X, y = images_and_labels()
    params = init_mlp(jax.random.key(1), 36, 8, 4)
    step = train_step(mlp, softmax_cross_entropy, functools.partial(sgd, lr=0.5))
    args = (params, (), to_float(X[:32]), y[:32])
    assert str(jax.make_jaxpr(batch_of_one(step))(*args)) == str(jax.make_jaxpr(step)(*args))
