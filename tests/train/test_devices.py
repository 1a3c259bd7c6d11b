"""5.6 devices: the CPU fallback of try_gpu and try_all_gpus."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxlin.train.devices import cpu, gpus, num_gpus, try_all_gpus, try_gpu


def test_device_fallback():
    assert num_gpus() == len(gpus())
    assert try_gpu(num_gpus()) == cpu()  # one past the last GPU: the CPU
    assert try_all_gpus() == (gpus() or [cpu()])
    assert try_gpu() in jax.devices(try_gpu().platform)
    x = jax.device_put(jnp.ones(3), try_gpu())
    assert (x + x).device == try_gpu()
