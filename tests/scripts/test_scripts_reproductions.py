"""Each reproduction named in the "off the happy path" issue, run as a real process with a
timeout: the exit status (2 usage, 1 run time), its one clear line, never a traceback."""
from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys

import jax
import pytest

from conftest import ROOT, shared_dir
from helpers import SOFTMAX
from jaxlin import init_softmax_regression
from jaxlin.run.checkpoint import save_checkpoint
from jaxlin.train.state import TrainState

TRAIN = ["--epochs", "1", "--quiet"]
CASES = {   # name: (script, argv with {tmp}, exit status, what stderr says)
    "out is a file": (SOFTMAX, ["--out", "{tmp}/file"], 2, "--out {tmp}/file is a file, not a folder"),
    "out under a file": (SOFTMAX, ["--out", "{tmp}/file/run"], 2, "--out {tmp}/file/run is under the file"),
    "data dir is a file": (SOFTMAX, ["--data-dir", "{tmp}/file"], 2, "--data-dir {tmp}/file is a file"),
    "no such source folder": (SOFTMAX, ["--fashion-mnist-dir", "/nonexistent"], 2,
                              "--fashion-mnist-dir /nonexistent is not a folder"),
    "abbreviated flag": (SOFTMAX, ["--epoch", "2"], 2, "unrecognized arguments: --epoch 2"),
    "lr infinite in float32": (SOFTMAX, ["--lr", "1e39"], 2, "finite in float32"),
    "checkpoint dir is a file": (SOFTMAX, ["--checkpoint-dir", "{tmp}/file"], 2, "is a file, not a folder"),
    "resume with another lr": (SOFTMAX, ["--lr", "0.5", "--resume", "--checkpoint-dir", "{tmp}/ckpt"], 2,
                               "was trained with --lr 0.1, this run has --lr 0.5"),
    "byte-flipped checkpoint": (SOFTMAX, ["--resume", "--checkpoint-dir", "{tmp}/flipped"], 2,
                                "is damaged (its sha256 is not the one saved)"),
    "a step with no record and truncated data": (
        SOFTMAX, ["--resume", "--checkpoint-dir", "{tmp}/unrecorded"], 2,
        "{tmp}/unrecorded holds no usable checkpoint: step 1 has no jaxlin-sha256.json"),
    "batch larger than the data": (SOFTMAX, ["--batch-size", "70000"], 2,
                                   "--batch-size 70000 is larger than the training set"),
    "truncated .gz": (SOFTMAX, ["--data-dir", "{tmp}/tfds", "--fashion-mnist-dir", "{tmp}/broken"], 1,
                      "train-labels-idx1-ubyte.gz: checksum mismatch"),
    "header-only Kaggle CSV": ("ch4_10_kaggle_house_price", ["--train-csv", "{tmp}/empty.csv",
                                                             "--test-csv", "{tmp}/test.csv"], 2,
                               "{tmp}/empty.csv has a header but no rows"),
    "Kaggle CSV beyond float32": ("ch4_10_kaggle_house_price", ["--train-csv", "{tmp}/train.csv",
                                                                "--test-csv", "{tmp}/test.csv"], 2,
                                  "{tmp}/test.csv, line 3: column 'LotArea' holds inf, beyond float32's range"),
    "Kaggle thousands separator": ("ch4_10_kaggle_house_price", ["--train-csv", "{tmp}/train.csv",
                                                                 "--test-csv", "{tmp}/test.csv"], 2,
                                   "{tmp}/train.csv, line 2: column 'LotArea' holds '8,450', a number with "
                                   "a thousands separator"),
    "more check steps than data": ("bench_jit_vs_eager", ["--models", "linreg", "--check-steps", "100000"], 2,
                                   "--check-steps 100000 is more than the 100 full batches"),
}


