"""The Fashion-MNIST training scripts: accuracy floors, divergence, resume, Ctrl-C, determinism."""
from __future__ import annotations

import re
import shlex
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

import jaxlin.run.classifier
import jaxlin.train.fit
from conftest import ROOT
from helpers import (
    MLP,
    SOFTMAX,
    Terminal,
    assert_same_arrays,
    checkpoint_arrays,
    exit_code,
    interrupt_during_epoch,
    main_of,
    read_results,
    script_process,
    without_timings,
)
from jaxlin import init_mlp, init_softmax_regression
from jaxlin.data.fashion_mnist import to_float
from jaxlin.run.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from jaxlin.train.state import TrainState

BOOK_RUNS = [
    ("ch3_06_softmax_regression_scratch", [], 0.82),
    ("ch3_07_softmax_regression_concise", [], 0.82),
    ("ch4_02_mlp_scratch", [], 0.84),
    ("ch4_03_mlp_concise", [], 0.84),
    ("ch4_06_dropout", ["--impl", "scratch"], 0.83),
    ("ch4_06_dropout", ["--impl", "concise"], 0.83),
]


def record_training(monkeypatch) -> list[tuple]:
    """Record what each ``train_classifier`` call (the script's training) gets: net, the params
    it returns, and whether each step was given a key."""
    calls, real = [], jaxlin.run.classifier.train_classifier

    def recording(args, run, net, params, *rest, stochastic=False, **kwargs):
        result = real(args, run, net, params, *rest, stochastic=stochastic, **kwargs)
        calls.append((net, result.state.params, stochastic))
        return result
    monkeypatch.setattr(jaxlin.run.classifier, "train_classifier", recording)
    return calls


def assert_trained_with_dropout(calls: list[tuple], data) -> None:
    """The accuracy floor is reached without dropout too (4.6 at lr 0.5 ends within 0.01 of the
    net without it), so look at the net itself: training gave each step a key, and the trained net
    with a key (dropout on) differs from itself without one (evaluation, deterministic) and from
    itself with another key."""
    [(net, params, stochastic)] = calls
    assert stochastic
    X = to_float(data.test_images[:256])
    plain = np.asarray(net(params, X))
    np.testing.assert_array_equal(np.asarray(net(params, X)), plain)
    a, b = (np.asarray(net(params, X, key=jax.random.key(k))) for k in (1, 2))
    assert not np.allclose(a, plain) and not np.allclose(a, b)


@pytest.mark.data
@pytest.mark.parametrize("name, extra, floor", BOOK_RUNS, ids=[f"{n}{''.join(e)}" for n, e, _ in BOOK_RUNS])
def test_book_settings_reach_the_accuracy_floor(name, extra, floor, fashion_mnist, tmp_path, monkeypatch):
    trained = record_training(monkeypatch)
    results = main_of(name)(["--out", str(tmp_path), "--quiet", *extra])
    if name == "ch4_06_dropout":
        assert_trained_with_dropout(trained, fashion_mnist)
    history = results["history"]
    assert [h["epoch"] for h in history] == list(range(1, 11))
    assert set(history[0]) >= {"epoch", "train_loss", "train_acc", "test_acc"}
    assert history[-1]["test_acc"] >= floor
    if name.startswith("ch3"):
        assert history[-1]["train_loss"] < 0.5
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert {"load_data", "compile", "train"} <= set(results["seconds"])
    assert (tmp_path / "curves.png").is_file() and (tmp_path / "predictions.png").is_file()
    assert (tmp_path / "results.json").is_file()


