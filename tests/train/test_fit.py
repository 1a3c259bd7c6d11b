"""``fit``: its argument checks, divergence, and one host read of the metrics per epoch."""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import pytest

import jaxlin.train.fit
from conftest import loop_of
from helpers import fit_args, toy_classification, train_model
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
from jaxlin.train.state import TrainState


def test_fit_rejects_mismatched_lengths_and_batch_size():
    p = init_linreg(jax.random.key(0), 2)
    up = functools.partial(sgd, lr=0.1)
    with pytest.raises(ValueError, match="same number of examples"):
        train_model(linreg, p, squared_loss, up, (jnp.ones((5, 2)), jnp.ones((4, 1))), num_epochs=1,
                    batch_size=2, key=jax.random.key(0))
    with pytest.raises(ValueError, match="batch_size"):
        train_model(linreg, p, squared_loss, up, (jnp.ones((5, 2)), jnp.ones((5, 1))), num_epochs=1,
                    batch_size=6, key=jax.random.key(0))


def test_fit_reports_divergence_seen_only_by_the_evaluation():
    """One step per epoch: epoch 1's running loss is the (finite) loss before its update, but
    the update overflows, so the evaluation over the training set (which replaces the running
    loss in the history) is inf. That epoch must not be recorded as a good one."""
    X = jax.random.normal(jax.random.key(0), (20, 3))
    y = X.sum(axis=1, keepdims=True)
    params = {"w": jnp.zeros((3, 1)), "b": jnp.zeros(1)}
    with pytest.raises(DivergenceError) as info:
        train_model(linreg, params, squared_loss, functools.partial(sgd, lr=1e30), (X, y), num_epochs=3,
                    batch_size=20, key=jax.random.key(1), evals={"train": (X, y)}, eval_loss=squared_loss)
    assert info.value.epoch == 1 and info.value.history == []


@pytest.mark.parametrize("mode", ["epoch", "loop"])
def test_fit_divergence_error_names_epoch_and_step_and_keeps_the_good_history(mode):
    """Two good epochs at lr 0.1, then lr 1e4 from epoch 3: the error names epoch 3 and its step."""
    X, y = toy_classification()
    params = init_softmax_regression(jax.random.key(0), 4, 3)
    kw = dict(batch_size=5, key=jax.random.key(1))
    good_sgd, bad_sgd = functools.partial(sgd, lr=0.1), functools.partial(sgd, lr=1e4)
    good, _ = train_model(softmax_regression, params, cross_entropy, good_sgd, (X, y), num_epochs=2,
                          loop=loop_of(mode), **kw)
    saved = []
    with pytest.raises(DivergenceError) as info:
        train_model(softmax_regression, good.params, cross_entropy, bad_sgd, (X, y), num_epochs=6,
                    start=good, callback=lambda state: saved.append(state.epoch), loop=loop_of(mode), **kw)
    err = info.value
    assert err.epoch == 3 and err.step is not None and 1 <= err.step <= 8          # 1-based
    assert f"epoch 3, step {err.step}" in str(err)
    assert err.history == list(good.history) and err.history[-1]["epoch"] == 2
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

    epoch = make_train_epoch(softmax_regression, cross_entropy, updater, 5, loop=loop_of(mode))
    compile_epoch = type(epoch).compile

    def counting_compile(self, *args):        # counts the compiled epoch's calls
        compiled = compile_epoch(self, *args)
        programs.append(compiled.as_text() if mode == "epoch" else "")
        return lambda *a: calls.append(1) or compiled(*a)

    monkeypatch.setattr(type(epoch), "compile", counting_compile)
    monkeypatch.setattr(jaxlin.train.fit, "summarize", counting_summarize)
    fit(epoch, epoch.init(params, jax.random.key(1)), (X, y), num_epochs=3)
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
    assert "callback" in epoch.compile(params, (), X, y, jax.random.key(0)).as_text().lower()


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
        train_model(**fit_args(**overrides))


