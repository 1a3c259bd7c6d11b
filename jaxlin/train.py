"""The pure training core: one jitted train step, one compiled epoch, one evaluation.

Every model follows one contract, scratch and Flax alike::

    params = init(key, ...)          # a pytree
    y_hat = net(params, X)           # deterministic forward pass
    y_hat = net(params, X, key=k)    # stochastic forward pass (dropout), only when trained

An *updater* is either an optax ``GradientTransformation`` or the book's scratch
``sgd`` with its learning rate bound, ``functools.partial(sgd, lr=0.1)``; it is
called as ``updater(params, grads, batch_size=n)`` with gradients of the summed loss.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from jax.sharding import Mesh

from jaxlin.parallel import check_divisible, constrain_batch, constrain_replicated
from jaxlin.validate import check_learning_rate, check_positive_int, check_same_length

Net = Callable[..., jax.Array]
Loss = Callable[[jax.Array, jax.Array], jax.Array]
Updater = optax.GradientTransformation | Callable[..., Any]
Prepare = Callable[[jax.Array], jax.Array]
Penalty = Callable[[Any], jax.Array]


class DivergenceError(FloatingPointError):
    """Training produced a NaN or infinite loss at ``epoch`` (and minibatch ``step``, both 1-based)."""

    def __init__(self, epoch: int, step: int | None = None, lr: float | None = None):
        where = f"epoch {epoch}" + (f", step {step}" if step is not None else "")
        hint = f" (lr={lr:g})" if lr is not None else ""
        super().__init__(f"training diverged: the loss became NaN or infinite at {where}. "
                         f"Try a smaller learning rate{hint}.")
        self.epoch, self.step = epoch, step


def identity(X: jax.Array) -> jax.Array:
    return X


def apply_net(net: Net, params: Any, X: jax.Array, key: jax.Array | None = None) -> jax.Array:
    """Call ``net`` in evaluation form, or with ``key=`` when a stochastic pass is wanted."""
    return net(params, X) if key is None else net(params, X, key=key)


def init_opt_state(updater: Updater, params: Any) -> Any:
    """The optimizer state for ``params``: optax's ``init``, or ``()`` for the scratch sgd."""
    if isinstance(updater, optax.GradientTransformation):
        return updater.init(params)
    return ()


def check_updater(updater: Updater) -> None:
    """Validate a bound learning rate now, before anything is traced or compiled."""
    if isinstance(updater, functools.partial) and "lr" in updater.keywords:
        check_learning_rate(updater.keywords["lr"], "lr")
    elif not (isinstance(updater, optax.GradientTransformation) or callable(updater)):
        raise TypeError(f"updater must be an optax.GradientTransformation or a callable "
                        f"updater(params, grads, batch_size=n), got {type(updater).__name__}")


def batch_metrics(y_hat: jax.Array, y: jax.Array, losses: jax.Array) -> dict[str, jax.Array]:
    """Sums for one batch: summed loss, example count and, for integer labels, correct predictions."""
    metrics = {"loss_sum": losses.sum(), "n": jnp.asarray(y.shape[0], jnp.float32)}
    if jnp.issubdtype(y.dtype, jnp.integer) and y_hat.ndim == 2:
        metrics["correct"] = (jnp.argmax(y_hat, axis=1) == y).sum().astype(jnp.float32)
    return metrics


def train_step_fn(net: Net, loss: Loss, updater: Updater, *, penalty: Penalty | None = None,
                  mesh: Mesh | None = None, batch_of_one: bool = True) -> Callable[..., tuple[Any, Any, dict]]:
    """The pure (unjitted) train step ``(params, opt_state, X, y, key=None) -> (params, opt_state, metrics)``.

    optax optimizers get the gradient of the mean loss (their convention); the
    scratch ``sgd`` gets the gradient of the summed loss and divides by the batch
    size itself (the book's convention). Both give the same update.

    ``penalty(params) -> scalar`` (e.g. λ‖w‖²/2, D2L 4.5) is added to every example's
    loss, as the book's ``loss(net(X), y) + lambd * l2_penalty(w)``: the objective is
    mean(l) + penalty (optax) or sum(l) + n·penalty (scratch sgd), the same update.
    It shapes the gradient only: ``metrics`` report the data loss without it.

    With a ``mesh`` (:func:`jaxlin.parallel.data_mesh`) the minibatch is sharded across
    its devices and params stay replicated: data parallelism, same numbers.
    ``batch_of_one=False`` returns the step without the :func:`as_batch_of_one` lowering
    (for code that ``vmap``s it over many models itself).
    """
    if penalty is not None and not callable(penalty):
        raise TypeError(f"penalty must be a callable penalty(params) -> scalar, got {type(penalty).__name__}")
    use_optax = isinstance(updater, optax.GradientTransformation)

    def objective(params, X, y, key):
        y_hat = apply_net(net, params, X, key)
        losses = loss(y_hat, y)
        total = losses.mean() if use_optax else losses.sum()
        if penalty is not None:
            total = total + (1 if use_optax else X.shape[0]) * penalty(params)
        return total, (y_hat, losses)

    def step(params, opt_state, X, y, key=None):
        X, y = constrain_batch((X, y), mesh)
        grads, (y_hat, losses) = jax.grad(objective, has_aux=True)(params, X, y, key)
        if use_optax:
            updates, opt_state = updater.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
        else:
            params = updater(params, grads, batch_size=X.shape[0])
        metrics = batch_metrics(y_hat, y, losses)
        metrics["loss"] = metrics["loss_sum"] / metrics["n"]
        return constrain_replicated((params, opt_state, metrics), mesh)

    return as_batch_of_one(step) if batch_of_one else step


