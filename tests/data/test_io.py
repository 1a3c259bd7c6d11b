"""Parameter files and output files: bit-exact round trips, no pickle, clear errors, atomic writes."""
from __future__ import annotations

import json
from pathlib import Path

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxlin import init_mlp, init_softmax_regression, load_pytree, save_pytree, write_json
from jaxlin.nn.flax_adapter import flax_model


class MLP(nn.Module):
    """A Linen MLP, X ↦ Dense₁₀(relu(Dense_h(X))), with named layers: a nested params tree."""
    num_hiddens: int = 256

    @nn.compact
    def __call__(self, X: jax.Array) -> jax.Array:
        return nn.Dense(10, name="out")(nn.relu(nn.Dense(self.num_hiddens, name="hidden")(X)))

KEY = jax.random.key(0)


def test_pytree_save_load_round_trip_is_bit_exact(tmp_path):
    tree = {"w": jax.random.normal(jax.random.key(0), (3, 4)), "b": [jnp.arange(3), (jnp.ones(2),)]}
    save_pytree(tmp_path / "t.npz", tree)
    back = load_pytree(tmp_path / "t.npz", like=tree)
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(a, b), tree, back)
    assert not list(tmp_path.glob("*.tmp"))
    with pytest.raises(ValueError, match=r"\['w'\].*\(3, 4\).*\(4, 4\)"):
        load_pytree(tmp_path / "t.npz", like=tree | {"w": jnp.ones((4, 4))})


@pytest.fixture(scope="module")
def X():
    return jax.random.uniform(jax.random.key(1), (2, 20))


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


def test_unreadable_or_mismatched_parameter_files_are_value_errors(tmp_path):
    params = init_softmax_regression(jax.random.key(0), 4, 3)
    path = save_pytree(tmp_path / "params.npz", params)
    with pytest.raises(ValueError, match=r"params.npz.*\['W'\] has shape \(4, 3\).*expects shape \(5, 3\)"):
        load_pytree(path, like=init_softmax_regression(jax.random.key(0), 5, 3))
    with pytest.raises(ValueError, match="does not match the model"):
        load_pytree(path, like=init_mlp(jax.random.key(0), 4, 5, 3))
    (tmp_path / "text.npz").write_text("not an npz file")
    with pytest.raises(ValueError, match="text.npz is not a readable .npz"):
        load_pytree(tmp_path / "text.npz")
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        load_pytree(tmp_path / "missing.npz")


@pytest.mark.parametrize("cut", [0, 2], ids=["empty", "half"])
def test_a_truncated_parameter_file_is_a_value_error(cut, tmp_path):
    path = save_pytree(tmp_path / "params.npz", init_softmax_regression(jax.random.key(0), 4, 3))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // cut] if cut else b"")
    with pytest.raises(ValueError, match="params.npz"):
        load_pytree(path)


def test_json_files_are_written_atomically(tmp_path, monkeypatch):
    """A write that fails half-way leaves the previous results.json whole, and no temporary file."""
    path = write_json(tmp_path / "results.json", {"status": "finished"})

    def write_half(self, text, *args, **kwargs):
        with open(self, "w") as f:
            f.write(text[: len(text) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_text", write_half)
    with pytest.raises(OSError):
        write_json(path, {"status": "finished", "more": list(range(100))})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"status": "finished"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_an_atomic_write_is_flushed_before_the_rename_and_its_folder_after(tmp_path, monkeypatch):
    """fsync(file), rename, fsync(folder): a power cut never leaves an empty results.json."""
    import os
    events, fsync, replace = [], os.fsync, os.replace

    def recording_fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def recording_replace(src, dst):
        events.append(("replace", str(dst)))
        replace(src, dst)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(os, "replace", recording_replace)
    write_json(tmp_path / "results.json", {"a": 1})
    assert [e[0] for e in events] == ["fsync", "replace", "fsync"], events
    assert Path(events[0][1]).parent == tmp_path and events[0][1].endswith(".tmp")
    assert events[1][1] == str(tmp_path / "results.json") and events[2][1] == str(tmp_path)
    assert json.loads((tmp_path / "results.json").read_text()) == {"a": 1}
