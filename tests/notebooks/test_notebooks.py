"""Every chapter file as a notebook: jupytext reads ``scripts/<name>.py``, nbclient runs it in a
fresh Jupyter kernel of this venv's Python (small settings through ``$JAXLIN_ARGS``, no
``MPLBACKEND``, so the kernel draws inline), and the run must end without an error output,
without tqdm's widget warnings, and with each PNG the chapter saves shown once as ``image/png``.

These start a kernel per chapter (minutes in all): they run under CI (``CI`` set), where
they are never skipped, or locally with ``JAXLIN_NOTEBOOKS=1``.
"""
from __future__ import annotations

import json
import os
import shlex
import sys

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

from conftest import SCRIPTS, has_main, under_ci

pytestmark = [
    pytest.mark.notebook,
    pytest.mark.skipif(not (under_ci() or os.environ.get("JAXLIN_NOTEBOOKS")),
                       reason="notebook runs: under CI, or locally with JAXLIN_NOTEBOOKS=1"),
]

CHAPTERS = sorted(p.stem for p in SCRIPTS.glob("ch*.py"))
FASHION_MNIST = {"ch3_05_image_classification_dataset", "ch3_06_softmax_regression_scratch",
                 "ch3_07_softmax_regression_concise", "ch4_02_mlp_scratch", "ch4_03_mlp_concise",
                 "ch4_06_dropout", "ch6_06_lenet"}
# the smallest settings that still run every cell
SMALL_ARGS = {
    "ch3_01_linear_regression": "--jax-loop-steps 20 --repeats 2 --num-examples 200",
    "ch3_02_linear_regression_scratch": "--epochs 1 --num-examples 200",
    "ch3_03_linear_regression_concise": "--epochs 1 --num-examples 200",
    "ch3_05_image_classification_dataset": "--batch-size 1000",
    "ch3_06_softmax_regression_scratch": "--epochs 1",
    "ch3_07_softmax_regression_concise": "--epochs 1",
    "ch4_02_mlp_scratch": "--epochs 1",
    "ch4_03_mlp_concise": "--epochs 1",
    "ch4_04_underfit_overfit": "--epochs 3 --overfit-epochs 3 --folds 0",
    "ch4_05_weight_decay": "--epochs 3",
    "ch4_06_dropout": "--epochs 1",
    "ch4_10_kaggle_house_price": "--epochs 1 --k 2",
    "ch6_06_lenet": "--epochs 1",
}
WIDGET_WARNINGS = ("IProgress not found", "TqdmExperimentalWarning", "TqdmWarning")


@pytest.fixture(scope="session")
def jupyter_path(tmp_path_factory):
    """A kernelspec that runs this venv's Python (not whatever ``python3`` a user's Jupyter has)."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / "jaxlin-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "jaxlin tests", "language": "python"}))
    return root


class Client(NotebookClient):
    """nbclient's client, counting the ``update_display_data`` messages (a figure redrawn in place)."""
    updates = 0

    def process_message(self, msg, cell, cell_index):
        self.updates += msg["header"]["msg_type"] == "update_display_data"
        return super().process_message(msg, cell, cell_index)


def execute(notebook, folder, monkeypatch, jupyter_path, args: str = "") -> Client:
    """Run ``notebook`` in a new kernel in ``folder`` with ``$JAXLIN_ARGS`` = ``args``."""
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_path))
    monkeypatch.setenv("JAXLIN_ARGS", args)
    monkeypatch.delenv("MPLBACKEND", raising=False)       # the kernel picks its inline backend
    client = Client(notebook, kernel_name="jaxlin-test", timeout=600,
                    resources={"metadata": {"path": str(folder)}})
    client.execute()                                      # a cell's error raises CellExecutionError
    return client


def outputs(notebook):
    return [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]


def check_outputs(notebook) -> int:
    """No error output, no widget warning; returns the number of inline ``image/png`` outputs."""
    outs = outputs(notebook)
    assert not [o for o in outs if o.output_type == "error"]
    streams = "".join(o.text for o in outs if o.output_type == "stream")
    assert not [w for w in WIDGET_WARNINGS if w in streams], streams[-2000:]
    return sum("image/png" in o.get("data", {}) for o in outs if o.output_type in ("display_data",
                                                                                  "execute_result"))


def test_every_chapter_is_cells():
    assert len(CHAPTERS) == 33 and not [name for name in CHAPTERS if has_main(name)]


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_runs_as_a_notebook(name, tmp_path, monkeypatch, jupyter_path, request):
    if name in FASHION_MNIST:
        request.getfixturevalue("fashion_mnist")          # skips without the data (fails under CI)
    if name == "ch4_10_kaggle_house_price":                 # the kernel finds the CSVs as a reader's does
        monkeypatch.setenv("JAXLIN_KAGGLE_HOUSE_DIR", str(request.getfixturevalue("house_dir")))
    notebook = jupytext.read(SCRIPTS / f"{name}.py")
    out = tmp_path / "out"
    args = f"{SMALL_ARGS.get(name, '')} --out {shlex.quote(str(out))}"       # bars on: widgets
    execute(notebook, tmp_path, monkeypatch, jupyter_path, args)
    images = check_outputs(notebook)
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "finished"
    pngs = [f for f in results["files"] if f.endswith(".png")]
    assert images == len(pngs), f"{images} inline images for the PNGs {pngs}"


BOOK_CALL = """\
import functools
import jax
from jaxlin import (cross_entropy, init_softmax_regression, load_data_fashion_mnist, sgd,
                    softmax_regression, train_ch3)

key = jax.random.key(0)
train_iter, test_iter = load_data_fashion_mnist(256, key=jax.random.key(1))
params, history = train_ch3(softmax_regression, init_softmax_regression(key), train_iter, test_iter,
                            cross_entropy, 3, functools.partial(sgd, lr=0.1))
print(history[-1]["test_acc"])
"""


def test_the_book_call_trains_and_draws_live(fashion_mnist, tmp_path, monkeypatch, jupyter_path):
    """The book's cell, as written: Fashion-MNIST iterators into ``train_ch3``; one live figure."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(BOOK_CALL)])
    client = execute(notebook, tmp_path, monkeypatch, jupyter_path)
    assert check_outputs(notebook) == 1 and client.updates == 2     # one figure, redrawn per epoch
    printed = [o.text for o in outputs(notebook) if o.output_type == "stream" and o.name == "stdout"]
    assert float("".join(printed).split()[-1]) >= 0.78


PROGRESS = """\
import warnings
warnings.simplefilter("always")
from jaxlin.run.progress import Progress
from jaxlin.train.state import TrainState
start = TrainState(None, (), None)
progress = Progress(2, start)
progress(start._replace(epoch=1, history=({"epoch": 1, "train_loss": 0.5, "train_acc": 0.8},)))
progress.close()
"""


def test_progress_bars_are_widgets_without_warnings(tmp_path, monkeypatch, jupyter_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROGRESS)])
    execute(notebook, tmp_path, monkeypatch, jupyter_path)
    check_outputs(notebook)
    outs = outputs(notebook)
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outs)
    assert not [o for o in outs if o.output_type == "stream" and o.name == "stderr"], outs
