"""Folders a run cannot use are one line, never a traceback (issue 22, item 7 and 8)."""
from __future__ import annotations

import pytest

from helpers import MLP, exit_code, main_of

SMALL = ["--epochs", "1", "--num-hiddens", "16", "--quiet"]


def test_an_out_folder_that_cannot_be_created_is_one_line_and_exit_1(capsys):
    assert exit_code(main_of(MLP), [*SMALL, "--out", "/proc/jaxlin-out"]) == 1
    err = capsys.readouterr().err
    assert "error: cannot write the outputs to --out /proc/jaxlin-out" in err and "Traceback" not in err


def test_the_checkpoint_dir_may_not_be_out_itself(tmp_path, capsys):
    assert exit_code(main_of(MLP), [*SMALL, "--out", str(tmp_path), "--checkpoint-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"--checkpoint-dir {tmp_path} is --out itself" in err and "another run" not in err


@pytest.mark.data
def test_a_data_folder_that_cannot_be_written_is_one_line_and_exit_1(fashion_mnist, tmp_path, capsys):
    argv = [*SMALL, "--out", str(tmp_path), "--data-dir", "/proc/jaxlin-tfds"]
    assert exit_code(main_of(MLP), argv) == 1
    err = capsys.readouterr().err
    assert "cannot prepare Fashion-MNIST in the data folder /proc/jaxlin-tfds" in err and "Traceback" not in err


def test_kaggle_with_too_few_rows_for_its_folds_is_one_usage_line(tmp_path, capsys):
    from conftest import shared_dir
    house = shared_dir("kaggle-house")
    rows = (house / "kaggle_house_pred_train.csv").read_text().splitlines()[:4]   # a header, 3 houses
    (tmp_path / "train.csv").write_text("\n".join(rows) + "\n")
    argv = ["--train-csv", str(tmp_path / "train.csv"), "--test-csv", str(house / "kaggle_house_pred_test.csv"),
            "--k", "2", "--epochs", "1", "--out", str(tmp_path / "out")]
    assert exit_code(main_of("ch4_10_kaggle_house_price"), argv) == 2
    err = capsys.readouterr().err
    assert "--k 2 on the 3 examples" in err and "fewer than --batch-size 64" in err and "Traceback" not in err


def test_a_chapter_that_crashes_is_recorded_as_failed_not_finished(tmp_path):
    """A bug (an uncaught error) in a script: its traceback, and results.json says failed."""
    import json
    import subprocess
    import sys

    from conftest import ROOT
    script = tmp_path / "crash.py"
    script.write_text("from jaxlin.run import setup\nn, seed = setup('crash', 'a crash', n=3)\n"
                      "raise RuntimeError('a bug')\n")
    proc = subprocess.run([sys.executable, str(script), "--out", str(tmp_path / "out")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "RuntimeError: a bug" in proc.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["status"] == "failed" and "a bug" in results["error"]
