"""One epoch, two loops: the compiled epoch (``lax.scan`` of the step, one XLA call) and
the book's loop (D2L 3.6.6: ``train_epoch_ch3``, one jitted step per minibatch).

:func:`make_train_epoch` makes either as a :class:`TrainEpoch`; both draw their batches
with the data layer's :func:`~jaxlin.data.shuffle.epoch_indices` from the same key, so
they see the same batches and reach the same parameters. Metrics are summed on the
device and read by the host once per epoch.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh

from jaxlin.checks import check_divisible, check_positive_int
from jaxlin.data.shuffle import epoch_indices
from jaxlin.nn.updaters import Updater, as_transformation
from jaxlin.train.parallel import constrain_batch, constrain_replicated, gather_rows
from jaxlin.train.rewrites import Rewrites, default_rewrites
from jaxlin.train.state import TrainState
from jaxlin.train.step import Loss, Net, Penalty, Step, train_step

Prepare = Callable[[jax.Array], jax.Array]
Progress = Callable[[Iterator, int], Iterable]


def identity(X: jax.Array) -> jax.Array:
    return X


def zero_sums(metrics: dict[str, Any]) -> dict[str, jax.Array]:
    """Running sums for a step's ``metrics`` (arrays or shapes): zeros, and ``bad_step``
    -1 (no bad step yet) with the shape of ``loss`` (one per model when several train)."""
    sums = {name: jnp.zeros(m.shape, m.dtype) for name, m in metrics.items() if name != "loss"}
    return sums | {"bad_step": jnp.full(metrics["loss"].shape, -1, jnp.int32)}


def add_step_metrics(sums: dict[str, jax.Array], metrics: dict[str, jax.Array],
                     i: jax.Array | int) -> dict[str, jax.Array]:
    """Add step ``i``'s ``metrics`` to the running sums; keep the first step whose loss was not finite."""
    bad = jnp.where((sums["bad_step"] < 0) & ~jnp.isfinite(metrics["loss"]), i, sums["bad_step"])
    return {name: sums[name] + metrics[name] for name in sums if name != "bad_step"} | {"bad_step": bad}


_add_step_metrics = jax.jit(add_step_metrics)      # the book's loop: one dispatch per step


def summarize(sums: dict[str, Any]) -> dict[str, float]:
    """Host floats from one epoch's device sums: mean loss and, if present, accuracy."""
    sums = jax.device_get(sums)
    if float(sums.get("bad_labels", 0)) > 0:
        raise ValueError(f"{int(sums['bad_labels'])} class labels of this epoch lie outside [0, C) "
                         f"(C: the model's number of outputs)")
    n = float(sums["n"])
    out = {"train_loss": float(sums["loss_sum"]) / n}
    if "correct" in sums:
        out["train_acc"] = float(sums["correct"]) / n
    return out


def train_epoch_ch3(step: Step, params: Any, opt_state: Any,
                    train_iter: Iterable[tuple]) -> tuple[Any, Any, dict[str, jax.Array]]:
    """One epoch of the book's loop: ``step(params, opt_state, *batch)`` on every batch.

    A batch is what ``step`` takes after the state: ``(X, y)``, ``(X, y, key)``, or (the
    :class:`TrainEpoch`'s book loop) the data and one minibatch's indices ``(X, y, idx[, key])``.
    Returns the new params and optimizer state and the epoch's metric sums, kept on the
    device (``loss_sum``, ``n``, ``correct`` for classifiers, and ``bad_step``, the first
    step whose loss was not finite, or -1). No host sync per step. Written out in
    scripts/ch3_06_softmax_regression_scratch.py (3.6.6).
    """
    sums: dict[str, jax.Array] | None = None
    for i, batch in enumerate(train_iter):
        params, opt_state, m = step(params, opt_state, *batch)
        sums = _add_step_metrics(zero_sums(m) if sums is None else sums, m, i)
    if sums is None:
        raise ValueError("train_iter yielded no batches")
    return params, opt_state, sums


