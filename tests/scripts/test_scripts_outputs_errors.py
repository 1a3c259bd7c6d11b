"""A full disk, and a chapter with a bug, each as a real process (issue 22, item 7): one line
and exit 1, never a traceback from jaxlin, and nothing finished lost."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT
from helpers import SMALL, SOFTMAX, main_of, read_results, run_process

LINREG = "ch3_02_linear_regression_scratch"
FULL_DISK = """
import errno
import matplotlib.figure

def full(self, *args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", str(args[0]))

matplotlib.figure.Figure.savefig = full
"""


def test_a_full_disk_while_saving_a_figure_is_one_line_and_keeps_the_previous_run(tmp_path):
    """ENOSPC from savefig: exit 1, one line, no traceback, the finished run already in --out
    untouched and the failed one's record beside it."""
    main_of(LINREG)([*SMALL[LINREG], "--out", str(tmp_path)])
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    proc = run_process(LINREG, [*SMALL[LINREG], "--out", str(tmp_path)], prelude=FULL_DISK)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: No space left on device: ")
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after.pop("results.failed.json") and after == before
    assert read_results(tmp_path, "results.failed.json")["status"] == "failed"


@pytest.mark.data
def test_a_full_disk_after_training_keeps_the_trained_numbers(fashion_mnist, tmp_path):
    """The figures fail to save (ENOSPC): results.json still holds the trained history."""
    proc = run_process(SOFTMAX, ["--epochs", "1", "--out", str(tmp_path), "--quiet"], prelude=FULL_DISK)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    results = read_results(tmp_path)
    assert results["status"] == "failed" and "No space left on device" in results["error"]
    assert len(results["history"]) == 1 and results["history"][0]["test_acc"] > 0.7


def test_a_chapter_that_crashes_is_recorded_as_failed_not_finished(tmp_path):
    """A bug (an uncaught error) in a script: its traceback, and results.json says failed."""
    script = tmp_path / "crash.py"
    script.write_text("from jaxlin.run import setup\nn, seed = setup('crash', 'a crash', n=3)\n"
                      "raise RuntimeError('a bug')\n")
    proc = subprocess.run([sys.executable, str(script), "--out", str(tmp_path / "out")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "RuntimeError: a bug" in proc.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["status"] == "failed" and "a bug" in results["error"]
