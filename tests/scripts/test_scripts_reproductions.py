"""Issue 22's reproductions, each replayed as a real process with a timeout: the exit status
(2 usage, 1 run time), its one clear line, never a traceback; or, where it was silently wrong
or lost work, the correct result.

Where each numbered item of the issue is replayed (all in ``tests/scripts/``):
1. processes that disagree on ``--lr``, ``--batch-size``, ``--seed``: ``test_scripts_processes.py``;
2. a second signal, SIGTERM while the final figures are drawn: ``test_scripts_signals.py``;
3. a checkpoint step without its checksum record: ``CASES`` here, and the step skipped for the
   previous one in ``test_scripts_classifiers.py``;
4. the suite writing into the checkout's ``runs/``:
   :func:`test_a_script_started_from_scripts_by_a_test_never_writes_runs`;
5. a loss alone, the sweep and the epoch on a label outside the classes:
   :func:`test_library_calls_off_the_happy_path_raise_one_clear_error`;
6. Kaggle CSVs (``CASES``), the notebook writer without ``--force``: ``test_scripts_notebooks.py``;
7. tracebacks where one line is due: ``CASES``, the library calls of item 5's test, a full disk
   in ``test_scripts_outputs_errors.py``, the notebook export in ``test_scripts_notebooks.py``;
8. misleading lines: ``CASES`` (no lock file left after any), integer regression targets in
   item 5's test, :func:`test_printed_paths_are_final_and_no_lock_is_left`,
   :func:`test_help_shows_no_default_of_none`, the Gloo banner in ``test_scripts_processes.py``.
"""
from __future__ import annotations

import json
import math
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import jax
import pytest

from conftest import ROOT, shared_dir
from helpers import MLP, SOFTMAX, json_of_snippet, read_results, run_process
from jaxlin import init_softmax_regression
from jaxlin.run.checkpoint import save_checkpoint
from jaxlin.train.state import TrainState

TRAIN = ["--epochs", "1", "--quiet"]
KAGGLE = "ch4_10_kaggle_house_price"
CSVS = ["--train-csv", "{tmp}/train.csv", "--test-csv", "{tmp}/test.csv"]
FULL_CHECKPOINT_DIR = """
import errno
import jaxlin.run.classifier

def full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")

jaxlin.run.classifier.save_checkpoint = full
"""
FULL_DISK_AT_THE_LOCK = """
import errno
import jaxlin.run.outputs

def full(path, what):
    raise OSError(errno.ENOSPC, "No space left on device", str(path.parent / f".{path.name}.lock"))

jaxlin.run.outputs.lock = full
"""
IN_A_KERNEL = "import jaxlin.run.flags\njaxlin.run.flags.in_kernel = lambda: True\n"


class Case(NamedTuple):
    script: str
    argv: list[str]           # {tmp}: the test's folder; --out {tmp}/out is added unless given
    status: int
    says: str                 # in exactly one line of stderr, an "error" line
    prelude: str = ""         # code the child runs before the script
    env: dict[str, str] = {}


