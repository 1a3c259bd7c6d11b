"""One epoch: the compiled epoch (``lax.scan`` of the step) and the indexed step.

Both fit's fast path and the book's per-minibatch loop use the data layer's
:func:`~jaxlin.data.shuffle.epoch_indices` with the same key, so they see the same
batches and reach the same parameters.
Metrics are summed on the device and read by the host once per epoch.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.sharding import Mesh

from jaxlin.checks import check_divisible, check_positive_int
from jaxlin.data.shuffle import epoch_indices
from jaxlin.nn.updaters import Updater
from jaxlin.train.lowering import Lowering, default_lowering
from jaxlin.train.parallel import constrain_batch, constrain_replicated, gather_rows
from jaxlin.train.step import Loss, Net, Penalty, Step, train_step

Prepare = Callable[[jax.Array], jax.Array]


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


def epoch_of(step: Step, batch_size: int, *, prepare: Prepare = identity, stochastic: bool = False,
             lowering: Lowering | None = None, mesh: Mesh | None = None) -> Callable[..., tuple]:
    """The (unjitted) epoch ``(params, opt_state, X, y, key) -> (params, opt_state, sums)``:
    ``lax.scan`` of ``step`` over one shuffled pass of device-resident ``X``, ``y``.

    ``key`` fixes the shuffle and, when ``stochastic``, each step's key
    ``fold_in(key, step)``. ``sums`` holds each metric summed over the epoch and
    ``bad_step``, the first step whose loss was not finite (-1 if none). With a
    ``mesh``, ``X`` and ``y`` are split by rows across its devices (``shard_rows``), each
    minibatch is gathered split the same way (``gather_rows``: the same batches as on one
    device), params stay replicated.
    """
    lowering = lowering or default_lowering()

    def batch(X, y, idx):
        if mesh is not None:                   # X, y split by rows: see jaxlin.train.parallel
            X, y = gather_rows((X, y), idx, mesh)
            return constrain_batch((prepare(X), y), mesh)
        return prepare(lowering.gather(X, idx)), y[idx]

    def epoch(params, opt_state, X, y, key):
        if X.shape[0] < batch_size:             # shapes are static: refused while tracing
            raise ValueError(f"batch_size={batch_size} is larger than the data ({X.shape[0]} examples)")
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


def make_train_epoch(net: Net, loss: Loss, updater: Updater, batch_size: int, *,
                     prepare: Prepare = identity, stochastic: bool = False,
                     penalty: Penalty | None = None, mesh: Mesh | None = None,
                     donate: bool = False, lowering: Lowering | None = None) -> Callable[..., tuple]:
    """A whole epoch of :func:`~jaxlin.train.step.train_step` compiled into one call.

    ``epoch(params, opt_state, X, y, key) -> (params, opt_state, sums)`` (see :func:`epoch_of`);
    ``X`` and ``y`` stay on the device (e.g. uint8 images), each batch is gathered and
    ``prepare``d inside the scan. Hold the returned function to reuse its compilation
    (K-fold, sweeps, resume): a new one compiles anew. ``donate=True`` lets XLA
    update params and state in place (the arrays passed in are consumed).
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    check_divisible(batch_size, mesh)
    lowering = lowering or default_lowering()
    step = lowering.step(train_step(lowering.net(net), loss, updater, penalty=penalty))
    epoch = epoch_of(step, batch_size, prepare=prepare, stochastic=stochastic, lowering=lowering, mesh=mesh)
    return jax.jit(epoch, donate_argnums=(0, 1) if donate else ())


def make_indexed_step(net: Net, loss: Loss, updater: Updater, *, prepare: Prepare = identity,
                      penalty: Penalty | None = None, donate: bool = False,
                      lowering: Lowering | None = None) -> Step:
    """The train step on minibatch ``idx`` of device-resident data, as ONE jitted call.

    ``step(params, opt_state, X, y, idx, key=None)`` runs the step on ``prepare(X[idx]), y[idx]``:
    what a Python loop over batch indices calls once per minibatch (the book's loop).
    """
    lowering = lowering or default_lowering()
    step = lowering.step(train_step(lowering.net(net), loss, updater, penalty=penalty))

    def indexed_step(params, opt_state, X, y, idx, key=None):
        params, opt_state, metrics = step(params, opt_state, prepare(lowering.gather(X, idx)), y[idx], key)
        # XLA clamps an index out of [0, N) to the nearest row: flag it, as a NaN loss
        bad = ((idx < 0) | (idx >= X.shape[0])).any()
        return params, opt_state, metrics | {"loss": jnp.where(bad, jnp.nan, metrics["loss"])}

    return jax.jit(indexed_step, donate_argnums=(0, 1) if donate else ())


__all__ = ["Prepare", "epoch_of", "make_indexed_step", "make_train_epoch", "summarize"]
