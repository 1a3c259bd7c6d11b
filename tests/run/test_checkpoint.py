"""Checkpoints: crash-safe writes, the newest two kept, clear errors, resume equal to a straight fit."""
from __future__ import annotations

import functools

import jax
import numpy as np
import optax
import pytest

import jaxlin.data.io
from helpers import checkpoint_arrays, toy_classification
from jaxlin import init_mlp, init_softmax_regression, mlp_dropout, save_pytree, softmax_cross_entropy
from jaxlin.run.checkpoint import checkpoint_path, latest_checkpoint, load_checkpoint, save_checkpoint
from jaxlin.train.fit import fit


@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()], ids=["oserror", "ctrl-c"])
def test_a_crash_while_writing_a_checkpoint_leaves_the_previous_one_latest(failure, tmp_path, monkeypatch):
    params = init_softmax_regression(jax.random.key(0), 4, 3)
    key = jax.random.key(5)
    save_checkpoint(tmp_path, 1, params, (), key, [{"epoch": 1, "train_loss": 0.5}])
    real_savez = np.savez

    def savez_then_crash(file, *args, **kwargs):
        file.write(b"PK\x03\x04 half a zip file")            # some bytes reach the disk
        raise failure

    monkeypatch.setattr(jaxlin.data.io.np, "savez", savez_then_crash)
    with pytest.raises(type(failure)):
        save_checkpoint(tmp_path, 2, jax.tree.map(lambda p: p + 1, params), (), key, [])
    monkeypatch.setattr(jaxlin.data.io.np, "savez", real_savez)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt_00001.npz"]   # no half file, no temp
    assert latest_checkpoint(tmp_path) == checkpoint_path(tmp_path, 1)
    ckpt = load_checkpoint(latest_checkpoint(tmp_path), params, ())
    assert ckpt.epoch == 1 and ckpt.history == [{"epoch": 1, "train_loss": 0.5}]
    np.testing.assert_array_equal(ckpt.params["W"], params["W"])
    np.testing.assert_array_equal(jax.random.key_data(ckpt.key), jax.random.key_data(key))


def test_a_process_killed_mid_write_leaves_only_an_ignored_temp_file(tmp_path):
    params = init_softmax_regression(jax.random.key(0), 4, 3)
    save_checkpoint(tmp_path, 1, params, (), jax.random.key(0), [])
    (tmp_path / ".ckpt_00002.npz.x1y2.tmp").write_bytes(b"PK\x03\x04 truncated")   # kill -9 mid-write
    assert latest_checkpoint(tmp_path) == checkpoint_path(tmp_path, 1)
    save_checkpoint(tmp_path, 2, params, (), jax.random.key(0), [])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt_00001.npz", "ckpt_00002.npz"]


def test_checkpoints_keep_the_newest_two_without_pickle_and_the_saved_one_is_latest(tmp_path):
    params = init_mlp(jax.random.key(0), 4, 5, 3)
    opt = optax.adam(1e-3)
    opt_state = opt.init(params)
    for epoch in (1, 2, 3):
        save_checkpoint(tmp_path, epoch, params, opt_state, jax.random.key(epoch), [])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt_00002.npz", "ckpt_00003.npz"]
    arrays = checkpoint_arrays(tmp_path / "ckpt_00003.npz")          # allow_pickle=False
    assert all(a.dtype != object for a in arrays.values())
    ckpt = load_checkpoint(tmp_path / "ckpt_00003.npz", params, opt_state)
    assert jax.tree.structure(ckpt.opt_state) == jax.tree.structure(opt_state)
    save_checkpoint(tmp_path, 1, params, opt_state, jax.random.key(1), [])   # an earlier epoch again
    assert latest_checkpoint(tmp_path) == checkpoint_path(tmp_path, 1)


def test_a_damaged_or_foreign_checkpoint_is_a_clear_value_error(tmp_path):
    params = init_softmax_regression(jax.random.key(0), 4, 3)
    path = save_checkpoint(tmp_path, 1, params, (), jax.random.key(0), [])
    with pytest.raises(ValueError, match=r"does not match the model.*W1"):
        load_checkpoint(path, init_mlp(jax.random.key(0), 4, 5, 3), ())
    with pytest.raises(ValueError, match=r"\['W'\] has shape \(4, 3\).*expects shape \(5, 3\)"):
        load_checkpoint(path, init_softmax_regression(jax.random.key(0), 5, 3), ())
    damaged = tmp_path / "ckpt_00002.npz"
    damaged.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match="ckpt_00002.npz"):
        load_checkpoint(damaged, params, ())
    save_pytree(tmp_path / "params.npz", params)                    # a params file, not a checkpoint
    with pytest.raises(ValueError, match="not a jaxlin checkpoint"):
        load_checkpoint(tmp_path / "params.npz", params, ())


@pytest.mark.parametrize("mode", ["epoch"])
def test_fit_resumed_from_a_checkpoint_matches_an_uninterrupted_fit(mode, tmp_path):
    """Adam state and a stochastic (dropout) net: the optimizer state and the key round-trip."""
    X, y = toy_classification(n=60, d=6)
    params = init_mlp(jax.random.key(0), 6, 8, 3)
    net = functools.partial(mlp_dropout, dropouts=(0.5,))
    opt = optax.adam(1e-2)
    kw = dict(batch_size=10, key=jax.random.key(3), stochastic=True)
    straight = fit(net, params, softmax_cross_entropy, opt, (X, y), num_epochs=4, **kw)
    first = fit(net, params, softmax_cross_entropy, opt, (X, y), num_epochs=2, **kw)
    save_checkpoint(tmp_path, 2, first.params, first.opt_state, kw["key"], first.history)
    ckpt = load_checkpoint(latest_checkpoint(tmp_path), params, opt.init(params))
    rest = fit(net, ckpt.params, softmax_cross_entropy, opt, (X, y), num_epochs=4,
               **(kw | {"key": ckpt.key}), opt_state=ckpt.opt_state, start_epoch=ckpt.epoch,
               history=ckpt.history)
    for a, b in zip(jax.tree.leaves((straight.params, straight.opt_state)),
                    jax.tree.leaves((rest.params, rest.opt_state))):
        np.testing.assert_array_equal(a, b, strict=True)
    assert rest.history == straight.history
