"""The train state: what ``fit`` carries from epoch to epoch, a checkpoint saves and
``--resume`` restores."""
from __future__ import annotations

from typing import Any, NamedTuple

import jax


class TrainState(NamedTuple):
    """Everything training needs to go on: after ``epoch`` epochs, ``history`` holds one
    record per epoch, and epoch e (0-based) takes its batches from ``fold_in(key, e)``.
    A value: ``fit`` returns a new one, nothing is changed in place."""
    params: Any
    opt_state: Any
    key: jax.Array
    epoch: int = 0
    history: tuple[dict[str, float], ...] = ()


__all__ = ["TrainState"]
