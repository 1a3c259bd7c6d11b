"""Train K models at once: ``vmap`` of the compiled epoch over params and hyper-parameters.

Each model has its own params (from its own seed) and its own learning rate,
held in its optimizer state by ``optax.inject_hyperparams``; all K share one
batch order, so one gather feeds K models and the K matrix products become one
wider product. Training for all epochs, with a test evaluation after each, is
one compiled call.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxlin.checks import check_learning_rate, check_positive_int
from jaxlin.train.epoch import Prepare, identity, scan_epoch
from jaxlin.train.evaluate import evaluate_sums
from jaxlin.train.rewrites import Rewrites, default_rewrites, narrow, widen
from jaxlin.train.step import Loss, Net, train_step


class SweepResult(NamedTuple):
    params: Any                   # stacked: every leaf has a leading axis of size K
    train_loss: jax.Array         # (num_epochs, K) mean training loss per epoch
    train_acc: jax.Array          # (num_epochs, K)
    test_acc: jax.Array           # (num_epochs, K)


def sgd_with_lr(lr: float) -> optax.GradientTransformation:
    """``optax.sgd`` whose learning rate lives in the optimizer state (so it can be vmapped)."""
    return optax.inject_hyperparams(optax.sgd)(learning_rate=lr)


def stack(trees: Sequence[Any]) -> Any:
    """Stack K pytrees of the same structure along a new leading axis."""
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *trees)


def unstack(tree: Any, k: int) -> Any:
    return jax.tree.map(lambda leaf: leaf[k], tree)


def init_sweep(init: Callable[[jax.Array], Any], lrs: Sequence[float], seeds: Sequence[int]
               ) -> tuple[Any, Any]:
    """Stacked params (model k from ``jax.random.key(seeds[k])``) and optimizer states (lr k)."""
    if len(lrs) != len(seeds) or not lrs:
        raise ValueError(f"need one seed per learning rate, got {len(lrs)} lrs and {len(seeds)} seeds")
    for lr in lrs:
        check_learning_rate(lr, "lr")
    params = [init(jax.random.key(s)) for s in seeds]
    states = [sgd_with_lr(lr).init(p) for lr, p in zip(lrs, params)]
    return stack(params), stack(states)


def epoch_loss(sums: dict[str, jax.Array]) -> jax.Array:
    """The epoch's mean loss per model, NaN for a model whose labels left [0, C) (as the step's)."""
    loss = sums["loss_sum"] / sums["n"]
    return jnp.where(sums["bad_labels"] > 0, jnp.nan, loss) if "bad_labels" in sums else loss


def make_sweep(net: Net, loss: Loss, batch_size: int, num_epochs: int, *,
               prepare: Prepare = identity, wide: Any = None,
               rewrites: Rewrites | None = None) -> Callable[..., SweepResult]:
    """``train(params, opt_state, X, y, X_test, y_test, key) -> SweepResult``, one compiled call.

    ``params`` and ``opt_state`` are stacked over K models (:func:`init_sweep`); the
    data and the shuffle ``key`` are shared. Epoch e uses ``fold_in(key, e)``, as ``fit``;
    an epoch with a label outside [0, C) reports a NaN train loss (whatever the ``loss``).
    The train step is ``vmap``ped over the K models. ``wide`` marks, in a pytree shaped
    like one model's params, the weight matrices that the rewrites's ``wide_weights``
    carries as one wide matrix (e.g. ``{"W": True, "b": False}``).
    """
    num_epochs = check_positive_int(num_epochs, "num_epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    rewrites = rewrites or default_rewrites()
    vstep = jax.vmap(train_step(net, loss, sgd_with_lr(1.0)), in_axes=(0, 0, None, None, None))
    veval = jax.vmap(functools.partial(evaluate_sums, net), in_axes=(0, None, None))

    def train(params, opt_state, X, y, X_test, y_test, key):
        k = jax.tree.leaves(params)[0].shape[0]
        mask = jax.tree.map(lambda _: False, params) if wide is None or not rewrites.wide_weights else wide

        def wide_step(params, opt_state, X, y, key=None):
            params, opt_state, metrics = vstep(narrow(params, mask, k), opt_state, X, y, key)
            return widen(params, mask), opt_state, metrics

        epoch = scan_epoch(wide_step, batch_size, prepare=prepare, rewrites=rewrites)
        X_test = prepare(X_test)                     # once for the sweep, not every epoch

        def one_epoch(carry, e):
            params, opt_state = carry
            params, opt_state, sums = epoch(params, opt_state, X, y, jax.random.fold_in(key, e))
            test = veval(narrow(params, mask, k), X_test, y_test)
            out = (epoch_loss(sums), sums["correct"] / sums["n"], test["correct"] / test["n"])
            return (params, opt_state), out

        (params, _), (loss_, acc, test_acc) = jax.lax.scan(
            one_epoch, (widen(params, mask), opt_state), jnp.arange(num_epochs))
        return SweepResult(narrow(params, mask, k), loss_, acc, test_acc)

    return jax.jit(train)
