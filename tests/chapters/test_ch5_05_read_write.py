"""5.5 a model's parameters through Orbax: bit-identical round trips, mismatches refused."""
from __future__ import annotations

import jax
import numpy as np
import pytest
from flax import nnx

from jaxlin.chapters.ch5_01_model_construction import MLP, FixedHiddenMLP
from jaxlin.chapters.ch5_05_read_write import load_params, mismatch, save_params


def params(model):
    return nnx.to_pure_dict(nnx.state(model, nnx.Param))


def abstract(make):
    return params(nnx.eval_shape(make))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    net = MLP(rngs=nnx.Rngs(0))
    return net, save_params(tmp_path_factory.mktemp("ckpt") / "mlp.params", params(net))


def test_a_fresh_model_with_restored_params_gives_identical_outputs(saved):
    net, path = saved
    assert path.is_absolute() and path.is_dir()
    restored = load_params(path, abstract(lambda: MLP(rngs=nnx.Rngs(1))))
    clone = MLP(rngs=nnx.Rngs(1))
    assert not np.array_equal(clone.hidden.kernel[...], net.hidden.kernel[...])
    nnx.update(clone, restored)
    X = jax.random.normal(jax.random.key(2), (3, 20))
    np.testing.assert_array_equal(clone(X), net(X))
    for a, b in zip(jax.tree.leaves(params(clone)), jax.tree.leaves(params(net))):
        assert a.dtype == b.dtype and np.array_equal(a, b)


@pytest.mark.parametrize("make, words", [
    (lambda: MLP(num_hiddens=128, rngs=nnx.Rngs(0)), "'hidden/bias' is (256,) float32 in the checkpoint"),
    (lambda: MLP(num_inputs=30, rngs=nnx.Rngs(0)), "'hidden/kernel' is (20, 256) float32"),
    (lambda: nnx.Linear(20, 10, rngs=nnx.Rngs(0)), "the checkpoint has no 'bias'"),
])
def test_a_mismatched_model_is_refused_with_one_clear_error(saved, make, words):
    _, path = saved
    with pytest.raises(ValueError, match="mlp.params does not fit this model") as info:
        load_params(path, abstract(make))
    assert words in str(info.value) and "\n" not in str(info.value)


def test_mismatch_sees_extra_entries_and_dtypes():
    a = {"w": np.zeros((2, 3), np.float32), "b": np.zeros(3, np.float32)}
    assert mismatch(a, a) is None
    assert "the model has no 'b'" in mismatch(a, {"w": a["w"]})
    assert "float16" in mismatch(a, {**a, "b": jax.ShapeDtypeStruct((3,), np.float16)})


def test_orbax_refuses_to_overwrite_unless_forced(saved, tmp_path):
    net, _ = saved
    path = save_params(tmp_path / "p", params(net))
    with pytest.raises(ValueError, match="already exists"):
        save_params(path, params(net))
    save_params(path, params(net), force=True)
    with pytest.raises(FileNotFoundError):
        load_params(tmp_path / "missing", params(net))


def test_a_whole_nnx_state_round_trips_constants_included(tmp_path):
    model = FixedHiddenMLP(rngs=nnx.Rngs(0))
    path = save_params(tmp_path / "fixed", nnx.state(model))
    graphdef, abstract_state = nnx.split(nnx.eval_shape(lambda: FixedHiddenMLP(rngs=nnx.Rngs(5))))
    clone = nnx.merge(graphdef, load_params(path, abstract_state))
    X = jax.random.uniform(jax.random.key(1), (2, 20))
    np.testing.assert_array_equal(clone.rand_weight[...], model.rand_weight[...])
    assert float(clone(X)) == float(model(X))
