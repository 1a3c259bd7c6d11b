"""Helpers that several test modules share (imported as ``from helpers import ...``; conftest.py
puts this folder on ``sys.path``, so the tests in every subfolder find it).

* toy data: :func:`linreg_data` (the book's y = Xw + b + ε), :func:`toy_classification`,
  :func:`fit_args` (a small softmax-regression ``fit`` call to override);
* running a script: :func:`main_of`, :func:`exit_code`, :func:`read_results`, :class:`Terminal`;
  as a child process :func:`run_process`, :func:`script_process`; the scripts' names and small
  settings; :func:`json_of_snippet` (code in a fresh interpreter);
* checkpoints: :func:`checkpoint_arrays`, :func:`assert_same_arrays`, :func:`without_timings`;
* Hypothesis strategies for the property-based tests (few shapes, many values).
"""
from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from conftest import ROOT, run_script

# ------------------------------------------------------------------ toy data

TRUE_W, TRUE_B = jnp.array([2.0, -3.4]), 4.2            # the book's generating parameters (3.2)


def linreg_data(n: int = 1000):
    """``(X, y)``: n examples of y = X·TRUE_W + TRUE_B + N(0, 0.01²) noise, from key 0."""
    from jaxlin.data.synthetic import synthetic_data
    return synthetic_data(jax.random.key(0), TRUE_W, TRUE_B, n)


def toy_classification(n: int = 40, d: int = 4, c: int = 3, seed: int = 0):
    X = jax.random.normal(jax.random.key(seed), (n, d))
    y = (jnp.arange(n) % c).astype(jnp.int32)
    return X, y


def train_model(net, params, loss, updater, train, *, num_epochs, batch_size, key, evals=None,
                eval_loss=None, prepare=None, loop="scan", stochastic=False, penalty=None, mesh=None,
                callback=None, start=None):
    """``fit`` as a chapter calls it, from one call: ``make_train_epoch`` of these pieces, its
    ``init`` (or ``start``, a state to go on from), an ``evaluator`` of ``evals``. Returns ``Fitted``."""
    from jaxlin import evaluator, fit, make_train_epoch
    extra = {} if prepare is None else {"prepare": prepare}
    epoch = make_train_epoch(net, loss, updater, batch_size, loop=loop, stochastic=stochastic,
                             penalty=penalty, mesh=mesh, **extra)
    evaluate = None if evals is None else evaluator(net, evals, loss=eval_loss, mesh=mesh, **extra)
    state = epoch.init(params, key) if start is None else start
    return fit(epoch, state, train, num_epochs=num_epochs, evaluate=evaluate, callback=callback)


def fit_args(**overrides):
    """The keyword arguments of a small softmax-regression :func:`train_model` (40 examples,
    4 features, 3 classes, batch 5, one epoch), with ``overrides`` applied."""
    from jaxlin import cross_entropy, init_softmax_regression, sgd, softmax_regression
    X, y = toy_classification()
    kw = dict(net=softmax_regression, params=init_softmax_regression(jax.random.key(0), 4, 3),
              loss=cross_entropy, updater=functools.partial(sgd, lr=0.1), train=(X, y),
              num_epochs=1, batch_size=5, key=jax.random.key(0))
    return kw | overrides


# ------------------------------------------------------------------ running scripts

SOFTMAX = "ch3_06_softmax_regression_scratch"
MLP = "ch4_02_mlp_scratch"
CLASSIFIERS = [SOFTMAX, "ch3_07_softmax_regression_concise", MLP, "ch4_03_mlp_concise", "ch4_06_dropout"]
REGRESSIONS = ["ch3_02_linear_regression_scratch", "ch3_03_linear_regression_concise",
               "ch4_04_underfit_overfit", "ch4_05_weight_decay", "ch4_10_kaggle_house_price"]
# small settings of the regression scripts (ch4_10 gets its CSVs from the Kaggle data folder)
SMALL = {"ch3_02_linear_regression_scratch": ["--epochs", "2", "--num-examples", "200"],
         "ch3_03_linear_regression_concise": ["--epochs", "2", "--num-examples", "200"],
         "ch4_04_underfit_overfit": ["--epochs", "3", "--overfit-epochs", "3", "--folds", "0"],
         "ch4_05_weight_decay": ["--epochs", "3"],
         "ch4_10_kaggle_house_price": ["--epochs", "1", "--k", "2"]}


def main_of(name: str):
    """``main_of(name)(argv)`` runs ``scripts/<name>.py ARGV`` in this process and returns its results."""
    return functools.partial(run_script, name)


def interrupt_during_epoch(monkeypatch, epoch: int) -> None:
    """Ctrl-C while ``fit`` reads epoch ``epoch``'s metrics (its one host sync per epoch)."""
    import jaxlin.train.fit
    summarize, reads = jaxlin.train.fit.summarize, []

    def interrupted(sums):
        reads.append(1)
        if len(reads) == epoch:
            raise KeyboardInterrupt
        return summarize(sums)

    monkeypatch.setattr(jaxlin.train.fit, "summarize", interrupted)


