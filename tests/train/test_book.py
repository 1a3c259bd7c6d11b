"""The book-style per-minibatch loop: the same numbers as the compiled epoch, no host sync per step."""
from __future__ import annotations

import functools
import math

import jax
import numpy as np
import pytest

from helpers import linreg_data, toy_classification, train_model
from jaxlin import (
    cross_entropy,
    init_linreg,
    init_mlp,
    init_softmax_regression,
    linreg,
    make_train_epoch,
    make_train_step,
    mlp_dropout,
    sgd,
    softmax_cross_entropy,
    softmax_regression,
    softmax_regression_logits,
    squared_loss,
)
from jaxlin.data.fashion_mnist import to_float
from jaxlin.train.epoch import train_epoch_ch3
from jaxlin.train.fit import DivergenceError


@pytest.fixture(scope="module")
def data():
    return linreg_data()


def test_compiled_epoch_equals_book_loop(data):
    params = init_linreg(jax.random.key(1), 2)
    kw = dict(num_epochs=2, batch_size=10, key=jax.random.key(5))
    up = functools.partial(sgd, lr=0.03)
    a, _ = train_model(linreg, params, squared_loss, up, data, **kw)
    b, _ = train_model(linreg, params, squared_loss, up, data, loop="book", **kw)
    jax.tree.map(lambda u, v: np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6), a.params, b.params)
    assert [h["epoch"] for h in a.history] == [1, 2]
    np.testing.assert_allclose([h["train_loss"] for h in a.history],
                               [h["train_loss"] for h in b.history], rtol=1e-5)


def refuse_host_reads(monkeypatch):
    """Make ``jax.device_get`` of a traced value fail like ``float()``/``bool()`` already do."""
    real = jax.device_get

    def device_get(x):
        if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(x)):
            raise AssertionError("a per-step value was read on the host")
        return real(x)
    monkeypatch.setattr(jax, "device_get", device_get)


def test_book_loop_never_reads_a_step_value_on_the_host(monkeypatch):
    """Trace the book-style epoch abstractly: every per-step metric is then a tracer, so any
    float(), bool(), .item() or device_get on it (a host sync per step) raises."""
    refuse_host_reads(monkeypatch)
    X, y = toy_classification()
    params = init_softmax_regression(jax.random.key(0), 4, 3)
    step = make_train_step(softmax_regression, cross_entropy, functools.partial(sgd, lr=0.1))
    Xb, yb = X.reshape(8, 5, 4), y.reshape(8, 5)

    def epoch(train_epoch):
        return jax.eval_shape(lambda p, Xb, yb: train_epoch(step, p, (), zip(Xb, yb)), params, Xb, yb)

    sums = epoch(train_epoch_ch3)[2]
    assert {"loss_sum", "n", "correct", "bad_step"} <= set(sums)

    def syncing_epoch(step, params, opt_state, batches):     # what the test must catch
        for X, y in batches:
            params, opt_state, m = step(params, opt_state, X, y)
            if not math.isfinite(float(m["loss"])):
                raise DivergenceError(1)
        return params, opt_state, m

    with pytest.raises(jax.errors.ConcretizationTypeError):
        epoch(syncing_epoch)


@pytest.mark.data
def test_fast_path_equals_book_loop_after_one_epoch(fashion_mnist):
    d = fashion_mnist
    n = 256 * 40
    train = (d.train_images[:n], d.train_labels[:n])
    test = (d.test_images[:2000], d.test_labels[:2000])
    params = init_softmax_regression(jax.random.key(0))
    kw = dict(num_epochs=1, batch_size=256, key=jax.random.key(1), evals={"test": test},
              prepare=to_float)
    updater = functools.partial(sgd, lr=0.1)
    fast, _ = train_model(softmax_regression_logits, params, softmax_cross_entropy, updater, train, **kw)
    book, _ = train_model(softmax_regression_logits, params, softmax_cross_entropy, updater, train, loop="book",
                          **kw)
    for key in ("train_loss", "train_acc", "test_acc"):
        assert fast.history[0][key] == pytest.approx(book.history[0][key], rel=1e-5, abs=1e-6)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), fast.params, book.params)


def test_stochastic_book_loop_gives_every_step_its_own_dropout_key():
    """The book's loop with ``stochastic=True`` hands each minibatch a fresh key (no two steps share a
    dropout mask) and reaches the parameters of the compiled epoch, whose step i has key
    ``fold_in(step_key, i)``; a loop that reused one key would match neither."""
    X, y = toy_classification()
    up = functools.partial(sgd, lr=0.1)
    loop = make_train_epoch(mlp_dropout, softmax_cross_entropy, up, 5, loop="book", stochastic=True)
    keys = [jax.random.key_data(b[3]) for b in loop.batches(X, y, jax.random.key(7))]
    assert len(keys) == X.shape[0] // 5
    assert len({np.asarray(k).tobytes() for k in keys}) == len(keys)
    params = init_mlp(jax.random.key(0), 4, (16, 16), 3, sigma=0.5)
    book, _, _ = loop(params, (), X, y, jax.random.key(7))
    compiled = make_train_epoch(mlp_dropout, softmax_cross_entropy, up, 5, stochastic=True)
    fast, _, _ = compiled(params, (), X, y, jax.random.key(7))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), book, fast)
