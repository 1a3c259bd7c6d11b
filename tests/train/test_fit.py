"""``fit``: its argument checks, divergence, and one host read of the metrics per epoch."""
from __future__ import annotations

import functools
import types

import jax
import jax.numpy as jnp
import pytest

import jaxlin.train.fit
from conftest import book_epoch_if
from helpers import fit_args, toy_classification
from jaxlin import (
    cross_entropy,
    evaluate_accuracy,
    init_linreg,
    init_softmax_regression,
    linreg,
    make_train_epoch,
    sgd,
    softmax_regression,
    squared_loss,
)
from jaxlin.train.fit import DivergenceError, fit


def test_fit_rejects_mismatched_lengths_and_batch_size():
    p = init_linreg(jax.random.key(0), 2)
    up = functools.partial(sgd, lr=0.1)
    with pytest.raises(ValueError, match="same number of examples"):
        fit(linreg, p, squared_loss, up, (jnp.ones((5, 2)), jnp.ones((4, 1))), num_epochs=1,
            batch_size=2, key=jax.random.key(0))
    with pytest.raises(ValueError, match="batch_size"):
        fit(linreg, p, squared_loss, up, (jnp.ones((5, 2)), jnp.ones((5, 1))), num_epochs=1,
            batch_size=6, key=jax.random.key(0))


def test_fit_reports_divergence_seen_only_by_the_evaluation():
    """One step per epoch: epoch 1's running loss is the (finite) loss before its update, but
    the update overflows, so the evaluation over the training set (which replaces the running
    loss in the history) is inf. That epoch must not be recorded as a good one."""
    X = jax.random.normal(jax.random.key(0), (20, 3))
    y = X.sum(axis=1, keepdims=True)
    params = {"w": jnp.zeros((3, 1)), "b": jnp.zeros(1)}
    with pytest.raises(DivergenceError) as info:
        fit(linreg, params, squared_loss, functools.partial(sgd, lr=1e30), (X, y), num_epochs=3,
            batch_size=20, key=jax.random.key(1), evals={"train": (X, y)}, eval_loss=squared_loss)
    assert info.value.epoch == 1 and info.value.history == []


@pytest.mark.parametrize("mode", ["epoch", "loop"])
def test_fit_divergence_error_names_epoch_and_step_and_keeps_the_good_history(mode):
    """Two good epochs at lr 0.1, then lr 1e4 from epoch 3: the error names epoch 3 and its step."""
    X, y = toy_classification()
    params = init_softmax_regression(jax.random.key(0), 4, 3)
    kw = dict(batch_size=5, key=jax.random.key(1))
    good_sgd, bad_sgd = functools.partial(sgd, lr=0.1), functools.partial(sgd, lr=1e4)
    good = fit(softmax_regression, params, cross_entropy, good_sgd, (X, y), num_epochs=2,
               train_epoch=book_epoch_if(mode, softmax_regression, cross_entropy, good_sgd, 5), **kw)
    saved = []
    with pytest.raises(DivergenceError) as info:
        fit(softmax_regression, good.params, cross_entropy, bad_sgd, (X, y),
            num_epochs=6, start_epoch=2, history=good.history,
            callback=lambda epoch, *_: saved.append(epoch),
            train_epoch=book_epoch_if(mode, softmax_regression, cross_entropy, bad_sgd, 5), **kw)
    err = info.value
    assert err.epoch == 3 and err.step is not None and 1 <= err.step <= 8          # 1-based
    assert f"epoch 3, step {err.step}" in str(err)
    assert err.history == good.history and err.history[-1]["epoch"] == 2
    assert saved == []                    # no callback (checkpoint) ever sees the diverged state


@pytest.mark.parametrize("mode", ["epoch", "loop"])
def test_fit_reads_metrics_once_per_epoch(mode, monkeypatch):
    """One host read of the metrics per epoch; in compiled-epoch mode, one compiled call per
    epoch whose program holds no host callback."""
    X, y = toy_classification()
    params = init_softmax_regression(jax.random.key(0), 4, 3)
    reads, calls, programs = [], [], []
    summarize = jaxlin.train.fit.summarize
    updater = functools.partial(sgd, lr=0.1)

    def counting_summarize(sums):
        reads.append(1)
        return summarize(sums)

    class CountingEpoch:                     # fit's train_epoch: counts compiled calls
        def __init__(self, epoch):
            self.epoch = epoch

        def lower(self, *args):
            compiled = self.epoch.lower(*args).compile()
            programs.append(compiled.as_text() if mode == "epoch" else "")
            return types.SimpleNamespace(compile=lambda: lambda *a: calls.append(1) or compiled(*a))

    epoch = book_epoch_if(mode, softmax_regression, cross_entropy, updater, 5) or make_train_epoch(
        softmax_regression, cross_entropy, updater, 5)
    monkeypatch.setattr(jaxlin.train.fit, "summarize", counting_summarize)
    fit(softmax_regression, params, cross_entropy, updater, (X, y), num_epochs=3, batch_size=5,
        key=jax.random.key(1), train_epoch=CountingEpoch(epoch))
    assert len(reads) == 3
    if mode == "epoch":
        assert len(calls) == 3 and len(programs) == 1
        assert "callback" not in programs[0].lower()


