"""A training script given bad data options or damaged data: one line naming the problem, no traceback."""
from __future__ import annotations

import shutil

import pytest

from conftest import shared_dir
from helpers import SOFTMAX, exit_code, main_of

FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


@pytest.mark.parametrize("flag, value, message", [
    ("--data-dir", "{tmp}/file", "--data-dir {tmp}/file is a file, not a folder"),
    ("--fashion-mnist-dir", "{tmp}/nonexistent", "--fashion-mnist-dir {tmp}/nonexistent is not a folder"),
])
def test_bad_data_folders_exit_2(flag, value, message, tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    argv = [flag, value.format(tmp=tmp_path), "--epochs", "1", "--out", str(tmp_path / "out")]
    assert exit_code(main_of(SOFTMAX), argv) == 2
    err = capsys.readouterr().err
    assert message.format(tmp=tmp_path) in err and "Traceback" not in err


def test_a_truncated_gz_is_one_line_and_exit_1(no_sources, tmp_path, capsys):
    source, broken = shared_dir("fashion-mnist"), tmp_path / "broken"
    broken.mkdir()
    for name in FILES:
        shutil.copy(source / name, broken / name)
    data = (broken / FILES[1]).read_bytes()
    (broken / FILES[1]).write_bytes(data[: len(data) // 2])
    argv = ["--data-dir", str(tmp_path / "tfds"), "--fashion-mnist-dir", str(broken), "--epochs", "1",
            "--out", str(tmp_path / "out"), "--quiet"]
    assert exit_code(main_of(SOFTMAX), argv) == 1
    err = capsys.readouterr().err
    assert f"{broken / FILES[1]}: checksum mismatch" in err and "Traceback" not in err
