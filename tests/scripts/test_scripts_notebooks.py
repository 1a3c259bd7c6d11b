"""``python -m jaxlin.notebooks DIR`` as a real process: writes each chapter as a script and a
notebook, never replaces one without ``--force``; a bad target or pattern is one line (exit 2),
an unwritable folder or a missing jupytext one line (exit 1)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

PATTERN = ["--pattern", "ch2_0[12]_*.py"]           # two small chapters


def notebooks(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jaxlin.notebooks", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "error: " in lines[0] and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_an_existing_notebook_is_replaced_only_with_force(tmp_path):
    first = notebooks(str(tmp_path), *PATTERN)
    assert first.returncode == 0, first.stderr
    written = [Path(line) for line in first.stdout.splitlines()]
    assert [p.name for p in written] == ["ch2_01_ndarray.ipynb", "ch2_02_data_preprocessing.ipynb"]
    assert json.loads(written[0].read_text())["metadata"]["kernelspec"]["name"] == "python3"
    for notebook in written:                         # and the chapter file itself, to run as a script
        assert notebook.with_suffix(".py").read_text() == (ROOT / "scripts" / f"{notebook.stem}.py").read_text()
    edited = written[1].read_text().replace('"cells": [', '"cells": [ ', 1)       # the reader's edit
    written[1].write_text(edited)
    again = notebooks(str(tmp_path), *PATTERN)
    assert again.returncode == 2
    assert f"{written[0]} exists (and 3 more): pass --force" in one_error_line(again)
    assert written[1].read_text() == edited
    forced = notebooks(str(tmp_path), *PATTERN, "--force")
    assert forced.returncode == 0, forced.stderr
    assert written[1].read_text() != edited and not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("case", ["a file", "under a file", "no chapter"])
def test_a_bad_target_or_pattern_is_one_usage_line(case, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    target = {"a file": tmp_path / "file", "under a file": tmp_path / "file" / "nb"}.get(case, tmp_path / "nb")
    proc = notebooks(str(target), *(["--pattern", "nothing*.py"] if case == "no chapter" else PATTERN))
    assert proc.returncode == 2
    says = {"a file": f"{target} is a file, not a folder",
            "under a file": f"{target} is under the file {tmp_path / 'file'}, not a folder",
            "no chapter": "--pattern 'nothing*.py' matches no chapter file in"}[case]
    assert says in one_error_line(proc)
    assert not (tmp_path / "nb").exists()


def test_an_unwritable_folder_is_one_line_and_exit_1(tmp_path):
    if os.geteuid() == 0:                # root writes through permissions: sysfs is read-only
        folder = Path("/sys")
        if not folder.is_dir():
            pytest.skip("no read-only folder for root here")
    else:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
    proc = notebooks(str(folder), *PATTERN)
    assert proc.returncode == 1
    assert one_error_line(proc).startswith(f"error: cannot write the notebooks to {folder}: ")


def test_without_jupytext_it_names_the_extra(tmp_path):
    code = ("import sys, importlib.util; real = importlib.util.find_spec; "
            "importlib.util.find_spec = lambda n, *a: None if n == 'jupytext' else real(n, *a); "
            "from jaxlin.notebooks import main; main(sys.argv[1:])")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "nb")], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1
    assert 'pip install "jaxlin[notebook]"' in one_error_line(proc)
    assert not (tmp_path / "nb").exists()