def as_batch_of_one(step: Callable[..., tuple[Any, Any, dict]]) -> Callable[..., tuple[Any, Any, dict]]:
    """The same step, run as a batch of one model: ``vmap`` over a size-1 axis of params.

    The numbers are the same. What changes is the lowering: with a model axis, XLA
    writes each weight gradient XᵀG as a canonical batched matmul that XLA:CPU sends
    to its fast YNNPACK kernel, instead of a transposed Eigen dot. Measured on the
    2-core CPU: a softmax-regression epoch 0.067 → 0.038 s, the MLP 0.333 → 0.304 s.
    (A sweep over K models is the same program with K > 1, see :mod:`jaxlin.sweep`.)
    """

    def one(tree):
        return jax.tree.map(lambda a: a[None], tree)

    def step_of_one(params, opt_state, X, y, key=None):
        batched = jax.vmap(step, in_axes=(0, 0, None, None, None))
        return jax.tree.map(lambda a: a[0], batched(one(params), one(opt_state), X, y, key))

    return step_of_one


def make_train_step(net: Net, loss: Loss, updater: Updater, *, penalty: Penalty | None = None,
                    mesh: Mesh | None = None) -> Callable[..., tuple[Any, Any, dict]]:
    """Gradient and update in ONE jitted pure function.

    ``step(params, opt_state, X, y, key=None) -> (params, opt_state, metrics)`` where
    ``metrics["loss"]`` is the batch's mean loss (plus ``loss_sum``, ``n`` and, for
    integer labels, ``correct``). Same-shaped batches reuse one compilation.
    ``penalty(params)``, if given, is added to the objective (see :func:`train_step_fn`).
    """
    check_updater(updater)
    return jax.jit(train_step_fn(net, loss, updater, penalty=penalty, mesh=mesh))


def gather_batch(X: jax.Array, y: jax.Array, idx: jax.Array,
                 prepare: Prepare = identity) -> tuple[jax.Array, jax.Array]:
    """The minibatch ``(prepare(X[idx]), y[idx])`` of device-resident data.

    Whole rows are gathered from ``X`` viewed as (N, features): ~8x faster on
    XLA:CPU than gathering (N, 28, 28) images, then reshaped back.
    """
    rows = X.reshape(X.shape[0], -1)[idx]
    return prepare(rows.reshape(idx.shape + X.shape[1:])), y[idx]


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


def make_indexed_step(net: Net, loss: Loss, updater: Updater, *, prepare: Prepare = identity,
                      penalty: Penalty | None = None, donate: bool = False) -> Callable[..., tuple[Any, Any, dict]]:
    """The train step on minibatch ``idx`` of data kept on the device, as ONE jitted call.

    ``step(params, opt_state, X, y, idx, key=None)`` gathers ``prepare(X[idx]), y[idx]``
    and runs :func:`make_train_step`'s step on it: what a Python loop over batch
    indices calls once per minibatch (``fit(mode="loop")``, the benchmark's jitted
    step). One dispatch instead of a gather call and a step call: measured on the
    2-core CPU, a softmax-regression step 0.41 → 0.24 ms. ``donate=True`` lets XLA
    update params and state in place (the arrays passed in are consumed; ~10% faster).
    """
    check_updater(updater)
    step = train_step_fn(net, loss, updater, penalty=penalty)

    def indexed_step(params, opt_state, X, y, idx, key=None):
        return step(params, opt_state, *gather_batch(X, y, idx, prepare), key)

    return jax.jit(indexed_step, donate_argnums=(0, 1) if donate else ())


