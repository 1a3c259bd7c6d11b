"""The run folder: nothing lost on a failed rerun, one run at a time, SIGTERM like Ctrl-C."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import jax
import pytest

from conftest import ROOT
from helpers import SMALL, SOFTMAX, exit_code, interrupt_during_epoch, main_of, read_results, script_process
from jaxlin import init_softmax_regression
from jaxlin.run.checkpoint import latest_checkpoint, save_checkpoint
from jaxlin.run.outputs import Busy, Outputs
from jaxlin.train.state import TrainState

LINREG = "ch3_02_linear_regression_scratch"
RUNS_ENV = "JAXLIN_RUNS_DIR"                 # set empty by conftest.py: no default --out


def test_a_failed_rerun_keeps_the_finished_run(tmp_path, capsys):
    """Finished, then the same --out with a diverging lr, a usage error found after parsing,
    and a bad flag: results.json and the PNGs of the finished run are still there."""
    main = main_of(LINREG)
    finished = main([*SMALL[LINREG], "--out", str(tmp_path)])
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert "loss.png" in before and finished["status"] == "finished"
    assert exit_code(main, [*SMALL[LINREG], "--lr", "1e30", "--out", str(tmp_path)]) == 1
    assert "finished run in" in capsys.readouterr().err
    assert read_results(tmp_path, "results.diverged.json")["status"] == "diverged"
    assert exit_code(main, ["--batch-size", "100000", "--num-examples", "100", "--out", str(tmp_path)]) == 2
    assert exit_code(main, ["--epochs", "0", "--out", str(tmp_path)]) == 2
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name != "results.diverged.json"}
    assert after == before
    assert not list(tmp_path.parent.glob(f".{tmp_path.name}.incoming"))    # nothing left aside


def test_a_second_run_into_a_busy_folder_is_refused_and_a_dead_ones_lock_is_free(tmp_path, capsys):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from jaxlin.run.outputs import Outputs; "
        "held = Outputs(Path(sys.argv[1])); print('locked', flush=True); time.sleep(600)"), str(out)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert exit_code(main_of(LINREG), [*SMALL[LINREG], "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert re.search(rf"another run \(process {holder.pid}\) is writing to --out {out}", err), err
        with pytest.raises(Busy):
            Outputs(out)
    finally:
        holder.send_signal(signal.SIGKILL)                     # kill -9: no cleanup of its own
        holder.communicate(timeout=60)
    results = main_of(LINREG)([*SMALL[LINREG], "--out", str(out)])
    assert results["status"] == "finished" and (out / "results.json").is_file()


def test_the_lock_file_is_removed_when_the_run_ends(tmp_path):
    out = tmp_path / "out"
    outputs = Outputs(out)
    assert (tmp_path / ".out.lock").read_text() == str(os.getpid())
    with pytest.raises(Busy):
        Outputs(out)
    outputs.close()
    outputs.close()                                         # again: nothing happens
    assert sorted(p.name for p in tmp_path.iterdir()) == []   # neither the lock nor the stage
    main_of(LINREG)([*SMALL[LINREG], "--out", str(out)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_lock_file_removed_between_open_and_flock_is_not_trusted(tmp_path, monkeypatch):
    """A second run opened the lock file just before the first removed it and ended: it must
    lock the file that the path names now, or a third run could hold a lock of its own."""
    import builtins

    from jaxlin.run import outputs
    first = outputs.lock(tmp_path / "out", "--out")
    stale = open(tmp_path / ".out.lock", "a+")              # opened before the first run ended
    first.close()
    opened = []

    def open_stale_first(path, mode="r", *args, **kwargs):
        opened.append(path)
        return stale if len(opened) == 1 else builtins.open(path, mode, *args, **kwargs)

    monkeypatch.setattr(outputs, "open", open_stale_first, raising=False)
    second = outputs.lock(tmp_path / "out", "--out")
    monkeypatch.undo()
    assert len(opened) == 2 and stale.closed                 # the unlinked file was let go
    with pytest.raises(Busy):
        outputs.lock(tmp_path / "out", "--out")
    second.close()
    assert not (tmp_path / ".out.lock").exists()


@pytest.mark.parametrize("where", ["file", "under a file"])
def test_an_out_that_is_or_is_under_a_file_is_one_usage_line(where, tmp_path, capsys):
    (tmp_path / "f").write_text("a file")
    out = tmp_path / "f" if where == "file" else tmp_path / "f" / "run"
    assert exit_code(main_of(LINREG), [*SMALL[LINREG], "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"--out {out} {'is a file' if where == 'file' else 'is under the file'}" in err
    assert "Traceback" not in err


def test_a_script_run_from_scripts_writes_into_its_checkouts_runs(tmp_path):
    """Default --out: runs/<script> of the checkout, also when started from scripts/ (a copy
    of the checkout's shape in tmp_path: the suite never writes into the real runs/); the
    last line says where the outputs are."""
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text("")
    shutil.copy(ROOT / "scripts" / f"{LINREG}.py", checkout / "scripts")
    env = {k: v for k, v in os.environ.items() if k != RUNS_ENV}
    proc = subprocess.run([sys.executable, f"{LINREG}.py", *SMALL[LINREG]], cwd=checkout / "scripts",
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    runs = checkout / "runs" / LINREG
    assert not (checkout / "scripts" / "runs").exists() and (runs / "results.json").is_file()
    assert proc.stdout.splitlines()[-1] == f"outputs in {runs}/: results.json, data.png, loss.png"


@pytest.mark.data
def test_sigterm_saves_the_last_finished_epoch_and_exits_143(fashion_mnist, tmp_path):
    out = tmp_path / "run"
    with script_process(SOFTMAX, ["--epochs", "1000", "--out", str(out), "--quiet"]) as proc:
        deadline = time.monotonic() + 120
        line = ""
        while not line.startswith("epoch 1,") and time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert "terminated (SIGTERM): interrupted after epoch" in stderr and "Traceback" not in stderr
    epoch = int(re.search(r"after epoch (\d+)", stderr).group(1))
    assert latest_checkpoint(out / "checkpoint") == epoch
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "interrupted" and len(results["history"]) == epoch


@pytest.mark.data
def test_a_fresh_rerun_says_an_interrupted_runs_checkpoint_is_there(fashion_mnist, tmp_path, capsys):
    params = init_softmax_regression(jax.random.key(0), 784, 10)
    save_checkpoint(tmp_path / "checkpoint", TrainState(params, (), jax.random.key(0), 1))
    main_of(SOFTMAX)(["--epochs", "1", "--out", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err
    assert f"{tmp_path / 'checkpoint'} holds an interrupted run's checkpoint (epoch 1), kept" in err
    assert latest_checkpoint(tmp_path / "checkpoint") == 1


@pytest.mark.data
def test_a_second_run_into_a_busy_checkpoint_dir_is_refused(fashion_mnist, tmp_path, capsys):
    from jaxlin.run.outputs import lock
    held = lock(tmp_path / "ckpt", "--checkpoint-dir")        # a live run saving there
    try:
        argv = ["--epochs", "1", "--out", str(tmp_path / "out"), "--checkpoint-dir", str(tmp_path / "ckpt")]
        assert exit_code(main_of(SOFTMAX), argv) == 2
        assert f"is writing to --checkpoint-dir {tmp_path / 'ckpt'}" in capsys.readouterr().err
    finally:
        held.close()
    assert main_of(SOFTMAX)([*argv, "--quiet"])["status"] == "finished"
    assert latest_checkpoint(tmp_path / "ckpt") == 1
    assert not list(tmp_path.glob(".*.lock"))               # --out's and --checkpoint-dir's, removed


@pytest.mark.data
def test_ctrl_c_never_saves_an_earlier_epoch_over_an_interrupted_runs_later_one(
        fashion_mnist, tmp_path, monkeypatch, capsys):
    """<out>/checkpoint holds epoch 3 of an earlier interrupted run; this run is interrupted
    after epoch 1: its checkpoint goes to <out>/checkpoint-2, epoch 3 stays where it was."""
    params = init_softmax_regression(jax.random.key(0), 784, 10)
    save_checkpoint(tmp_path / "checkpoint", TrainState(params, (), jax.random.key(0), 3))
    interrupt_during_epoch(monkeypatch, 2)
    assert exit_code(main_of(SOFTMAX), ["--epochs", "3", "--out", str(tmp_path), "--quiet"]) == 130
    assert f"checkpoint saved in {tmp_path / 'checkpoint-2'}" in capsys.readouterr().err
    assert latest_checkpoint(tmp_path / "checkpoint") == 3 and latest_checkpoint(tmp_path / "checkpoint-2") == 1


@pytest.mark.parametrize("index", [0, 1, 2])
def test_only_process_0_of_several_writes_out(index, tmp_path, monkeypatch):
    """Of three processes, each with its own --out, process 0 alone writes results.json (and the
    run's files) there; the others' --out stays absent, neither locked nor created."""
    from jaxlin.run import cli
    monkeypatch.setattr(jax, "process_count", lambda: 3)
    monkeypatch.setattr(jax, "process_index", lambda: index)
    out = tmp_path / f"out{index}"
    run = cli.Run(cli.make_parser("test").parse_args(["--out", str(out)]), "ch2_03_linear_algebra")
    run.path("note.txt").write_text("x")
    run.finish({"answer": 42})
    if index == 0:
        assert read_results(out)["answer"] == 42 and (out / "note.txt").read_text() == "x"
    else:
        assert not out.exists()
