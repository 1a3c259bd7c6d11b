"""Checkpoints: params, optimizer state, epoch, PRNG key and history after every epoch.

Each checkpoint is one ``.npz`` written by :func:`jaxlin.data.io.save_pytree` (no
pickle; temporary file then rename), so a crash mid-write never leaves a half
file that a later ``--resume`` would load: only complete ``ckpt_NNNNN.npz`` files
count. The newest two are kept, and the file just saved is always the latest.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np

from jaxlin.data.io import load_pytree, match_like, save_pytree

PATTERN = re.compile(r"^ckpt_(\d+)\.npz$")
PARTIAL = re.compile(r"^\.ckpt_\d+\.npz\..*\.tmp$")   # left by a process killed mid-write


class Checkpoint(NamedTuple):
    epoch: int
    params: Any
    opt_state: Any
    key: jax.Array
    history: list[dict[str, float]]


def checkpoint_path(directory: str | os.PathLike, epoch: int) -> Path:
    return Path(directory) / f"ckpt_{epoch:05d}.npz"


def save_checkpoint(directory: str | os.PathLike, epoch: int, params: Any, opt_state: Any,
                    key: jax.Array, history: list[dict[str, float]], keep: int = 2) -> Path:
    """Atomically write the state after ``epoch``, then delete all but the newest ``keep``.

    Checkpoints of later epochs (an abandoned longer run, or one resumed from an
    earlier epoch) are deleted too, so :func:`latest_checkpoint` returns this one;
    so are temporary files left by a process killed while writing.
    """
    epoch = int(epoch)
    if epoch < 0:
        raise ValueError(f"epoch must be an integer >= 0, got {epoch}")
    tree = {"params": params, "opt_state": opt_state, "epoch": np.asarray(epoch),
            "key": jax.random.key_data(key), "history": np.asarray(json.dumps(history))}
    path = save_pytree(checkpoint_path(directory, epoch), tree)
    earlier = sorted(e for e in _epochs(directory) if e <= epoch)
    stale = [e for e in _epochs(directory) if e > epoch] + earlier[:-max(1, keep)]
    for old in stale:
        checkpoint_path(directory, old).unlink(missing_ok=True)
    for leftover in Path(directory).iterdir():
        if PARTIAL.match(leftover.name):
            leftover.unlink(missing_ok=True)
    return path


def _epochs(directory: str | os.PathLike) -> list[int]:
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return [int(m.group(1)) for p in directory.iterdir() if (m := PATTERN.match(p.name))]


def latest_checkpoint(directory: str | os.PathLike) -> Path | None:
    """The newest checkpoint file in ``directory``, or None."""
    epochs = _epochs(directory)
    return checkpoint_path(directory, max(epochs)) if epochs else None


def load_checkpoint(path: str | os.PathLike, params_like: Any, opt_state_like: Any) -> Checkpoint:
    """Read a checkpoint and check it against the model's params and optimizer state.

    A damaged file or one that does not fit the model raises ``ValueError`` naming the path.
    """
    tree = load_pytree(path)           # a damaged or truncated file: ValueError naming it
    try:
        params = match_like(tree["params"], params_like, f"{path} (params)")
        opt_state = match_like(tree["opt_state"], opt_state_like, f"{path} (optimizer state)")
        key = jax.random.wrap_key_data(np.asarray(tree["key"]))
        return Checkpoint(int(tree["epoch"]), params, opt_state, key, json.loads(str(tree["history"])))
    except (KeyError, TypeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not a jaxlin checkpoint: {err}") from None
