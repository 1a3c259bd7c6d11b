"""Checkpoints through Orbax: one step per finished epoch in a ``CheckpointManager`` folder.

Step ``e`` of the folder holds two items: ``state`` (params, optimizer state and the
run's PRNG key data, as an Orbax pytree of arrays) and ``meta`` (JSON: our format
name, the epoch, the history and the run's settings). No pickle anywhere, and plain
``orbax.checkpoint`` reads it without jaxlin::

    ocp.CheckpointManager(folder).restore(ocp.CheckpointManager(folder).latest_step())

Orbax writes a step into a temporary folder and renames it when complete; jaxlin then
writes the step's checksum record (``jaxlin-sha256.json``, every file's digest). A step
is trusted only with that record, and only when its files match it: a kill between
Orbax's rename and the record leaves a step that :func:`latest_checkpoint` skips as
incomplete (and the next save over it removes). The newest two steps are kept, and a
step is never saved over a later complete one.

In a multi-process run (``jax.distributed``) the params and optimizer state are
replicated: process 0 alone saves them, as host arrays, and every process reads the
folder on ``--resume`` (on a cluster, a folder every host sees). Each process's
``CheckpointManager`` is its own (Orbax's ``active_processes={this process}``), so no
save or read waits on a barrier with the others.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np

from jaxlin.data.io import match_like, write_text
from jaxlin.train.parallel import host_local
from jaxlin.train.state import TrainState

FORMAT = "jaxlin checkpoint 1"
SHA256S = "jaxlin-sha256.json"       # beside the items: each file's digest, checked before reading


class Checkpoint(NamedTuple):
    """A restored step: the train state after its epoch, and the run's settings it recorded."""
    state: TrainState
    config: dict[str, Any]


def _manager(directory: str | os.PathLike, *, keep: int = 2, writing: bool = False):
    # Orbax takes ~2 s to import: only runs that checkpoint pay for it.
    import orbax.checkpoint as ocp
    me = jax.process_index()
    if writing:
        Path(directory).mkdir(parents=True, exist_ok=True)
    options = ocp.CheckpointManagerOptions(
        preservation_policy=ocp.checkpoint_managers.LatestN(n=keep), create=False,
        cleanup_tmp_directories=writing,        # a step left half-written by a killed process
        enable_async_checkpointing=False,       # a step is on disk when save returns (Ctrl-C, exit)
        multiprocessing_options=ocp.options.MultiprocessingOptions(primary_host=me, active_processes={me}))
    return ocp.CheckpointManager(Path(directory).absolute(), options=options)