def scan_epoch(step: Step, batch_size: int, *, prepare: Prepare = identity, stochastic: bool = False,
               rewrites: Rewrites | None = None, mesh: Mesh | None = None) -> Callable[..., tuple]:
    """The (unjitted) epoch ``(params, opt_state, X, y, key) -> (params, opt_state, sums)``:
    ``lax.scan`` of ``step`` over one shuffled pass of device-resident ``X``, ``y``.

    ``key`` fixes the shuffle and, when ``stochastic``, each step's key
    ``fold_in(key, step)``. ``sums`` holds each metric summed over the epoch and
    ``bad_step``, the first step whose loss was not finite (-1 if none). With a
    ``mesh``, ``X`` and ``y`` are split by rows across its devices (``shard_rows``), each
    minibatch is gathered split the same way (``gather_rows``: the same batches as on one
    device), params stay replicated.
    """
    rewrites = rewrites or default_rewrites()

    def batch(X, y, idx):
        if mesh is not None:                   # X, y split by rows: see jaxlin.train.parallel
            X, y = gather_rows((X, y), idx, mesh)
            return constrain_batch((prepare(X), y), mesh)
        return prepare(rewrites.gather(X, idx)), y[idx]

    def epoch(params, opt_state, X, y, key):
        shuffle_key, step_key = jax.random.split(key)
        indices = epoch_indices(shuffle_key, X.shape[0], batch_size)

        def body(carry, inputs):
            params, opt_state, sums = carry
            i, idx = inputs
            k = jax.random.fold_in(step_key, i) if stochastic else None
            params, opt_state, m = step(params, opt_state, *batch(X, y, idx), k)
            return constrain_replicated((params, opt_state, add_step_metrics(sums, m, i)), mesh), None

        k0 = jax.random.fold_in(step_key, 0) if stochastic else None
        sums = zero_sums(jax.eval_shape(step, params, opt_state, *batch(X, y, indices[0]), k0)[2])
        steps = jnp.arange(indices.shape[0])
        (params, opt_state, sums), _ = jax.lax.scan(body, (params, opt_state, sums), (steps, indices))
        return params, opt_state, sums

    return epoch


def indexed_step(step: Step, *, prepare: Prepare = identity, rewrites: Rewrites | None = None) -> Step:
    """The book's loop's step on minibatch ``idx`` of device-resident data:
    ``step(params, opt_state, X, y, idx, key=None)`` runs ``step`` on ``prepare(X[idx]), y[idx]``
    (what a sampler hands the book's loop, without copying the batch to the host and back)."""
    rewrites = rewrites or default_rewrites()

    def on_batch(params, opt_state, X, y, idx, key=None):
        params, opt_state, metrics = step(params, opt_state, prepare(rewrites.gather(X, idx)), y[idx], key)
        # XLA clamps an index out of [0, N) to the nearest row: flag it, as a NaN loss
        bad = ((idx < 0) | (idx >= X.shape[0])).any()
        return params, opt_state, metrics | {"loss": jnp.where(bad, jnp.nan, metrics["loss"])}

    return on_batch


