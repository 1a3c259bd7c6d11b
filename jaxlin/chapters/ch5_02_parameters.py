"""Parameter management (D2L 5.2): list, count, initialize, re-initialize and tie parameters.

Two views of the same numbers:

* **the NNX module**, an object holding ``nnx.Param``s: ``model.layers[2].kernel[...]``
  reads one, and ``model.layers[2].kernel[...] = W`` changes it *in place*, as the
  book's ``weight.data[:] = ...`` does. The change is local to that Python object and
  seen through every reference to it: a layer used twice changes in both places, and
  an ``nnx.State`` from ``nnx.state(model)`` holds the same ``Variable`` objects, so it
  changes too. A copy (``nnx.clone``) or a params dict taken before is not affected.
* **the params dict** (``nnx.to_pure_dict(nnx.state(model, nnx.Param))``, what
  ``nnx_model``'s ``init`` returns): a value. Functions such as :func:`reinit` return a
  new dict and never mutate their input, which is what ``jax.jit`` and ``jax.grad``
  need.

:func:`named_parameters` and :func:`num_parameters` accept either.
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from jaxlin.nn.trees import key_name, path_name

Initializer = Callable[[jax.Array, Sequence[int], Any], jax.Array]


def params_of(model_or_params: Any) -> Any:
    """The ``nnx.Param``s of a module as a plain nested dict; any other pytree as it is."""
    if isinstance(model_or_params, nnx.Module):
        return nnx.to_pure_dict(nnx.state(model_or_params, nnx.Param))
    return model_or_params


def named_parameters(model_or_params: Any) -> list[tuple[str, tuple[int, ...]]]:
    """``[(path, shape), ...]`` for every parameter (an array or a ``ShapeDtypeStruct``), in the
    tree's (sorted-key) order; a shared layer appears once, under its first path."""
    leaves = jax.tree_util.tree_flatten_with_path(params_of(model_or_params))[0]
    return [(path_name(p), tuple(jnp.shape(leaf))) for p, leaf in leaves]


def num_parameters(model_or_params: Any) -> int:
    """The total number of scalars in the parameters (a shared layer counts once)."""
    return sum(int(jnp.size(leaf)) for leaf in jax.tree.leaves(params_of(model_or_params)))


def my_init(key: jax.Array, shape: Sequence[int], dtype: Any = jnp.float32) -> jax.Array:
    """The book's custom initializer: w ~ U(−10, 10), then w ← w · 1[|w| ≥ 5].

    A Flax initializer ``(key, shape, dtype)``: pass it as ``kernel_init`` to ``nnx.Linear``,
    or to :func:`reinit` / :func:`reinit_`."""
    w = jax.random.uniform(key, tuple(shape), dtype, -10.0, 10.0)
    return jnp.where(jnp.abs(w) >= 5, w, jnp.zeros_like(w))


def reinit(key: jax.Array, params: Any, kernel_init: Initializer,
           bias_init: Initializer = nnx.initializers.zeros, *,
           layers: Collection[str] | None = None) -> Any:
    """A new params dict with every ``kernel`` drawn from ``kernel_init`` and every ``bias`` from
    ``bias_init`` (the book's ``net.apply(init_fn)``, as a pure function), each leaf with its
    own subkey; ``params`` itself is unchanged.

    ``layers`` restricts this to layers whose path (e.g. ``"layers/2"``) is listed.
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


def reinit_(model: nnx.Module, key: jax.Array, kernel_init: Initializer,
            bias_init: Initializer = nnx.initializers.zeros, *,
            layers: Collection[str] | None = None) -> nnx.Module:
    """Re-initialize every ``nnx.Linear`` of ``model`` *in place* (the NNX way; the trailing
    ``_`` is PyTorch's mark of an in-place operation) and return it.

    ``nnx.iter_modules`` visits each module once, so a shared layer is drawn once.
    ``layers`` restricts this to modules whose path (e.g. ``"layers/2"``) is listed.
    """
    for path, module in nnx.iter_modules(model):
        if isinstance(module, nnx.Linear) and (layers is None or path_name(path) in layers):
            key, key_kernel, key_bias = jax.random.split(key, 3)
            module.kernel[...] = kernel_init(key_kernel, module.kernel.shape, module.kernel.dtype)
            if module.bias is not None:
                module.bias[...] = bias_init(key_bias, module.bias.shape, module.bias.dtype)
    return model


def tied_mlp(num_inputs: int = 4, num_hiddens: int = 8, *, rngs: nnx.Rngs) -> nnx.Sequential:
    """Linear(4, h) → relu → shared → relu → shared → relu → Linear(h, 1), where ``shared`` is
    one ``nnx.Linear(h, h)`` object used twice.

    NNX's graph sees the same object at ``layers/2`` and ``layers/4`` and keeps it once:
    ``nnx.state(model, nnx.Param)`` holds one kernel and bias for it, and their gradient
    is the sum of the gradients of both uses."""
    shared = nnx.Linear(num_hiddens, num_hiddens, rngs=rngs)
    return nnx.Sequential(nnx.Linear(num_inputs, num_hiddens, rngs=rngs), nnx.relu, shared, nnx.relu,
                          shared, nnx.relu, nnx.Linear(num_hiddens, 1, rngs=rngs))


def untie(model: nnx.Sequential) -> nnx.Sequential:
    """A copy of a Sequential in which every layer is its own object (``nnx.clone`` per layer):
    a tied layer becomes two layers that start with the same values."""
    return nnx.Sequential(*(nnx.clone(layer) if isinstance(layer, nnx.Module) else layer
                            for layer in model.layers))


def first_dead_layer(layers: Sequence[Callable[[jax.Array], jax.Array]], X: jax.Array) -> list[int | None]:
    """For each row of ``X``, the index of the first of ``layers`` (applied in turn) whose output
    is all zeros for that row, e.g. a block ending in ReLUs that are all off; None where none is.

    After such a layer the row carries no signal: each later ``Linear`` returns its bias, and
    NNX starts biases at zero, so the network's output for that row is exactly 0.
    """
    h, dead = X, [None] * X.shape[0]
    for i, layer in enumerate(layers):
        h = layer(h)
        zero = ~jnp.any(h.reshape(h.shape[0], -1) != 0, axis=1)
        dead = [i if d is None and bool(z) else d for d, z in zip(dead, zero)]
    return dead


__all__ = ["first_dead_layer", "my_init", "named_parameters", "num_parameters", "params_of", "reinit", "reinit_",
           "tied_mlp", "untie"]