def prepare(tmp, case: str) -> None:
    (tmp / "file").write_text("not a folder")
    params = init_softmax_regression(jax.random.key(0), 784, 10)
    if case == "resume with another lr":
        save_checkpoint(tmp / "ckpt", TrainState(params, (), jax.random.key(0), 1),
                        config={"lr": 0.1, "batch_size": 256, "seed": 0})
    if case == "byte-flipped checkpoint":
        save_checkpoint(tmp / "flipped", TrainState(params, (), jax.random.key(0), 1),
                        config={"lr": 0.1, "batch_size": 256, "seed": 0})
        for data in (tmp / "flipped" / "1" / "state").rglob("d/*"):
            data.write_bytes(bytes(b ^ 0xFF for b in data.read_bytes()))
    if case == "a step with no record and truncated data":      # killed between Orbax's commit and the record
        save_checkpoint(tmp / "unrecorded", TrainState(params, (), jax.random.key(0), 1),
                        config={"lr": 0.1, "batch_size": 256, "seed": 0})
        (tmp / "unrecorded" / "1" / "jaxlin-sha256.json").unlink()
        for data in (tmp / "unrecorded" / "1" / "state").rglob("d/*"):
            data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    if case == "truncated .gz":
        shutil.copytree(shared_dir("fashion-mnist"), tmp / "broken")
        labels = tmp / "broken" / "train-labels-idx1-ubyte.gz"
        labels.write_bytes(labels.read_bytes()[:2000])
    if case == "header-only Kaggle CSV":
        header = (shared_dir("kaggle-house") / "kaggle_house_pred_train.csv").read_text().splitlines()[0]
        (tmp / "empty.csv").write_text(header + "\n")
        shutil.copy(shared_dir("kaggle-house") / "kaggle_house_pred_test.csv", tmp / "test.csv")
    if case == "Kaggle thousands separator":                  # LotArea "8,450", as a spreadsheet writes it
        shutil.copy(shared_dir("kaggle-house") / "kaggle_house_pred_test.csv", tmp / "test.csv")
        copy_with_lot_area(tmp, "train", 1, '"8,450"')
    if case == "Kaggle CSV beyond float32":                   # one inf cell in the test CSV's LotArea
        shutil.copy(shared_dir("kaggle-house") / "kaggle_house_pred_train.csv", tmp / "train.csv")
        copy_with_lot_area(tmp, "test", 2, "inf")


def copy_with_lot_area(tmp, split: str, line: int, value: str) -> None:
    """The Kaggle ``split`` CSV as ``tmp/{split}.csv``, its ``line`` (0: the header) holding ``value``
    in the LotArea column."""
    lines = (shared_dir("kaggle-house") / f"kaggle_house_pred_{split}.csv").read_text().splitlines()
    column = lines[0].split(",").index("LotArea")
    cells = lines[line].split(",")
    lines[line] = ",".join([*cells[:column], value, *cells[column + 1:]])
    (tmp / f"{split}.csv").write_text("\n".join(lines) + "\n")


@pytest.mark.data
@pytest.mark.parametrize("case", CASES)
def test_each_named_reproduction_gives_its_one_clear_line(case, fashion_mnist, house_dir, tmp_path):
    script, argv, status, says = CASES[case]
    prepare(tmp_path, case)
    argv = [a.format(tmp=tmp_path) for a in argv]
    extra = TRAIN if script == SOFTMAX else []
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / f"{script}.py"), *argv, *extra,
                           "--out", str(tmp_path / "out")] if "--out" not in argv else
                          [sys.executable, str(ROOT / "scripts" / f"{script}.py"), *argv, *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == status, proc.stderr[-1500:]
    assert "Traceback" not in proc.stderr, proc.stderr[-1500:]
    lines = [line for line in proc.stderr.splitlines() if says.format(tmp=tmp_path) in line]
    assert len(lines) == 1 and "error" in lines[0], proc.stderr[-1500:]


LOSSES_ALONE = """
import json, jax, jax.numpy as jnp
from jaxlin import cross_entropy, softmax_cross_entropy
y, y_hat = jnp.array([0, 10]), jnp.full((2, 10), 0.1)
print(json.dumps([[float(v) for v in f(y_hat, y)] for loss in (softmax_cross_entropy, cross_entropy)
                  for f in (loss, jax.jit(loss))]))
"""


def test_a_loss_called_alone_gives_nan_for_a_label_outside_the_classes():
    """Issue 22's item 5 as a process: label 10 of 10 classes is NaN, alone and under jit (not the
    finite 2.3026 it once was); label 0 keeps its finite value."""
    proc = subprocess.run([sys.executable, "-c", LOSSES_ALONE], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-1500:]
    runs = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(runs) == 4
    for good, bad in runs:
        assert math.isfinite(good) and good > 0 and math.isnan(bad)
