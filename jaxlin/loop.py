"""Training loops over the pure core: the book's ``train_epoch_ch3``/``train_ch3`` and ``fit``.

``fit`` runs either the compiled-epoch fast path (``mode="epoch"``: one jitted
``lax.scan`` per epoch over device-resident data) or the book's per-batch loop
(``mode="loop"``: one jitted step per minibatch). Both use the same batch order
(:func:`jaxlin.train.epoch_indices` with ``fold_in(key, epoch)``) and the same
step, so they reach the same parameters. Metrics stay on the device during an
epoch and reach the host once per epoch.
"""
from __future__ import annotations

import collections
import functools
import math
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from jax.sharding import Mesh

from jaxlin.parallel import replicate
from jaxlin.train import (DivergenceError, Loss, Net, Penalty, Prepare, Updater, add_step_metrics,
                          check_updater, epoch_indices, evaluate_sums, identity, init_opt_state,
                          make_indexed_step, make_train_epoch, summarize, zero_sums)
from jaxlin.validate import (check_batch_size, check_classifier_labels, check_learning_rate,
                             check_positive_int, check_same_length)

Arrays = tuple[jax.Array, jax.Array]
Callback = Callable[[int, Any, Any, dict[str, float]], bool | None]


@dataclass
class FitResult:
    """What ``fit`` returns: final params and optimizer state, one record per epoch, seconds."""
    params: Any
    opt_state: Any
    history: list[dict[str, float]]
    seconds: dict[str, float] = field(default_factory=dict)


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``fit``: carries the state after the last finished epoch."""

    def __init__(self, epoch: int, params: Any, opt_state: Any, history: list[dict[str, float]]):
        super().__init__(f"interrupted after epoch {epoch}")
        self.epoch, self.params, self.opt_state, self.history = epoch, params, opt_state, history


_COMPILED: collections.OrderedDict = collections.OrderedDict()


def _signature(args: Any) -> tuple:
    leaves, treedef = jax.tree.flatten(args)
    return treedef, tuple((jnp.shape(x), jnp.result_type(x), getattr(x, "sharding", None)) for x in leaves)


def _same_when_equal(fn: Any) -> Any:
    """A cache key under which equal ``functools.partial``s (``partial(sgd, lr=0.1)`` built
    twice) are one function; any other object stands for itself."""
    if isinstance(fn, functools.partial):
        return ("partial", fn.func, fn.args, tuple(sorted(fn.keywords.items())))
    return fn


def compiled_epoch(net: Net, loss: Loss, updater: Updater, batch_size: int, prepare: Prepare,
                   stochastic: bool, penalty: Any, args: tuple, mesh: Any = None) -> Callable:
    """The compiled epoch for these functions and argument shapes, compiled once and reused.

    Repeated ``fit`` calls with the same (or equal partial) model, loss and updater
    (K-fold, sweeps, resumed runs, a second run in one process) skip XLA compilation;
    their ``seconds["compile"]`` is ~0.
    """
    fns = tuple(_same_when_equal(f) for f in (net, loss, updater, prepare, penalty))
    key = (*fns, batch_size, stochastic, mesh, _signature(args))
    try:
        hit = _COMPILED.get(key)
    except TypeError:                    # unhashable pieces: compile without caching
        key, hit = None, None
    if hit is None:
        hit = make_train_epoch(net, loss, updater, batch_size, prepare=prepare, stochastic=stochastic,
                               penalty=penalty, mesh=mesh).lower(*args).compile()
        if key is not None:
            _COMPILED[key] = hit
            if len(_COMPILED) > 32:
                _COMPILED.popitem(last=False)
    return hit


def train_epoch_ch3(step: Callable, params: Any, opt_state: Any,
                    train_iter: Iterable[tuple]) -> tuple[Any, Any, dict[str, jax.Array]]:
    """One epoch of the book's loop: ``step(params, opt_state, *batch)`` on every batch.

    A batch is what ``step`` takes after the state: ``(X, y)``, ``(X, y, key)``, or, for
    :func:`jaxlin.train.make_indexed_step`, ``(X, y, idx[, key])``. Returns the new
    params and optimizer state and the epoch's metric sums, kept on the device
    (``loss_sum``, ``n``, ``correct`` for classifiers, and ``bad_step``, the first step
    whose loss was not finite, or -1). No host sync per step.
    """
    sums: dict[str, jax.Array] | None = None
    for i, batch in enumerate(train_iter):
        params, opt_state, m = step(params, opt_state, *batch)
        sums = _add_step_metrics(zero_sums(m) if sums is None else sums, m, i)
    if sums is None:
        raise ValueError("train_iter yielded no batches")
    return params, opt_state, sums


_add_step_metrics = jax.jit(add_step_metrics)      # one dispatch per step, not one per metric


def _epoch_batches(X, y, indices, step_key, stochastic):
    """The book loop's batches for :func:`make_indexed_step`: the data stay on the device
    and each step gets its minibatch's indices (and key), as a sampler would."""
    for i, idx in enumerate(np.asarray(indices)):
        yield (X, y, idx, jax.random.fold_in(step_key, i)) if stochastic else (X, y, idx)


