"""3.2 writes synthetic_data, data_iter, linreg, squared_loss, sgd and the training loop in its
cells; the library keeps one version of each. Same inputs, same keys: the same numbers."""
from __future__ import annotations

import contextlib
import functools
import io
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxlin
from conftest import chapter_namespace
from helpers import train_model

NUM_EXAMPLES, NUM_EPOCHS = 200, 2


@pytest.fixture(scope="module")
def ns(tmp_path_factory):
    out, printed = tmp_path_factory.mktemp("ch3_02"), io.StringIO()
    with contextlib.redirect_stdout(printed):
        namespace = chapter_namespace("ch3_02_linear_regression_scratch",
                                      ["--epochs", str(NUM_EPOCHS), "--num-examples", str(NUM_EXAMPLES),
                                       "--out", str(out), "--quiet"])
    return namespace | {"printed": printed.getvalue()}


def test_the_cells_equal_the_library(ns):
    key, true_w = jax.random.key(7), jnp.array([2, -3.4])
    X, y = ns["synthetic_data"](key, true_w, 4.2, 103)
    X_lib, y_lib = jaxlin.synthetic_data(key, true_w, 4.2, 103)
    np.testing.assert_array_equal(X, X_lib)
    np.testing.assert_array_equal(y, y_lib)
    mine = list(ns["data_iter"](key, 10, X, y))
    theirs = list(jaxlin.data_iter(key, 10, X, y))              # drop_remainder=False: the book's
    assert [len(b[1]) for b in mine] == [10] * 10 + [3]
    for (Xa, ya), (Xb, yb) in zip(mine, theirs, strict=True):
        np.testing.assert_array_equal(Xa, Xb)
        np.testing.assert_array_equal(ya, yb)
    covered = np.sort(np.concatenate([np.asarray(b[1]).ravel() for b in mine]))
    np.testing.assert_array_equal(covered, np.sort(np.asarray(y).ravel()))   # every example once
    params = jaxlin.init_linreg(key, 2)
    np.testing.assert_array_equal(ns["linreg"](params, X), jaxlin.linreg(params, X))
    y_hat = jaxlin.linreg(params, X)
    np.testing.assert_array_equal(ns["squared_loss"](y_hat, y), jaxlin.squared_loss(y_hat, y))
    grads = jax.tree.map(jnp.ones_like, params)
    for a, b in zip(jax.tree.leaves(ns["sgd"](params, grads, 0.03, 10)),
                    jax.tree.leaves(jaxlin.sgd(params, grads, 0.03, 10))):
        np.testing.assert_array_equal(a, b)


def test_it_prints_what_the_book_prints(ns):
    """3.2.2's first minibatch (10 rows of two features, then 10 labels) and one loss line
    per epoch, ``epoch 1, loss 0.0...``."""
    X, y = next(ns["data_iter"](jax.random.key(0), 10, ns["features"], ns["labels"]))
    assert X.shape == (10, 2) and y.shape == (10, 1)
    printed = ns["printed"]
    assert str(np.asarray(X)) in printed and str(np.asarray(y)) in printed
    losses = re.findall(r"^epoch (\d+), loss (\d+\.\d{6})$", printed, re.MULTILINE)
    assert [int(e) for e, _ in losses] == list(range(1, NUM_EPOCHS + 1))
    assert float(losses[-1][1]) == pytest.approx(ns["history"][-1]["train_loss"], abs=1e-6)
    assert "error in estimating w:" in printed and "error in estimating b:" in printed


def test_the_notebooks_training_equals_the_librarys_loop(ns):
    """The chapter's trained params and the library's step (jaxlin.make_train_step with
    jaxlin.linreg, squared_loss and sgd) over jaxlin.data_iter's batches of the same keys."""
    params = jaxlin.init_linreg(ns["init_key"], 2, sigma=0.01)
    step = jaxlin.make_train_step(jaxlin.linreg, jaxlin.squared_loss, functools.partial(jaxlin.sgd, lr=0.03))
    for epoch in range(NUM_EPOCHS):
        key = jax.random.fold_in(ns["shuffle_key"], epoch)
        for X, y in jaxlin.data_iter(key, 10, ns["features"], ns["labels"], drop_remainder=True):
            params, _, _ = step(params, (), X, y)
    for name in ("w", "b"):
        np.testing.assert_allclose(ns["params"][name], params[name], rtol=1e-6, atol=1e-7)
    assert ns["history"][-1]["train_loss"] == pytest.approx(
        jaxlin.evaluate_loss(jaxlin.linreg, params, (ns["features"], ns["labels"]), jaxlin.squared_loss), rel=1e-4)


def test_the_notebooks_step_equals_jaxlin_fit(ns):
    """The notebook's data_iter and jitted step, fed the batches of fit's key schedule
    (epoch e: the first half of split(fold_in(key, e))), end where jaxlin.fit ends."""
    key = jax.random.key(11)
    features, labels = ns["features"], ns["labels"]
    params = start = jaxlin.init_linreg(jax.random.key(12), 2)
    for epoch in range(NUM_EPOCHS):
        shuffle_key, _ = jax.random.split(jax.random.fold_in(key, epoch))
        for X, y in ns["data_iter"](shuffle_key, 10, features, labels):
            params = ns["step"](params, X, y)
    result, _ = train_model(jaxlin.linreg, start, jaxlin.squared_loss, functools.partial(jaxlin.sgd, lr=0.03),
                            (features, labels), num_epochs=NUM_EPOCHS, batch_size=10, key=key)
    for name in ("w", "b"):
        np.testing.assert_allclose(params[name], result.params[name], rtol=1e-5, atol=1e-6)
    assert not np.allclose(params["w"], start["w"])                               # it trained
