"""Deferred initialization (D2L 5.3): shapes known before any parameter is computed.

NNX builds its arrays when a module is constructed, so ``nnx.Linear`` must be given
``in_features``: there is nothing to defer. Linen keeps the book's behaviour: a module
such as ``nn.Dense(256)`` holds only its configuration, and ``init(key, X)`` traces it
on ``X`` to create each kernel as (in_features, out_features). Either way,
``jax.eval_shape`` runs ``init`` abstractly: the shapes, with no parameter computed.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp


def infer_shapes(module: nn.Module, key: jax.Array, input_shape: Sequence[int],
                 dtype: Any = jnp.float32) -> Any:
    """The variables a Linen ``module.init(key, X)`` would create for an X of ``input_shape``,
    as a tree of ``jax.ShapeDtypeStruct``: no parameter is computed and no data is needed."""
    return jax.eval_shape(module.init, key, jax.ShapeDtypeStruct(tuple(input_shape), dtype))


def abstract_params(init: Callable[[jax.Array], Any], key: jax.Array) -> Any:
    """The params tree a functional ``init(key)`` (e.g. ``nnx_model``'s) would return, as
    ``jax.ShapeDtypeStruct``s traced with ``jax.eval_shape``: shapes without computing."""
    return jax.eval_shape(init, key)


__all__ = ["abstract_params", "infer_shapes"]
