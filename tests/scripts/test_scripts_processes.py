"""Data parallel across processes (``jax.distributed``, gloo on CPU) and across local devices.

Two processes of a training script on 127.0.0.1 give the single process's history; one
process with 4 forced host devices splits the data instead of copying it and gives the
single device's history; a checkpoint two processes saved resumes in two processes as
the single process's run; a dead peer (process 0, the coordinator, among them) or a wrong
``--num-processes`` ends the others with a clear message. Every subprocess has a timeout, a
generous guard against a hang (no test asserts how fast a run is), and is killed in a ``finally``.
"""
from __future__ import annotations

import fcntl
import os
import pty
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT, SCRIPTS, run_script, without_xla_cache
from helpers import MLP, json_of_snippet, read_results

SCRIPT = str(SCRIPTS / f"{MLP}.py")


def env_of(i: int, env: dict[str, str]) -> dict[str, str]:
    """Process ``i``'s environment: only process 0 uses the test's XLA cache (conftest), which
    it alone writes; another reading it beside process 0 could read an entry half written."""
    return env if i == 0 else without_xla_cache(env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """``n`` processes of ``argv --coordinator 127.0.0.1:PORT --num-processes N --process-id I``
    (N: ``declared``, else ``n``), their output in files; all killed on leaving the ``with`` block."""

    def __init__(self, folder: Path, argv: list[str], n: int = 2, declared: int | None = None,
                 extra: list[list[str]] | None = None):
        self.folder, self.procs = folder, []
        address = f"127.0.0.1:{free_port()}"
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        for i in range(n):
            out, err = (open(folder / f"p{i}.{s}", "w") for s in ("out", "err"))
            self.procs.append(subprocess.Popen(
                [sys.executable, *argv, *(extra[i] if extra else []), "--coordinator", address,
                 "--num-processes", str(declared or n), "--process-id", str(i)],
                stdout=out, stderr=err, env=env_of(i, env), cwd=ROOT))
            out.close(), err.close()

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)

    def text(self, i: int, stream: str = "err") -> str:
        return (self.folder / f"p{i}.{stream}").read_text()

    def wait(self, timeout: float) -> list[int]:
        deadline = time.monotonic() + timeout
        return [proc.wait(timeout=max(1.0, deadline - time.monotonic())) for proc in self.procs]


FLAGS = ["--seed", "5", "--num-hiddens", "64", "--batch-size", "512", "--quiet"]


@pytest.fixture(scope="module")
def checkpointed(fashion_mnist, tmp_path_factory):
    """``ch4_02_mlp_scratch.py`` for 3 epochs as one process; as two processes for 2 epochs
    (each given its own --out, saving checkpoints), then resumed by two processes to 3 epochs."""
    tmp = tmp_path_factory.mktemp("processes")
    one = run_script(MLP, [*FLAGS, "--epochs", "3", "--out", str(tmp / "one")])
    runs = {}
    for epochs, resume in (("2", []), ("3", ["--resume"])):
        logs = tmp / f"logs-{epochs}"
        logs.mkdir()
        outs = [["--out", str(tmp / f"two-{epochs}")], ["--out", str(tmp / f"two-{epochs}-p1")]]
        with Processes(logs, [SCRIPT, *FLAGS, "--epochs", epochs, "--checkpoint-dir", str(tmp / "ckpt"),
                              *resume], extra=outs) as run:
            assert run.wait(timeout=240) == [0, 0], run.text(0)[-2000:] + run.text(1)[-2000:]
            runs[epochs] = (run.text(0, "out"), run.text(1, "out"))
    return one, runs, tmp


def assert_same_history(one: list[dict], two: list[dict]) -> None:
    assert len(two) <= len(one)
    for a, b in zip(one, two):
        assert a.keys() == b.keys()
        assert all(abs(a[k] - b[k]) <= 2e-3 for k in a), (a, b)


@pytest.mark.data
def test_two_processes_give_the_single_process_history(checkpointed):
    """The acceptance run: two processes of ``ch4_02_mlp_scratch.py --epochs 2 --seed 5`` (64 hidden
    units, batch 512) give the one process's first two epochs; process 0 alone writes the outputs
    and prints the run (each was given its own --out: process 1's stays absent)."""
    one, runs, tmp = checkpointed
    out = tmp / "two-2"
    two = read_results(out)
    assert two["environment"]["num_processes"] == 2 and two["status"] == "finished"
    assert [h["epoch"] for h in two["history"]] == [1, 2]
    assert_same_history(one["history"], two["history"])
    assert sorted(p.name for p in out.iterdir()) == ["curves.png", "predictions.png", "results.json"]
    assert not list(tmp.glob(".two-2.incoming*")) and not list(tmp.glob(".two-2-p1*"))
    assert not (tmp / "two-2-p1").exists()
    printed_0, printed_1 = runs["2"]
    assert "epoch 2" in printed_0 and printed_1 == ""