@dataclasses.dataclass(frozen=True)
class TrainEpoch:
    """One pass over ``(X, y)``: ``epoch(params, opt_state, X, y, key) -> (params, opt_state, sums)``.

    ``loop="scan"``: ``fn`` is the whole epoch, jitted (one XLA call). ``loop="book"``: ``fn``
    is the jitted step of one minibatch, called by :func:`train_epoch_ch3` for each batch
    (``progress(batches, num_batches)``, if given, wraps them: a progress bar). Both draw
    the same batches from ``key``. :meth:`compile` compiles for the data's shapes ahead of
    time (``fit`` times it apart); calling the epoch compiles on first use.
    """
    net: Net
    tx: optax.GradientTransformation           # the updater, as optax: it makes the optimizer state
    batch_size: int
    loop: Literal["scan", "book"]
    fn: Callable[..., tuple]
    prepare: Prepare = identity
    stochastic: bool = False
    mesh: Mesh | None = None
    progress: Progress | None = None

    def init(self, params: Any, key: jax.Array) -> TrainState:
        """The state before the first epoch: ``params``, the updater's fresh state, the run's key."""
        return TrainState(params, self.tx.init(params), key)

    def compile(self, params: Any, opt_state: Any, X: jax.Array, y: jax.Array,
                key: jax.Array) -> Callable[..., tuple]:
        """This epoch compiled for arrays shaped as these (``jax.jit``'s ``lower(...).compile()``)."""
        if self.loop == "scan":
            return self.fn.lower(params, opt_state, X, y, key).compile()
        idx = np.arange(self.batch_size, dtype=np.int32)          # any batch: only shapes matter
        step = self.fn.lower(params, opt_state, X, y, idx, *([key] if self.stochastic else [])).compile()
        return lambda params, opt_state, X, y, key: self._book_loop(step, params, opt_state, X, y, key)

    def __call__(self, params: Any, opt_state: Any, X: jax.Array, y: jax.Array, key: jax.Array) -> tuple:
        if self.loop == "scan":
            return self.fn(params, opt_state, X, y, key)
        return self._book_loop(self.fn, params, opt_state, X, y, key)

    def _book_loop(self, step: Step, params: Any, opt_state: Any, X: jax.Array, y: jax.Array,
                   key: jax.Array) -> tuple:
        batches = self.batches(X, y, key)
        if self.progress is not None:
            batches = self.progress(batches, X.shape[0] // self.batch_size)
        return train_epoch_ch3(step, params, opt_state, batches)

    def batches(self, X: jax.Array, y: jax.Array, key: jax.Array) -> Iterator[tuple]:
        """The book's loop's batches: the data and each minibatch's indices (and key)."""
        shuffle_key, step_key = jax.random.split(key)
        for i, idx in enumerate(np.asarray(epoch_indices(shuffle_key, X.shape[0], self.batch_size))):
            yield (X, y, idx, jax.random.fold_in(step_key, i)) if self.stochastic else (X, y, idx)


def make_train_epoch(net: Net, loss: Loss, updater: Updater, batch_size: int, *,
                     loop: Literal["scan", "book"] = "scan", prepare: Prepare = identity,
                     stochastic: bool = False, penalty: Penalty | None = None,
                     mesh: Mesh | None = None, donate: bool = False, rewrites: Rewrites | None = None,
                     progress: Progress | None = None) -> TrainEpoch:
    """An epoch of :func:`~jaxlin.train.step.train_step`: compiled whole (``loop="scan"``)
    or the book's loop (``loop="book"``), both over device-resident ``X`` and ``y`` (e.g.
    uint8 images), each batch gathered and ``prepare``d on the device.

    Hold the epoch to reuse its compilation (K-fold, sweeps, resume): a new one compiles
    anew. ``donate=True`` lets XLA update params and state in place (the arrays passed in
    are consumed).
    """
    if loop not in ("scan", "book"):
        raise ValueError(f"loop must be 'scan' or 'book', got {loop!r}")
    batch_size = check_positive_int(batch_size, "batch_size")
    check_divisible(batch_size, mesh)
    rewrites = rewrites or default_rewrites()
    tx = as_transformation(updater)
    step = rewrites.step(train_step(rewrites.net(net), loss, tx, penalty=penalty))
    if loop == "scan":
        fn = scan_epoch(step, batch_size, prepare=prepare, stochastic=stochastic, rewrites=rewrites, mesh=mesh)
    else:
        fn = indexed_step(step, prepare=prepare, rewrites=rewrites)
    fn = jax.jit(fn, donate_argnums=(0, 1) if donate else ())
    return TrainEpoch(net, tx, batch_size, loop, fn, prepare, stochastic, mesh, progress)


__all__ = ["Prepare", "TrainEpoch", "make_train_epoch", "summarize", "train_epoch_ch3"]
