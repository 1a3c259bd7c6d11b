"""Orbax checkpoints: crash-safe steps, the newest two kept, clear errors, resume equal to a straight fit."""
from __future__ import annotations

import functools
import signal
import subprocess
import sys
import textwrap
import time

import jax
import numpy as np
import optax
import pytest

from conftest import without_xla_cache
from helpers import checkpoint_arrays, toy_classification
from jaxlin import (
    fit,
    init_mlp,
    init_softmax_regression,
    make_train_epoch,
    mlp_dropout,
    save_pytree,
    softmax_cross_entropy,
)
from jaxlin.run.checkpoint import (
    incomplete_steps,
    latest_checkpoint,
    load_checkpoint,
    read_meta,
    save_checkpoint,
)
from jaxlin.train.state import TrainState

KEEP_SAVING = textwrap.dedent("""
    import sys, jax, jax.numpy as jnp
    from jaxlin.run.checkpoint import save_checkpoint
    from jaxlin.train.state import TrainState
    params = {"W": jnp.zeros((512, 1024)), "b": jnp.zeros(1024)}     # 2 MB a step
    for epoch in range(1, 10_000):
        state = TrainState(jax.tree.map(lambda p: p + epoch, params), (), jax.random.key(epoch), epoch,
                           ({"epoch": epoch},))
        save_checkpoint(sys.argv[1], state)
        print(epoch, flush=True)
""")


def steps(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.13])
def test_a_process_killed_while_saving_leaves_a_complete_latest_step(delay, tmp_path):
    """kill -9 at some point of a save: the latest step restores whole (its W equals its epoch),
    and the next save clears what the killed one left."""
    proc = subprocess.Popen([sys.executable, "-c", KEEP_SAVING, str(tmp_path)], stdout=subprocess.PIPE,
                            text=True, env=without_xla_cache())                # it is killed with -9
    try:
        assert proc.stdout.readline().strip() == "1"           # one step is complete
        time.sleep(delay)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    like = {"W": np.zeros((512, 1024), np.float32), "b": np.zeros(1024, np.float32)}
    latest = latest_checkpoint(tmp_path)
    ckpt = load_checkpoint(tmp_path, TrainState(like, (), None))
    assert ckpt.state.epoch == latest >= 1 and ckpt.state.history == ({"epoch": latest},)
    np.testing.assert_array_equal(ckpt.state.params["W"], np.full((512, 1024), latest, np.float32))
    save_checkpoint(tmp_path, TrainState(like, (), jax.random.key(0), latest + 1, []))
    assert set(steps(tmp_path)) == {str(latest), str(latest + 1)}   # no temporary folder left


def test_a_half_written_step_is_ignored_and_cleared(tmp_path):
    params = init_softmax_regression(jax.random.key(0), 4, 3)
    save_checkpoint(tmp_path, TrainState(params, (), jax.random.key(0), 1, []))
    partial = tmp_path / "2.orbax-checkpoint-tmp-1764633600"  # what a killed save leaves
    (partial / "state").mkdir(parents=True)
    (partial / "state" / "manifest.ocdbt").write_bytes(b"truncated")
    assert latest_checkpoint(tmp_path) == 1
    save_checkpoint(tmp_path, TrainState(params, (), jax.random.key(0), 2, []))
    assert steps(tmp_path) == ["1", "2"]


def test_a_step_without_its_checksum_record_is_skipped_and_replaced(tmp_path):
    """A kill between Orbax's commit and the record: step 2 is never read (here also damaged);
    epoch 1 is restored, and saving epoch 2 again replaces the untrusted step."""
    params = init_softmax_regression(jax.random.key(0), 4, 3)
    for epoch in (1, 2):
        save_checkpoint(tmp_path, TrainState(jax.tree.map(lambda p: p + epoch, params), (), jax.random.key(epoch),
                                             epoch, ({"epoch": epoch},)))
    (tmp_path / "2" / "jaxlin-sha256.json").unlink()
    data_file = next(f for f in sorted((tmp_path / "2" / "state").rglob("d/*")) if f.stat().st_size)
    data = bytearray(data_file.read_bytes())
    data[-1] ^= 0xFF
    data_file.write_bytes(bytes(data))
    assert latest_checkpoint(tmp_path) == 1 and incomplete_steps(tmp_path) == [2]
    ckpt = load_checkpoint(tmp_path, TrainState(params, (), None))
    assert ckpt.state.epoch == 1 and ckpt.state.history == ({"epoch": 1},)
    np.testing.assert_array_equal(ckpt.state.params["W"], params["W"] + 1)
    save_checkpoint(tmp_path, TrainState(params, (), jax.random.key(2), 2, [{"epoch": 2}]))
    assert steps(tmp_path) == ["1", "2"] and incomplete_steps(tmp_path) == []
    assert load_checkpoint(tmp_path, TrainState(params, (), None)).state.epoch == 2