def shuffle(key: jax.Array, n: int) -> jax.Array:
    """A uniformly random permutation of ``range(n)``, computed on the device.

    Each round sorts one uint32 array whose high bits are random and whose low bits
    hold the current position, then reorders by it: a plain single-array sort, which
    XLA:CPU runs ~6x faster than a key-value sort (``argsort``). Rounds compose until
    at least 48 random bits have been used, so tied random keys (which keep their
    order) are negligible, as in ``jax.random.permutation``.
    """
    index_bits = max(1, (n - 1).bit_length())
    if index_bits > 24:                      # too few random bits per key: one argsort
        return jnp.argsort(jax.random.bits(key, (n,), jnp.uint32)).astype(jnp.int32)
    positions = jnp.arange(n, dtype=jnp.uint32)
    low = jnp.uint32((1 << index_bits) - 1)
    perm = positions
    for round_key in jax.random.split(key, -(-48 // (32 - index_bits))):
        keys = (jax.random.bits(round_key, (n,), jnp.uint32) & ~low) | positions
        perm = perm[jnp.sort(keys) & low]
    return perm.astype(jnp.int32)


def epoch_indices(key: jax.Array, num_examples: int, batch_size: int) -> jax.Array:
    """One epoch's batch order: a permutation from ``key`` cut into (num_batches, batch_size).

    The incomplete last batch is dropped so every step has the same shape. The
    compiled epoch and the book-style loop share this order, so they agree exactly.
    """
    num_batches = num_examples // batch_size
    return shuffle(key, num_examples)[: num_batches * batch_size].reshape(num_batches, batch_size)


def make_train_epoch(net: Net, loss: Loss, updater: Updater, batch_size: int, *,
                     prepare: Prepare = identity, stochastic: bool = False,
                     donate: bool = False, penalty: Penalty | None = None,
                     mesh: Mesh | None = None) -> Callable[..., tuple[Any, Any, dict]]:
    """A whole epoch compiled into one call: ``lax.scan`` of the train step over batches.

    ``epoch(params, opt_state, X, y, key) -> (params, opt_state, metrics)``. ``X`` and
    ``y`` stay on the device (e.g. uint8 images); each batch is gathered and
    ``prepare``d inside the scan. ``key`` fixes the shuffle and, when ``stochastic``,
    the per-step keys (``fold_in(key, step)``, never one fixed key). ``metrics`` holds
    device sums for the epoch and ``bad_step``, the first step whose loss was not
    finite (-1 if none), so divergence costs no host sync per step. With a ``mesh``,
    each minibatch is split across its devices (pass ``X``, ``y``, params and state
    replicated, e.g. :func:`jaxlin.parallel.replicate`). ``penalty(params)``,
    if given, is added to the objective (see :func:`train_step_fn`).
    """
    check_updater(updater)
    batch_size = check_positive_int(batch_size, "batch_size")
    check_divisible(batch_size, mesh)
    step = train_step_fn(net, loss, updater, penalty=penalty, mesh=mesh)
    epoch = epoch_of(step, batch_size, prepare=prepare, stochastic=stochastic)
    return jax.jit(epoch, donate_argnums=(0, 1) if donate else ())


def epoch_of(step: Callable[..., tuple[Any, Any, dict]], batch_size: int, *,
             prepare: Prepare = identity, stochastic: bool = False) -> Callable[..., tuple[Any, Any, dict]]:
    """The (unjitted) epoch ``(params, opt_state, X, y, key) -> (params, opt_state, sums)``
    that scans ``step(params, opt_state, X_batch, y_batch, key)`` over one shuffled pass.

    Each metric the step returns is summed over the epoch; ``bad_step`` (same shape
    as the step's ``loss``: one per model when the step trains several) is the first
    step whose loss was not finite, or -1.
    """

    def epoch(params, opt_state, X, y, key):
        shuffle_key, step_key = jax.random.split(key)
        indices = epoch_indices(shuffle_key, X.shape[0], batch_size)

        def body(carry, inputs):
            params, opt_state, sums = carry
            i, idx = inputs
            k = jax.random.fold_in(step_key, i) if stochastic else None
            params, opt_state, m = step(params, opt_state, *gather_batch(X, y, idx, prepare), k)
            return (params, opt_state, add_step_metrics(sums, m, i)), None

        k0 = jax.random.fold_in(step_key, 0) if stochastic else None
        sums = zero_sums(jax.eval_shape(step, params, opt_state, *gather_batch(X, y, indices[0], prepare), k0)[2])
        steps = jnp.arange(indices.shape[0])
        (params, opt_state, sums), _ = jax.lax.scan(body, (params, opt_state, sums), (steps, indices))
        return params, opt_state, sums

    return epoch


def summarize(sums: dict[str, Any]) -> dict[str, float]:
    """Host floats from one epoch's device sums: mean loss and, if present, accuracy."""
    sums = jax.device_get(sums)
    n = float(sums["n"])
    out = {"train_loss": float(sums["loss_sum"]) / n}
    if "correct" in sums:
        out["train_acc"] = float(sums["correct"]) / n
    return out


# ---------------------------------------------------------------- evaluation

@functools.lru_cache(maxsize=64)
def _evaluator(net: Net, loss: Loss | None, prepare: Prepare, chunk: int) -> Callable:
    """A jitted, vmap-vectorized metric sum over every example of ``(X, y)``.

    Inside the one compiled call the data are padded to a multiple of ``chunk`` and
    reshaped to (num_chunks, chunk, ...); ``vmap`` maps the metric over the chunks
    and a mask drops the padding, so no example is lost or counted twice.
    """

    def chunk_sums(params, X, y, mask):
        y_hat = net(params, prepare(X))
        out = {"n": mask.sum()}
        if loss is not None:
            per_example = loss(y_hat, y).reshape(mask.shape[0], -1).sum(1)
            out["loss_sum"] = jnp.where(mask, per_example, 0).sum()
        if y_hat.ndim == 2 and jnp.issubdtype(y.dtype, jnp.integer):
            out["correct"] = jnp.where(mask, jnp.argmax(y_hat, axis=1) == y, False).sum()
        return out

    def pad_chunks(a, pad):
        a = jnp.concatenate([a, jnp.zeros((pad, *a.shape[1:]), a.dtype)]) if pad else a
        return a.reshape(-1, chunk, *a.shape[1:])

    def evaluate(params, X, y):
        n = X.shape[0]
        pad = -n % chunk
        mask = (jnp.arange(n + pad) < n).reshape(-1, chunk)
        per_chunk = jax.vmap(chunk_sums, in_axes=(None, 0, 0, 0))(
            params, pad_chunks(X, pad), pad_chunks(y, pad), mask)
        return jax.tree.map(lambda s: s.sum(), per_chunk)

    return jax.jit(evaluate)


def evaluate_sums(net: Net, params: Any, X: jax.Array, y: jax.Array, *, loss: Loss | None = None,
                  prepare: Prepare = identity, chunk: int = 1000) -> dict[str, jax.Array]:
    """Metric sums (``n``, ``loss_sum`` with a ``loss``, ``correct`` for classifiers) over
    every example exactly once, in one vectorized jitted call."""
    n = check_same_length(X, y, "X", "y")
    chunk = min(check_positive_int(chunk, "chunk"), n)
    return _evaluator(net, loss, prepare, chunk)(params, X, y)


def evaluate_accuracy(net: Net, params: Any, data: tuple[jax.Array, jax.Array] | Iterable,
                      *, prepare: Prepare = identity) -> float:
    """Accuracy over a whole data set: correct predictions summed, then divided by N.

    ``data`` is a pair of arrays ``(X, y)`` or an iterable of ``(X, y)`` batches; every
    example counts once, the last partial batch included.
    """
    batches = [data] if isinstance(data, tuple) else data
    correct = n = 0.0
    for X, y in batches:
        sums = evaluate_sums(net, params, X, y, prepare=prepare)
        correct, n = correct + sums["correct"], n + sums["n"]
    if n == 0:
        raise ValueError("evaluate_accuracy got no examples")
    return float(correct) / float(n)


def evaluate_loss(net: Net, params: Any, data: tuple[jax.Array, jax.Array] | Iterable, loss: Loss,
                  *, prepare: Prepare = identity) -> float:
    """The mean loss over a whole data set (the book's ``evaluate_loss``)."""
    batches = [data] if isinstance(data, tuple) else data
    total = n = 0.0
    for X, y in batches:
        sums = evaluate_sums(net, params, X, y, loss=loss, prepare=prepare)
        total, n = total + sums["loss_sum"], n + sums["n"]
    if n == 0:
        raise ValueError("evaluate_loss got no examples")
    return float(total) / float(n)


__all__ = [
    "DivergenceError", "apply_net", "batch_metrics", "epoch_indices", "epoch_of",
    "add_step_metrics", "evaluate_accuracy", "evaluate_loss", "evaluate_sums", "gather_batch",
    "init_opt_state", "make_indexed_step", "make_train_epoch", "make_train_step", "shuffle", "summarize", "train_step_fn", "zero_sums",
]