@pytest.mark.data
def test_divergence_stops_at_the_first_bad_epoch_and_exits_nonzero(fashion_mnist, tmp_path, capsys):
    """Softmax regression at lr 1e4: NaN/inf in epoch 1, a clear error, exit status 1.
    (--loop book shares fit's check: see tests/train/test_fit.py.)"""
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
    """A run at lr 1e4 whose epoch 1 was good (epoch 1 of an lr-0.1 run, checkpointed as the
    lr-1e4 run's), resumed: epoch 2 diverges; results.json keeps epoch 1's metrics, the NaN state
    is never checkpointed, and the finished run's files are kept."""
    main = main_of(SOFTMAX)
    ckpt, first = tmp_path / "ckpt", tmp_path / "first"
    good = main(["--epochs", "1", "--out", str(tmp_path), "--checkpoint-dir", str(first), "--quiet"])
    assert (tmp_path / "curves.png").is_file()
    params = init_softmax_regression(jax.random.key(0), 784, 10)
    epoch1 = load_checkpoint(first, TrainState(params, (), None))
    save_checkpoint(ckpt, epoch1.state, config=epoch1.config | {"lr": 1e4})
    capsys.readouterr()
    code = exit_code(main, ["--epochs", "3", "--lr", "1e4", "--resume", "--out", str(tmp_path),
                            "--checkpoint-dir", str(ckpt), "--quiet"])
    assert code == 1
    err = capsys.readouterr().err
    assert "epoch 2" in err and "smaller learning rate" in err and f"epoch 1 in {ckpt}" in err
    results = read_results(tmp_path, "results.diverged.json")   # beside the finished run, kept
    assert results["status"] == "diverged" and results["diverged"]["epoch"] == 2
    assert results["last_good_epoch"] == good["history"][0]
    assert results["history"] == good["history"] and results["files"] == []
    assert read_results(tmp_path)["status"] == "finished" and (tmp_path / "curves.png").is_file()
    assert sorted(p.name for p in ckpt.iterdir()) == ["1"]
    arrays = checkpoint_arrays(ckpt)
    assert all(np.all(np.isfinite(v)) for k, v in arrays.items() if v.dtype.kind == "f")


@pytest.fixture(scope="module")
def uninterrupted(fashion_mnist, tmp_path_factory):
    """Softmax regression, 4 epochs straight, checkpointing every epoch (the reference)."""
    out = tmp_path_factory.mktemp("uninterrupted")
    results = main_of(SOFTMAX)(["--epochs", "4", "--out", str(out), "--checkpoint-dir", str(out / "ckpt"),
                                "--quiet"])
    return out, results


@pytest.mark.data
def test_resume_ends_bit_identical_to_an_uninterrupted_run(uninterrupted, tmp_path):
    """2 epochs, read back by plain Orbax in a process without jaxlin, resumed to 4: the same
    params, optimizer state, key, history and predictions as 4 straight epochs."""
    ref_out, ref = uninterrupted
    assert sorted(p.name for p in (ref_out / "ckpt").iterdir()) == ["3", "4"]
    main = main_of(SOFTMAX)
    ckpt = tmp_path / "ckpt"
    main(["--epochs", "2", "--out", str(tmp_path), "--checkpoint-dir", str(ckpt), "--quiet"])
    plain = ("import sys, orbax.checkpoint as ocp; m = ocp.CheckpointManager(sys.argv[1]); "
             "state = m.restore(m.latest_step())['state']; "
             "print(m.latest_step(), state['params']['W'].shape, 'jaxlin' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", plain, str(ckpt)], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert out.split("\n")[-2] == "2 (784, 10) False"
    resumed = main(["--epochs", "4", "--resume", "--out", str(tmp_path), "--checkpoint-dir", str(ckpt),
                    "--quiet"])
    assert_same_arrays(checkpoint_arrays(ckpt, 4), checkpoint_arrays(ref_out / "ckpt", 4))
    assert resumed["history"] == ref["history"] and resumed["predictions"] == ref["predictions"]


