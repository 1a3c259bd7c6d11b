"""A second signal loses nothing (issue 22, item 2), each replayed as a real process: a Ctrl-C
or SIGTERM while the first one's checkpoint is saved, or while the final figures and
results.json are written, waits for that work."""
from __future__ import annotations

import re
import signal
import time

import pytest

from helpers import MLP, read_results, run_process, script_process
from jaxlin.run.checkpoint import latest_checkpoint

pytestmark = pytest.mark.data


PLOT_THEN_SIGTERM = """
import os, signal
import jaxlin.run.classifier as classifier
plot = classifier.plot_history

def plot_then_sigterm(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)          # arrives while the curves are drawn
    return plot(*args, **kwargs)

classifier.plot_history = plot_then_sigterm
"""


def test_sigterm_during_the_final_figures_still_writes_everything(fashion_mnist, tmp_path):
    """A real process gets SIGTERM while it draws its final figures (once lost with a traceback
    from ``plot_history``, status 130): status 143, one line, every figure and results.json."""
    argv = ["--epochs", "2", "--num-hiddens", "16", "--out", str(tmp_path), "--quiet"]
    proc = run_process(MLP, argv, prelude=PLOT_THEN_SIGTERM)
    assert proc.returncode == 143, proc.stderr[-1500:]
    assert "terminated (SIGTERM) while the run was finishing" in proc.stderr, proc.stderr[-1500:]
    assert "Traceback" not in proc.stderr, proc.stderr[-1500:]
    results = read_results(tmp_path)
    assert results["status"] == "finished" and len(results["history"]) == 2
    assert (tmp_path / "curves.png").is_file() and (tmp_path / "predictions.png").is_file()


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_two_signals_half_a_second_apart_save_the_last_epoch(sig, status, fashion_mnist, tmp_path):
    """A real process: a signal once epoch 1 is printed, another 0.5 s later, while the first one's
    checkpoint is being saved (Orbax is imported and writes then): the exit status of the
    signal, the checkpoint and results.json, and no traceback (the second SIGTERM once left one
    from XLA's garbage-collection callback)."""
    out = tmp_path / "out"
    with script_process(MLP, ["--epochs", "50", "--num-hiddens", "32", "--out", str(out), "--quiet"]) as proc:
        for line in proc.stdout:                      # the first epoch's line
            if line.startswith("epoch 1,"):
                break
        proc.send_signal(sig)
        time.sleep(0.5)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == status, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    epoch = int(re.search(r"interrupted after epoch (\d+)", stderr).group(1))
    assert epoch >= 1 and latest_checkpoint(out / "checkpoint") == epoch
    results = read_results(out)
    assert results["status"] == "interrupted" and len(results["history"]) == epoch
