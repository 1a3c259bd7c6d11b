"""Devices (D2L 5.6, written out in ``scripts/ch5_06_use_gpu.py``; 6.6's ``train_ch6`` uses
``try_gpu``): pick a GPU when one is present, else the CPU, with no branches elsewhere.

JAX places every array on a device; ``jax.device_put(x, device)`` moves it and
computation runs where its (committed) inputs live.
"""
from __future__ import annotations

import jax


def cpu() -> jax.Device:
    """The first CPU device."""
    return jax.devices("cpu")[0]


def gpus() -> list[jax.Device]:
    """All GPU devices, or ``[]`` when JAX has no GPU backend."""
    try:
        return list(jax.devices("gpu"))
    except RuntimeError:  # no GPU platform: jax.devices("gpu") raises instead of returning []
        return []


def num_gpus() -> int:
    """The number of GPUs JAX can use."""
    return len(gpus())


def try_gpu(i: int = 0) -> jax.Device:
    """GPU ``i`` if it exists, else the CPU."""
    available = gpus()
    return available[i] if 0 <= i < len(available) else cpu()


def try_all_gpus() -> list[jax.Device]:
    """All GPUs, or ``[cpu()]`` when there are none."""
    return gpus() or [cpu()]


__all__ = ["cpu", "gpus", "num_gpus", "try_all_gpus", "try_gpu"]