def checkpoint_steps(directory: str | os.PathLike) -> list[int]:
    """Every step folder of ``directory``, complete or not, oldest first (none: ``[]``)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit() and p.is_dir())


def incomplete_steps(directory: str | os.PathLike) -> list[int]:
    """The steps of ``directory`` without their checksum record: a save that did not finish
    (or a folder not written by jaxlin); never restored."""
    return [s for s in checkpoint_steps(directory) if not (Path(directory) / str(s) / SHA256S).is_file()]


def latest_checkpoint(directory: str | os.PathLike) -> int | None:
    """The newest complete epoch saved in ``directory`` (an Orbax step with its checksum
    record), or None when there is none."""
    incomplete = set(incomplete_steps(directory))
    return max((s for s in checkpoint_steps(directory) if s not in incomplete), default=None)


def save_checkpoint(directory: str | os.PathLike, state: TrainState, *,
                    config: dict[str, Any] | None = None, keep: int = 2) -> Path:
    """Save ``state`` (after ``state.epoch`` epochs) as step ``state.epoch`` of ``directory``;
    keep the newest ``keep``.

    Refuses (``ValueError``) an epoch at or before the latest complete one saved there: an
    earlier state never replaces a later one; an incomplete step at or after ``epoch`` (no
    checksum record) is removed first. In a multi-process run only process 0 writes.
    """
    import orbax.checkpoint as ocp
    epoch = int(state.epoch)
    if epoch < 0:
        raise ValueError(f"epoch must be an integer >= 0, got {epoch}")
    if jax.process_index() != 0:                  # process 0 saves the replicated state
        return Path(directory) / str(epoch)
    latest = latest_checkpoint(directory)
    if latest is not None and epoch <= latest:
        raise ValueError(f"{directory} already holds the checkpoint of epoch {latest}; "
                         f"epoch {epoch} would not be the latest")
    for step in incomplete_steps(directory):
        if step >= epoch:                         # a save killed before its record: never trusted
            shutil.rmtree(Path(directory) / str(step))
    arrays = {"params": state.params, "opt_state": state.opt_state, "key": jax.random.key_data(state.key)}
    if jax.process_count() > 1:                   # Orbax refuses a process's own jax.Arrays there
        arrays = jax.tree.map(np.asarray, host_local(arrays))
    meta = {"format": FORMAT, "epoch": epoch, "history": list(state.history), "config": config or {}}
    with _manager(directory, keep=keep, writing=True) as manager:
        manager.save(epoch, args=ocp.args.Composite(state=ocp.args.StandardSave(arrays),
                                                    meta=ocp.args.JsonSave(meta)))
    step = Path(directory) / str(epoch)
    write_text(step / SHA256S, json.dumps(_sha256s(step), indent=1))
    return step


def load_checkpoint(directory: str | os.PathLike, like: TrainState, *,
                    epoch: int | None = None) -> Checkpoint:
    """Restore step ``epoch`` (default: the latest) of ``directory`` as a state like ``like``
    (this model's params and this updater's optimizer state).

    A folder without one, a foreign or damaged checkpoint, or one that does not fit
    the model's params or optimizer state raises ``ValueError`` naming the folder.
    """
    meta = read_meta(directory, epoch)
    epoch, source = meta["epoch"], f"{Path(directory) / str(meta['epoch'])}"
    params = match_like(_restore(directory, epoch, source, "state")["params"], like.params,
                        f"{source} (params)")
    arrays_like = {"params": params, "opt_state": like.opt_state, "key": np.zeros(2, np.uint32)}
    try:
        arrays = _restore(directory, epoch, source, "state", arrays_like)
    except ValueError:
        raise ValueError(f"{source}: its optimizer state does not fit this updater's (was it "
                         f"saved with another optimizer?)") from None
    key = jax.random.wrap_key_data(np.asarray(arrays["key"]))
    state = TrainState(params, arrays["opt_state"], key, epoch, tuple(meta["history"]))
    return Checkpoint(state, meta.get("config", {}))


def read_meta(directory: str | os.PathLike, epoch: int | None = None) -> dict[str, Any]:
    """The ``meta`` item of step ``epoch`` (default: the latest): format, epoch, history, config.

    ``ValueError`` naming the folder when there is no step or it is not a jaxlin checkpoint.
    """
    epoch = latest_checkpoint(directory) if epoch is None else epoch
    if epoch is None:
        raise ValueError(no_checkpoint(directory))
    source = f"{Path(directory) / str(epoch)}"
    meta = _restore(directory, epoch, source, "meta")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("epoch") != epoch:
        raise ValueError(f"{source} is not a jaxlin checkpoint (no '{FORMAT}' in its meta item)")
    return meta


def no_checkpoint(directory: str | os.PathLike) -> str:
    """Why ``directory`` has nothing to restore: no step at all, or only incomplete ones."""
    if not (incomplete := incomplete_steps(directory)):
        return f"{directory} holds no checkpoint"
    steps = (f"steps {', '.join(map(str, incomplete))} have" if len(incomplete) > 1
             else f"step {incomplete[0]} has")
    return (f"{directory} holds no usable checkpoint: {steps} no {SHA256S} (a save that did not "
            f"finish, or not written by jaxlin)")


def _restore(directory: str | os.PathLike, epoch: int, source: str, item: str,
             like: Any = None) -> Any:
    """One item of one step, its files verified first; Orbax's many error types become one
    ``ValueError``."""
    import orbax.checkpoint as ocp
    _verify(Path(directory) / str(epoch), item, source)
    args = (ocp.args.JsonRestore() if item == "meta" else
            ocp.args.StandardRestore(None if like is None else jax.tree.map(_abstract, like)))
    try:
        with _manager(directory) as manager:
            return manager.restore(epoch, args=ocp.args.Composite(**{item: args}))[item]
    except Exception as err:   # noqa: BLE001  (tensorstore, JSON, Orbax and OS errors alike)
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{source}: cannot read its {item!r} item (damaged, or not written by "
                         f"Orbax: {first[:160]})") from None


def _sha256s(step: Path) -> dict[str, str]:
    return {str(f.relative_to(step)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(step.rglob("*")) if f.is_file() and f.name != SHA256S}


def _verify(step: Path, item: str, source: str) -> None:
    """Compare ``item``'s files with the digests saved beside them: a damaged file is named
    here, before tensorstore reads it (whose failed reads also leave a stray traceback)."""
    recorded_file = step / SHA256S
    if not recorded_file.is_file():
        raise ValueError(f"{source}: no {SHA256S} (a save that did not finish, or not written by "
                         f"jaxlin): not trusted")
    try:
        recorded = json.loads(recorded_file.read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"{source}: {SHA256S} cannot be read ({err})") from None
    for name, digest in recorded.items():      # this item's files only, each read once
        if name.split("/")[0] != item:
            continue
        path = step / name
        if not path.is_file():
            raise ValueError(f"{source}: {name} is missing")
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            raise ValueError(f"{source}: {name} is damaged (its sha256 is not the one saved)")


def _abstract(leaf: Any) -> jax.ShapeDtypeStruct:
    dtype = leaf.dtype if hasattr(leaf, "dtype") else np.result_type(leaf)   # an array or a number
    return jax.ShapeDtypeStruct(np.shape(leaf), dtype)
