"""Checkpoints: params, optimizer state, epoch, PRNG key and history after every epoch.

Each checkpoint is one ``.npz`` written by :func:`jaxlin.io.save_pytree` (no
pickle; temporary file then rename), so a crash mid-write never leaves a half
file that a later ``--resume`` would load. The newest two are kept.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np

from jaxlin.io import load_pytree, match_like, save_pytree

PATTERN = re.compile(r"^ckpt_(\d+)\.npz$")


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
    """Atomically write the state after ``epoch`` and delete all but the newest ``keep``."""
    tree = {"params": params, "opt_state": opt_state, "epoch": np.asarray(epoch),
            "key": jax.random.key_data(key), "history": np.asarray(json.dumps(history))}
    path = save_pytree(checkpoint_path(directory, epoch), tree)
    for old in sorted(_epochs(directory))[:-keep]:
        checkpoint_path(directory, old).unlink(missing_ok=True)
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
    """Read a checkpoint and check it against the model's params and optimizer state."""
    tree = load_pytree(path)
    try:
        params = match_like(tree["params"], params_like, f"{path} (params)")
        opt_state = match_like(tree["opt_state"], opt_state_like, f"{path} (optimizer state)")
        key = jax.random.wrap_key_data(np.asarray(tree["key"]))
        return Checkpoint(int(tree["epoch"]), params, opt_state, key, json.loads(str(tree["history"])))
    except (KeyError, TypeError) as err:
        raise ValueError(f"{path} is not a jaxlin checkpoint: {err}") from None