def test_the_newest_two_are_kept_and_plain_orbax_reads_them(tmp_path):
    params = init_mlp(jax.random.key(0), 4, 5, 3)
    opt = optax.adam(1e-3)
    opt_state = opt.init(params)
    for epoch in (1, 2, 3):
        save_checkpoint(tmp_path, TrainState(params, opt_state, jax.random.key(epoch), epoch, ({"epoch": epoch},)),
                        config={"lr": 0.1})
    assert steps(tmp_path) == ["2", "3"] and latest_checkpoint(tmp_path) == 3
    arrays = checkpoint_arrays(tmp_path)                       # plain Orbax, no jaxlin
    np.testing.assert_array_equal(arrays["['params']['W1']"], params["W1"])
    np.testing.assert_array_equal(arrays["['key']"], jax.random.key_data(jax.random.key(3)))
    assert not list(tmp_path.rglob("*.pkl")) and not list(tmp_path.rglob("*.pickle"))
    ckpt = load_checkpoint(tmp_path, TrainState(params, opt_state, None))
    assert jax.tree.structure(ckpt.state.opt_state) == jax.tree.structure(opt_state)
    assert ckpt.state.history == ({"epoch": 3},) and ckpt.config == {"lr": 0.1}
    np.testing.assert_array_equal(jax.random.key_data(ckpt.state.key), jax.random.key_data(jax.random.key(3)))
    assert load_checkpoint(tmp_path, TrainState(params, opt_state, None), epoch=2).state.history == ({"epoch": 2},)


def test_an_earlier_epoch_never_replaces_a_later_one(tmp_path):
    params = init_softmax_regression(jax.random.key(0), 4, 3)
    save_checkpoint(tmp_path, TrainState(params, (), jax.random.key(0), 3, []))
    for epoch in (3, 1):
        with pytest.raises(ValueError, match=f"holds the checkpoint of epoch 3; epoch {epoch}"):
            save_checkpoint(tmp_path, TrainState(params, (), jax.random.key(0), epoch, []))
    assert steps(tmp_path) == ["3"]


def test_a_mismatched_damaged_or_foreign_checkpoint_is_a_clear_value_error(tmp_path):
    import orbax.checkpoint as ocp
    params = init_softmax_regression(jax.random.key(0), 4, 3)
    ours = tmp_path / "ours"
    save_checkpoint(ours, TrainState(params, optax.sgd(0.1).init(params), jax.random.key(0), 1, []))
    with pytest.raises(ValueError, match=r"does not match the model.*W1"):
        load_checkpoint(ours, TrainState(init_mlp(jax.random.key(0), 4, 5, 3), (), None))
    with pytest.raises(ValueError, match=r"\['W'\] has shape \(4, 3\).*expects shape \(5, 3\)"):
        load_checkpoint(ours, TrainState(init_softmax_regression(jax.random.key(0), 5, 3), (), None))
    with pytest.raises(ValueError, match="optimizer state does not fit"):
        load_checkpoint(ours, TrainState(params, optax.adam(0.1).init(params), None))
    for data_file in (ours / "1" / "state").rglob("d/*"):      # the array bytes, byte-flipped
        data_file.write_bytes(bytes(b ^ 0xFF for b in data_file.read_bytes()))
    with pytest.raises(ValueError, match=f"{ours / '1'}: state/d/[0-9a-f]+ is damaged"):
        load_checkpoint(ours, TrainState(params, optax.sgd(0.1).init(params), None))
    (ours / "1" / "meta" / "metadata").write_text("{not json")
    with pytest.raises(ValueError, match=f"{ours / '1'}: meta/metadata is damaged"):
        read_meta(ours)
    (ours / "1" / "jaxlin-sha256.json").unlink()             # unverified: never read
    with pytest.raises(ValueError, match=f"{ours} holds no usable checkpoint: step 1 has no jaxlin-sha256"):
        read_meta(ours)
    with pytest.raises(ValueError, match=f"{ours / '1'}: no jaxlin-sha256.json .*not trusted"):
        read_meta(ours, 1)
    foreign = tmp_path / "foreign"                              # someone else's Orbax checkpoint
    with ocp.CheckpointManager(foreign) as manager:
        manager.save(1, args=ocp.args.Composite(state=ocp.args.StandardSave(params),
                                                meta=ocp.args.JsonSave({"step": 1})))
    with pytest.raises(ValueError, match="holds no usable checkpoint.*not written by jaxlin"):
        load_checkpoint(foreign, TrainState(params, (), None))
    (foreign / "1" / "jaxlin-sha256.json").write_text("{}")   # a record, but Orbax's own meta
    with pytest.raises(ValueError, match="is not a jaxlin checkpoint"):
        load_checkpoint(foreign, TrainState(params, (), None))
    save_pytree(tmp_path / "npz" / "params.npz", params)       # a params file, no checkpoint
    assert latest_checkpoint(tmp_path / "npz") is None
    with pytest.raises(ValueError, match="holds no checkpoint"):
        load_checkpoint(tmp_path / "npz", TrainState(params, (), None))


def test_fit_resumed_from_a_checkpoint_matches_an_uninterrupted_fit(tmp_path):
    """Adam state and a stochastic (dropout) net: the optimizer state and the key round-trip."""
    X, y = toy_classification(n=60, d=6)
    params = init_mlp(jax.random.key(0), 6, 8, 3)
    net = functools.partial(mlp_dropout, dropouts=(0.5,))
    opt = optax.adam(1e-2)
    epoch = make_train_epoch(net, softmax_cross_entropy, opt, 10, stochastic=True)
    start = epoch.init(params, jax.random.key(3))
    straight, _ = fit(epoch, start, (X, y), num_epochs=4)
    first, _ = fit(epoch, start, (X, y), num_epochs=2)
    save_checkpoint(tmp_path, first)
    resumed = load_checkpoint(tmp_path, start).state
    assert resumed.epoch == 2 and resumed.history == first.history
    rest, _ = fit(epoch, resumed, (X, y), num_epochs=4)
    for a, b in zip(jax.tree.leaves((straight.params, straight.opt_state)),
                    jax.tree.leaves((rest.params, rest.opt_state))):
        np.testing.assert_array_equal(a, b, strict=True)
    assert rest.history == straight.history
