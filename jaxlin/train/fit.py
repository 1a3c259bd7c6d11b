"""``fit``: epochs of a compiled epoch, an evaluation after each, a history and timings.

An epoch is one call (:func:`~jaxlin.train.epoch.make_train_epoch`, the fast path) or
the book's loop (:class:`~jaxlin.train.book.BookEpoch`); both take the same batches.
Metrics reach the host once per epoch. Progress bars, checkpoints and Ctrl-C belong
to the caller: ``callback`` sees every finished epoch.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
from jax.sharding import Mesh

from jaxlin.checks import (
    check_batch_size,
    check_classifier_labels,
    check_finite,
    check_positive_int,
    check_same_length,
)
from jaxlin.nn.updaters import Updater, init_opt_state
from jaxlin.train.epoch import Prepare, identity, make_train_epoch, summarize
from jaxlin.train.evaluate import Arrays, evaluate_record
from jaxlin.train.parallel import local_rows, on_mesh
from jaxlin.train.step import Loss, Net, Penalty
from jaxlin.train.timer import Timer

Callback = Callable[[int, Any, Any, dict[str, float]], bool | None]


@dataclass
class FitResult:
    """What ``fit`` returns: final params and optimizer state, one record per epoch, seconds."""
    params: Any
    opt_state: Any
    history: list[dict[str, float]]
    seconds: dict[str, float] = field(default_factory=dict)


class DivergenceError(FloatingPointError):
    """Training produced a NaN or infinite loss at ``epoch`` (and minibatch ``step``, both 1-based).

    ``history`` holds the records of the epochs before it."""

    def __init__(self, epoch: int, step: int | None = None, history: list | None = None,
                 what: str = "the loss"):
        where = f"epoch {epoch}" + (f", step {step}" if step is not None else "")
        super().__init__(f"training diverged: {what} became NaN or infinite at {where}")
        self.epoch, self.step, self.history = epoch, step, list(history or [])


def all_finite(params: Any) -> bool:
    """Whether every parameter is finite (one reduction on the device, one host sync)."""
    return bool(jax.tree.reduce(jnp.logical_and, jax.tree.map(lambda p: jnp.isfinite(p).all(), params), True))


def check_data(net: Net, params: Any, prepare: Prepare, data: dict[str, Arrays]) -> None:
    """Each data set has as many labels as examples; a classifier's labels are class indices."""
    outputs = None
    for name, (X, y) in data.items():
        check_same_length(X, y, f"{name} features", f"{name} labels")
        check_finite(X, f"the {name} features")
        outputs = outputs or jax.eval_shape(lambda p, X: net(p, prepare(X)), params, X[:1])
        check_classifier_labels(y, outputs, f"{name} labels")


def fit(net: Net, params: Any, loss: Loss, updater: Updater, train: Arrays, *,
        num_epochs: int, batch_size: int, key: jax.Array, evals: dict[str, Arrays] | None = None,
        eval_loss: Loss | None = None, prepare: Prepare = identity, stochastic: bool = False,
        penalty: Penalty | None = None, mesh: Mesh | None = None, train_epoch: Any = None,
        opt_state: Any = None, start_epoch: int = 0, history: list[dict[str, float]] | None = None,
        callback: Callback | None = None) -> FitResult:
    """Train ``net`` for epochs ``start_epoch+1 … num_epochs`` on ``train = (X, y)``.

    Epoch e takes its batches from ``fold_in(key, e)``: full batches only (one compile).
    ``train_epoch`` is the epoch to run, by default ``make_train_epoch`` of these
    arguments: pass one you hold to reuse its compilation (K-fold, sweeps, resume), or
    ``BookEpoch.make(...)`` for the book's loop. After each epoch the history gets
    ``epoch``, ``train_loss`` (mean over the epoch's batches) and, for classifiers,
    ``train_acc``, then ``{name}_loss`` (with ``eval_loss``) and ``{name}_acc`` over every
    example of each data set in ``evals``. ``callback(epoch, params, opt_state, record)``
    runs after each epoch; returning True stops. A NaN/inf loss raises :class:`DivergenceError`.
    With a ``mesh`` (see :mod:`jaxlin.train.parallel`) the data are split by rows across its
    devices, and in a multi-process run ``train`` may be global arrays whose rows each process
    holds (``shard_rows(..., local=True)``); the history is the single device's.
    """
    evals = dict(evals or {})
    check_data(net, params, prepare, jax.tree.map(local_rows, {"train": train, **evals}))
    batch_size = check_batch_size(batch_size, train[0].shape[0])
    num_epochs = check_positive_int(num_epochs, "num_epochs")
    if not (isinstance(start_epoch, int) and 0 <= start_epoch <= num_epochs):
        raise ValueError(f"start_epoch must be an int in [0, num_epochs={num_epochs}] (the epochs already "
                         f"trained), got {start_epoch!r}")
    opt_state = init_opt_state(updater, params) if opt_state is None else opt_state
    if train_epoch is None:
        train_epoch = make_train_epoch(net, loss, updater, batch_size, prepare=prepare,
                                       stochastic=stochastic, penalty=penalty, mesh=mesh)
    X, y = train
    if mesh is not None:                  # params replicated, the data split by rows (not copied)
        params, opt_state, (X, y), evals = on_mesh(params, opt_state, (X, y), evals, mesh)
    timer = Timer()
    run_epoch = train_epoch.lower(params, opt_state, X, y, jax.random.fold_in(key, start_epoch)).compile()
    seconds = {"compile": timer.stop(), "train": 0.0, "eval": 0.0}
    history = list(history or [])
    for epoch in range(start_epoch, num_epochs):
        timer.start()
        params, opt_state, sums = run_epoch(params, opt_state, X, y, jax.random.fold_in(key, epoch))
        record = {"epoch": epoch + 1} | summarize(sums)          # the epoch's one host sync
        seconds["train"] += timer.stop()
        if not math.isfinite(record["train_loss"]):
            bad = int(sums["bad_step"])
            raise DivergenceError(epoch + 1, bad + 1 if bad >= 0 else None, history)
        timer.start()
        record |= evaluate_record(net, params, evals, eval_loss, prepare)
        seconds["eval"] += timer.stop()
        if not all(math.isfinite(v) for v in record.values()) or not all_finite(params):
            raise DivergenceError(epoch + 1, None, history, what="the parameters or evaluation")
        history.append(record)
        if callback is not None and callback(epoch + 1, params, opt_state, record):
            break
    return FitResult(params, opt_state, history, seconds)


__all__ = ["Callback", "DivergenceError", "FitResult", "check_data", "fit"]
