"""5.1 blocks (and the tied and custom layers of 5.2, 5.4): equations, jit, gradients."""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxlin.chapters.ch5_01_model_construction import (
    MLP,
    CenteredLayer,
    FixedHiddenMLP,
    MyDense,
    MySequential,
    NestMLP,
    chimera,
    my_init,
    tied_mlp,
)
from jaxlin.chapters.ch5_02_parameters import named_parameters, num_parameters
from jaxlin.nn.flax_adapter import flax_model

KEY = jax.random.key(0)


def relu(x):
    return jnp.maximum(x, 0)


def dense(p, X):
    return X @ p["kernel"] + p["bias"].reshape(1, -1)


@pytest.fixture(scope="module")
def X():
    return jax.random.uniform(jax.random.key(1), (2, 20))


def test_mlp_block_matches_its_equation(X):
    variables = MLP().init(KEY, X)
    p = variables["params"]
    np.testing.assert_allclose(jax.jit(MLP().apply)(variables, X),
                               dense(p["out"], relu(dense(p["hidden"], X))), rtol=1e-5, atol=1e-6)


def test_my_sequential_applies_blocks_in_order(X):
    model = MySequential([nn.Dense(256), nn.relu, nn.Dense(10)])
    variables = model.init(KEY, X)
    p = variables["params"]
    assert sorted(p) == ["blocks_0", "blocks_2"]
    np.testing.assert_allclose(jax.jit(model.apply)(variables, X),
                               dense(p["blocks_2"], relu(dense(p["blocks_0"], X))), rtol=1e-5, atol=1e-6)


def fixed_hidden_reference(variables, X):
    """FixedHiddenMLP written out with a Python while loop (runs eagerly, on concrete values)."""
    lin, W = variables["params"]["linear"], variables["constants"]["rand_weight"]
    Y = dense(lin, relu(dense(lin, X) @ W + 1))
    while float(jnp.abs(Y).sum()) > 1:
        Y = Y / 2
    return Y.sum()


@pytest.mark.parametrize("scale", [1.0, 1e3])
def test_fixed_hidden_mlp_under_jit(X, scale):
    model = FixedHiddenMLP()
    variables = model.init(KEY, X)
    assert sorted(variables["params"]) == ["linear"]  # one Dense, used twice
    assert variables["constants"]["rand_weight"].shape == (20, 20)
    out = jax.jit(model.apply)(variables, scale * X)
    assert out.shape == () and abs(float(out)) <= 1
    np.testing.assert_allclose(out, fixed_hidden_reference(variables, scale * X), rtol=1e-5)


def test_fixed_hidden_weight_is_not_trained_but_block_is_differentiable(X):
    model = FixedHiddenMLP()
    variables = model.init(KEY, X)
    assert [p for p, _ in named_parameters(variables["params"])] == ["linear/bias", "linear/kernel"]
    grads = jax.jit(jax.grad(lambda p: model.apply({**variables, "params": p}, X)))(variables["params"])
    eps = 1e-2  # finite difference along the bias: the loop's halving count is locally constant
    bump = {"linear": {**variables["params"]["linear"],
                       "bias": variables["params"]["linear"]["bias"].at[0].add(eps)}}
    numeric = (model.apply({**variables, "params": bump}, X) - model.apply(variables, X)) / eps
    assert float(jnp.abs(grads["linear"]["kernel"]).sum()) > 0
    np.testing.assert_allclose(grads["linear"]["bias"][0], numeric, rtol=1e-2, atol=1e-4)


def test_fixed_hidden_loop_terminates_on_infinite_input(X):
    model = FixedHiddenMLP()
    variables = model.init(KEY, X)
    out = jax.jit(model.apply)(variables, jnp.full_like(X, jnp.inf))
    assert not np.isfinite(float(out))