@contextlib.contextmanager
def script_process(name: str, argv: list[str]):
    """``python scripts/<name>.py ARGV`` as a child (text pipes, unbuffered), killed on leaving.

    A child inherits an ignored SIGINT (as pytest has it when started as a shell's background
    job); a handler, though, is reset to the default on exec, as a terminal's Ctrl-C expects."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / f"{name}.py"), *argv], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, PYTHONUNBUFFERED="1"))
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def run_process(name: str, argv: list[str], *, prelude: str = "", env: dict[str, str] | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess:
    """``python scripts/<name>.py ARGV`` as a finished child process (text output captured).

    With ``prelude``, the child runs that code first (a patch that makes a disk full, say),
    then the script as ``__main__``; ``env`` adds variables to the child's environment."""
    script = str(ROOT / "scripts" / f"{name}.py")
    command = ([sys.executable, "-c", f"{prelude}\nimport runpy, sys\nsys.argv = [{script!r}, *sys.argv[1:]]\n"
                                      f"runpy.run_path({script!r}, run_name='__main__')\n", *argv]
               if prelude else [sys.executable, script, *argv])
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


def json_of_snippet(code: str, timeout: float = 300) -> dict:
    """Run ``code`` in a fresh interpreter (its own XLA flags, say) and read the JSON it prints
    last; a failure shows the end of its stderr."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")])),
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def read_results(out: Path, name: str = "results.json") -> dict:
    return json.loads((out / name).read_text())


def exit_code(main, argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    return info.value.code


class Terminal(io.StringIO):
    """A stderr that says it is a terminal, as an interactive shell's is."""

    def isatty(self) -> bool:
        return True


# ------------------------------------------------------------------ checkpoints and results

def checkpoint_arrays(folder: Path, epoch: int | None = None) -> dict[str, np.ndarray]:
    """Every array of step ``epoch`` (default: the latest) of an Orbax checkpoint folder, read
    with plain Orbax (no jaxlin), keyed by its path in the tree."""
    import orbax.checkpoint as ocp
    with ocp.CheckpointManager(folder) as manager:
        step = manager.latest_step() if epoch is None else epoch
        state = manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore()))["state"]
    return {jax.tree_util.keystr(path): np.asarray(leaf)
            for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]}


