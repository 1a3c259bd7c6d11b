"""5.2 parameters in NNX: reading, iterating, counting, initializing, re-initializing, tying."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxlin.chapters.ch5_02_parameters import (
    first_dead_layer,
    my_init,
    named_parameters,
    num_parameters,
    reinit,
    reinit_,
    tied_mlp,
    untie,
)

KEY = jax.random.key(0)
init = nnx.initializers


def mlp_4_8_1(seed: int = 0, **kw) -> nnx.Sequential:
    rngs = nnx.Rngs(seed)
    return nnx.Sequential(nnx.Linear(4, 8, rngs=rngs, **kw), nnx.relu, nnx.Linear(8, 1, rngs=rngs, **kw))


def params(model):
    return nnx.to_pure_dict(nnx.state(model, nnx.Param))


def test_named_parameters_and_count_of_a_dict():
    tree = {"layers_0": {"kernel": jnp.zeros((4, 8)), "bias": jnp.zeros(8)}, "layers_2": {"kernel": jnp.zeros((8, 1))}}
    assert named_parameters(tree) == [("layers_0/bias", (8,)), ("layers_0/kernel", (4, 8)),
                                      ("layers_2/kernel", (8, 1))]
    assert num_parameters(tree) == 4 * 8 + 8 + 8


def test_reading_iterating_and_counting_a_module():
    net = mlp_4_8_1()
    X = jax.random.uniform(KEY, (2, 4))
    W1, b1, W2, b2 = (np.asarray(v[...]) for v in (net.layers[0].kernel, net.layers[0].bias,
                                                     net.layers[2].kernel, net.layers[2].bias))
    np.testing.assert_allclose(net(X), np.maximum(np.asarray(X) @ W1 + b1, 0) @ W2 + b2, rtol=1e-6)
    np.testing.assert_array_equal(params(net)["layers"][2]["kernel"], W2)
    flat = [(path, param.shape) for path, param in nnx.to_flat_state(nnx.state(net, nnx.Param))]
    assert flat == [(("layers", 0, "bias"), (8,)), (("layers", 0, "kernel"), (4, 8)),
                    (("layers", 2, "bias"), (1,)), (("layers", 2, "kernel"), (8, 1))]
    assert [p for p, _ in named_parameters(net)] == ["layers/0/bias", "layers/0/kernel",
                                                     "layers/2/bias", "layers/2/kernel"]
    assert num_parameters(net) == 4 * 8 + 8 + 8 * 1 + 1


def test_builtin_initializers_at_construction():
    normal = mlp_4_8_1(kernel_init=init.normal(0.01), bias_init=init.zeros)
    assert 0.005 < float(params(normal)["layers"][0]["kernel"].std()) < 0.02
    assert (params(normal)["layers"][0]["bias"] == 0).all()
    constant = mlp_4_8_1(kernel_init=init.constant(1))
    assert (params(constant)["layers"][0]["kernel"] == 1).all()
    W = nnx.Linear(40, 60, kernel_init=init.xavier_uniform(), rngs=nnx.Rngs(0)).kernel[...]
    bound = np.sqrt(6 / (40 + 60))
    assert float(jnp.abs(W).max()) <= bound and float(jnp.abs(W).max()) > 0.9 * bound


def test_my_init_zeroes_small_weights_and_serves_as_kernel_init():
    w = my_init(KEY, (200, 50))
    assert ((w == 0) | ((jnp.abs(w) >= 5) & (jnp.abs(w) <= 10))).all()
    assert 0.4 < float((w == 0).mean()) < 0.6  # P(|U(−10, 10)| < 5) = 1/2
    W = nnx.Linear(50, 40, kernel_init=my_init, rngs=nnx.Rngs(0)).kernel[...]
    assert ((W == 0) | (jnp.abs(W) >= 5)).all() and (W != 0).any()


def test_reinit_is_pure_and_respects_layers():
    p = params(mlp_4_8_1())
    before = jax.tree.map(np.array, p)
    only_last = reinit(jax.random.key(3), p, init.constant(42), layers={"layers/2"})
    assert (only_last["layers"][2]["kernel"] == 42).all() and (only_last["layers"][2]["bias"] == 0).all()
    np.testing.assert_array_equal(only_last["layers"][0]["kernel"], p["layers"][0]["kernel"])
    jax.tree.map(np.testing.assert_array_equal, p, before)  # the input tree is unchanged
    normal = reinit(jax.random.key(4), p, init.normal(0.01))
    assert 0.005 < float(normal["layers"][0]["kernel"].std()) < 0.02
    assert not np.array_equal(normal["layers"][0]["kernel"],
                              reinit(jax.random.key(5), p, init.normal(0.01))["layers"][0]["kernel"])


def test_reinit_in_place_changes_the_module_only():
    net = mlp_4_8_1()
    snapshot = params(net)                                   # a value: not affected by what follows
    old = np.array(snapshot["layers"][0]["kernel"])
    assert reinit_(net, KEY, init.constant(42), layers={"layers/2"}) is net
    assert (net.layers[2].kernel[...] == 42).all() and (net.layers[2].bias[...] == 0).all()
    np.testing.assert_array_equal(net.layers[0].kernel[...], old)
    reinit_(net, KEY, my_init)
    assert ((net.layers[0].kernel[...] == 0) | (jnp.abs(net.layers[0].kernel[...]) >= 5)).all()
    np.testing.assert_array_equal(snapshot["layers"][0]["kernel"], old)
    net.layers[0].kernel[...] += 1
    net.layers[0].kernel[0, 0] = 42
    assert float(net.layers[0].kernel[0, 0]) == 42


def test_tied_layer_is_one_object_held_once():
    tied = tied_mlp(rngs=nnx.Rngs(0))
    assert tied.layers[2] is tied.layers[4]
    assert sorted(params(tied)["layers"]) == [0, 2, 6]
    assert num_parameters(tied) == (4 * 8 + 8) + (8 * 8 + 8) + (8 + 1)
    tied.layers[2].kernel[0, 0] = 100                        # one change, seen at both places
    assert float(tied.layers[4].kernel[0, 0]) == 100
    reinit_(tied, KEY, init.normal(1.0))
    assert tied.layers[2] is tied.layers[4]


@pytest.mark.parametrize("seed", [0, 1])
def test_tied_gradient_is_the_sum_of_both_uses(seed):
    X = jax.random.uniform(jax.random.key(seed + 10), (3, 4))
    tied = tied_mlp(rngs=nnx.Rngs(seed))
    untied = untie(tied)
    assert untied.layers[2] is not untied.layers[4]
    np.testing.assert_array_equal(untied(X), tied(X))       # same values in both places

    def loss(m):
        return m(X).sum()

    g = nnx.to_pure_dict(nnx.grad(loss)(tied))["layers"]
    g_untied = nnx.to_pure_dict(nnx.grad(loss)(untied))["layers"]
    assert sorted(g) == [0, 2, 6] and sorted(g_untied) == [0, 2, 4, 6]
    for name in ("kernel", "bias"):
        np.testing.assert_allclose(g[2][name], g_untied[2][name] + g_untied[4][name], rtol=1e-5, atol=1e-7)
        assert not np.allclose(g[2][name], g_untied[2][name])  # both uses really contribute


def test_first_dead_layer_finds_where_a_row_goes_all_zero():
    """A row whose ReLUs are all off after layer i: i; a row that never is: None."""
    X = jnp.array([[1.0, 2.0], [-1.0, -2.0], [3.0, -5.0]])
    layers = [lambda h: h, nnx.relu, lambda h: nnx.relu(h - 2.5), lambda h: h + 1.0]
    assert first_dead_layer(layers, X) == [2, 1, None]
    assert first_dead_layer([nnx.relu], X[:1]) == [None]
