"""``fit``: epochs of a :class:`~jaxlin.train.epoch.TrainEpoch`, an evaluation after each,
one :class:`~jaxlin.train.state.TrainState` carried from epoch to epoch, and timings.

The epoch is the compiled one or the book's loop (``make_train_epoch(..., loop=)``); both
take the same batches. Metrics reach the host once per epoch. Progress bars, checkpoints
and Ctrl-C belong to the caller: ``callback`` sees the state after every epoch.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax

from jaxlin.checks import (
    all_finite,
    check_classifier_labels,
    check_finite,
    check_positive_int,
    check_same_length,
)
from jaxlin.train.epoch import Prepare, TrainEpoch, summarize
from jaxlin.train.evaluate import Arrays, Evaluator
from jaxlin.train.parallel import local_rows, on_mesh
from jaxlin.train.state import TrainState
from jaxlin.train.step import Net
from jaxlin.train.timer import Timer

Callback = Callable[[TrainState], bool | None]


class Fitted(NamedTuple):
    """What ``fit`` returns: ``state, seconds = fit(...)``, the final state and the seconds
    spent compiling, training and evaluating."""
    state: TrainState
    seconds: dict[str, float]


class DivergenceError(FloatingPointError):
    """Training produced a NaN or infinite loss at ``epoch`` (and minibatch ``step``, both 1-based).

    ``history`` holds the records of the epochs before it."""

    def __init__(self, epoch: int, step: int | None = None, history: Any = (),
                 what: str = "the loss"):
        where = f"epoch {epoch}" + (f", step {step}" if step is not None else "")
        super().__init__(f"training diverged: {what} became NaN or infinite at {where}")
        self.epoch, self.step, self.history = epoch, step, list(history)


def epoch_record(epoch: int, sums: dict[str, Any], history: Any = ()) -> dict[str, float]:
    """Epoch ``epoch``'s (1-based) record from its device sums (the epoch's one host sync):
    ``epoch``, ``train_loss`` and, for classifiers, ``train_acc``. A NaN or infinite loss
    raises :class:`DivergenceError` naming the first bad step; ``history``: the epochs before."""
    record = {"epoch": epoch} | summarize(sums)
    if not math.isfinite(record["train_loss"]):
        bad = int(sums["bad_step"])
        raise DivergenceError(epoch, bad + 1 if bad >= 0 else None, history)
    return record


def check_data(net: Net, params: Any, prepare: Prepare, data: dict[str, Arrays]) -> None:
    """Each data set has as many labels as examples; a classifier's labels are class indices."""
    outputs = None
    for name, (X, y) in data.items():
        check_same_length(X, y, f"{name} features", f"{name} labels")
        check_finite(X, f"the {name} features")
        outputs = outputs or jax.eval_shape(lambda p, X: net(p, prepare(X)), params, X[:1])
        check_classifier_labels(y, outputs, f"{name} labels")


def fit(epoch: TrainEpoch, state: TrainState, train: Arrays, *, num_epochs: int,
        evaluate: Evaluator | None = None, callback: Callback | None = None
        ) -> Fitted:
    """Train from ``state`` (``state.epoch`` epochs done) up to ``num_epochs`` on ``train = (X, y)``.

    Epoch e takes its batches from ``fold_in(state.key, e)``: full batches only (one
    compile). Pass one ``epoch`` you hold to reuse its compilation (K-fold, sweeps,
    resume). After each epoch the history gets ``epoch``, ``train_loss`` (mean over the
    epoch's batches) and, for classifiers, ``train_acc``, then what ``evaluate(params)``
    returns (an :func:`~jaxlin.train.evaluate.evaluator`: ``test_acc``, ...). Then
    ``callback(state)`` runs; returning True stops. A NaN/inf loss raises
    :class:`DivergenceError`. With the epoch's ``mesh`` (see :mod:`jaxlin.train.parallel`)
    the data are split by rows across its devices, and in a multi-process run ``train``
    may be global arrays whose rows each process holds (``shard_rows(..., local=True)``).
    Returns the final state and the seconds spent compiling, training and evaluating.
    """
    num_epochs = check_positive_int(num_epochs, "num_epochs")
    if not (isinstance(state.epoch, int) and 0 <= state.epoch <= num_epochs):
        raise ValueError(f"state.epoch must be an int in [0, num_epochs={num_epochs}] (the epochs already "
                         f"trained), got {state.epoch!r}")
    evals = evaluate.data if isinstance(evaluate, Evaluator) else {}
    check_data(epoch.net, state.params, epoch.prepare, jax.tree.map(local_rows, {"train": train, **evals}))
    params, opt_state, (X, y) = state.params, state.opt_state, train
    if epoch.mesh is not None:            # params replicated, the data split by rows (not copied)
        params, opt_state, (X, y) = on_mesh(params, opt_state, (X, y), epoch.mesh)
    timer = Timer()
    run_epoch = epoch.compile(params, opt_state, X, y, jax.random.fold_in(state.key, state.epoch))
    seconds = {"compile": timer.stop(), "train": 0.0, "eval": 0.0}
    for e in range(state.epoch, num_epochs):
        timer.start()
        params, opt_state, sums = run_epoch(params, opt_state, X, y, jax.random.fold_in(state.key, e))
        record = epoch_record(e + 1, sums, state.history)
        seconds["train"] += timer.stop()
        timer.start()
        record |= evaluate(params) if evaluate is not None else {}
        seconds["eval"] += timer.stop()
        if not all(math.isfinite(v) for v in record.values()) or not bool(all_finite(params)):
            raise DivergenceError(e + 1, None, state.history, what="the parameters or evaluation")
        state = TrainState(params, opt_state, state.key, e + 1, (*state.history, record))
        if callback is not None and callback(state):
            break
    return Fitted(state, seconds)


__all__ = ["Callback", "DivergenceError", "Fitted", "check_data", "epoch_record", "fit"]
