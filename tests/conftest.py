"""Shared test set-up.

* Rank promotion raises, so an (n, 1) vs (n,) broadcast in a loss is an error, not a bug.
* ``run_script(name, argv)`` runs ``scripts/<name>.py`` as ``python scripts/<name>.py ARGV``
  would, in this process, and returns its ``results`` (a chapter is top-level notebook
  cells, no ``main``); ``load_script(name)`` imports a script that still has a ``main``.
* ``shared_dir(name)`` finds ``../shared/<name>`` beside the checkout: tests skip
  without it, except under CI (``CI`` set), where a missing data set must fail.
* ``$JAXLIN_RUNS_DIR`` is set empty: a script run without ``--out`` (in this process or a
  child) exits 2 instead of writing into the checkout's ``runs/``, a reader's own results.
* Each test process has an XLA compilation cache of its own (``$JAX_COMPILATION_CACHE_DIR``,
  a fresh temporary folder per xdist worker, removed at its end), which the scripts and
  notebook kernels it starts inherit: a chapter run again, in this process or a child,
  loads the programs an earlier run compiled instead of compiling them again. One cache
  per worker, not one for the run, because jax writes an entry in place: a process
  reading it while another writes it would read it half written. ``JAXLIN_TEST_XLA_CACHE=0``
  runs without one; a ``$JAX_COMPILATION_CACHE_DIR`` set before the run is used as it is.
* This folder is on ``sys.path``, so the test modules in its subfolders import
  ``from conftest import ...`` and ``from helpers import ...`` (tests/helpers.py).
"""
from __future__ import annotations

import ast
import importlib.util
import os
import runpy
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import jax
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")
os.environ["JAXLIN_RUNS_DIR"] = ""           # no default --out: jaxlin.run.outputs.runs_folder

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))


def load_script(name: str):
    """Import ``scripts/<name>.py`` as a module (its ``main`` is what the tests run)."""
    path = SCRIPTS / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def has_main(name: str) -> bool:
    """Whether ``scripts/<name>.py`` defines a top-level ``main`` (not yet cells)."""
    tree = ast.parse((SCRIPTS / f"{name}.py").read_text())
    return any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body)


def run_script(name: str, argv: list[str]):
    """Run ``scripts/<name>.py`` with ``sys.argv = [path, *argv]`` as ``__main__`` and return its
    module global ``results`` (or, for a chapter whose run ``setup`` opened, that run's results,
    written as the interpreter's exit would); its SystemExit (bad flags, ``--help``, failures)
    propagates."""
    if has_main(name):
        return load_script(name).main(argv)
    namespace = chapter_namespace(name, argv)
    if "results" in namespace:
        return namespace["results"]
    return namespace["__jaxlin_run__"].run.results


def loop_of(mode: str) -> str:
    """``make_train_epoch``'s ``loop`` for a test's mode: the book's loop for "loop", else the
    compiled epoch."""
    return "book" if mode == "loop" else "scan"


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def require(condition: bool, reason: str) -> None:
    """Skip with ``reason`` unless ``condition``; under CI, fail instead of skipping."""
    if condition:
        return
    if under_ci():
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


def shared_dir(name: str) -> Path:
    """``../shared/<name>`` beside the checkout, or skip (fail under CI) when absent."""
    path = ROOT.parent / "shared" / name
    require(path.is_dir(), f"{path} not found (the shared test data)")
    return path


@pytest.fixture(scope="session")
def fashion_mnist():
    """The real Fashion-MNIST, found the way the product finds it (TFDS data dir, then
    $JAXLIN_FASHION_MNIST_DIR, Debian's package, the internet). Skips without a
    source; under CI, where .ci/run provides one, a missing data set fails."""
    from jaxlin.data.fashion_mnist import FashionMNISTNotFound, load_fashion_mnist_arrays
    try:
        return load_fashion_mnist_arrays()
    except FashionMNISTNotFound as err:
        require(False, f"no Fashion-MNIST source: {err}")


@pytest.fixture
def no_sources(monkeypatch, tmp_path):
    """No local Fashion-MNIST folder, no Debian package, no internet: only what a test provides."""
    from jaxlin.data import fashion_mnist_sources as fm
    monkeypatch.delenv(fm.ENV_DIR, raising=False)
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "no-debian-package")
    monkeypatch.setattr(fm, "_internet_reachable", lambda timeout=3.0: False)


@pytest.fixture(scope="session")
def house_dir():
    """The Kaggle house-price CSVs (``../shared/kaggle-house``)."""
    return shared_dir("kaggle-house")


@pytest.fixture(scope="session")
def house(house_dir):
    """The Kaggle house data, loaded and preprocessed once for every test that reads it."""
    from jaxlin.data.kaggle_house import TEST_FILE, TRAIN_FILE, load_house_data
    return load_house_data(house_dir / TRAIN_FILE, house_dir / TEST_FILE)


def chapter_namespace(name: str, argv: list[str]) -> dict:
    """Run ``scripts/<name>.py ARGV`` as ``__main__`` in this process and return its namespace
    (the cells' globals: a chapter's own definitions, for tests that check them). The run its
    ``setup`` opened ends as at the interpreter's exit (``namespace["__jaxlin_run__"]``); one
    that ended early is closed, so that no later test joins it."""
    from jaxlin.run import session
    path = SCRIPTS / f"{name}.py"
    saved, sys.argv = sys.argv, [str(path), *argv]
    try:
        namespace = runpy.run_path(str(path), run_name="__main__")
    except BaseException:
        for opened in session._current:
            opened.run.outputs.close()
        session._current.clear()
        raise
    finally:
        sys.argv = saved
        # a run that ended on a signal ignores later ones (a script's process is ending then)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        import matplotlib.pyplot as plt  # a script's last figures end with its process; here, now
        plt.close("all")
    opened = session.current()
    session.finish(opened)
    namespace["__jaxlin_run__"] = opened
    return namespace


def without_xla_cache(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (this process's environment by default) for a child that must not use the XLA
    cache: one started beside another that writes it, or one that a test kills with kill -9,
    which could leave an entry half written."""
    return dict(os.environ if env is None else env, JAX_ENABLE_COMPILATION_CACHE="false")


def pytest_configure(config) -> None:
    """This pytest process's own XLA cache (the controller's and each xdist worker's, not a test's
    child that imports this file through helpers): set in jax here, in the environment for children.
    A worker inherits the controller's environment: the folder that one made is not its own."""
    inherited = os.environ.get("JAXLIN_TESTS_OWN_XLA_CACHE") not in (None, str(os.getpid()))
    if os.environ.get("JAXLIN_TEST_XLA_CACHE", "1") == "0" or ("JAX_COMPILATION_CACHE_DIR" in os.environ
                                                               and not inherited):
        return
    os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="jaxlin-tests-xla-cache-")
    os.environ["JAXLIN_TESTS_OWN_XLA_CACHE"] = str(os.getpid())
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"    # the many small programs too
    jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


def pytest_unconfigure(config) -> None:
    """This process's XLA cache goes with it."""
    if os.environ.get("JAXLIN_TESTS_OWN_XLA_CACHE") == str(os.getpid()):
        shutil.rmtree(os.environ["JAX_COMPILATION_CACHE_DIR"], ignore_errors=True)
