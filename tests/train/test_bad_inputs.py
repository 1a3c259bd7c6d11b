"""Off the happy path: every bad input to the step, the epoch, fit and evaluation is refused or
flagged, never a finite wrong number."""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import train_model
from jaxlin import cross_entropy, evaluate_accuracy, evaluate_loss, init_softmax_regression, sgd
from jaxlin import softmax_regression as net
from jaxlin.train.epoch import make_train_epoch, summarize
from jaxlin.train.fit import DivergenceError, fit
from jaxlin.train.step import make_train_step

X = jax.random.normal(jax.random.key(0), (40, 4))
Y = jnp.arange(40, dtype=jnp.int32) % 3
PARAMS = init_softmax_regression(jax.random.key(1), 4, 3)
UPDATER = functools.partial(sgd, lr=0.1)


@pytest.mark.parametrize("label", [3, 10, -1])
def test_a_step_on_an_out_of_range_label_reports_a_nan_loss(label):
    step = make_train_step(net, cross_entropy, UPDATER)
    _, _, good = step(PARAMS, (), X[:8], Y[:8])
    _, _, bad = step(PARAMS, (), X[:8], Y[:8].at[2].set(label))
    assert math.isfinite(float(good["loss"])) and float(good["bad_labels"]) == 0
    assert math.isnan(float(bad["loss"])) and float(bad["bad_labels"]) == 1


def test_float_class_labels_are_refused_by_the_loss_in_the_step():
    with pytest.raises(TypeError, match="class labels must be integers in \\[0, 3\\), got float32"):
        make_train_step(net, cross_entropy, UPDATER)(PARAMS, (), X[:8], jnp.full(8, 2.5))


def test_an_epoch_over_out_of_range_labels_raises_naming_them():
    epoch = make_train_epoch(net, cross_entropy, UPDATER, 10)
    *_, sums = epoch(PARAMS, (), X, Y.at[5].set(10), jax.random.key(0))
    with pytest.raises(ValueError, match="class labels of this epoch lie outside"):
        summarize(sums)


def test_an_epoch_with_a_batch_larger_than_the_data_is_a_value_error():
    with pytest.raises(ValueError, match="batch_size=64 is larger than the data set \\(40 examples\\)"):
        make_train_epoch(net, cross_entropy, UPDATER, 64)(PARAMS, (), X, Y, jax.random.key(0))


def test_an_indexed_step_flags_an_index_outside_the_data():
    step = make_train_epoch(net, cross_entropy, UPDATER, 8, loop="book").fn
    assert math.isfinite(float(step(PARAMS, (), X, Y, jnp.arange(8))[2]["loss"]))
    assert math.isnan(float(step(PARAMS, (), X, Y, jnp.arange(8).at[3].set(40))[2]["loss"]))


@pytest.mark.parametrize("where", ["train", "test"])
def test_non_finite_features_are_refused_where_they_enter(where):
    bad = X.at[3, 1].set(jnp.nan)
    train, test = ((bad, Y), (X, Y)) if where == "train" else ((X, Y), (bad, Y))
    with pytest.raises(ValueError, match=f"the {where} features hold 1 NaN or infinite values"):
        train_model(net, PARAMS, cross_entropy, UPDATER, train, num_epochs=1, batch_size=10, key=jax.random.key(0),
                    evals={"test": test})


def test_evaluation_refuses_nan_inputs_and_float_labels():
    with pytest.raises(ValueError, match="NaN or infinite"):
        evaluate_accuracy(net, PARAMS, (jnp.full_like(X, jnp.nan), Y))        # it used to say 1.0
    with pytest.raises(ValueError, match="NaN or infinite"):
        evaluate_loss(net, PARAMS, (X.at[0, 0].set(jnp.inf), Y), cross_entropy)
    with pytest.raises(TypeError, match="must be integer class indices, got dtype float32"):
        evaluate_accuracy(net, PARAMS, (X, Y.astype(jnp.float32)))


def test_parameters_that_overflow_after_the_last_step_are_a_divergence():
    """One full-batch step per epoch at lr 1e38 (finite in float32): the epoch's loss, computed
    before the update, is finite, but the params it leaves are not."""
    updater = functools.partial(sgd, lr=1e38)
    with pytest.raises(DivergenceError, match="the parameters or evaluation became NaN or infinite at epoch 1"):
        train_model(net, PARAMS, cross_entropy, updater, (X * 1e3, Y), num_epochs=1, batch_size=40,
                    key=jax.random.key(0), evals={"test": (X, Y)})


def test_a_learning_rate_given_as_text_is_a_type_error():
    with pytest.raises(TypeError, match="lr must be a positive finite number, got str '0.1'"):
        train_model(net, PARAMS, cross_entropy, functools.partial(sgd, lr="0.1"), (X, Y), num_epochs=1,
                    batch_size=10, key=jax.random.key(0))
    assert np.isfinite(float(sgd(PARAMS, PARAMS, 0.1, 1)["W"].sum()))


def test_two_column_integer_labels_are_refused_before_training():
    with pytest.raises(ValueError, match=r"train labels have shape \(40, 2\): a classifier with 3 outputs"):
        train_model(net, PARAMS, cross_entropy, UPDATER, (X, jnp.zeros((40, 2), jnp.int32)), num_epochs=1,
                    batch_size=8, key=jax.random.key(0))


@pytest.mark.parametrize("start", [-1, 3, 1.5])
def test_a_start_epoch_outside_the_run_is_refused(start):
    epoch = make_train_epoch(net, cross_entropy, UPDATER, 8)
    with pytest.raises(ValueError, match="state.epoch must be an int in \\[0, num_epochs=2\\]"):
        fit(epoch, epoch.init(PARAMS, jax.random.key(0))._replace(epoch=start), (X, Y), num_epochs=2)


def test_an_accuracy_of_float_targets_is_refused_naming_them():
    with pytest.raises(ValueError, match=r"an accuracy needs a classifier.*float32 labels of shape \(40, 1\)"):
        evaluate_accuracy(net, PARAMS, (X, jnp.zeros((40, 1))))


def test_predict_ch3_of_no_image_is_refused():
    from jaxlin import predict_ch3
    images, labels = jnp.zeros((4, 28, 28, 1), jnp.uint8), jnp.zeros(4, jnp.int32)
    with pytest.raises(ValueError, match="n must be a positive integer, got 0"):
        predict_ch3(jaxlin_softmax_784, init_softmax_regression(jax.random.key(0)), images, labels, n=0)


def jaxlin_softmax_784(params, X):
    return net(params, X)