@pytest.mark.data
def test_a_checkpoint_two_processes_saved_resumes_in_two_processes_as_one_process_runs(checkpointed):
    """Process 0 saves the replicated state after each epoch; on ``--resume`` every process
    reads it (the folder is shared) and the run goes on as the uninterrupted one."""
    one, _, tmp = checkpointed
    assert sorted(int(p.name) for p in (tmp / "ckpt").iterdir() if p.name.isdigit()) == [2, 3]   # LatestN(2)
    two = read_results(tmp / "two-3")
    assert [r["epoch"] for r in two["history"]] == [1, 2, 3]
    assert_same_history(one["history"], two["history"])


SHARDED = r"""
import os, json, functools
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
import jax, numpy as np
from jax.sharding import PartitionSpec as P
from jaxlin import init_mlp, mlp, softmax_cross_entropy, sgd, data_mesh
from helpers import train_model
from jaxlin.train.epoch import TrainEpoch
assert jax.device_count() == 4
X = jax.random.uniform(jax.random.key(0), (640, 20))
y = jax.random.randint(jax.random.key(1), (640,), 0, 5)
Xt, yt = X[:100] + 0.1, y[:100]                 # 100 test examples: 25 per device
p = init_mlp(jax.random.key(2), 20, 32, 5, sigma=0.1)
up = functools.partial(sgd, lr=0.5)
kw = dict(num_epochs=3, batch_size=64, key=jax.random.key(3), evals={"test": (Xt, yt)},
          eval_loss=softmax_cross_entropy)
one, _ = train_model(mlp, p, softmax_cross_entropy, up, (X, y), **kw)
mesh, seen, compile_epoch = data_mesh(), {}, TrainEpoch.compile
def spy(self, params, opt_state, X, y, key):    # what the compiled epoch is given
    compiled = compile_epoch(self, params, opt_state, X, y, key)
    seen.update(spec=str(X.sharding.spec), replicated=X.sharding.is_fully_replicated,
                shards=sorted({s.data.shape[0] for s in X.addressable_shards}),
                devices=len(X.sharding.device_set), params=jax.tree.leaves(params)[0].sharding.is_fully_replicated,
                hlo=compiled.as_text())
    return compiled
TrainEpoch.compile = spy
four, _ = train_model(mlp, p, softmax_cross_entropy, up, (X, y), mesh=mesh, **kw)
hlo = seen.pop("hlo")
seen.update(reduce_scatter="reduce-scatter" in hlo, all_reduce="all-reduce" in hlo)
diff = max(abs(a[k] - b[k]) for a, b in zip(one.history, four.history) for k in a)
try:
    train_model(mlp, p, softmax_cross_entropy, up, (X[:630], y[:630]), num_epochs=1, batch_size=64,
                key=jax.random.key(3), mesh=mesh)
except ValueError as e:
    seen["uneven"] = str(e)
print(json.dumps(seen | {"diff": diff, "history": four.history}))
"""


def test_one_process_four_devices_splits_the_data_and_gives_one_devices_history():
    out = json_of_snippet(SHARDED)
    assert out["spec"] == "P('data',)" and not out["replicated"] and out["devices"] == 4
    assert out["shards"] == [160]                  # each device holds 640 / 4 rows, not all 640
    assert out["params"]                           # params replicated
    assert out["reduce_scatter"] and out["all_reduce"]   # the batch assembled, the gradient summed
    assert out["diff"] < 1e-5, out
    assert [r["epoch"] for r in out["history"]] == [1, 2, 3] and "test_acc" in out["history"][0]
    assert "split evenly across the 4 devices" in out["uneven"]


def kill_after_epoch_1(run: Processes, victim: int) -> float:
    """Wait for process 0's first epoch line, kill process ``victim``; the time of the kill."""
    deadline = time.monotonic() + 150
    while "epoch 1," not in run.text(0, "out"):
        assert time.monotonic() < deadline and run.procs[0].poll() is None, run.text(0)[-3000:]
        time.sleep(0.2)
    run.procs[victim].kill()
    return time.monotonic()


DEAD_PEER = [SCRIPT, "--epochs", "8", "--num-hiddens", "32", "--batch-size", "1000", "--quiet"]


