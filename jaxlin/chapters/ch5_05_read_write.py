"""File I/O (D2L 5.5): a model's parameters as an Orbax checkpoint.

Arrays, lists and dicts of arrays need nothing beyond NumPy's formats (``jnp.save`` /
``jnp.load``, ``np.savez``). A model's parameters are a pytree, which Orbax writes as
a checkpoint *directory* (TensorStore arrays plus metadata): ``StandardCheckpointer``
writes asynchronously, so it is used as a context manager, whose exit waits for the
write to finish; it refuses to overwrite an existing directory unless ``force=True``.
Restoring takes a target tree, typically abstract (``jax.ShapeDtypeStruct`` leaves from
``jax.eval_shape`` or ``nnx.eval_shape``): the model's structure, without computing it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from jaxlin.nn.trees import path_name


def save_params(directory: str | os.PathLike, params: Any, *, force: bool = False) -> Path:
    """Write ``params`` (a params dict, or an ``nnx.State``) to the checkpoint ``directory``
    and return its absolute path (Orbax needs one) once the write has finished."""
    directory = Path(directory).absolute()
    with ocp.StandardCheckpointer() as checkpointer:
        checkpointer.save(directory, params, force=force)
    return directory


def _signature(tree: Any) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """``{path: (shape, dtype)}`` of every leaf of ``tree`` (arrays, ``ShapeDtypeStruct``s or
    Orbax's ``ArrayMetadata``)."""
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {path_name(p): (tuple(leaf.shape), np.dtype(leaf.dtype)) for p, leaf in leaves}


def mismatch(stored: Any, like: Any) -> str | None:
    """The first difference between two trees' paths, shapes and dtypes, in words, or None."""
    have, want = _signature(stored), _signature(like)
    if missing := sorted(want.keys() - have.keys()):
        return f"the checkpoint has no {missing[0]!r} (it holds {sorted(have)})"
    if extra := sorted(have.keys() - want.keys()):
        return f"the model has no {extra[0]!r} (it expects {sorted(want)})"
    for path in sorted(want):
        if have[path] != want[path]:
            (s_shape, s_dtype), (w_shape, w_dtype) = have[path], want[path]
            return f"{path!r} is {s_shape} {s_dtype} in the checkpoint, the model expects {w_shape} {w_dtype}"
    return None


def load_params(directory: str | os.PathLike, like: Any) -> Any:
    """The params saved in ``directory``, restored into the structure of ``like`` (a tree of
    arrays or ``jax.ShapeDtypeStruct``s).

    The checkpoint's metadata is compared with ``like`` first, so a model that does not
    match is refused with one ``ValueError`` naming the directory, the path and both
    shapes, before any array is read."""
    directory = Path(directory).absolute()
    if not directory.is_dir():
        raise FileNotFoundError(f"no checkpoint directory {directory}")
    with ocp.StandardCheckpointer() as checkpointer:
        stored = checkpointer.metadata(directory).item_metadata.tree
        if problem := mismatch(stored, like):
            raise ValueError(f"{directory.name} does not fit this model: {problem}")
        try:
            return checkpointer.restore(directory, like)
        except ValueError as err:       # anything else Orbax refuses, said once with the name
            raise ValueError(f"{directory.name} does not fit this model: {err}") from err


__all__ = ["load_params", "mismatch", "save_params"]
