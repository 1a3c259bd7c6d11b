"""Parameters as pytrees (D2L 5.2, 5.3): list them, re-initialize them, infer their shapes.

A model's parameters are a nested dict such as ``{"layers_0": {"kernel": ..., "bias": ...}}``;
every function here returns a new tree and never mutates its input.
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxlin.nn.trees import key_name, path_name

Initializer = Callable[[jax.Array, Sequence[int], Any], jax.Array]


def named_parameters(params: Any) -> list[tuple[str, tuple[int, ...]]]:
    """``[(path, shape), ...]`` for every leaf (an array or a ``ShapeDtypeStruct``), in the tree's
    (sorted-key) order."""
    leaves = jax.tree_util.tree_flatten_with_path(params)[0]
    return [(path_name(p), tuple(jnp.shape(leaf))) for p, leaf in leaves]


def num_parameters(params: Any) -> int:
    """The total number of scalars in ``params``."""
    return sum(int(jnp.size(leaf)) for leaf in jax.tree.leaves(params))


def reinit(key: jax.Array, params: Any, kernel_init: Initializer,
           bias_init: Initializer = nn.initializers.zeros, *,
           layers: Collection[str] | None = None) -> Any:
    """Return ``params`` with every ``kernel`` drawn from ``kernel_init`` and every ``bias`` from
    ``bias_init`` (the book's ``net.apply(init_fn)``), each leaf with its own subkey.

    ``layers`` restricts this to layers whose path (e.g. ``"layers_2"`` or
    ``"layers_0/layers_1/layers_0"``) is listed; other leaves are kept.
    """
    leaves, treedef = jax.tree_util.tree_flatten_with_path(params)
    keys = jax.random.split(key, max(len(leaves), 1))
    new = []
    for k, (path, leaf) in zip(keys, leaves):
        layer, name = path_name(path[:-1]), key_name(path[-1])
        if layers is None or layer in layers:
            if name == "kernel":
                leaf = kernel_init(k, jnp.shape(leaf), jnp.result_type(leaf))
            elif name == "bias":
                leaf = bias_init(k, jnp.shape(leaf), jnp.result_type(leaf))
        new.append(leaf)
    return jax.tree_util.tree_unflatten(treedef, new)


def infer_shapes(module: nn.Module, key: jax.Array, input_shape: Sequence[int],
                 dtype: Any = jnp.float32) -> Any:
    """The variables ``module.init(key, X)`` would create for an X of ``input_shape``, as a
    tree of ``jax.ShapeDtypeStruct`` traced with ``jax.eval_shape``: no parameter is
    computed and no input data is needed."""
    return jax.eval_shape(module.init, key, jax.ShapeDtypeStruct(tuple(input_shape), dtype))