CASES = {
    # 3. a checkpoint step without its checksum record
    "3 a step with no record and truncated data": Case(
        SOFTMAX, ["--resume", "--checkpoint-dir", "{tmp}/unrecorded"], 2,
        "{tmp}/unrecorded holds no usable checkpoint: step 1 has no jaxlin-sha256.json"),
    "3 byte-flipped checkpoint": Case(SOFTMAX, ["--resume", "--checkpoint-dir", "{tmp}/flipped"], 2,
                                      "is damaged (its sha256 is not the one saved)"),
    # 6. silent data damage, now refused naming file, column and value
    "6 Kaggle thousands separator": Case(KAGGLE, CSVS, 2, "{tmp}/train.csv, line 2: column 'LotArea' holds "
                                                          "'8,450', a number with a thousands separator"),
    "6 Kaggle column all text": Case(KAGGLE, CSVS, 2, "{tmp}/train.csv, line 2: column 'LotArea' holds only "
                                                      "text (first 'big') where {tmp}/test.csv holds numbers"),
    "6 Kaggle 1e308": Case(KAGGLE, CSVS, 2, "{tmp}/test.csv, line 3: column 'LotArea' holds 1e+308, beyond "
                                            "float32's range"),
    # 7. tracebacks where one line is due
    "7 out under /proc": Case(MLP, ["--out", "/proc/jaxlin-out", "--num-hiddens", "16"], 1,
                              "cannot write the outputs to --out /proc/jaxlin-out"),
    "7 out on a full disk": Case(MLP, ["--num-hiddens", "16"], 1, "cannot write the outputs to --out {tmp}/out: No "
                                 "space left on device ({tmp}/.out.lock)", prelude=FULL_DISK_AT_THE_LOCK),
    "7 data folder that cannot be written": Case(MLP, ["--data-dir", "/proc/jaxlin-tfds", "--num-hiddens", "16"], 1,
                                                 "cannot prepare Fashion-MNIST in the data folder /proc/jaxlin-tfds"),
    "7 seed beyond 64 bits": Case("ch3_02_linear_regression_scratch", ["--seed", "9" * 23], 2,
                                  "the seed must fit in 64 bits: an integer in [0, 2**63), got " + "9" * 23),
    "7 Kaggle 3 rows and k 2": Case(KAGGLE, [*CSVS, "--k", "2", "--epochs", "1"], 2, "--k 2 on the 3 examples"),
    "7 Kaggle inf": Case(KAGGLE, CSVS, 2, "{tmp}/test.csv, line 3: column 'LotArea' holds inf, beyond "
                                          "float32's range"),
    "7 JAXLIN_ARGS unclosed quote": Case(SOFTMAX, [], 2, "$JAXLIN_ARGS is not a command line (No closing "
                                                         "quotation): --out \"{tmp}/x", prelude=IN_A_KERNEL,
                                         env={"JAXLIN_ARGS": '--out "{tmp}/x'}),
    # 8. misleading lines, now saying what is the case
    "8 checkpoint dir is out itself": Case(MLP, ["--out", "{tmp}/o", "--checkpoint-dir", "{tmp}/o"], 2,
                                           "--checkpoint-dir {tmp}/o is --out itself"),
    "8 full checkpoint dir": Case(MLP, ["--checkpoint-dir", "{tmp}/ckpt", "--num-hiddens", "16"], 1,
                                  "cannot save the checkpoint of epoch 1 in --checkpoint-dir {tmp}/ckpt: No space "
                                  "left on device", prelude=FULL_CHECKPOINT_DIR),
    "8 Kaggle SalePrice 1e300": Case(KAGGLE, CSVS, 2, "{tmp}/train.csv: SalePrice must be positive and finite in "
                                                      "float32; 1 rows are not (first at row 0, line 2: 1e+300)"),
    "8 coordinator port out of range": Case(SOFTMAX, ["--coordinator", "127.0.0.1:99999", "--num-processes", "2",
                                                      "--process-id", "1"], 2,
                                            "--coordinator 127.0.0.1:99999: port 99999 is not in 1..65535"),
    # other bad input, one line each
    "out is a file": Case(SOFTMAX, ["--out", "{tmp}/file"], 2, "--out {tmp}/file is a file, not a folder"),
    "out under a file": Case(SOFTMAX, ["--out", "{tmp}/file/run"], 2, "--out {tmp}/file/run is under the file"),
    "data dir is a file": Case(SOFTMAX, ["--data-dir", "{tmp}/file"], 2, "--data-dir {tmp}/file is a file"),
    "no such source folder": Case(SOFTMAX, ["--fashion-mnist-dir", "/nonexistent"], 2,
                                  "--fashion-mnist-dir /nonexistent is not a folder"),
    "abbreviated flag": Case(SOFTMAX, ["--epoch", "2"], 2, "unrecognized arguments: --epoch 2"),
    "lr infinite in float32": Case(SOFTMAX, ["--lr", "1e39"], 2, "finite in float32"),
    "checkpoint dir is a file": Case(SOFTMAX, ["--checkpoint-dir", "{tmp}/file"], 2, "is a file, not a folder"),
    "resume with another lr": Case(SOFTMAX, ["--lr", "0.5", "--resume", "--checkpoint-dir", "{tmp}/ckpt"], 2,
                                   "was trained with --lr 0.1, this run has --lr 0.5"),
    "batch larger than the data": Case(SOFTMAX, ["--batch-size", "70000"], 2,
                                       "--batch-size 70000 is larger than the training set"),
    "truncated .gz": Case(SOFTMAX, ["--data-dir", "{tmp}/tfds", "--fashion-mnist-dir", "{tmp}/broken"], 1,
                          "train-labels-idx1-ubyte.gz: checksum mismatch"),
    "header-only Kaggle CSV": Case(KAGGLE, ["--train-csv", "{tmp}/empty.csv", "--test-csv", "{tmp}/test.csv"], 2,
                                   "{tmp}/empty.csv has a header but no rows"),
    "more check steps than data": Case("bench_jit_vs_eager", ["--models", "linreg", "--check-steps", "100000"], 2,
                                       "--check-steps 100000 is more than the 100 full batches"),
}


