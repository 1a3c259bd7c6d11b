"""The book's training loop (D2L 3.6.6): ``train_epoch_ch3``, one jitted step per minibatch.

:class:`BookEpoch` wraps it in the form of a compiled epoch, ``(params, opt_state, X, y,
key) -> (params, opt_state, sums)``, with the same batch order, so ``fit`` runs either
(``train_epoch=BookEpoch(...)``) and both reach the same parameters.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import jax
import numpy as np

from jaxlin.data.shuffle import epoch_indices
from jaxlin.nn.updaters import Updater
from jaxlin.train.epoch import (
    Prepare,
    add_step_metrics,
    identity,
    make_indexed_step,
    zero_sums,
)
from jaxlin.train.lowering import Lowering
from jaxlin.train.step import Loss, Net, Penalty, Step

_add_step_metrics = jax.jit(add_step_metrics)      # one dispatch per step, not one per metric


def train_epoch_ch3(step: Step, params: Any, opt_state: Any,
                    train_iter: Iterable[tuple]) -> tuple[Any, Any, dict[str, jax.Array]]:
    """One epoch of the book's loop: ``step(params, opt_state, *batch)`` on every batch.

    A batch is what ``step`` takes after the state: ``(X, y)``, ``(X, y, key)``, or, for
    :func:`~jaxlin.train.epoch.make_indexed_step`, ``(X, y, idx[, key])``. Returns the new
    params and optimizer state and the epoch's metric sums, kept on the device
    (``loss_sum``, ``n``, ``correct`` for classifiers, and ``bad_step``, the first step
    whose loss was not finite, or -1). No host sync per step. Written out in
    scripts/ch3_06_softmax_regression_scratch.py (3.6.6).
    """
    sums: dict[str, jax.Array] | None = None
    for i, batch in enumerate(train_iter):
        params, opt_state, m = step(params, opt_state, *batch)
        sums = _add_step_metrics(zero_sums(m) if sums is None else sums, m, i)
    if sums is None:
        raise ValueError("train_iter yielded no batches")
    return params, opt_state, sums


@dataclasses.dataclass(frozen=True)
class BookEpoch:
    """The book's loop as an epoch: the data stay on the device and each step gets its
    minibatch's indices (and key), as a sampler would. Build it with :meth:`make`.
    ``progress(batches, num_batches)``, if given, wraps the batches (a progress bar)."""
    step: Step
    batch_size: int
    stochastic: bool = False
    progress: Callable[[Iterator, int], Iterable] | None = None

    @classmethod
    def make(cls, net: Net, loss: Loss, updater: Updater, batch_size: int, *,
             prepare: Prepare = identity, stochastic: bool = False, penalty: Penalty | None = None,
             lowering: Lowering | None = None,
             progress: Callable[[Iterator, int], Iterable] | None = None) -> BookEpoch:
        step = make_indexed_step(net, loss, updater, prepare=prepare, penalty=penalty, lowering=lowering)
        return cls(step, batch_size, stochastic, progress)

    def batches(self, X: jax.Array, y: jax.Array, key: jax.Array) -> Iterator[tuple]:
        shuffle_key, step_key = jax.random.split(key)
        for i, idx in enumerate(np.asarray(epoch_indices(shuffle_key, X.shape[0], self.batch_size))):
            yield (X, y, idx, jax.random.fold_in(step_key, i)) if self.stochastic else (X, y, idx)

    def __call__(self, params: Any, opt_state: Any, X: jax.Array, y: jax.Array, key: jax.Array) -> tuple:
        batches = self.batches(X, y, key)
        if self.progress is not None:
            batches = self.progress(batches, X.shape[0] // self.batch_size)
        return train_epoch_ch3(self.step, params, opt_state, batches)

    def lower(self, params: Any, opt_state: Any, X: jax.Array, y: jax.Array, key: jax.Array) -> Any:
        """jax's ahead-of-time form, ``lower(...).compile()``, so ``fit`` times compilation apart."""
        idx = np.arange(self.batch_size, dtype=np.int32)          # any batch: only shapes matter
        example = (X, y, idx, key) if self.stochastic else (X, y, idx)
        lowered = self.step.lower(params, opt_state, *example)
        return _Lowered(lambda: dataclasses.replace(self, step=lowered.compile()))


@dataclasses.dataclass(frozen=True)
class _Lowered:
    compile: Any


__all__ = ["BookEpoch", "train_epoch_ch3"]
