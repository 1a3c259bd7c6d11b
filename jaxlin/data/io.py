"""Safe, atomic files: array pytrees in ``.npz`` (never pickle) and JSON results.

Every write goes to a temporary file in the target directory, is flushed to disk
(``fsync``) and moved into place with ``os.replace``, and the directory is flushed
after the rename: a crash or a power cut mid-write never leaves a half file (or an
empty one under the final name) that a later run would load.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jax
import numpy as np

STRUCTURE_KEY = "__structure__"


def fsync_path(path: str | os.PathLike, *, folder: bool = False) -> None:
    """Flush ``path`` (a file, or with ``folder`` a directory's entries) to disk. A system that
    cannot flush a directory (no ``O_DIRECTORY``, or EINVAL) is left as it is."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if folder else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if folder:
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not folder:
            raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success flush it to disk, rename it to
    ``path`` and flush the folder (the rename itself)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)   # mkstemp's 0600 would make results private
    try:
        yield Path(tmp)
        fsync_path(tmp)
        os.replace(tmp, path)
        fsync_path(path.parent, folder=True)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def to_jsonable(obj: Any) -> Any:
    """Convert arrays and NumPy scalars inside ``obj`` to plain Python for ``json``."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (jax.Array, np.ndarray, np.generic)):
        return np.asarray(obj).tolist()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    return write_text(path, json.dumps(to_jsonable(obj), indent=2, allow_nan=True) + "\n")


# ------------------------------------------------------------------ pytrees

def _encode(tree: Any, leaves: dict[str, Any], as_leaf: Any = np.asarray) -> Any:
    """Describe the containers of ``tree`` as JSON; arrays go into ``leaves`` by index."""
    if isinstance(tree, dict):
        return {"dict": {str(k): _encode(v, leaves, as_leaf) for k, v in tree.items()}}
    if isinstance(tree, (list, tuple)):  # a NamedTuple (optax state) is stored as a tuple
        return {"list" if isinstance(tree, list) else "tuple": [_encode(v, leaves, as_leaf) for v in tree]}
    if tree is None:
        return {"none": None}
    name = f"leaf_{len(leaves)}"
    leaves[name] = as_leaf(tree)
    return {"leaf": name}


def _decode(spec: Any, data: Any) -> Any:
    (kind, value), = spec.items()
    if kind == "dict":
        return {k: _decode(v, data) for k, v in value.items()}
    if kind in ("list", "tuple"):
        items = [_decode(v, data) for v in value]
        return items if kind == "list" else tuple(items)
    if kind == "none":
        return None
    return data[value]


def save_pytree(path: str | os.PathLike, tree: Any) -> Path:
    """Save an array, or a dict/list/tuple tree of arrays, to ``path`` (.npz), atomically."""
    leaves: dict[str, np.ndarray] = {}
    structure = _encode(jax.device_get(tree), leaves)
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **leaves, **{STRUCTURE_KEY: np.array(json.dumps(structure))})
    return path


def _describe(leaf: Any) -> str:
    return f"shape {tuple(np.shape(leaf))} {leaf.dtype}"


def load_pytree(path: str | os.PathLike, like: Any = None) -> Any:
    """Load what :func:`save_pytree` wrote, without pickle.

    With ``like`` (a tree of the expected structure, e.g. a model's fresh params)
    the file must match it leaf for leaf; any difference raises ``ValueError``
    naming the path, the key and the expected versus found shape.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no parameter file at {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:   # not .npz, truncated
        raise ValueError(f"{path} is not a readable .npz array file: {err}") from None
    if STRUCTURE_KEY not in data:
        raise ValueError(f"{path} was not written by jaxlin.save_pytree (no {STRUCTURE_KEY})")
    tree = _decode(json.loads(str(data[STRUCTURE_KEY])), data)
    if like is None:
        return tree
    return match_like(tree, like, str(path))


def match_like(tree: Any, like: Any, source: str) -> Any:
    """Return ``tree`` restructured as ``like``; raise ``ValueError`` on a key or shape mismatch."""
    plain: dict[str, Any] = {}
    like_plain = _decode(_encode(like, plain, as_leaf=lambda x: x), plain)  # NamedTuples -> tuples
    expected = jax.tree_util.tree_flatten_with_path(like_plain)[0]
    found_keys = {jax.tree_util.keystr(k): v for k, v in jax.tree_util.tree_flatten_with_path(tree)[0]}
    expected_keys = [jax.tree_util.keystr(k) for k, _ in expected]
    missing = [k for k in expected_keys if k not in found_keys]
    extra = [k for k in found_keys if k not in expected_keys]
    if missing or extra:
        raise ValueError(f"{source} does not match the model: missing keys {missing or 'none'}, "
                         f"unexpected keys {extra or 'none'}")
    leaves = []
    for (key_path, ref) in expected:
        k = jax.tree_util.keystr(key_path)
        leaf = found_keys[k]
        dtype = ref.dtype if hasattr(ref, "dtype") else np.result_type(ref)   # an array or a number
        if np.shape(leaf) != np.shape(ref) or leaf.dtype != dtype:
            raise ValueError(f"{source}: parameter {k} has {_describe(leaf)}, the model expects "
                             f"shape {tuple(np.shape(ref))} {dtype}")
        leaves.append(jax.numpy.asarray(leaf))
    return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(like), leaves)
