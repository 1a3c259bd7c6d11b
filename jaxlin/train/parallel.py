"""Data parallelism with ``jax.sharding``: the batch split across devices, params replicated.

The same compiled step and epoch run on one device or many: given a ``mesh``
they constrain each minibatch to be sharded along the mesh's ``"data"`` axis and
keep params and optimizer state replicated, and XLA's SPMD partitioner inserts
the gradient all-reduce. On one host the devices are its GPUs (or, for testing,
CPU devices from ``XLA_FLAGS=--xla_force_host_platform_device_count=4``); on
several hosts call ``jax.distributed.initialize()`` first and the mesh spans all
processes' devices.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
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
    """Put every array of ``tree`` on all the mesh's devices."""
    return jax.device_put(tree, replicated(mesh))


def constrain_batch(tree: Any, mesh: Mesh | None) -> Any:
    """Inside jit: ask for the minibatch to be split across the mesh (a no-op without one)."""
    if mesh is None:
        return tree
    return jax.lax.with_sharding_constraint(tree, batch_sharded(mesh))


def constrain_replicated(tree: Any, mesh: Mesh | None) -> Any:
    if mesh is None:
        return tree
    return jax.lax.with_sharding_constraint(tree, replicated(mesh))
