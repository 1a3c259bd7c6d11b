"""Updaters: the book's minibatch SGD (D2L 3.2.6) and the one form the train step takes.

The train step accepts one kind of updater, an optax ``GradientTransformation``:
``init(params) -> state`` and ``update(grads, state, params) -> (updates, state)``,
then ``params + updates``. The book's updaters are plain functions
``updater(params, grads, batch_size) -> params`` (``functools.partial(sgd, lr=0.1)``);
:func:`as_transformation` gives them that form, so one step serves both.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxlin.checks import check_learning_rate, check_positive_int, is_concrete

BookUpdater = Callable[..., Any]
Updater = optax.GradientTransformation | BookUpdater


def sgd(params: Any, grads: Any, lr: float, batch_size: int) -> Any:
    """Minibatch SGD: p ← p − lr · g / batch_size for every leaf (eq. 3.2.10).

    ``grads`` are gradients of the *summed* minibatch loss, as in the book.
    Returns new params; nothing is mutated. Written out in
    scripts/ch3_02_linear_regression_scratch.py (3.2.6).
    """
    check_learning_rate(lr, "lr")
    if is_concrete(batch_size):
        check_positive_int(batch_size, "batch_size")
    return jax.tree.map(lambda p, g: p - lr * g / batch_size, params, grads)


def as_transformation(updater: Updater) -> optax.GradientTransformation:
    """``updater`` as an optax transformation: itself if it is one, else the book-style function wrapped.

    The step differentiates the minibatch's *mean* loss, which is the summed loss of a
    batch of one; so a book-style updater is called with ``batch_size=1`` and its new
    params become the update ``new − params``. It keeps no state (``()``).
    """
    if isinstance(updater, optax.GradientTransformation):
        return updater
    if not callable(updater):
        raise TypeError(f"updater must be an optax.GradientTransformation or a function "
                        f"updater(params, grads, batch_size) -> params, got {type(updater).__name__}")
    if isinstance(updater, functools.partial) and "lr" in updater.keywords:
        check_learning_rate(updater.keywords["lr"], "lr")     # now, not at trace time

    def update(grads: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        new_params = updater(params, grads, batch_size=1)
        return jax.tree.map(jnp.subtract, new_params, params), state

    return optax.GradientTransformation(lambda params: (), update)


def init_opt_state(updater: Updater, params: Any) -> Any:
    """The optimizer state for ``params``: optax's ``init``; ``()`` for a book-style updater."""
    return as_transformation(updater).init(params)


__all__ = ["Updater", "as_transformation", "init_opt_state", "sgd"]
