"""Data parallelism with ``jax.sharding``: the data and each batch split across devices, params replicated.

The same compiled step and epoch run on one device or many, in one process or in
several (``jax.distributed``, one process per host or per GPU; on CPU over gloo).
Given a ``mesh``, the training set is one global array split by rows over the mesh's
``"data"`` axis (:func:`shard_rows`; each process holds only its rows, see
:func:`process_rows`), params and optimizer state are replicated, and XLA's SPMD
partitioner inserts the gradient all-reduce.

The batch order is the single device's: every device computes the same global
permutation from the epoch's key, and :func:`gather_rows` assembles minibatch ``b``
(rows ``perm[b*B:(b+1)*B]``, wherever they live) with one reduce-scatter: each device
contributes the rows of the batch it holds and receives its slice of the batch.
So one device, four, or two processes see the same batches in the same order, and
their histories agree to float rounding. On one host the devices are its GPUs (or,
for testing, CPU devices from ``XLA_FLAGS=--xla_force_host_platform_device_count=4``).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

AXIS = "data"


def data_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A 1-D mesh named ``"data"`` over ``devices`` (default: every device of every process)."""
    devices = list(jax.devices() if devices is None else devices)
    return Mesh(np.array(devices), (AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec())


def batch_sharded(mesh: Mesh) -> NamedSharding:
    """Leading (example) axis split across the mesh's devices."""
    return NamedSharding(mesh, PartitionSpec(AXIS))


def replicate(tree: Any, mesh: Mesh) -> Any:
    """Put every array of ``tree`` on all the mesh's devices (every process passes the same values)."""
    return jax.device_put(tree, replicated(mesh))


def check_rows(num_rows: int, mesh: Mesh, name: str = "the training set") -> None:
    """Sharded data must split evenly across the mesh's devices."""
    if num_rows % mesh.size:
        raise ValueError(f"{name} ({num_rows} examples) must split evenly across the {mesh.size} devices "
                         f"of the mesh: drop {num_rows % mesh.size} examples, or use another number of devices")


def process_rows(mesh: Mesh, num_rows: int) -> slice:
    """The rows of a ``num_rows`` data set that this process holds when it is split over ``mesh``
    (contiguous: the mesh lists each process's devices together, as ``jax.devices()`` does)."""
    check_rows(num_rows, mesh)
    spans = [idx[0] for idx in batch_sharded(mesh).addressable_devices_indices_map((num_rows,)).values()]
    start, stop = min(s.start or 0 for s in spans), max(s.stop or num_rows for s in spans)
    if stop - start != len(spans) * (num_rows // mesh.size):
        raise ValueError("this process's devices are not contiguous in the mesh: list each process's "
                         "devices together (as jax.devices() does)")
    return slice(start, stop)


def shard_rows(tree: Any, mesh: Mesh, *, local: bool = False) -> Any:
    """Each array of ``tree`` as one global array split by rows across ``mesh``.

    ``local=False``: the arrays are whole data sets, the same in every process (each
    device keeps its rows). ``local=True``: each process passes only its rows,
    :func:`process_rows` of the whole (``jax.make_array_from_process_local_data``).
    Arrays already split so are returned as they are.
    """
    sharding = batch_sharded(mesh)

    def put(a):
        if isinstance(a, jax.Array) and a.sharding.is_equivalent_to(sharding, a.ndim):
            return a
        if local:
            rows = a.shape[0] * mesh.size // len(mesh.local_devices)
            check_rows(rows, mesh)
            return jax.make_array_from_process_local_data(sharding, np.asarray(a), (rows, *a.shape[1:]))
        check_rows(a.shape[0], mesh)
        if jax.process_count() == 1 or (isinstance(a, jax.Array) and not a.is_fully_addressable):
            return jax.device_put(a, sharding)
        host = np.asarray(a)
        return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

    return jax.tree.map(put, tree)


def place_rows(data: tuple, mesh: Mesh) -> tuple:
    """An evaluation set on ``mesh``: split by rows when it splits evenly, else replicated."""
    return shard_rows(data, mesh) if data[0].shape[0] % mesh.size == 0 else replicate(data, mesh)


def on_mesh(params: Any, opt_state: Any, train: tuple, mesh: Mesh) -> tuple:
    """``fit``'s placement: params and optimizer state replicated, the training set split by rows
    (it must split evenly)."""
    check_rows(train[0].shape[0], mesh)
    return (*replicate((params, opt_state), mesh), shard_rows(train, mesh))


def local_rows(a: Any) -> Any:
    """This process's rows of ``a`` on the host (all of it when this process holds it all)."""
    if not isinstance(a, jax.Array) or a.is_fully_addressable:
        return a
    shards = {s.index[0].start or 0: s.data for s in a.addressable_shards if s.replica_id == 0}
    return np.concatenate([np.asarray(shards[k]) for k in sorted(shards)])


def host_local(tree: Any) -> Any:
    """Replicated global arrays (params after a multi-process ``fit``) as host arrays that this
    process alone can compute with: predictions, plots, checkpoints."""
    return jax.tree.map(lambda a: np.asarray(a) if isinstance(a, jax.Array) and not a.is_fully_addressable
                        else a, tree)


def gather_rows(tree: Any, idx: jax.Array, mesh: Mesh) -> Any:
    """Inside jit: ``a[idx]`` for each array of ``tree`` split by rows over ``mesh``, the result
    split by rows too. Each device takes the rows of ``idx`` it holds (zeros for the others),
    and a reduce-scatter sums the devices' parts and hands each device its slice of the batch:
    the minibatch crosses the network once, the data set never does."""

    def local(a, idx):
        n = a.shape[0]
        j = idx - jax.lax.axis_index(AXIS) * n
        mine = ((j >= 0) & (j < n)).reshape(-1, *(1,) * (a.ndim - 1))
        rows = jnp.where(mine, a[jnp.clip(j, 0, n - 1)], jnp.zeros((), a.dtype))
        return jax.lax.psum_scatter(rows, AXIS, scatter_dimension=0, tiled=True)

    spec = PartitionSpec(AXIS)
    return jax.tree.map(lambda a: jax.shard_map(local, mesh=mesh, in_specs=(spec, PartitionSpec()),
                                                out_specs=spec)(a, idx), tree)


def constrain_batch(tree: Any, mesh: Mesh | None) -> Any:
    """Inside jit: ask for the minibatch to be split across the mesh (a no-op without one)."""
    if mesh is None:
        return tree
    return jax.lax.with_sharding_constraint(tree, batch_sharded(mesh))


def constrain_replicated(tree: Any, mesh: Mesh | None) -> Any:
    if mesh is None:
        return tree
    return jax.lax.with_sharding_constraint(tree, replicated(mesh))
