"""Issue 7, reliability: what a training library must do when things go wrong.

Divergence, checkpoint and resume, Ctrl-C, determinism, validated inputs and progress
bars, each exercised end to end through a training script's ``main`` (Ctrl-C through
a real SIGINT to a script process), plus the library pieces under them.
"""
from __future__ import annotations

import functools
import io
import json
import math
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxlin.data.io
import jaxlin.train.fit
from conftest import ROOT, book_epoch_if, load_script, shared_dir
from jaxlin import (
    cross_entropy,
    data_iter,
    dropout_layer,
    init_mlp,
    init_softmax_regression,
    linreg,
    load_pytree,
    make_train_epoch,
    make_train_step,
    mlp_dropout,
    save_pytree,
    sgd,
    softmax_cross_entropy,
    softmax_regression,
    squared_loss,
    write_json,
)
from jaxlin.run.checkpoint import checkpoint_path, latest_checkpoint, load_checkpoint, save_checkpoint
from jaxlin.run.plot import plt, savefig
from jaxlin.run.progress import Progress, batch_bar
from jaxlin.train.book import BookEpoch, train_epoch_ch3
from jaxlin.train.epoch import epoch_indices
from jaxlin.train.evaluate import evaluate_accuracy, evaluate_loss
from jaxlin.train.fit import DivergenceError, fit

SOFTMAX = "ch3_06_softmax_regression_scratch"
MLP = "ch4_02_mlp_scratch"
CLASSIFIERS = [SOFTMAX, "ch3_07_softmax_regression_concise", MLP, "ch4_03_mlp_concise", "ch4_06_dropout"]
REGRESSIONS = ["ch3_02_linear_regression_scratch", "ch3_03_linear_regression_concise",
               "ch4_04_underfit_overfit", "ch4_05_weight_decay", "ch4_10_kaggle_house_price"]
# small settings of the regression scripts (ch4_10 gets its CSVs from house_args)
SMALL = {"ch3_02_linear_regression_scratch": ["--epochs", "2", "--num-examples", "200"],
         "ch3_03_linear_regression_concise": ["--epochs", "2", "--num-examples", "200"],
         "ch4_04_underfit_overfit": ["--epochs", "3", "--overfit-epochs", "3", "--folds", "0"],
         "ch4_05_weight_decay": ["--epochs", "3"],
         "ch4_10_kaggle_house_price": ["--epochs", "1", "--k", "2"]}


def main_of(name: str):
    return load_script(name).main


def read_results(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())