def assert_same_arrays(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        np.testing.assert_array_equal(a[k], b[k], err_msg=k, strict=True)   # bit for bit


def without_timings(obj):
    """results.json minus what legitimately differs between two runs: seconds, paths, machine."""
    drop = {"seconds", "seconds_total", "environment", "args", "files", "checkpoint_dir"}
    if isinstance(obj, dict):
        return {k: without_timings(v) for k, v in obj.items() if k not in drop}
    if isinstance(obj, list):
        return [without_timings(v) for v in obj]
    return obj


# ------------------------------------------------------------------ recording what a library computes

def record_vectorization_loops(monkeypatch) -> dict[str, list[np.ndarray]]:
    """Wrap 3.1's two loops (``add_loop_numpy``, ``add_loop_jax``) so that a test sees every
    array they return while :func:`time_vectorization` times them: name -> list of results."""
    from jaxlin.chapters import ch3_01_linear_regression as ch3_01
    seen: dict[str, list[np.ndarray]] = {"add_loop_numpy": [], "add_loop_jax": []}
    for name in seen:
        def recording(*args, _loop=getattr(ch3_01, name), _seen=seen[name], **kwargs):
            out = _loop(*args, **kwargs)
            _seen.append(np.asarray(out))
            return out
        monkeypatch.setattr(ch3_01, name, recording)
    return seen


def assert_loops_added_ones(seen: dict[str, list[np.ndarray]], n: int, steps: int) -> None:
    """The timed loops added two length-``n`` vectors of ones: the NumPy loop in full, the JAX
    loop its first ``steps`` elements (the rest stay 0)."""
    np.testing.assert_array_equal(seen["add_loop_numpy"][-1], np.full(n, 2.0, np.float32))
    expected = np.where(np.arange(n) < steps, 2.0, 0.0).astype(np.float32)
    np.testing.assert_array_equal(seen["add_loop_jax"][-1], expected)


def covered_by_legend(ax) -> list[str]:
    """What ``ax``'s legend box covers, measured here without jaxlin: the labels of lines (each
    segment sampled every pixel), scatter points and bars drawn under it (display pixels)."""
    legend = ax.get_legend()
    if legend is None:
        return []
    box = legend.get_window_extent()
    inside = lambda xy: bool(np.any((xy[:, 0] > box.x0) & (xy[:, 0] < box.x1)       # noqa: E731
                                    & (xy[:, 1] > box.y0) & (xy[:, 1] < box.y1)))
    covered = []
    for line in ax.get_lines():
        xy = line.get_transform().transform(np.asarray(line.get_xydata(), float))
        xy = xy[np.all(np.isfinite(xy), axis=1)]
        dense = [a + t * (b - a) for a, b in zip(xy[:-1], xy[1:])
                 for t in np.linspace(0, 1, int(min(np.hypot(*(b - a)), 5000)) + 2)]
        if len(xy) and inside(np.array(dense or list(xy))):
            covered.append(f"line {line.get_label()}")
    for coll in ax.collections:
        if hasattr(coll, "get_offsets") and len(coll.get_offsets()) > 1:
            if inside(coll.get_offset_transform().transform(coll.get_offsets())):
                covered.append(f"points {coll.get_label()}")
    covered += [f"bar {p}" for p in ax.patches if box.overlaps(p.get_window_extent())]
    return covered


def record_figures(monkeypatch) -> list[dict]:
    """Every figure a script saves as it is saved (``Figure.savefig`` wrapped): its file name,
    what each axes' legend covers, its axes' x tick values and y labels."""
    from matplotlib.figure import Figure
    saved: list[dict] = []
    original = Figure.savefig

    def recording(fig, fname, *args, **kwargs):
        out = original(fig, fname, *args, **kwargs)
        name = Path(str(fname)).name.lstrip(".").split(".png")[0] + ".png"     # atomic_path's temporary
        saved.append({"file": name, "legend_covers": [c for ax in fig.axes for c in covered_by_legend(ax)],
                      "xticks": [[t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
                                 for ax in fig.axes],
                      "xlabels": [ax.get_xlabel() for ax in fig.axes],
                      "ylabels": [ax.get_ylabel() for ax in fig.axes]})
        return out

    monkeypatch.setattr(Figure, "savefig", recording)
    return saved


# ------------------------------------------------------------------ the benchmark

def plain_loop_params(w, key, num_steps: int):
    """``num_steps`` of ``make_train_step`` in a plain Python loop over the first rows of
    ``epoch_indices(split(key)[0], n, batch_size)`` on the first n = num_steps·batch examples
    of benchmark workload ``w``, from its ``init(key(1))``: the batch order every benchmark
    mode uses, computed without the benchmark's code."""
    from jaxlin.data.shuffle import epoch_indices
    from jaxlin.nn.updaters import sgd
    from jaxlin.train.step import make_train_step
    n = num_steps * w.batch_size
    X, y = w.X[:n], w.y[:n]
    params = w.init(jax.random.key(1))
    step = make_train_step(w.net, w.loss, functools.partial(sgd, lr=w.lr))
    for idx in np.asarray(epoch_indices(jax.random.split(key)[0], n, w.batch_size)):
        params, _, _ = step(params, (), w.prepare(X[idx]), y[idx])
    return params


def bench_mode_params(w, key, num_steps: int, modes=("eager", "nojit", "jit_step")) -> dict:
    """The params each benchmark mode runner (and the compiled epoch, ``jit_epoch``) reaches
    after ``num_steps`` steps, set up as the benchmark's agreement check sets them up."""
    from jaxlin.bench import timing as bench
    n = num_steps * w.batch_size
    X, y = w.X[:n], w.y[:n]
    params = w.init(jax.random.key(1))
    out = {"jit_epoch": bench._epoch_runner(w, X, y)[0](params, X, y, key)}
    for mode in modes:
        out[mode] = bench._loop_runner(w, mode, X, y)[0](params, X, y, key, num_steps)
    return out


def max_abs_diff(a, b) -> float:
    return max(float(jnp.abs(u - v).max()) for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


# ------------------------------------------------------------------ the book's values

HOUSE_INPUTS = [[3.0, 1.0, 0.0], [2.0, 0.0, 1.0], [4.0, 0.0, 1.0], [3.0, 0.0, 1.0]]   # 2.2's house_tiny.csv
HOUSE_OUTPUTS = [127500.0, 106000.0, 178100.0, 140000.0]
LIMITS = [2.3, 2.03, 2.003, 2.0003, 2.00003]     # 2.4: (f(1 + h) − f(1))/h for f = 3x² − 4x


# ------------------------------------------------------------------ Hypothesis strategies
# Shapes are drawn from small sets: JAX compiles each new shape once, so a few shapes and
# many values keep the property-based tests fast.

FEW = settings(max_examples=20, deadline=None)      # each new shape costs a compile: keep it modest

ROWS = st.sampled_from([1, 3, 8])
CLASSES = st.sampled_from([2, 10])
BAD_LR = st.sampled_from([0.0, -1.0, -1e-3, float("nan"), float("inf"), -float("inf")])


def floats(bound: float) -> st.SearchStrategy[float]:
    return st.floats(-bound, bound, width=32, allow_nan=False, allow_infinity=False)


def matrix(rows: int, cols: int, bound: float = 50.0) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float32, (rows, cols), elements=floats(bound))


def labels(n: int, num_classes: int) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.int32, (n,), elements=st.integers(0, num_classes - 1))


def np_softmax(o: np.ndarray) -> np.ndarray:
    e = np.exp(o.astype(np.float64) - o.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