def test_a_host_callback_in_the_step_would_show_in_the_compiled_epoch():
    """The check of ``test_fit_reads_metrics_once_per_epoch`` can see a per-step host transfer
    inside the compiled epoch."""
    def net(params, X):
        jax.debug.callback(lambda v: None, X[0, 0])
        return softmax_regression(params, X)

    X, y = toy_classification()
    params = init_softmax_regression(jax.random.key(0), 4, 3)
    epoch = make_train_epoch(net, cross_entropy, functools.partial(sgd, lr=0.1), 5)
    assert "callback" in epoch.lower(params, (), X, y, jax.random.key(0)).as_text().lower()


X40, Y40 = toy_classification()


@pytest.mark.parametrize("overrides, error, message", [
    ({"train": (X40, Y40[:30])}, ValueError, "same number of examples"),
    ({"train": (X40[:0], Y40[:0])}, ValueError, "empty"),
    ({"batch_size": 0}, ValueError, "batch_size must be a positive integer"),
    ({"batch_size": 41}, ValueError, r"batch_size=41 is larger than the data set \(40 examples\)"),
    ({"batch_size": 2.0}, TypeError, "batch_size must be a positive integer"),
    ({"num_epochs": 0}, ValueError, "num_epochs must be a positive integer"),
    ({"updater": functools.partial(sgd, lr=float("nan"))}, ValueError, "lr must be a positive finite"),
    ({"updater": functools.partial(sgd, lr=0.0)}, ValueError, "lr must be a positive finite"),
    ({"updater": "sgd"}, TypeError, "updater must be"),
    ({"train": (X40[:, :3], Y40)}, ValueError, "expected inputs with 4 features per example"),
    ({"penalty": 3.0}, TypeError, "penalty must be callable"),
], ids=["mismatch", "empty", "batch0", "batch-too-big", "batch-float", "epochs0", "lr-nan", "lr-0",
        "updater", "params-vs-inputs", "penalty"])
def test_fit_rejects_bad_arguments_by_name(overrides, error, message):
    with pytest.raises(error, match=message):
        fit(**fit_args(**overrides))


@pytest.mark.parametrize("labels, error", [(Y40 + 1, ValueError), (Y40 - 1, ValueError),
                                           (Y40.astype(jnp.float32), TypeError)],
                         ids=["too-large", "negative", "float"])
def test_fit_rejects_labels_outside_the_classes(labels, error):
    with pytest.raises(error, match="train labels"):
        fit(**fit_args(train=(X40, labels)))


def test_classifier_labels_shaped_n_by_1_are_refused_not_broadcast():
    """(n, 1) integer labels against (n,) predictions would broadcast to n × n."""
    X, y = toy_classification()
    params = init_softmax_regression(jax.random.key(0), 4, 3)
    with pytest.raises(ValueError, match=r"shape \(40, 1\).*y.reshape\(-1\)"):
        fit(softmax_regression, params, cross_entropy, functools.partial(sgd, lr=0.1), (X, y[:, None]),
            num_epochs=1, batch_size=5, key=jax.random.key(0))
    with pytest.raises(ValueError, match=r"shape \(40, 1\)"):
        evaluate_accuracy(softmax_regression, params, (X, y[:, None]))
    assert 0 <= evaluate_accuracy(softmax_regression, params, (X, y)) <= 1


@pytest.mark.parametrize("mode", ["epoch", "loop"])
def test_fit_divergence_names_the_first_bad_step_1_based(mode):
    """A parameter c that rises by exactly 1 per step (8 steps per epoch) and a loss that is NaN
    once c > 10.5: steps 12 … 16 (0-based 11 …) are all bad, so the first bad one is epoch 2,
    step 4 (1-based) — not the epoch's last bad step (8), nor 3 (0-based)."""
    X, y = jnp.zeros((40, 1)), jnp.zeros((40, 1))

    def net(params, X):
        return params["c"] * jnp.ones((X.shape[0], 1))

    def loss(y_hat, y):                    # each step: c ← c − lr · (−1) = c + 1
        return (jnp.where(y_hat > 10.5, jnp.nan, 0.0) - y_hat)[:, 0]

    up = functools.partial(sgd, lr=1.0)
    params = {"c": jnp.zeros(())}
    with pytest.raises(DivergenceError) as info:
        fit(net, params, loss, up, (X, y), num_epochs=3, batch_size=5, key=jax.random.key(0),
            train_epoch=book_epoch_if(mode, net, loss, up, 5))
    err = info.value
    assert (err.epoch, err.step) == (2, 4)
    assert "epoch 2, step 4" in str(err)
    assert [h["epoch"] for h in err.history] == [1]
