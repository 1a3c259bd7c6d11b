"""The one shuffle: a uniformly random permutation on the device, for the data iterators
(``data_iter``, ``Batches``) and the compiled epoch alike, so both see the same batches.

Each round stably sorts the positions by random uint32 keys whose low bits are cleared;
rounds compose until at least 48 random bits were used, so ties (which keep their order)
are negligible, as in ``jax.random.permutation``. On XLA:CPU each sort is faster as one
single-array sort of keys carrying their position in the low bits (``packed``), measured by
the benchmark's rewrites table on the small models (1.4-2.5x for softmax and linear
regression on AMD Zen 5, AMD EPYC and Intel Xeon); both forms give the same permutation.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxlin.checks import check_batch_size


def packed_by_default() -> bool:
    """The packed sort on the CPU backend, where it was measured to pay; elsewhere key-value sorts."""
    return jax.default_backend() == "cpu"


def stable_argsort(keys: jax.Array, index_bits: int, packed: bool) -> jax.Array:
    """The stable ``argsort`` of uint32 ``keys`` whose low ``index_bits`` bits are zero."""
    if not packed:
        return jnp.argsort(keys, stable=True)
    low = jnp.uint32((1 << index_bits) - 1)
    return (jnp.sort(keys | jnp.arange(keys.shape[0], dtype=jnp.uint32)) & low).astype(jnp.int32)


def shuffle(key: jax.Array, n: int, *, packed: bool | None = None) -> jax.Array:
    """A uniformly random permutation of ``range(n)`` (int32), computed on the device."""
    packed = packed_by_default() if packed is None else packed
    index_bits = max(1, (n - 1).bit_length())
    if index_bits > 24:                      # too few random bits per key: one argsort
        return jnp.argsort(jax.random.bits(key, (n,), jnp.uint32)).astype(jnp.int32)
    high = ~jnp.uint32((1 << index_bits) - 1)
    perm = jnp.arange(n, dtype=jnp.int32)
    for round_key in jax.random.split(key, -(-48 // (32 - index_bits))):
        keys = jax.random.bits(round_key, (n,), jnp.uint32) & high
        perm = perm[stable_argsort(keys, index_bits, packed)]
    return perm


def epoch_indices(key: jax.Array, num_examples: int, batch_size: int, *,
                  packed: bool | None = None) -> jax.Array:
    """One epoch's batch order: a permutation from ``key`` cut into (num_batches, batch_size).

    The incomplete last batch is dropped so every step has the same shape.
    """
    check_batch_size(batch_size, num_examples)           # shapes are static: checked while tracing
    num_batches = num_examples // batch_size
    perm = shuffle(key, num_examples, packed=packed)
    return perm[: num_batches * batch_size].reshape(num_batches, batch_size)


__all__ = ["epoch_indices", "packed_by_default", "shuffle", "stable_argsort"]