CHECKPOINTS = {"resume with another lr": "ckpt", "3 byte-flipped checkpoint": "flipped",
               "3 a step with no record and truncated data": "unrecorded"}


def prepare(tmp: Path, case: str) -> None:
    (tmp / "file").write_text("not a folder")
    if case in CHECKPOINTS:                                    # a softmax run's epoch 1, saved
        params = init_softmax_regression(jax.random.key(0), 784, 10)
        save_checkpoint(tmp / CHECKPOINTS[case], TrainState(params, (), jax.random.key(0), 1),
                        config={"lr": 0.1, "batch_size": 256, "seed": 0})
    if case == "3 byte-flipped checkpoint":
        for data in (tmp / "flipped" / "1" / "state").rglob("d/*"):
            data.write_bytes(bytes(b ^ 0xFF for b in data.read_bytes()))
    if case == "3 a step with no record and truncated data":   # killed between Orbax's commit and the record
        (tmp / "unrecorded" / "1" / "jaxlin-sha256.json").unlink()
        for data in (tmp / "unrecorded" / "1" / "state").rglob("d/*"):
            data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    if case == "truncated .gz":
        shutil.copytree(shared_dir("fashion-mnist"), tmp / "broken")
        labels = tmp / "broken" / "train-labels-idx1-ubyte.gz"
        labels.write_bytes(labels.read_bytes()[:2000])
    if case == "header-only Kaggle CSV":
        kaggle_csv(tmp, "train", rows=0, name="empty")
        kaggle_csv(tmp, "test")
    edits = {"6 Kaggle thousands separator": ("train", "LotArea", [1], '"8,450"'),  # as a spreadsheet writes it
             "6 Kaggle column all text": ("train", "LotArea", None, "big"),
             "6 Kaggle 1e308": ("test", "LotArea", [2], "1e308"),
             "7 Kaggle inf": ("test", "LotArea", [2], "inf"),
             "8 Kaggle SalePrice 1e300": ("train", "SalePrice", [1], "1e300")}
    if case in edits:
        split, column, lines, value = edits[case]
        kaggle_csv(tmp, split, column=column, lines=lines, value=value)
        kaggle_csv(tmp, {"train": "test", "test": "train"}[split])
    if case == "7 Kaggle 3 rows and k 2":
        kaggle_csv(tmp, "train", rows=3)
        kaggle_csv(tmp, "test")


def kaggle_csv(tmp: Path, split: str, *, column: str = "LotArea", lines: Sequence[int] | None = (),
               value: str = "", rows: int | None = None, name: str | None = None) -> None:
    """The Kaggle ``split`` CSV as ``tmp/{name or split}.csv``: its first ``rows`` houses (all when
    None), ``column`` holding ``value`` on each of ``lines`` (1: the first house; None: every one)."""
    text = (shared_dir("kaggle-house") / f"kaggle_house_pred_{split}.csv").read_text().splitlines()
    text = text if rows is None else text[:rows + 1]
    where = text[0].split(",").index(column)
    for line in range(1, len(text)) if lines is None else lines:
        cells = text[line].split(",")
        text[line] = ",".join([*cells[:where], value, *cells[where + 1:]])
    (tmp / f"{name or split}.csv").write_text("\n".join(text) + "\n")


