"""The MLP and dropout: inverted dropout's mask and scale, and the key it is given, step by step."""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from helpers import FEW, floats
from jaxlin import dropout_layer, init_mlp, mlp, mlp_dropout, sgd, softmax_cross_entropy
from jaxlin.train.epoch import make_train_epoch


def test_dropout_p0_is_identity_and_p1_is_zeros():
    X = jax.random.normal(jax.random.key(0), (4, 8))
    np.testing.assert_array_equal(dropout_layer(X, 0.0, key=jax.random.key(1)), X)
    np.testing.assert_array_equal(dropout_layer(X, 1.0, key=jax.random.key(1)), jnp.zeros_like(X))
    kept = dropout_layer(X, 0.5, key=jax.random.key(1))
    nonzero = kept != 0
    np.testing.assert_allclose(kept[nonzero], 2 * X[nonzero], rtol=1e-6)    # scaled by 1/(1 − p)
    with pytest.raises(ValueError, match="dropout"):
        dropout_layer(X, 1.5, key=jax.random.key(1))


def test_dropout_preserves_the_mean():
    X = jnp.ones((1000, 1000))
    for p in (0.2, 0.5, 0.8):
        out = dropout_layer(X, p, key=jax.random.key(2))
        assert abs(float(out.mean()) - 1.0) < 0.01                         # E[h'] = h
        assert abs(float((out == 0).mean()) - p) < 0.01


def test_evaluation_drops_nothing():
    params = init_mlp(jax.random.key(0), 8, (16, 16), 3)
    X = jax.random.normal(jax.random.key(1), (5, 8))
    np.testing.assert_array_equal(mlp_dropout(params, X), mlp(params, X))
    assert not np.array_equal(mlp_dropout(params, X, key=jax.random.key(3)), mlp(params, X))


def test_mlp_dropout_uses_the_key_it_is_given():
    """The masks are a function of the key: two keys, two outputs; the same key, the same output
    (also through ``mlp(..., dropouts=...)`` and under jit)."""
    params = init_mlp(jax.random.key(0), 8, (32, 32), 3, sigma=1.0)
    X = jax.random.normal(jax.random.key(1), (5, 8))
    a, b = (np.asarray(mlp_dropout(params, X, key=jax.random.key(k))) for k in (2, 3))
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(mlp_dropout(params, X, key=jax.random.key(2)), a)
    np.testing.assert_array_equal(mlp(params, X, key=jax.random.key(2), dropouts=(0.2, 0.5)), a)
    c, d = (np.asarray(mlp(params, X, key=jax.random.key(k), dropouts=(0.5, 0.5))) for k in (2, 3))
    assert not np.array_equal(c, d)
    jitted = jax.jit(mlp_dropout)
    np.testing.assert_allclose(jitted(params, X, key=jax.random.key(3)), b, rtol=1e-5, atol=1e-5)
    assert not np.allclose(jitted(params, X, key=jax.random.key(2)), b)


def test_mlp_dropout_draws_a_new_mask_every_step_of_a_compiled_epoch():
    """Inside ``make_train_epoch(..., stochastic=True)`` each step passes its own key to
    ``mlp_dropout``: a probe through fixed identity weights records each step's mask (no two
    consecutive steps alike), and training differs from a net whose dropout key is fixed."""
    width = 64
    probe = {"W1": jnp.eye(width), "b1": jnp.zeros(width), "W2": jnp.eye(width), "b2": jnp.zeros(width),
             "W3": jnp.eye(width), "b3": jnp.zeros(width)}
    masks = []

    def net(params, X, *, key=None):
        if key is not None:       # the probe's output is the product of the two layers' masks, scaled
            jax.debug.callback(lambda m: masks.append(np.asarray(m)),
                               mlp_dropout(probe, jnp.ones((1, width)), key=key))
        return mlp_dropout(params, X, key=key)

    def fixed_key_net(params, X, *, key=None):
        return mlp_dropout(params, X, key=None if key is None else jax.random.key(0))

    params = init_mlp(jax.random.key(0), 8, (16, 16), 3, sigma=0.5)
    X = jax.random.normal(jax.random.key(1), (20, 8))
    y = jnp.arange(20, dtype=jnp.int32) % 3
    updater = functools.partial(sgd, lr=0.1)
    epoch = make_train_epoch(net, softmax_cross_entropy, updater, 5, stochastic=True)
    trained, _, _ = epoch(params, (), X, y, jax.random.key(7))
    jax.effects_barrier()
    assert len(masks) == 4
    assert all(np.any(m == 0) and np.any(m != 0) for m in masks)       # some units dropped, some kept
    assert all(not np.array_equal(a, b) for a, b in zip(masks, masks[1:]))
    again, _, _ = epoch(params, (), X, y, jax.random.key(7))            # the same key: the same epoch
    jax.tree.map(np.testing.assert_array_equal, trained, again)
    fixed = make_train_epoch(fixed_key_net, softmax_cross_entropy, updater, 5, stochastic=True)
    fixed_trained, _, _ = fixed(params, (), X, y, jax.random.key(7))
    assert not np.allclose(trained["W1"], fixed_trained["W1"])