@pytest.mark.data
def test_the_mlp_chapter_resumed_equals_four_straight_epochs(fashion_mnist, tmp_path):
    """ch4_02 (its own relu and net, trained by train_ch3): --epochs 2 --checkpoint-dir C, then
    --resume --epochs 4, ends bit for bit where 4 straight epochs do."""
    main, small = main_of(MLP), ["--num-hiddens", "32", "--quiet"]
    straight = main(["--epochs", "4", "--out", str(tmp_path / "a"), "--checkpoint-dir", str(tmp_path / "ca"), *small])
    main(["--epochs", "2", "--out", str(tmp_path / "b"), "--checkpoint-dir", str(tmp_path / "cb"), *small])
    resumed = main(["--epochs", "4", "--resume", "--out", str(tmp_path / "b"), "--checkpoint-dir",
                    str(tmp_path / "cb"), *small])
    assert_same_arrays(checkpoint_arrays(tmp_path / "cb", 4), checkpoint_arrays(tmp_path / "ca", 4))
    assert resumed["history"] == straight["history"] and len(resumed["history"]) == 4


@pytest.mark.data
def test_resume_skips_a_step_without_its_checksum_record(fashion_mnist, tmp_path, capsys):
    """Killed between Orbax's commit and the record, with a byte of step 2 damaged: --resume
    notes the step, restores epoch 1 and ends as the straight run; with no step left, exit 2."""
    main, ckpt = main_of(SOFTMAX), tmp_path / "ckpt"
    straight = main(["--epochs", "2", "--out", str(tmp_path), "--checkpoint-dir", str(ckpt), "--quiet"])
    (ckpt / "2" / "jaxlin-sha256.json").unlink()
    data_file = next(f for f in sorted((ckpt / "2" / "state").rglob("d/*")) if f.stat().st_size)
    data_file.write_bytes(data_file.read_bytes()[:-1] + bytes([data_file.read_bytes()[-1] ^ 0xFF]))
    capsys.readouterr()
    resumed = main(["--epochs", "2", "--resume", "--out", str(tmp_path), "--checkpoint-dir", str(ckpt),
                    "--quiet"])
    out, err = capsys.readouterr()
    assert f"resuming from {ckpt} (epoch 1)" in out
    assert f"note: {ckpt / '2'} has no jaxlin-sha256.json" in err and "epoch 1 used" in err
    assert resumed["history"] == straight["history"] and latest_checkpoint(ckpt) == 2
    for step in ("1", "2"):
        (ckpt / step / "jaxlin-sha256.json").unlink()
    assert exit_code(main, ["--epochs", "2", "--resume", "--out", str(tmp_path),
                            "--checkpoint-dir", str(ckpt), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"--resume: {ckpt} holds no usable checkpoint: steps 1, 2 have no "
                        f"jaxlin-sha256.json (a save that did not finish, or not written by jaxlin)")
    assert "Traceback" not in err


@pytest.mark.data
def test_ctrl_c_in_process_saves_the_last_finished_epoch_and_resumes_bit_identically(
        uninterrupted, tmp_path, monkeypatch, capsys):
    """Ctrl-C during epoch 2 (no --checkpoint-dir): epoch 1 is saved under <out>/checkpoint, the
    message gives the command to resume, and resuming ends where the uninterrupted run did."""
    ref_out, ref = uninterrupted
    interrupt_during_epoch(monkeypatch, 2)
    main = main_of(SOFTMAX)
    assert exit_code(main, ["--epochs", "3", "--out", str(tmp_path), "--quiet"]) == 130
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert "interrupted after epoch 1" in err and "Traceback" not in err
    target = tmp_path / "checkpoint"
    assert latest_checkpoint(target) == 1
    results = read_results(tmp_path)
    assert results["status"] == "interrupted" and len(results["history"]) == 1
    command = shlex.split(err.split("resume with: ")[1].splitlines()[0])
    assert command[0] == sys.executable and command[1].endswith(f"{SOFTMAX}.py")
    assert command[-3:] == ["--checkpoint-dir", str(target), "--resume"]
    main(command[2:])
    assert_same_arrays(checkpoint_arrays(target, 3), checkpoint_arrays(ref_out / "ckpt", 3))
    assert read_results(tmp_path)["history"] == ref["history"][:3]


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


@pytest.mark.data
def test_sigint_to_a_training_script_saves_a_checkpoint_and_says_how_to_resume(fashion_mnist, tmp_path):
    """End to end: a real SIGINT to `python scripts/ch3_06...py` once an epoch has finished."""
    out, ckpt = tmp_path / "run", tmp_path / "ckpt"
    argv = ["--epochs", "1000", "--out", str(out), "--checkpoint-dir", str(ckpt), "--quiet"]
    with script_process(SOFTMAX, argv) as proc:
        deadline = time.monotonic() + 120
        while latest_checkpoint(ckpt) is None and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, f"the script ended early: {proc.communicate()}"
        assert latest_checkpoint(ckpt) is not None, "no checkpoint within 120 s"
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    epoch = int(re.search(r"interrupted after epoch (\d+)", stderr).group(1))
    assert epoch >= 1 and latest_checkpoint(ckpt) == epoch
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


@pytest.mark.data
def test_resume_from_a_mismatched_checkpoint_or_too_few_epochs_exits_2(fashion_mnist, tmp_path, capsys):
    """A checkpoint whose params do not fit the model, whose recorded flags differ from this
    run's (each named with both values), or that trained more epochs than asked: exit 2."""
    ckpt = tmp_path / "ckpt"
    save_checkpoint(ckpt, TrainState(init_mlp(jax.random.key(0), 784, 16, 10), (), jax.random.key(0), 4, []))
    main = main_of(MLP)
    out = ["--out", str(tmp_path / "out"), "--quiet"]
    assert exit_code(main, ["--num-hiddens", "32", "--resume", "--checkpoint-dir", str(ckpt), *out]) == 2
    err = capsys.readouterr().err
    assert f"{ckpt / '4'}" in err and "W1" in err and "(784, 16)" in err and "(784, 32)" in err
    assert exit_code(main, ["--num-hiddens", "16", "--epochs", "2", "--resume", "--checkpoint-dir",
                            str(ckpt), *out]) == 2
    assert "--epochs 2" in capsys.readouterr().err
    recorded = tmp_path / "recorded"
    save_checkpoint(recorded, TrainState(init_mlp(jax.random.key(0), 784, 16, 10), (), jax.random.key(0), 1),
                    config={"num_hiddens": 16, "lr": 0.1, "batch_size": 256, "seed": 0})
    for flag, value, was in [("--lr", "0.5", "0.1"), ("--batch-size", "128", "256"), ("--seed", "3", "0")]:
        argv = ["--num-hiddens", "16", flag, value, "--resume", "--checkpoint-dir", str(recorded), *out]
        assert exit_code(main, argv) == 2
        err = capsys.readouterr().err
        assert f"was trained with {flag} {was}, this run has {flag} {value}" in err, err


@pytest.mark.data
def test_batch_size_larger_than_the_training_set_exits_2(fashion_mnist, tmp_path, capsys):
    assert exit_code(main_of(SOFTMAX), ["--batch-size", "60001", "--out", str(tmp_path)]) == 2
    assert "--batch-size 60001 is larger than the training set (60000 examples)" in capsys.readouterr().err


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


def test_concise_scripts_use_flax_nnx_and_optax_losses():
    """3.3, 3.7, 4.3 and 4.6's concise models are NNX modules, no Linen."""
    for name in ("ch3_03_linear_regression_concise", "ch3_07_softmax_regression_concise",
                 "ch4_03_mlp_concise", "ch4_06_dropout"):
        text = (ROOT / "scripts" / f"{name}.py").read_text()
        assert "flax.linen" not in text and "from flax import nnx" in text and "nnx_model" in text, name
    for name in ("ch3_07_softmax_regression_concise", "ch4_03_mlp_concise", "ch4_06_dropout"):
        text = (ROOT / "scripts" / f"{name}.py").read_text()
        assert "optax.softmax_cross_entropy_with_integer_labels" in text, name