def test_nest_mlp_nests_its_sequential(X):
    variables = NestMLP().init(KEY, X)
    assert [(p, s) for p, s in named_parameters(variables)] == [
        ("params/linear/bias", (16,)), ("params/linear/kernel", (32, 16)),
        ("params/net/layers_0/bias", (64,)), ("params/net/layers_0/kernel", (20, 64)),
        ("params/net/layers_2/bias", (32,)), ("params/net/layers_2/kernel", (64, 32))]
    assert NestMLP().apply(variables, X).shape == (2, 16)


def test_chimera_under_jit(X):
    model = chimera()
    variables = model.init(KEY, X)
    assert sorted(variables["params"]) == ["layers_0", "layers_1", "layers_2"]
    traces = []

    def apply(variables, X):
        traces.append(1)  # runs only while tracing
        return model.apply(variables, X)

    jitted = jax.jit(apply)
    out = jitted(variables, X)
    assert out.shape == () and abs(float(out)) <= 1
    np.testing.assert_allclose(out, model.apply(variables, X), rtol=1e-6)
    jitted(variables, X + 1)
    assert len(traces) == 1  # the data-dependent loop is inside the compiled program: no retrace


def test_my_init_zeroes_small_weights():
    w = my_init(KEY, (200, 50))
    assert ((w == 0) | ((jnp.abs(w) >= 5) & (jnp.abs(w) <= 10))).all()
    assert 0.4 < float((w == 0).mean()) < 0.6  # P(|U(−10, 10)| < 5) = 1/2


def test_tied_parameters_appear_once(X):
    params = flax_model(tied_mlp())[0](KEY, X[:, :4])
    assert sorted(params) == ["layers_0", "layers_2", "layers_6"]
    assert num_parameters(params) == (4 * 8 + 8) + (8 * 8 + 8) + (8 + 1)


def test_tied_gradient_is_sum_of_both_uses(X):
    X4 = X[:, :4]
    _, net = flax_model(tied_mlp())
    params = flax_model(tied_mlp())[0](KEY, X4)
    grads = jax.grad(lambda p: net(p, X4).sum())(params)

    def untied(p0, pa, pb, p3):  # the same network, its two uses given separate parameters
        return dense(p3, relu(dense(pb, relu(dense(pa, relu(dense(p0, X4))))))).sum()

    g_a, g_b = jax.grad(untied, argnums=(1, 2))(params["layers_0"], params["layers_2"],
                                                 params["layers_2"], params["layers_6"])
    for name in ("kernel", "bias"):
        np.testing.assert_allclose(grads["layers_2"][name], g_a[name] + g_b[name], rtol=1e-5, atol=1e-7)
        assert not np.allclose(grads["layers_2"][name], g_a[name])  # both uses really contribute


def test_centered_layer():
    assert CenteredLayer().apply({}, jnp.array([1.0, 2, 3, 4, 5])).tolist() == [-2.0, -1.0, 0.0, 1.0, 2.0]
    init, net = flax_model(nn.Sequential([nn.Dense(128), CenteredLayer()]))
    X = jax.random.uniform(jax.random.key(2), (4, 8))
    assert abs(float(jax.jit(net)(init(KEY, X), X).mean())) < 1e-6


def test_my_dense():
    init, net = flax_model(MyDense(units=3, in_units=5))
    X = jax.random.uniform(jax.random.key(2), (2, 5))
    params = init(KEY, X)
    assert named_parameters(params) == [("bias", (3,)), ("weight", (5, 3))]
    np.testing.assert_allclose(net(params, X), relu(X @ params["weight"] + params["bias"].reshape(1, -1)), rtol=1e-6)
    init2, net2 = flax_model(nn.Sequential([MyDense(8, in_units=64), MyDense(1, in_units=8)]))
    X64 = jnp.ones((2, 64))
    out = jax.jit(net2)(init2(KEY, X64), X64)
    assert out.shape == (2, 1) and (out >= 0).all()
    with pytest.raises(ValueError, match="expects 5 input features"):
        net(params, jnp.ones((2, 4)))