@FEW
@given(shape=st.sampled_from([(1, 1), (3, 5, 2)]), p=st.floats(0.0, 1.0),
       seed=st.integers(0, 2**31 - 1), data=st.data())
def test_dropout_zeroes_or_rescales_every_unit(shape, p, seed, data):
    X = data.draw(arrays(np.float32, shape, elements=floats(50)))
    out = np.asarray(dropout_layer(jnp.asarray(X), p, key=jax.random.key(seed)))
    assert out.shape == X.shape
    if p == 0:
        np.testing.assert_array_equal(out, X)
    elif p == 1:
        np.testing.assert_array_equal(out, np.zeros_like(X))
    else:
        kept = out != 0
        np.testing.assert_allclose(out[kept], X[kept] / np.float32(1 - p), rtol=1e-5)


@settings(max_examples=6, deadline=None)
@given(p=st.sampled_from([0.1, 0.5, 0.9]), seed=st.integers(0, 2**31 - 1))
def test_dropout_drops_a_fraction_p_and_keeps_the_mean(p, seed):
    out = np.asarray(dropout_layer(jnp.ones((200, 200)), p, key=jax.random.key(seed)))
    sigma = math.sqrt(p * (1 - p) / out.size)
    assert abs((out == 0).mean() - p) < 6 * sigma                     # a binomial fraction
    assert abs(out.mean() - 1.0) < 6 * math.sqrt((1 / (1 - p) - 1) / out.size)


@FEW
@given(p=st.one_of(st.floats(1.0, 10.0, exclude_min=True), st.floats(-10.0, 0.0, exclude_max=True),
                   st.just(math.nan)))
def test_dropout_rejects_a_rate_outside_0_1(p):
    with pytest.raises(ValueError, match=r"dropout must lie in \[0, 1\]"):
        dropout_layer(jnp.ones((2, 3)), p, key=jax.random.key(0))


@pytest.mark.parametrize("dropouts", [(0.5, 0.5), (0.2, 0.5)])
@pytest.mark.parametrize("seed", [0, 11])
def test_each_hidden_layer_draws_its_own_mask(dropouts, seed):
    """Through identity weights a unit survives only if every hidden layer keeps it: with masks
    drawn independently per layer that is (1 − p1)(1 − p2) of the units (0.25, 0.4), not the
    (1 − max p) = 0.5 that one key shared by both layers gives (equal or nested masks), and the
    two layers' masks, probed one at a time, are not equal or nested."""
    width, rows = 2048, 8
    eye = {f"W{i}": jnp.eye(width) for i in (1, 2, 3)} | {f"b{i}": jnp.zeros(width) for i in (1, 2, 3)}
    X = jnp.ones((rows, width))
    key = jax.random.key(seed)
    out = np.asarray(mlp(eye, X, key=key, dropouts=dropouts))
    kept = (1 - dropouts[0]) * (1 - dropouts[1])
    sigma = math.sqrt(kept * (1 - kept) / out.size)
    assert abs((out != 0).mean() - kept) < 6 * sigma
    np.testing.assert_allclose(out[out != 0], 1 / kept, rtol=1e-5)
    m1 = np.asarray(mlp(eye, X, key=key, dropouts=(dropouts[0], 0.0))) != 0   # layer 1's mask alone
    m2 = np.asarray(mlp(eye, X, key=key, dropouts=(0.0, dropouts[1]))) != 0   # layer 2's mask alone
    assert np.any(m1 & ~m2) and np.any(m2 & ~m1)
    np.testing.assert_array_equal(out != 0, m1 & m2)
