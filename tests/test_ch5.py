"""Chapter 5 (deep-learning computation): blocks under jit, parameter trees, tied gradients,
deferred shapes, custom layers, safe save/load and device fallback."""
from __future__ import annotations

import json

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import load_script
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
from jaxlin.chapters.ch5_02_parameters import infer_shapes, named_parameters, num_parameters, reinit
from jaxlin.chapters.ch5_06_use_gpu import cpu, gpus, num_gpus, try_all_gpus, try_gpu
from jaxlin.data.io import load_pytree, save_pytree
from jaxlin.nn.flax_adapter import flax_model

SCRIPTS = ["ch5_01_model_construction", "ch5_02_parameters", "ch5_03_deferred_init",
           "ch5_04_custom_layer", "ch5_05_read_write", "ch5_06_use_gpu"]
KEY = jax.random.key(0)


def relu(x):
    return jnp.maximum(x, 0)


def dense(p, X):
    return X @ p["kernel"] + p["bias"].reshape(1, -1)


@pytest.fixture(scope="module")
def X():
    return jax.random.uniform(jax.random.key(1), (2, 20))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = {}
    for name in SCRIPTS:
        folder = tmp_path_factory.mktemp(name)
        out[name] = (load_script(name).main(["--out", str(folder)]), folder)
    return out


# ------------------------------------------------------------------ 5.1 blocks

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


# ------------------------------------------------------------------ 5.2 parameters

def test_named_parameters_and_count():
    params = {"layers_0": {"kernel": jnp.zeros((4, 8)), "bias": jnp.zeros(8)},
              "layers_2": {"kernel": jnp.zeros((8, 1))}}
    assert named_parameters(params) == [("layers_0/bias", (8,)), ("layers_0/kernel", (4, 8)),
                                        ("layers_2/kernel", (8, 1))]
    assert num_parameters(params) == 4 * 8 + 8 + 8


def test_reinit_is_pure_and_respects_layers():
    init, _ = flax_model(nn.Sequential([nn.Dense(8), nn.relu, nn.Dense(1)]))
    params = init(KEY, jnp.ones((2, 4)))
    before = jax.tree.map(np.array, params)
    only_last = reinit(jax.random.key(3), params, nn.initializers.constant(42), layers={"layers_2"})
    assert (only_last["layers_2"]["kernel"] == 42).all() and (only_last["layers_2"]["bias"] == 0).all()
    np.testing.assert_array_equal(only_last["layers_0"]["kernel"], params["layers_0"]["kernel"])
    jax.tree.map(np.testing.assert_array_equal, params, before)  # the input tree is unchanged
    normal = reinit(jax.random.key(4), params, nn.initializers.normal(0.01))
    assert 0.005 < float(normal["layers_0"]["kernel"].std()) < 0.02
    assert not np.array_equal(normal["layers_0"]["kernel"],
                              reinit(jax.random.key(5), params, nn.initializers.normal(0.01))["layers_0"]["kernel"])


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


# ------------------------------------------------------------------ 5.3 deferred init

def test_deferred_shapes_are_inferred():
    net = nn.Sequential([nn.Dense(256), nn.relu, nn.Dense(10)])
    abstract = infer_shapes(net, KEY, (2, 20))
    assert all(isinstance(leaf, jax.ShapeDtypeStruct) for leaf in jax.tree.leaves(abstract))
    expected = [("params/layers_0/bias", (256,)), ("params/layers_0/kernel", (20, 256)),
                ("params/layers_2/bias", (10,)), ("params/layers_2/kernel", (256, 10))]
    assert named_parameters(abstract) == expected
    assert named_parameters(net.init(KEY, jnp.ones((2, 20)))) == expected
    assert dict(named_parameters(infer_shapes(net, KEY, (2, 30))))["params/layers_0/kernel"] == (30, 256)


# ------------------------------------------------------------------ 5.4 custom layers

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


# ------------------------------------------------------------------ 5.5 read/write