def exit_code(main, argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    return info.value.code


def house_args() -> list[str]:
    folder = shared_dir("kaggle-house")
    return ["--train-csv", str(folder / "kaggle_house_pred_train.csv"),
            "--test-csv", str(folder / "kaggle_house_pred_test.csv")]


def extra_args(name: str) -> list[str]:
    return house_args() if name == "ch4_10_kaggle_house_price" else []


def checkpoint_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of a checkpoint file, read without pickle."""
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def assert_same_arrays(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        np.testing.assert_array_equal(a[k], b[k], err_msg=k, strict=True)   # bit for bit


def without_timings(obj):
    """results.json minus what legitimately differs between two runs: seconds, paths, machine."""
    drop = {"seconds", "seconds_total", "environment", "args", "files", "checkpoint_dir"}
    if isinstance(obj, dict):
        return {k: without_timings(v) for k, v in obj.items() if k not in drop}
    if isinstance(obj, list):
        return [without_timings(v) for v in obj]
    return obj


def toy_classification(n: int = 40, d: int = 4, c: int = 3, seed: int = 0):
    X = jax.random.normal(jax.random.key(seed), (n, d))
    y = (jnp.arange(n) % c).astype(jnp.int32)
    return X, y


# ===================================================================== divergence

@pytest.mark.data
def test_divergence_stops_at_the_first_bad_epoch_and_exits_nonzero(fashion_mnist, tmp_path, capsys):
    """Softmax regression at lr 1e4: NaN/inf in epoch 1, a clear error, exit status 1.
    (--loop book shares fit's check: see the fit tests below.)"""
    code = exit_code(main_of(SOFTMAX), ["--epochs", "3", "--lr", "1e4", "--out", str(tmp_path), "--quiet"])
    assert code == 1
    err = capsys.readouterr().err
    assert "diverged" in err and "epoch 1" in err and "smaller learning rate" in err
    assert "Traceback" not in err
    results = read_results(tmp_path)
    assert results["status"] == "diverged"
    assert results["diverged"]["epoch"] == 1 and isinstance(results["diverged"]["step"], int)
    assert results["history"] == [] and results["last_good_epoch"] is None
    assert "smaller learning rate" in results["error"]
    assert not (tmp_path / "curves.png").exists()


@pytest.mark.data
def test_divergence_after_a_good_epoch_records_its_metrics_and_keeps_its_checkpoint(
        fashion_mnist, tmp_path, capsys):
    """One good epoch at lr 0.1, then --resume at lr 1e4: epoch 2 diverges; results.json keeps
    epoch 1's metrics, the NaN state is never checkpointed, and the earlier run's files are gone."""
    main = main_of(SOFTMAX)
    ckpt = tmp_path / "ckpt"
    good = main(["--epochs", "1", "--out", str(tmp_path), "--checkpoint-dir", str(ckpt), "--quiet"])
    assert (tmp_path / "curves.png").is_file()
    capsys.readouterr()
    code = exit_code(main, ["--epochs", "3", "--lr", "1e4", "--resume", "--out", str(tmp_path),
                            "--checkpoint-dir", str(ckpt), "--quiet"])
    assert code == 1
    err = capsys.readouterr().err
    assert "epoch 2" in err and "smaller learning rate" in err and "--resume" in err
    results = read_results(tmp_path)
    assert results["status"] == "diverged" and results["diverged"]["epoch"] == 2
    assert results["last_good_epoch"] == good["history"][0]
    assert results["history"] == good["history"]
    assert not (tmp_path / "curves.png").exists()          # the good run's figures are not mixed in
    assert sorted(p.name for p in ckpt.iterdir()) == ["ckpt_00001.npz"]
    params = checkpoint_arrays(ckpt / "ckpt_00001.npz")
    assert all(np.all(np.isfinite(v)) for k, v in params.items() if v.dtype.kind == "f")


@pytest.mark.parametrize("name", REGRESSIONS)
def test_regression_scripts_report_divergence_in_results_json(name, tmp_path, capsys):
    lr = {"ch4_10_kaggle_house_price": "1e6", "ch4_05_weight_decay": "1e6"}.get(name, "1e4")
    code = exit_code(main_of(name), [*SMALL[name], *extra_args(name), "--lr", lr,
                                     "--out", str(tmp_path), "--quiet"])
    assert code == 1
    err = capsys.readouterr().err
    assert "smaller" in err and "Traceback" not in err
    results = read_results(tmp_path)
    if name == "ch4_10_kaggle_house_price":     # Adam stays finite; the prices come out negative
        assert results["status"] in ("diverged", "failed") and "smaller --lr" in results["error"]
        return
    assert results["status"] == "diverged" and results["diverged"]["epoch"] >= 1
    last = results["last_good_epoch"]
    assert last is None or all(math.isfinite(v) for v in last.values())


def test_fit_reports_divergence_seen_only_by_the_evaluation():
    """One step per epoch: epoch 1's running loss is the (finite) loss before its update, but
    the update overflows, so the evaluation over the training set (which replaces the running
    loss in the history) is inf. That epoch must not be recorded as a good one."""
    X = jax.random.normal(jax.random.key(0), (20, 3))
    y = X.sum(axis=1, keepdims=True)
    params = {"w": jnp.zeros((3, 1)), "b": jnp.zeros(1)}
    with pytest.raises(DivergenceError) as info:
        fit(linreg, params, squared_loss, functools.partial(sgd, lr=1e30), (X, y), num_epochs=3,
            batch_size=20, key=jax.random.key(1), evals={"train": (X, y)}, eval_loss=squared_loss)
    assert info.value.epoch == 1 and info.value.history == []


@pytest.mark.parametrize("mode", ["epoch", "loop"])
def test_fit_divergence_error_names_epoch_and_step_and_keeps_the_good_history(mode):
    """Two good epochs at lr 0.1, then lr 1e4 from epoch 3: the error names epoch 3 and its step."""
    X, y = toy_classification()
    params = init_softmax_regression(jax.random.key(0), 4, 3)
    kw = dict(batch_size=5, key=jax.random.key(1))
    good_sgd, bad_sgd = functools.partial(sgd, lr=0.1), functools.partial(sgd, lr=1e4)
    good = fit(softmax_regression, params, cross_entropy, good_sgd, (X, y), num_epochs=2,
               train_epoch=book_epoch_if(mode, softmax_regression, cross_entropy, good_sgd, 5), **kw)
    saved = []
    with pytest.raises(DivergenceError) as info:
        fit(softmax_regression, good.params, cross_entropy, bad_sgd, (X, y),
            num_epochs=6, start_epoch=2, history=good.history,
            callback=lambda epoch, *_: saved.append(epoch),
            train_epoch=book_epoch_if(mode, softmax_regression, cross_entropy, bad_sgd, 5), **kw)
    err = info.value
    assert err.epoch == 3 and err.step is not None and 1 <= err.step <= 8          # 1-based
    assert f"epoch 3, step {err.step}" in str(err)
    assert err.history == good.history and err.history[-1]["epoch"] == 2
    assert saved == []                    # no callback (checkpoint) ever sees the diverged state


# ===================================================================== no host sync per step

def refuse_host_reads(monkeypatch):
    """Make ``jax.device_get`` of a traced value fail like ``float()``/``bool()`` already do."""
    real = jax.device_get

    def device_get(x):
        if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(x)):
            raise AssertionError("a per-step value was read on the host")
        return real(x)
    monkeypatch.setattr(jax, "device_get", device_get)


def test_book_loop_never_reads_a_step_value_on_the_host(monkeypatch):
    """Trace the book-style epoch abstractly: every per-step metric is then a tracer, so any
    float(), bool(), .item() or device_get on it (a host sync per step) raises."""
    refuse_host_reads(monkeypatch)
    X, y = toy_classification()
    params = init_softmax_regression(jax.random.key(0), 4, 3)
    step = make_train_step(softmax_regression, cross_entropy, functools.partial(sgd, lr=0.1))
    Xb, yb = X.reshape(8, 5, 4), y.reshape(8, 5)

    def epoch(train_epoch):
        return jax.eval_shape(lambda p, Xb, yb: train_epoch(step, p, (), zip(Xb, yb)), params, Xb, yb)

    sums = epoch(train_epoch_ch3)[2]
    assert {"loss_sum", "n", "correct", "bad_step"} <= set(sums)

    def syncing_epoch(step, params, opt_state, batches):     # what the test must catch
        for X, y in batches:
            params, opt_state, m = step(params, opt_state, X, y)
            if not math.isfinite(float(m["loss"])):
                raise DivergenceError(1)
        return params, opt_state, m

    with pytest.raises(jax.errors.ConcretizationTypeError):
        epoch(syncing_epoch)


@pytest.mark.parametrize("mode", ["epoch", "loop"])
def test_fit_reads_metrics_once_per_epoch(mode, monkeypatch):
    """One host read of the metrics per epoch; in compiled-epoch mode, one compiled call per
    epoch whose program holds no host callback."""
    X, y = toy_classification()
    params = init_softmax_regression(jax.random.key(0), 4, 3)
    reads, calls, programs = [], [], []
    summarize = jaxlin.train.fit.summarize
    updater = functools.partial(sgd, lr=0.1)

    def counting_summarize(sums):
        reads.append(1)
        return summarize(sums)

    class CountingEpoch:                     # fit's train_epoch: counts compiled calls
        def __init__(self, epoch):
            self.epoch = epoch

        def lower(self, *args):
            compiled = self.epoch.lower(*args).compile()
            programs.append(compiled.as_text() if mode == "epoch" else "")
            return types.SimpleNamespace(compile=lambda: lambda *a: calls.append(1) or compiled(*a))

    epoch = book_epoch_if(mode, softmax_regression, cross_entropy, updater, 5) or make_train_epoch(
        softmax_regression, cross_entropy, updater, 5)
    monkeypatch.setattr(jaxlin.train.fit, "summarize", counting_summarize)
    fit(softmax_regression, params, cross_entropy, updater, (X, y), num_epochs=3, batch_size=5,
        key=jax.random.key(1), train_epoch=CountingEpoch(epoch))
    assert len(reads) == 3
    if mode == "epoch":
        assert len(calls) == 3 and len(programs) == 1
        assert "callback" not in programs[0].lower()


def test_a_host_callback_in_the_step_would_show_in_the_compiled_epoch():
    """The check above can see a per-step host transfer inside the compiled epoch."""
    def net(params, X):
        jax.debug.callback(lambda v: None, X[0, 0])
        return softmax_regression(params, X)

    X, y = toy_classification()
    params = init_softmax_regression(jax.random.key(0), 4, 3)
    epoch = make_train_epoch(net, cross_entropy, functools.partial(sgd, lr=0.1), 5)
    assert "callback" in epoch.lower(params, (), X, y, jax.random.key(0)).as_text().lower()


# ===================================================================== checkpoint and resume

@pytest.fixture(scope="module")
def uninterrupted(fashion_mnist, tmp_path_factory):
    """Softmax regression, 3 epochs straight, checkpointing every epoch (the reference)."""
    out = tmp_path_factory.mktemp("uninterrupted")
    results = main_of(SOFTMAX)(["--epochs", "3", "--out", str(out), "--checkpoint-dir", str(out / "ckpt"),
                                "--quiet"])
    return out, results


@pytest.mark.data
def test_resume_ends_bit_identical_to_an_uninterrupted_run(uninterrupted, tmp_path):
    ref_out, ref = uninterrupted
    assert sorted(p.name for p in (ref_out / "ckpt").iterdir()) == ["ckpt_00002.npz", "ckpt_00003.npz"]
    main = main_of(SOFTMAX)
    ckpt = tmp_path / "ckpt"
    main(["--epochs", "1", "--out", str(tmp_path), "--checkpoint-dir", str(ckpt), "--quiet"])
    resumed = main(["--epochs", "3", "--resume", "--out", str(tmp_path), "--checkpoint-dir", str(ckpt),
                    "--quiet"])
    assert_same_arrays(checkpoint_arrays(ckpt / "ckpt_00003.npz"),
                       checkpoint_arrays(ref_out / "ckpt" / "ckpt_00003.npz"))
    assert resumed["history"] == ref["history"] and resumed["predictions"] == ref["predictions"]


@pytest.mark.data
def test_ctrl_c_in_process_saves_the_last_finished_epoch_and_resumes_bit_identically(
        uninterrupted, tmp_path, monkeypatch, capsys):
    """Ctrl-C during epoch 2 (no --checkpoint-dir): epoch 1 is saved under <out>/checkpoint, the
    message gives the command to resume, and resuming ends where the uninterrupted run did."""
    ref_out, ref = uninterrupted
    summarize, reads = jaxlin.train.fit.summarize, []

    def interrupted_in_epoch_2(sums):
        reads.append(1)
        if len(reads) == 2:
            raise KeyboardInterrupt
        return summarize(sums)

    monkeypatch.setattr(jaxlin.train.fit, "summarize", interrupted_in_epoch_2)
    main = main_of(SOFTMAX)
    assert exit_code(main, ["--epochs", "3", "--out", str(tmp_path), "--quiet"]) == 130
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert "interrupted after epoch 1" in err and "Traceback" not in err
    target = tmp_path / "checkpoint"
    assert latest_checkpoint(target) == checkpoint_path(target, 1)
    results = read_results(tmp_path)
    assert results["status"] == "interrupted" and len(results["history"]) == 1
    command = shlex.split(err.split("resume with: ")[1].splitlines()[0])
    assert command[0] == "python" and command[1].endswith(f"{SOFTMAX}.py")
    assert command[-3:] == ["--checkpoint-dir", str(target), "--resume"]
    main(command[2:])
    assert_same_arrays(checkpoint_arrays(checkpoint_path(target, 3)),
                       checkpoint_arrays(ref_out / "ckpt" / "ckpt_00003.npz"))
    assert read_results(tmp_path)["history"] == ref["history"]


@pytest.mark.data
def test_ctrl_c_before_any_epoch_finished_saves_nothing_and_exits_130(fashion_mnist, tmp_path,
                                                                      monkeypatch, capsys):
    def interrupted(sums):
        raise KeyboardInterrupt
    monkeypatch.setattr(jaxlin.train.fit, "summarize", interrupted)
    assert exit_code(main_of(SOFTMAX), ["--epochs", "3", "--out", str(tmp_path), "--quiet"]) == 130
    err = capsys.readouterr().err
    assert "no epoch finished, nothing to save" in err and "Traceback" not in err
    assert not (tmp_path / "checkpoint").exists()
    results = read_results(tmp_path)
    assert results["status"] == "interrupted" and results["history"] == []


def test_ctrl_c_in_a_script_without_checkpoints_exits_130_with_results(tmp_path, monkeypatch, capsys):
    def interrupted(sums):
        raise KeyboardInterrupt
    monkeypatch.setattr(jaxlin.train.fit, "summarize", interrupted)
    name = "ch3_03_linear_regression_concise"
    assert exit_code(main_of(name), [*SMALL[name], "--out", str(tmp_path), "--quiet"]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and re.search(rf"run it again with python \S*{name}\.py", err)
    assert "Traceback" not in err and read_results(tmp_path)["status"] == "interrupted"


@pytest.mark.data
def test_sigint_to_a_training_script_saves_a_checkpoint_and_says_how_to_resume(fashion_mnist, tmp_path):
    """End to end: a real SIGINT to `python scripts/ch3_06...py` once an epoch has finished."""
    out, ckpt = tmp_path / "run", tmp_path / "ckpt"
    script = ROOT / "scripts" / f"{SOFTMAX}.py"
    # A child inherits an ignored SIGINT (as pytest has it when started as a shell's background
    # job); a handler, though, is reset to the default on exec, as a terminal's Ctrl-C expects.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(
            [sys.executable, str(script), "--epochs", "1000", "--out", str(out), "--checkpoint-dir",
             str(ckpt), "--quiet"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        deadline = time.monotonic() + 120
        while latest_checkpoint(ckpt) is None and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, f"the script ended early: {proc.communicate()}"
        assert latest_checkpoint(ckpt) is not None, "no checkpoint within 120 s"
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    epoch = int(re.search(r"interrupted after epoch (\d+)", stderr).group(1))
    assert epoch >= 1 and latest_checkpoint(ckpt) == checkpoint_path(ckpt, epoch)
    assert f"epoch {epoch}, loss" in stdout
    resume = shlex.split(stderr.split("resume with: ")[1].splitlines()[0])
    assert resume[-1] == "--resume" and "--checkpoint-dir" in resume
    results = read_results(out)
    assert results["status"] == "interrupted" and len(results["history"]) == epoch
    epochs = resume.index("--epochs")
    resume[epochs + 1] = str(epoch + 1)                       # one more epoch, in-process
    resumed = main_of(SOFTMAX)(resume[2:])
    assert resumed["status"] == "finished" and len(resumed["history"]) == epoch + 1
    assert resumed["history"][:epoch] == results["history"]


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


# ===================================================================== determinism

@pytest.mark.data
@pytest.mark.parametrize("name, extra", [(SOFTMAX, []), (MLP, ["--num-hiddens", "32"])])
def test_same_seed_same_results_different_seed_different_results(name, extra, fashion_mnist, tmp_path,
                                                                   capsys):
    main = main_of(name)
    for i, seed in enumerate(["7", "7", "8"]):
        main(["--epochs", "1", "--seed", seed, "--out", str(tmp_path / f"{i}"), *extra])
    a, b, c = (without_timings(read_results(tmp_path / f"{i}")) for i in range(3))
    assert a == b                                             # bit for bit: floats compared exactly
    assert a["history"] != c["history"]                      # another init and shuffle
    # stderr is not a terminal here: no progress bar although --quiet was not given
    assert "epochs:" not in capsys.readouterr().err


@pytest.mark.parametrize("name", REGRESSIONS[:2])
def test_regression_scripts_are_deterministic(name, tmp_path):
    main = main_of(name)
    for i, seed in enumerate(["3", "3", "4"]):
        main([*SMALL[name], "--seed", seed, "--out", str(tmp_path / str(i)), "--quiet"])
    a, b, c = (without_timings(read_results(tmp_path / str(i))) for i in range(3))
    assert a == b and a != c


def test_different_seeds_give_different_inits_and_shuffles():
    k0, k1 = jax.random.key(0), jax.random.key(1)
    init0, init1 = init_softmax_regression(k0, 784, 10), init_softmax_regression(k1, 784, 10)
    assert not np.array_equal(init0["W"], init1["W"])
    np.testing.assert_array_equal(init0["W"], init_softmax_regression(jax.random.key(0), 784, 10)["W"])
    order0, order1 = epoch_indices(k0, 1000, 10), epoch_indices(k1, 1000, 10)
    assert not np.array_equal(order0, order1)
    np.testing.assert_array_equal(order0, epoch_indices(jax.random.key(0), 1000, 10))
    assert not np.array_equal(epoch_indices(jax.random.fold_in(k0, 1), 1000, 10), order0)   # per epoch


# ===================================================================== validated inputs

@pytest.mark.parametrize("name", CLASSIFIERS + REGRESSIONS)
@pytest.mark.parametrize("argv, option", [
    (["--epochs", "0"], "--epochs"), (["--epochs", "two"], "--epochs"),
    (["--lr", "nan"], "--lr"), (["--lr", "-0.1"], "--lr"), (["--lr", "inf"], "--lr"),
    (["--batch-size", "0"], "--batch-size"), (["--bogus-option"], "--bogus-option"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_options_exit_2_naming_the_option(name, argv, option, tmp_path, capsys):
    assert exit_code(main_of(name), [*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert option in err and "usage:" in err
    assert not (tmp_path / "results.json").exists()


@pytest.mark.parametrize("argv, message", [
    (["--resume"], "--resume needs --checkpoint-dir"),
    (["--resume", "--checkpoint-dir", "{tmp}/empty"], "no checkpoint"),
    (["--checkpoint-dir", "{tmp}/a_file"], "is a file"),
    (["--checkpoint-dir", "{tmp}/full"], "add --resume"),
    (["--loop", "fast"], "--loop"),
])
def test_bad_checkpoint_options_exit_2(argv, message, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "a_file").write_text("not a folder")
    save_checkpoint(tmp_path / "full", 1, {"W": jnp.zeros(2)}, (), jax.random.key(0), [])
    argv = [a.format(tmp=tmp_path) for a in argv]
    assert exit_code(main_of(SOFTMAX), [*argv, "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.data
def test_resume_from_a_mismatched_checkpoint_or_too_few_epochs_exits_2(fashion_mnist, tmp_path, capsys):
    ckpt = tmp_path / "ckpt"
    save_checkpoint(ckpt, 4, init_mlp(jax.random.key(0), 784, 16, 10), (), jax.random.key(0), [])
    main = main_of(MLP)
    code = exit_code(main, ["--num-hiddens", "32", "--resume", "--checkpoint-dir", str(ckpt),
                            "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert "ckpt_00004.npz" in err and "W1" in err and "(784, 16)" in err and "(784, 32)" in err
    code = exit_code(main, ["--num-hiddens", "16", "--epochs", "2", "--resume", "--checkpoint-dir",
                            str(ckpt), "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 2 and "--epochs 2" in capsys.readouterr().err


@pytest.mark.data
def test_batch_size_larger_than_the_training_set_exits_2(fashion_mnist, tmp_path, capsys):
    assert exit_code(main_of(SOFTMAX), ["--batch-size", "60001", "--out", str(tmp_path)]) == 2
    assert "--batch-size 60001 is larger than the training set (60000 examples)" in capsys.readouterr().err


def test_regression_scripts_reject_a_batch_larger_than_their_data(tmp_path, capsys):
    assert exit_code(main_of("ch3_02_linear_regression_scratch"),
                     ["--num-examples", "50", "--batch-size", "60", "--out", str(tmp_path)]) == 2
    assert "--batch-size 60" in capsys.readouterr().err
    assert exit_code(main_of("ch4_05_weight_decay"), ["--batch-size", "21", "--out", str(tmp_path)]) == 2
    assert "--batch-size 21" in capsys.readouterr().err


@pytest.mark.parametrize("content, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe binary", "train.csv"),
    (b"Id,LotArea\n1,8450\n", "SalePrice"),
], ids=["binary", "no-label-column"])
def test_unreadable_or_mismatched_csv_exits_2_naming_the_file(content, message, tmp_path, capsys):
    bad = tmp_path / "train.csv"
    bad.write_bytes(content)
    test_csv = tmp_path / "test.csv"
    test_csv.write_text("Id,LotArea\n2,9600\n")
    code = exit_code(main_of("ch4_10_kaggle_house_price"),
                     ["--train-csv", str(bad), "--test-csv", str(test_csv), "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def fit_args(**overrides):
    X, y = toy_classification()
    kw = dict(net=softmax_regression, params=init_softmax_regression(jax.random.key(0), 4, 3),
              loss=cross_entropy, updater=functools.partial(sgd, lr=0.1), train=(X, y),
              num_epochs=1, batch_size=5, key=jax.random.key(0))
    return kw | overrides


X40, Y40 = toy_classification()


@pytest.mark.parametrize("overrides, error, message", [
    ({"train": (X40, Y40[:30])}, ValueError, "same number of examples"),
    ({"train": (X40[:0], Y40[:0])}, ValueError, "empty"),
    ({"batch_size": 0}, ValueError, "batch_size must be a positive integer"),
    ({"batch_size": 41}, ValueError, r"batch_size=41 is larger than the data set \(40 examples\)"),
    ({"batch_size": 2.0}, TypeError, "batch_size must be a positive integer"),
    ({"num_epochs": 0}, ValueError, "num_epochs must be a positive integer"),
    ({"updater": functools.partial(sgd, lr=float("nan"))}, ValueError, "lr must be a positive finite"),
    ({"updater": functools.partial(sgd, lr=0.0)}, ValueError, "lr must be a positive finite"),
    ({"updater": "sgd"}, TypeError, "updater must be"),
    ({"train": (X40[:, :3], Y40)}, ValueError, "expected inputs with 4 features per example"),
    ({"penalty": 3.0}, TypeError, "penalty must be callable"),
], ids=["mismatch", "empty", "batch0", "batch-too-big", "batch-float", "epochs0", "lr-nan", "lr-0",
        "updater", "params-vs-inputs", "penalty"])
def test_fit_rejects_bad_arguments_by_name(overrides, error, message):
    with pytest.raises(error, match=message):
        fit(**fit_args(**overrides))


@pytest.mark.parametrize("labels, error", [(Y40 + 1, ValueError), (Y40 - 1, ValueError),
                                           (Y40.astype(jnp.float32), TypeError)],
                         ids=["too-large", "negative", "float"])
def test_fit_rejects_labels_outside_the_classes(labels, error):
    with pytest.raises(error, match="train labels"):
        fit(**fit_args(train=(X40, labels)))


def test_public_functions_reject_bad_inputs_by_name():
    params = init_softmax_regression(jax.random.key(0), 784, 10)
    with pytest.raises(ValueError, match="784 features per example"):
        softmax_regression(params, jnp.zeros((2, 27, 27, 1)))
    with pytest.raises(ValueError, match="784 features per example"):
        make_train_step(softmax_regression, cross_entropy, functools.partial(sgd, lr=0.1))(
            params, (), jnp.zeros((2, 27, 27, 1)), jnp.zeros(2, jnp.int32))
    with pytest.raises(ValueError, match="lr must be a positive finite number"):
        make_train_step(softmax_regression, cross_entropy, functools.partial(sgd, lr=-1.0))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        make_train_epoch(softmax_regression, cross_entropy, functools.partial(sgd, lr=0.1), 0)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        evaluate_loss(softmax_regression, params, (jnp.zeros((2, 784)), jnp.array([3, 10])), cross_entropy)
    with pytest.raises(TypeError, match="labels must be integer class indices"):
        evaluate_accuracy(softmax_regression, params, (jnp.zeros((2, 784)), jnp.array([0.0, 1.0])))
    with pytest.raises(ValueError, match="dropout must lie in"):
        dropout_layer(jnp.ones(3), 1.5, key=jax.random.key(0))
    with pytest.raises(ValueError, match="same number of examples"):
        next(data_iter(jax.random.key(0), 2, jnp.zeros((5, 2)), jnp.zeros(4)))


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


# ===================================================================== progress and output files

class Terminal(io.StringIO):
    """A stderr that says it is a terminal, as an interactive shell's is."""

    def isatty(self) -> bool:
        return True


@pytest.mark.data
@pytest.mark.parametrize("quiet", [False, True])
def test_progress_bar_on_a_terminal_unless_quiet(quiet, fashion_mnist, tmp_path, monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    main_of(SOFTMAX)(["--epochs", "2", "--out", str(tmp_path), *(["--quiet"] if quiet else [])])
    bar = terminal.getvalue()
    if quiet:
        assert "epochs" not in bar and "it/s" not in bar and "s/it" not in bar
    else:
        assert "epochs: 100%" in bar and "2/2" in bar
        assert "train_loss=" in bar and "train_acc=" in bar and "test_acc=" in bar


@pytest.mark.parametrize("slow", [False, True])
def test_batch_bar_appears_only_when_an_epoch_takes_seconds(slow, monkeypatch):
    """The book-style loop shows a per-batch bar after 3 s (tqdm's clock, faked for 'slow')."""
    import tqdm.std
    if slow:
        clock = iter(range(0, 10**6, 2))                       # every reading 2 s later
        monkeypatch.setattr(tqdm.std, "time", lambda: next(clock))
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    kw = fit_args(num_epochs=2)
    for quiet in (False, True):
        terminal = Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        progress = Progress(2, quiet=quiet, print_lines=False)
        book = BookEpoch.make(kw["net"], kw["loss"], kw["updater"], 5, progress=batch_bar(quiet))
        fit(**kw, train_epoch=book, callback=progress)
        progress.close()
        assert ("epochs" in terminal.getvalue()) == (not quiet)
        assert ("batches" in terminal.getvalue()) == (slow and not quiet)


def test_output_files_are_written_atomically(tmp_path, monkeypatch):
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
    fig = plt.figure()
    savefig(fig, tmp_path / "curves.png")
    before = (tmp_path / "curves.png").read_bytes()
    fig = plt.figure()
    monkeypatch.setattr(fig, "savefig", lambda f, **kw: (Path(f).write_bytes(b"\x89PNG half"),
                                                         1 / 0))
    with pytest.raises(ZeroDivisionError):
        savefig(fig, tmp_path / "curves.png")
    plt.close(fig)
    assert (tmp_path / "curves.png").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png", "results.json"]


def test_an_existing_out_folder_is_not_mixed_with_a_new_run(tmp_path, capsys):
    (tmp_path / "old_figure.png").write_bytes(b"from an earlier run")
    (tmp_path / "notes.txt").write_text("the user's own file")
    write_json(tmp_path / "results.json", {"files": ["old_figure.png"], "status": "finished"})
    main_of("ch3_02_linear_regression_scratch")(["--epochs", "1", "--num-examples", "100",
                                                 "--out", str(tmp_path), "--quiet"])
    assert "replaced the previous run" in capsys.readouterr().err
    assert not (tmp_path / "old_figure.png").exists() and (tmp_path / "notes.txt").exists()
    results = read_results(tmp_path)
    assert results["status"] == "finished" and sorted(results["files"]) == ["data.png", "loss.png"]