@pytest.mark.data
@pytest.mark.parametrize("case", CASES)
def test_each_named_reproduction_gives_its_one_clear_line(case, fashion_mnist, house_dir, tmp_path):
    script, argv, status, says, prelude, env = CASES[case]
    prepare(tmp_path, case)
    argv = [a.format(tmp=tmp_path) for a in argv]
    argv += [*(TRAIN if script in (SOFTMAX, MLP) else []),
             *([] if "--out" in argv else ["--out", str(tmp_path / "out")])]
    proc = run_process(script, argv, prelude=prelude, env={k: v.format(tmp=tmp_path) for k, v in env.items()})
    assert proc.returncode == status, proc.stderr[-1500:]
    assert "Traceback" not in proc.stderr, proc.stderr[-1500:]
    lines = [line for line in proc.stderr.splitlines() if says.format(tmp=tmp_path) in line]
    assert len(lines) == 1 and "error" in lines[0], proc.stderr[-1500:]
    assert not list(tmp_path.glob(".*.lock")), "a lock file was left beside --out or --checkpoint-dir"
    if case == "8 full checkpoint dir":                    # the epoch trained is kept in results.json
        assert len(read_results(tmp_path / "out")["history"]) == 1


OWN_SEED = 220422      # item 4's runs carry it, so a reader's runs in runs/ are told apart


