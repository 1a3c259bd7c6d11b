"""Adapt a Flax Linen module to jaxlin's ``(init, net)`` contract.

``init(key, X) -> params`` and ``net(params, X, *, key=None) -> outputs``: the same
form as the scratch models, so one jitted train step and one evaluation serve both.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax


def _takes_train(module: nn.Module) -> bool:
    return "train" in inspect.signature(type(module).__call__).parameters


def flax_model(module: nn.Module) -> tuple[Callable[..., Any], Callable[..., jax.Array]]:
    """Return ``(init, net)`` for a Linen ``module``.

    Modules with stochastic layers declare ``__call__(self, x, train: bool = False)``;
    ``net`` passes ``train=True`` and the dropout rng only when given a ``key``.
    """
    takes_train = _takes_train(module)

    def init(key: jax.Array, X: jax.Array) -> Any:
        return module.init(key, X)["params"]

    def net(params: Any, X: jax.Array, *, key: jax.Array | None = None) -> jax.Array:
        if key is None:
            return module.apply({"params": params}, X)
        if not takes_train:
            raise TypeError(f"{type(module).__name__} has no `train` argument: it takes no key")
        return module.apply({"params": params}, X, train=True, rngs={"dropout": key})

    net.__name__ = type(module).__name__
    return init, net