@pytest.mark.data
def test_a_dead_peer_ends_the_other_process_with_a_clear_message(fashion_mnist, tmp_path):
    with Processes(tmp_path, [*DEAD_PEER, "--out", str(tmp_path / "out")]) as run:
        kill_after_epoch_1(run, victim=1)
        code = run.procs[0].wait(timeout=90)
        assert code == 1
        errors = [line for line in run.text(0).splitlines() if line.startswith("error:")]
        assert errors == [line for line in run.text(0).splitlines() if line], run.text(0)  # nothing else
        assert len(errors) == 1 and "process 0 of 2 lost process 1: it died or was killed" in errors[0]


@pytest.mark.data
def test_a_dead_coordinator_ends_the_others_with_one_line_and_status_1(fashion_mnist, tmp_path):
    """Process 0 hosts JAX's coordination service; when it dies, JAX's runtime in the others logs
    it (its own lines, kept: jaxlin no longer filters stderr) and jaxlin ends each with one
    ``error:`` line and status 1, never a Python traceback. (Without the abort held, which
    jaxlin no longer does, the runtime's own abort sometimes comes first: status -6, its log.)"""
    with Processes(tmp_path, [*DEAD_PEER, "--out", str(tmp_path / "out")]) as run:
        kill_after_epoch_1(run, victim=0)
        code = run.procs[1].wait(timeout=90)
        if code == -6:                              # the runtime's abort came first: its log says why
            assert "JAX distributed service detected fatal errors" in run.text(1)
            return
        assert code == 1, run.text(1)
        errors = [line for line in run.text(1).splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "Traceback" not in run.text(1), run.text(1)
        assert errors[0].startswith("error: process 1 of 2 lost the coordinator 127.0.0.1:"), errors
        assert "process 0 died or was killed" in errors[0]


@pytest.mark.data
def test_process_0_draws_its_bars_on_a_terminal(fashion_mnist, tmp_path):
    """Of two processes on a terminal, process 0 draws the bars (process 1 is quiet)."""
    main, side = pty.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))   # a terminal's size
    address = f"127.0.0.1:{free_port()}"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    argv = [sys.executable, SCRIPT, "--epochs", "2", "--num-hiddens", "32", "--batch-size", "1000",
            "--out", str(tmp_path / "out"), "--coordinator", address, "--num-processes", "2"]
    seen = bytearray()

    def read_terminal() -> None:
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:                         # the terminal's last writer is gone
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    procs = [subprocess.Popen([*argv, "--process-id", str(i)], env=env_of(i, env), cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=side if i == 0 else subprocess.DEVNULL) for i in range(2)]
    try:
        assert [p.wait(timeout=240) for p in procs] == [0, 0]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        os.close(side)
        reader.join(timeout=10)
        os.close(main)
    text = seen.decode(errors="replace")
    assert "epochs: 100%" in text and "2/2" in text, text[-2000:]


def test_a_wrong_num_processes_ends_every_process_with_a_clear_message(tmp_path):
    """Three processes expected, two started: both give up after --peer-timeout, saying why."""
    with Processes(tmp_path, [SCRIPT, "--epochs", "1", "--peer-timeout", "3", "--out", str(tmp_path / "out")],
                   n=2, declared=3) as run:
        assert run.wait(timeout=90) == [1, 1]
        for i in range(2):
            assert f"error: process {i} of 3: not every process joined" in run.text(i)
            assert "--num-processes 3" in run.text(i)


@pytest.mark.data
@pytest.mark.parametrize("flag, values", [("--lr", ("0.1", "0.5")), ("--batch-size", ("256", "128")),
                                          ("--seed", ("0", "1"))])
def test_processes_that_disagree_on_a_flag_end_with_status_2_naming_it(flag, values, fashion_mnist, tmp_path):
    """Issue 22's item 1: each process compares its flags with process 0's before any data is
    loaded: a mismatch is one line in every process naming the flag and both values (a seed's
    once came after a traceback), status 2, no results."""
    argv = [SCRIPT, "--epochs", "1", "--num-hiddens", "16", "--quiet", "--out", str(tmp_path / "out")]
    with Processes(tmp_path, argv, extra=[[flag, v] for v in values]) as run:
        assert run.wait(timeout=120) == [2, 2], run.text(0) + run.text(1)
        for i in range(2):
            errors = [line for line in run.text(i).splitlines() if "error:" in line]
            assert len(errors) == 1 and "Traceback" not in run.text(i), run.text(i)
            assert (f"process 0 has {flag} {values[0]}, process 1 has {flag} {values[1]}" in errors[0]
                    or flag == "--lr" and f"process 0 has {flag} {float(values[0])}, process 1 has {flag} "
                    f"{float(values[1])}" in errors[0]), errors
            assert "Gloo" not in run.text(i, "out") + run.text(i)   # the banner stays off stdout and stderr
    assert not (tmp_path / "out" / "results.json").exists()
