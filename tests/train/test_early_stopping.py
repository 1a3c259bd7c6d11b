"""Early stopping: the patience rule, its checks, and fit keeping the best parameters."""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import train_model
from jaxlin.data.synthetic import synthetic_data
from jaxlin.nn.linear import init_linreg, linreg
from jaxlin.nn.losses import squared_loss
from jaxlin.nn.updaters import sgd
from jaxlin.train.early_stopping import EarlyStopping, EarlyStoppingState, early_stopping_update
from jaxlin.train.evaluate import evaluate_loss
from jaxlin.train.state import TrainState


def test_early_stopping_rule():
    losses = [5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 2.0]
    stopper = EarlyStopping(patience=3)
    stops = []
    for epoch, loss in enumerate(losses, start=1):
        stops.append(stopper(TrainState({"p": epoch}, (), None, epoch, ({"epoch": epoch, "valid_loss": loss},))))
        if stops[-1]:
            break
    assert stops == [False, False, False, False, False, True]   # 3 epochs without improvement
    assert stopper.stopped_epoch == 6 and stopper.best_epoch == 3
    assert stopper.best_params == {"p": 3} and stopper.best_loss == 3.0
    # min_delta: an improvement smaller than it does not count; NaN never improves
    state = EarlyStoppingState(best_loss=1.0, best_epoch=1, best_params="a")
    state, stop = early_stopping_update(state, 2, 0.95, "b", patience=2, min_delta=0.1)
    assert (state.best_epoch, state.wait, stop) == (1, 1, False)
    state, stop = early_stopping_update(state, 3, float("nan"), "c", patience=2)
    assert stop and state.best_params == "a"


def test_early_stopping_bad_input():
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=0)
    with pytest.raises(ValueError, match="min_delta"):
        EarlyStopping(patience=2, min_delta=-1.0)
    with pytest.raises(KeyError, match="valid_loss"):
        EarlyStopping(patience=2)(TrainState({}, (), None, 1, ({"epoch": 1, "train_loss": 1.0},)))


def test_early_stopping_with_fit_keeps_best_params():
    """Validation labels are half the training labels: as ŷ → y the validation loss first
    falls, then rises, so fit must stop ``patience`` epochs after its minimum and keep it."""
    X, y = synthetic_data(jax.random.key(0), jnp.asarray([2.0, -3.4]), 4.2, 100)
    valid = (X, 0.5 * y)
    stopper = EarlyStopping(patience=4)
    result, _ = train_model(linreg, init_linreg(jax.random.key(1), 2), squared_loss, functools.partial(sgd, lr=0.01),
                            (X, y), num_epochs=200, batch_size=10, key=jax.random.key(2), evals={"valid": valid},
                            eval_loss=squared_loss, callback=stopper)
    valid_losses = [r["valid_loss"] for r in result.history]
    assert 1 < stopper.best_epoch == int(np.argmin(valid_losses)) + 1
    assert stopper.stopped_epoch == len(result.history) == stopper.best_epoch + 4 < 200
    assert evaluate_loss(linreg, stopper.best_params, valid, squared_loss) == pytest.approx(
        min(valid_losses), rel=1e-5)
    assert evaluate_loss(linreg, result.params, valid, squared_loss) > min(valid_losses)
