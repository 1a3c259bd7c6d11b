"""The train step (D2L 3.2.7): gradient and update in one jitted pure function.

Every model follows one contract, scratch and Flax alike::

    params = init(key, ...)          # a pytree
    y_hat = net(params, X)           # deterministic forward pass
    y_hat = net(params, X, key=k)    # stochastic forward pass (dropout), only when trained

The updater is an optax transformation or a book-style function such as
``functools.partial(sgd, lr=0.1)`` (see :func:`jaxlin.nn.updaters.as_transformation`).
The indexed step, the compiled epoch and the sweep are all built from :func:`train_step`.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxlin.checks import check_callable, check_scaled, classifies
from jaxlin.nn.updaters import Updater, as_transformation

Net = Callable[..., jax.Array]
Loss = Callable[[jax.Array, jax.Array], jax.Array]
Penalty = Callable[[Any], jax.Array]
Step = Callable[..., tuple[Any, Any, dict]]


def no_penalty(params: Any) -> float:
    return 0.0


def apply_net(net: Net, params: Any, X: jax.Array, key: jax.Array | None = None) -> jax.Array:
    """``net(params, X)``, or ``net(params, X, key=key)`` for a stochastic pass; raw uint8
    pixels are refused (while tracing: it costs nothing at run time)."""
    check_scaled(X)
    return net(params, X) if key is None else net(params, X, key=key)


def batch_metrics(y_hat: jax.Array, y: jax.Array, losses: jax.Array) -> dict[str, jax.Array]:
    """The batch's mean ``loss``, and sums: ``loss_sum``, ``n`` and, for classifiers, ``correct``
    and ``bad_labels`` (labels outside [0, C): the loss is then NaN, never a finite wrong number)."""
    n = jnp.asarray(y.shape[0], jnp.float32)
    metrics = {"loss": losses.sum() / n, "loss_sum": losses.sum(), "n": n}
    if classifies(y_hat, y):
        metrics["correct"] = (jnp.argmax(y_hat, axis=1) == y).sum().astype(jnp.float32)
        bad = ((y < 0) | (y >= y_hat.shape[1])).sum().astype(jnp.float32)
        metrics |= {"bad_labels": bad, "loss": jnp.where(bad > 0, jnp.nan, metrics["loss"])}
    return metrics


def train_step(net: Net, loss: Loss, updater: Updater, *, penalty: Penalty | None = None) -> Step:
    """The pure step ``step(params, opt_state, X, y, key=None) -> (params, opt_state, metrics)``.

    It descends the minibatch's mean loss plus ``penalty(params)`` (e.g. λ‖w‖²/2 for
    weight decay, eq. 4.5.2); ``metrics`` report the data loss alone.
    """
    tx = as_transformation(updater)
    penalty = no_penalty if penalty is None else check_callable(penalty, "penalty")

    def objective(params, X, y, key):
        y_hat = apply_net(net, params, X, key)
        losses = loss(y_hat, y)
        return losses.mean() + penalty(params), (y_hat, losses)

    def step(params, opt_state, X, y, key=None):
        grads, (y_hat, losses) = jax.grad(objective, has_aux=True)(params, X, y, key)
        updates, opt_state = tx.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return params, opt_state, batch_metrics(y_hat, y, losses)

    return step


def make_train_step(net: Net, loss: Loss, updater: Updater, *, penalty: Penalty | None = None) -> Step:
    """:func:`train_step`, jitted: one XLA call per minibatch; same-shaped batches compile once."""
    return jax.jit(train_step(net, loss, updater, penalty=penalty))


__all__ = ["Loss", "Net", "Penalty", "Step", "apply_net", "batch_metrics", "make_train_step",
           "train_step"]
