"""Adapt a Flax NNX module to jaxlin's ``(init, net)`` contract with ``nnx.split`` and ``nnx.merge``.

An NNX module is a Python object that holds its parameters. The functional form that
one jitted train step serves is its graph definition (fixed) and its ``nnx.Param``
state as a plain nested dict (the params): ``init(key) -> params`` builds the module
and returns that dict; ``net(params, X, *, key=None)`` merges it back into a module
and calls it, in evaluation mode, or in training mode with its dropout streams
seeded from ``key``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
from flax import nnx


def nnx_model(make: Callable[[nnx.Rngs], nnx.Module]
              ) -> tuple[Callable[[jax.Array], Any], Callable[..., jax.Array]]:
    """Return ``(init, net)`` for the module ``make(rngs)`` builds.

    ``make`` is called with ``nnx.Rngs(key)`` (e.g. ``lambda rngs: MLP(784, 256, 10,
    rngs=rngs)``). Its structure is traced once with ``nnx.eval_shape``; its RNG streams
    (dropout) are taken from one module built with key 0 and reseeded by every ``key``.
    """
    abstract = nnx.eval_shape(lambda: make(nnx.Rngs(0)))
    graphdef, param_state, _ = nnx.split(abstract, nnx.Param, ...)
    other_state = nnx.state(make(nnx.Rngs(0)), nnx.Not(nnx.Param))   # RNG streams: real values

    def init(key: jax.Array) -> Any:
        return nnx.to_pure_dict(nnx.state(make(nnx.Rngs(key)), nnx.Param))

    def net(params: Any, X: jax.Array, *, key: jax.Array | None = None) -> jax.Array:
        state, others = jax.tree.map(lambda leaf: leaf, (param_state, other_state))   # fresh copies
        nnx.replace_by_pure_dict(state, params)
        model = nnx.merge(graphdef, state, others)
        if key is None:
            model.eval()                       # deterministic: dropout off
        else:
            nnx.reseed(model, default=key)     # this step's masks come from ``key``
            model.train()
        return model(X)

    net.__name__ = type(abstract).__name__
    return init, net


__all__ = ["nnx_model"]
