"""Checkpoints through Orbax: one step per finished epoch in a ``CheckpointManager`` folder.

Step ``e`` of the folder holds two items: ``state`` (params, optimizer state and the
run's PRNG key data, as an Orbax pytree of arrays) and ``meta`` (JSON: our format
name, the epoch, the history and the run's settings). No pickle anywhere, and plain
``orbax.checkpoint`` reads it without jaxlin::

    ocp.CheckpointManager(folder).restore(ocp.CheckpointManager(folder).latest_step())

Orbax writes a step into a temporary folder and renames it when complete, so a crash
mid-write never leaves a step that a later ``--resume`` would load. The newest two
steps are kept, and a step is never saved over a later one.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np

from jaxlin.data.io import match_like

FORMAT = "jaxlin checkpoint 1"


class Checkpoint(NamedTuple):
    epoch: int
    params: Any
    opt_state: Any
    key: jax.Array
    history: list[dict[str, float]]
    config: dict[str, Any]


def _manager(directory: str | os.PathLike, *, keep: int = 2, writing: bool = False):
    # Orbax takes ~2 s to import: only runs that checkpoint pay for it.
    import orbax.checkpoint as ocp
    options = ocp.CheckpointManagerOptions(
        preservation_policy=ocp.checkpoint_managers.LatestN(n=keep), create=writing,
        cleanup_tmp_directories=writing,        # a step left half-written by a killed process
        enable_async_checkpointing=False)      # a step is on disk when save returns (Ctrl-C, exit)
    return ocp.CheckpointManager(Path(directory).absolute(), options=options)


def latest_checkpoint(directory: str | os.PathLike) -> int | None:
    """The newest epoch saved in ``directory`` (an Orbax step), or None when there is none."""
    directory = Path(directory)
    if not directory.is_dir() or not any(p.name.isdigit() for p in directory.iterdir()):
        return None
    with _manager(directory) as manager:
        return manager.latest_step()


def save_checkpoint(directory: str | os.PathLike, epoch: int, params: Any, opt_state: Any,
                    key: jax.Array, history: list[dict[str, float]], *,
                    config: dict[str, Any] | None = None, keep: int = 2) -> Path:
    """Save the state after ``epoch`` as step ``epoch`` of ``directory``; keep the newest ``keep``.

    Refuses (``ValueError``) an epoch at or before the latest one saved there: an earlier
    state never replaces a later one.
    """
    import orbax.checkpoint as ocp
    epoch = int(epoch)
    if epoch < 0:
        raise ValueError(f"epoch must be an integer >= 0, got {epoch}")
    latest = latest_checkpoint(directory)
    if latest is not None and epoch <= latest:
        raise ValueError(f"{directory} already holds the checkpoint of epoch {latest}; "
                         f"epoch {epoch} would not be the latest")
    state = {"params": params, "opt_state": opt_state, "key": jax.random.key_data(key)}
    meta = {"format": FORMAT, "epoch": epoch, "history": history, "config": config or {}}
    with _manager(directory, keep=keep, writing=True) as manager:
        manager.save(epoch, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                                    meta=ocp.args.JsonSave(meta)))
    return Path(directory) / str(epoch)


def load_checkpoint(directory: str | os.PathLike, params_like: Any, opt_state_like: Any, *,
                    epoch: int | None = None) -> Checkpoint:
    """Restore step ``epoch`` (default: the latest) of ``directory`` as this model's state.

    A folder without one, a foreign or damaged checkpoint, or one that does not fit
    the model's params or optimizer state raises ``ValueError`` naming the folder.
    """
    meta = read_meta(directory, epoch)
    epoch, source = meta["epoch"], f"{Path(directory) / str(meta['epoch'])}"
    params = match_like(_restore(directory, epoch, source, "state")["params"], params_like,
                        f"{source} (params)")
    like = {"params": params, "opt_state": opt_state_like, "key": np.zeros(2, np.uint32)}
    try:
        state = _restore(directory, epoch, source, "state", like)
    except ValueError:
        raise ValueError(f"{source}: its optimizer state does not fit this updater's (was it "
                         f"saved with another optimizer?)") from None
    return Checkpoint(epoch, params, state["opt_state"],
                      jax.random.wrap_key_data(np.asarray(state["key"])), meta["history"],
                      meta.get("config", {}))


def read_meta(directory: str | os.PathLike, epoch: int | None = None) -> dict[str, Any]:
    """The ``meta`` item of step ``epoch`` (default: the latest): format, epoch, history, config.

    ``ValueError`` naming the folder when there is no step or it is not a jaxlin checkpoint.
    """
    epoch = latest_checkpoint(directory) if epoch is None else epoch
    if epoch is None:
        raise ValueError(f"{directory} holds no checkpoint")
    source = f"{Path(directory) / str(epoch)}"
    meta = _restore(directory, epoch, source, "meta")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("epoch") != epoch:
        raise ValueError(f"{source} is not a jaxlin checkpoint (no '{FORMAT}' in its meta item)")
    return meta


def _restore(directory: str | os.PathLike, epoch: int, source: str, item: str,
             like: Any = None) -> Any:
    """One item of one step; Orbax's many error types become one ``ValueError``."""
    import orbax.checkpoint as ocp
    args = (ocp.args.JsonRestore() if item == "meta" else
            ocp.args.StandardRestore(None if like is None else jax.tree.map(_abstract, like)))
    try:
        with _manager(directory) as manager:
            return manager.restore(epoch, args=ocp.args.Composite(**{item: args}))[item]
    except Exception as err:   # noqa: BLE001  (tensorstore, JSON, Orbax and OS errors alike)
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{source}: cannot read its {item!r} item (damaged, or not written by "
                         f"Orbax: {first[:160]})") from None


def _abstract(leaf: Any) -> jax.ShapeDtypeStruct:
    dtype = leaf.dtype if hasattr(leaf, "dtype") else np.result_type(leaf)   # an array or a number
    return jax.ShapeDtypeStruct(np.shape(leaf), dtype)