@pytest.mark.parametrize("labels, error", [(Y40 + 1, ValueError), (Y40 - 1, ValueError),
                                           (Y40.astype(jnp.float32), TypeError)],
                         ids=["too-large", "negative", "float"])
def test_fit_rejects_labels_outside_the_classes(labels, error):
    with pytest.raises(error, match="train labels"):
        train_model(**fit_args(train=(X40, labels)))


def test_classifier_labels_shaped_n_by_1_are_refused_not_broadcast():
    """(n, 1) integer labels against (n,) predictions would broadcast to n × n."""
    X, y = toy_classification()
    params = init_softmax_regression(jax.random.key(0), 4, 3)
    with pytest.raises(ValueError, match=r"shape \(40, 1\).*y.reshape\(-1\)"):
        train_model(softmax_regression, params, cross_entropy, functools.partial(sgd, lr=0.1), (X, y[:, None]),
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
        train_model(net, params, loss, up, (X, y), num_epochs=3, batch_size=5, key=jax.random.key(0),
                    loop=loop_of(mode))
    err = info.value
    assert (err.epoch, err.step) == (2, 4)
    assert "epoch 2, step 4" in str(err)
    assert [h["epoch"] for h in err.history] == [1]


def test_fit_takes_one_state_and_returns_the_next_without_changing_it():
    """Two epochs then two more from the returned state equal four at once: the state carries
    params, optimizer state (momentum here), epoch, history and key; the state passed in is
    left as it was."""
    import optax
    X, y = toy_classification()
    params = init_softmax_regression(jax.random.key(0), 4, 3)
    epoch = make_train_epoch(softmax_regression, cross_entropy, optax.sgd(0.1, momentum=0.9), 5)
    start = epoch.init(params, jax.random.key(3))
    assert isinstance(start, TrainState) and (start.epoch, start.history) == (0, ())
    four, _ = fit(epoch, start, (X, y), num_epochs=4)
    two, _ = fit(epoch, start, (X, y), num_epochs=2)
    again, _ = fit(epoch, two, (X, y), num_epochs=4)
    assert start.epoch == 0 and start.history == () and start.params is params
    assert (two.epoch, again.epoch) == (2, 4) and again.history == four.history
    for a, b in zip(jax.tree.leaves((four.params, four.opt_state)), jax.tree.leaves((again.params, again.opt_state))):
        assert jnp.array_equal(a, b)
    with pytest.raises(ValueError, match="state.epoch must be an int in"):
        fit(epoch, start._replace(epoch=-1), (X, y), num_epochs=4)


def test_fit_is_small_and_the_epoch_has_two_loops_of_one_kind():
    """``fit`` takes at most 8 parameters (the epoch, the state, the data, the rest keywords);
    the compiled epoch and the book's loop are two values of one class, each compiled
    ahead of time by its own ``compile`` (no stand-in for JAX's AOT objects)."""
    import inspect

    from jaxlin.train.epoch import TrainEpoch
    params = inspect.signature(fit).parameters
    assert len(params) <= 8 and list(params)[:3] == ["epoch", "state", "train"]
    X, y = toy_classification()
    p = init_softmax_regression(jax.random.key(0), 4, 3)
    scan, book = (make_train_epoch(softmax_regression, cross_entropy, functools.partial(sgd, lr=0.1), 5, loop=loop)
                  for loop in ("scan", "book"))
    assert type(scan) is type(book) is TrainEpoch and (scan.loop, book.loop) == ("scan", "book")
    key = jax.random.key(2)
    compiled = scan.compile(p, (), X, y, key)
    assert isinstance(compiled, jax.stages.Compiled)
    a, b = compiled(p, (), X, y, key), book.compile(p, (), X, y, key)(p, (), X, y, key)
    for u, v in zip(jax.tree.leaves(a[:2]), jax.tree.leaves(b[:2])):
        assert jnp.allclose(u, v, rtol=1e-5, atol=1e-6)