def evaluate_record(net: Net, params: Any, evals: dict[str, Arrays], loss: Loss | None,
                    prepare: Prepare) -> dict[str, float]:
    """``{name}_loss`` and (classifiers) ``{name}_acc`` over every example of each data set."""
    record: dict[str, float] = {}
    for name, (X, y) in evals.items():
        sums = jax.device_get(evaluate_sums(net, params, X, y, loss=loss, prepare=prepare))
        if "loss_sum" in sums:
            record[f"{name}_loss"] = float(sums["loss_sum"]) / float(sums["n"])
        if "correct" in sums:
            record[f"{name}_acc"] = float(sums["correct"]) / float(sums["n"])
    return record


def fit(net: Net, params: Any, loss: Loss, updater: Updater, train: Arrays, *,
        num_epochs: int, batch_size: int, key: jax.Array,
        evals: dict[str, Arrays] | None = None, prepare: Prepare = identity,
        stochastic: bool = False, mode: str = "epoch", opt_state: Any = None,
        start_epoch: int = 0, history: list[dict[str, float]] | None = None,
        callback: Callback | None = None, progress: bool = True,
        lr: float | None = None, eval_loss: Loss | None | str = "same",
        penalty: Penalty | None = None, mesh: Mesh | None = None) -> FitResult:
    """Train ``net`` for epochs ``start_epoch+1 … num_epochs`` and return a :class:`FitResult`.

    * ``train = (X, y)`` arrays (kept on the device); each epoch is a permutation from
      ``fold_in(key, epoch)``, full batches only (one compile).
    * ``history`` gets one record per epoch: ``epoch``, ``train_loss`` (mean over the
      epoch's batches, as the book's animator shows) and ``train_acc`` for classifiers,
      then ``{name}_loss``/``{name}_acc`` for each data set in ``evals``, evaluated on
      every example after the epoch (``evals={"train": train}`` replaces the running
      train loss by the loss over the whole training set, as in 3.2). ``eval_loss``
      is the loss evaluated there (default: ``loss``; None: accuracy only).
    * ``callback(epoch, params, opt_state, record)`` runs after each epoch (checkpoints,
      early stopping); returning True stops training.
    * ``penalty(params) -> scalar`` (e.g. λ‖w‖²/2 for weight decay) is added to the
      training objective only; the recorded losses are the data losses without it.
    * ``mesh`` (compiled-epoch mode): each minibatch is split across the mesh's
      devices, params replicated (:mod:`jaxlin.parallel`); same results.
    * A NaN/inf loss raises :class:`DivergenceError` naming the epoch and step; Ctrl-C
      raises :class:`TrainingInterrupted` with the last finished epoch's state.
    """
    X, y = train
    n = check_same_length(X, y, "train features", "train labels")
    batch_size = check_batch_size(batch_size, n)
    num_epochs = check_positive_int(num_epochs, "num_epochs")
    check_updater(updater)
    if mode not in ("epoch", "loop"):
        raise ValueError(f"mode must be 'epoch' or 'loop', got {mode!r}")
    if mesh is not None and mode != "epoch":
        raise ValueError("a device mesh needs mode='epoch'")
    if lr is not None:
        check_learning_rate(lr, "lr")
    evals = dict(evals or {})
    outputs = jax.eval_shape(lambda p, X: net(p, prepare(X)), params, X[:1])
    for name, (_, labels) in {"train": train, **evals}.items():
        check_classifier_labels(labels, outputs, f"{name} labels")
    eval_loss = loss if eval_loss == "same" else eval_loss
    opt_state = init_opt_state(updater, params) if opt_state is None else opt_state
    history = list(history or [])
    seconds = {"compile": 0.0, "train": 0.0, "eval": 0.0}

    tic = time.perf_counter()
    first_key = jax.random.fold_in(key, start_epoch)
    if mode == "epoch":
        if mesh is not None:
            params, opt_state, X, y = replicate((params, opt_state, X, y), mesh)
        run_epoch = compiled_epoch(net, loss, updater, batch_size, prepare, stochastic, penalty,
                                   (params, opt_state, X, y, first_key), mesh)
    else:
        step_jit = make_indexed_step(net, loss, updater, prepare=prepare, penalty=penalty)
        idx0 = np.arange(batch_size, dtype=np.int32)  # any batch: only its shape matters
        example = (X, y, idx0) + ((first_key,) if stochastic else ())
        step = step_jit.lower(params, opt_state, *example).compile()

        def run_epoch(params, opt_state, X, y, epoch_key):
            shuffle_key, step_key = jax.random.split(epoch_key)
            indices = epoch_indices(shuffle_key, n, batch_size)
            batches = _epoch_batches(X, y, indices, step_key, stochastic)
            bar = tqdm(batches, total=len(indices), desc="  batches", leave=False, delay=3.0,
                       disable=not progress or None, file=sys.stderr)
            return train_epoch_ch3(step, params, opt_state, bar)
    seconds["compile"] = time.perf_counter() - tic

    bar = tqdm(range(start_epoch, num_epochs), desc="epochs", initial=start_epoch, total=num_epochs,
               disable=not progress or None, file=sys.stderr)
    last = (start_epoch, params, opt_state)
    try:
        for epoch in bar:
            tic = time.perf_counter()
            params, opt_state, sums = run_epoch(params, opt_state, X, y, jax.random.fold_in(key, epoch))
            record = {"epoch": epoch + 1} | summarize(sums)   # the epoch's one host sync
            seconds["train"] += time.perf_counter() - tic
            if not math.isfinite(record["train_loss"]):
                bad = int(sums["bad_step"])
                raise DivergenceError(epoch + 1, bad + 1 if bad >= 0 else None, lr)  # 1-based step
            tic = time.perf_counter()
            record |= evaluate_record(net, params, evals, eval_loss, prepare)
            seconds["eval"] += time.perf_counter() - tic
            if not math.isfinite(record["train_loss"]):   # evals={"train": ...} replaced it
                raise DivergenceError(epoch + 1, None, lr)
            history.append(record)
            last = (epoch + 1, params, opt_state)
            bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k != "epoch"})
            if callback is not None and callback(epoch + 1, params, opt_state, record):
                break
    except DivergenceError as err:
        err.history, err.last_epoch = history, last[0]
        raise
    except KeyboardInterrupt:
        raise TrainingInterrupted(last[0], last[1], last[2], history) from None
    finally:
        bar.close()
    return FitResult(params, opt_state, history, seconds)


def train_ch3(net: Net, params: Any, train: Arrays, test: Arrays, loss: Loss, num_epochs: int,
              updater: Updater, *, batch_size: int, key: jax.Array, prepare: Prepare = identity,
              plot_path: str | None = None, **kwargs: Any) -> FitResult:
    """The book's ``train_ch3``: train, then evaluate on ``test`` after every epoch.

    History records ``epoch``, ``train_loss``, ``train_acc`` and ``test_acc``; with
    ``plot_path`` the book's three-curve figure is saved there as PNG.
    """
    result = fit(net, params, loss, updater, train, num_epochs=num_epochs, batch_size=batch_size,
                 key=key, evals={"test": test}, prepare=prepare, eval_loss=None, **kwargs)
    if plot_path is not None:
        from jaxlin.plot import plot_history
        plot_history(result.history, plot_path)
    return result