def assert_bit_exact(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        assert np.asarray(x).dtype == np.asarray(y).dtype
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize("tree", [
    jnp.arange(4),
    [jnp.arange(4), jnp.zeros(4)],
    {"x": jnp.arange(4), "y": jax.random.normal(KEY, (3, 2))},
], ids=["array", "list", "dict"])
def test_save_load_round_trip_is_bit_exact(tmp_path, tree):
    assert_bit_exact(tree, load_pytree(save_pytree(tmp_path / "t.npz", tree)))
    assert [p.name for p in tmp_path.iterdir()] == ["t.npz"]  # no temporary file left behind


def test_mlp_params_round_trip(tmp_path, X):
    init, net = flax_model(MLP())
    params = init(KEY, X)
    loaded = load_pytree(save_pytree(tmp_path / "mlp.npz", params), like=init(jax.random.key(9), X))
    assert_bit_exact(params, loaded)
    np.testing.assert_array_equal(net(loaded, X), net(params, X))


def test_mismatched_shape_is_refused(tmp_path, X):
    path = save_pytree(tmp_path / "mlp.npz", flax_model(MLP())[0](KEY, X))
    with pytest.raises(ValueError) as err:
        load_pytree(path, like=flax_model(MLP(num_hiddens=128))[0](KEY, X))
    message = str(err.value)
    assert str(path) in message and "['hidden']" in message and "(256,)" in message and "(128,)" in message


def test_mismatched_keys_are_refused(tmp_path, X):
    path = save_pytree(tmp_path / "mlp.npz", flax_model(MLP())[0](KEY, X))
    other = flax_model(nn.Sequential([nn.Dense(256), nn.relu, nn.Dense(10)]))[0](KEY, X)
    with pytest.raises(ValueError, match=r"missing keys .*layers_0.*unexpected keys .*hidden"):
        load_pytree(path, like=other)


def test_pickled_file_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, a=np.array([{"x": 1}], dtype=object))  # object arrays need pickle
    with pytest.raises(ValueError):
        load_pytree(path)


# ------------------------------------------------------------------ 5.6 devices

def test_device_fallback():
    assert num_gpus() == len(gpus())
    assert try_gpu(num_gpus()) == cpu()  # one past the last GPU: the CPU
    assert try_all_gpus() == (gpus() or [cpu()])
    assert try_gpu() in jax.devices(try_gpu().platform)
    x = jax.device_put(jnp.ones(3), try_gpu())
    assert (x + x).device == try_gpu()


# ------------------------------------------------------------------ scripts

@pytest.mark.parametrize("name", SCRIPTS)
def test_script_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_script(name).main(["--help"])
    assert exit_info.value.code == 0 and "--out" in capsys.readouterr().out


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_writes_results_json(runs, name):
    results, folder = runs[name]
    written = json.loads((folder / "results.json").read_text())
    assert written["script"] == name and set(results) <= set(written)
    for file in written["files"]:
        assert (folder / file).is_file()


def test_ch5_scripts_results(runs):
    r1 = runs["ch5_01_model_construction"][0]
    assert r1["mlp"]["output_shape"] == [2, 10] and r1["nest_mlp"]["output_shape"] == [2, 16]
    assert r1["fixed_hidden_mlp"]["output_shape"] == [] and r1["chimera"]["output_shape"] == []
    assert "constants/rand_weight" in r1["fixed_hidden_mlp"]["variables"]
    r2 = runs["ch5_02_parameters"][0]
    assert r2["tied"]["grad_is_sum_of_uses"] and r2["tied"]["layers"] == ["layers_0", "layers_2", "layers_6"]
    assert r2["init"]["constant_one"] and r2["init"]["constant_42_only_layers_2"] and r2["init"]["custom_W00"] == 42
    assert r2["init"]["custom_zero_or_large"] and r2["init"]["bias_zero"]
    r3 = runs["ch5_03_deferred_init"][0]
    assert r3["shapes"]["params/layers_0/kernel"] == [20, 256] and r3["abstract_matches_init"]
    assert r3["shapes_for_30_inputs"]["params/layers_0/kernel"] == [30, 256]
    r4 = runs["ch5_04_custom_layer"][0]
    assert abs(r4["centered_mean"]) < 1e-6 and r4["nested_output_shape"] == [2, 1]
    r5, folder5 = runs["ch5_05_read_write"]
    assert all(r5["round_trips"].values()) and len(r5["round_trips"]) == 5
    assert len(r5["mismatch_errors"]) == 2 and all("mlp.params.npz" in m for m in r5["mismatch_errors"].values())
    assert {p.name for p in folder5.glob("*.npz")} == {"x-file.npz", "x-files.npz", "mydict.npz", "mlp.params.npz"}
    r6 = runs["ch5_06_use_gpu"][0]
    assert r6["net_output_on_try_gpu"] and r6["try_gpu_10"] == str(try_gpu(10))
