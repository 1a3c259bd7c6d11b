"""Train K models at once: ``vmap`` of the compiled epoch over params and hyper-parameters.

Each model has its own params (from its own seed) and its own learning rate,
held in its optimizer state by ``optax.inject_hyperparams``; all K share one
batch order, so one gather feeds K models and the K matrix products become one
wider product. Training for all epochs, with a test evaluation after each, is
one compiled call.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxlin.train import Loss, Net, Prepare, _evaluator, identity, make_train_epoch
from jaxlin.validate import check_learning_rate, check_positive_int


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


def make_sweep(net: Net, loss: Loss, batch_size: int, num_epochs: int, *,
               prepare: Prepare = identity) -> Callable[..., SweepResult]:
    """``train(params, opt_state, X, y, X_test, y_test, key) -> SweepResult``, one compiled call.

    ``params`` and ``opt_state`` are stacked over K models (:func:`init_sweep`); the
    data and the shuffle ``key`` are shared. Epoch e uses ``fold_in(key, e)``, as ``fit``.
    """
    num_epochs = check_positive_int(num_epochs, "num_epochs")
    epoch = make_train_epoch(net, loss, sgd_with_lr(1.0), batch_size, prepare=prepare)
    vepoch = jax.vmap(epoch, in_axes=(0, 0, None, None, None))
    evaluate = _evaluator(net, None, prepare, 1000)
    veval = jax.vmap(evaluate, in_axes=(0, None, None))

    def train(params, opt_state, X, y, X_test, y_test, key):
        def one_epoch(carry, e):
            params, opt_state = carry
            params, opt_state, sums = vepoch(params, opt_state, X, y, jax.random.fold_in(key, e))
            test = veval(params, X_test, y_test)
            out = (sums["loss_sum"] / sums["n"], sums["correct"] / sums["n"], test["correct"] / test["n"])
            return (params, opt_state), out

        (params, _), (loss_, acc, test_acc) = jax.lax.scan(
            one_epoch, (params, opt_state), jnp.arange(num_epochs))
        return SweepResult(params, loss_, acc, test_acc)

    return jax.jit(train)
