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