def seed_of(results: Path) -> int | None:
    """The seed a ``results.json`` records; None while a reader's run is still writing it."""
    try:
        return json.loads(results.read_text())["args"]["seed"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


@pytest.mark.data
def test_a_script_started_from_scripts_by_a_test_never_writes_runs(fashion_mnist, tmp_path):
    """Item 4: a test's child inherits the suite's empty $JAXLIN_RUNS_DIR, so a run without
    --out is refused before it writes anything; nothing in the checkout's runs/ (where a
    reader's own runs may be writing meanwhile) comes from this test's runs, which carry a
    seed of their own; with $JAXLIN_RUNS_DIR set, the default outputs go there."""
    name = "ch3_02_linear_regression_scratch"
    small = ["--epochs", "1", "--num-examples", "100", "--seed", str(OWN_SEED)]
    refused = run_process(name, small)
    assert refused.returncode == 2 and "pass --out DIR: JAXLIN_RUNS_DIR is set but empty" in refused.stderr
    done = run_process(name, small, env={"JAXLIN_RUNS_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-1500:]
    assert seed_of(tmp_path / name / "results.json") == OWN_SEED
    assert not [r for r in (ROOT / "runs").rglob("results*.json") if seed_of(r) == OWN_SEED]


@pytest.mark.data
@pytest.mark.parametrize("name, printed", [
    ("ch2_02_data_preprocessing", "# {out}/house_tiny.csv"),
    (KAGGLE, "wrote {out}/submission.csv (1459 predictions)"),
])
def test_printed_paths_are_final_and_no_lock_is_left(name, printed, house_dir, tmp_path):
    """Item 8: a run writes into a staging folder, but prints the paths its files have after
    it; no lock file stays beside --out."""
    out = tmp_path / "out"
    argv = ["--out", str(out)] + (["--epochs", "1", "--k", "2", "--quiet", "--train-csv",
                                   str(house_dir / "kaggle_house_pred_train.csv"), "--test-csv",
                                   str(house_dir / "kaggle_house_pred_test.csv")] if name == KAGGLE else [])
    proc = run_process(name, argv)
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert printed.format(out=out) in proc.stdout and ".incoming" not in proc.stdout + proc.stderr
    assert Path(printed.format(out=out).split()[1]).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_help_shows_no_default_of_none():
    """Item 8: ``--help`` of a Fashion-MNIST script once showed "(default: None)" on six flags."""
    proc = run_process(SOFTMAX, ["--help"])
    assert proc.returncode == 0 and "--checkpoint-dir" in proc.stdout, proc.stderr
    assert "default: None" not in " ".join(proc.stdout.split())


LIBRARY = """
import functools, json, jax, jax.numpy as jnp
from jaxlin import (cross_entropy, evaluate_accuracy, fit, init_mlp, init_softmax_regression, linreg,
                    make_train_epoch, mlp, predict_ch3, sgd, softmax_cross_entropy, softmax_regression,
                    squared_loss)
from jaxlin.train.epoch import summarize
from jaxlin.train.sweep import init_sweep, make_sweep

def outcome(call):
    try:
        return repr(call())
    except Exception as err:
        return f"{type(err).__name__}: {err}"

X, y = jax.random.normal(jax.random.key(0), (40, 4)), jnp.arange(40, dtype=jnp.int32) % 3
params, updater = init_softmax_regression(jax.random.key(1), 4, 3), functools.partial(sgd, lr=0.1)
epoch = make_train_epoch(softmax_regression, cross_entropy, updater, 8)
start = epoch.init(params, jax.random.key(0))
y10, logits = jnp.array([0, 10]), jnp.full((2, 10), 0.1)
sweep = make_sweep(mlp, softmax_cross_entropy, 8, 1)
wide, opt = init_sweep(lambda key: init_mlp(key, 4, 8, 3), [0.1, 0.2], [0, 1])
targets = (X[:, :1] * 30).round().astype(jnp.int32)                   # integer regression targets
line = {"w": jnp.zeros((4, 1)), "b": jnp.zeros(1)}
regression = make_train_epoch(linreg, squared_loss, functools.partial(sgd, lr=0.03), 8)
print(json.dumps({
    "losses alone": [[float(v) for v in f(logits, y10)] for loss in (softmax_cross_entropy, cross_entropy)
                     for f in (loss, jax.jit(loss))],
    "sweep": [float(v) for v in sweep(wide, opt, X, y.at[3].set(10), X, y, jax.random.key(0)).train_loss.ravel()],
    "epoch": outcome(lambda: summarize(epoch(params, start.opt_state, X, y.at[5].set(10), start.key)[-1])),
    "two-column labels": outcome(lambda: fit(epoch, start, (X, jnp.zeros((40, 2), jnp.int32)), num_epochs=1)),
    "start epoch -1": outcome(lambda: fit(epoch, start._replace(epoch=-1), (X, y), num_epochs=1)),
    "accuracy of float targets": outcome(lambda: evaluate_accuracy(softmax_regression, params,
                                                                   (X, jnp.zeros((40, 1))))),
    "predict no image": outcome(lambda: predict_ch3(softmax_regression, init_softmax_regression(
        jax.random.key(0)), jnp.zeros((4, 28, 28, 1), jnp.uint8), jnp.zeros(4, jnp.int32), n=0)),
    "integer regression targets": [r["train_loss"] for r in fit(
        regression, regression.init(line, jax.random.key(0)), (X, targets), num_epochs=3).state.history],
}))
"""


def test_library_calls_off_the_happy_path_raise_one_clear_error():
    """Items 5, 7 and 8 from a reader's own code, in a fresh process: label 10 of 10 classes is
    NaN from a loss alone and under jit (it was a finite 2.3026), in the sweep's losses and in
    the epoch's summary; bad arguments to fit, evaluate_accuracy and predict_ch3 raise one error
    naming the problem; integer regression targets train as regression (they were reported as
    class labels outside [0, C))."""
    got = json_of_snippet(LIBRARY)
    assert len(got["losses alone"]) == 4
    for good, bad in got["losses alone"]:
        assert math.isfinite(good) and good > 0 and math.isnan(bad)
    assert len(got["sweep"]) == 2 and all(math.isnan(v) for v in got["sweep"])
    assert got["epoch"].startswith("ValueError: 1 class labels of this epoch lie outside [0, C)")
    assert got["two-column labels"].startswith("ValueError: train labels have shape (40, 2): a classifier "
                                               "with 3 outputs")
    assert got["start epoch -1"].startswith("ValueError: state.epoch must be an int in [0, num_epochs=1]")
    assert got["accuracy of float targets"].startswith("ValueError: an accuracy needs a classifier")
    assert got["predict no image"] == "ValueError: n must be a positive integer, got 0"
    losses = got["integer regression targets"]
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses) and losses[2] < losses[0]
