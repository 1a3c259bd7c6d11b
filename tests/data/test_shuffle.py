"""The one shuffle (data layer): a uniform permutation, the packed and key-value sorts alike."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxlin.data.shuffle import epoch_indices, shuffle, stable_argsort


def test_shuffle_is_a_permutation_and_depends_on_the_key():
    for n in (1, 5, 1000, 60000):
        p = np.asarray(shuffle(jax.random.key(0), n))
        assert p.dtype == np.int32 and np.array_equal(np.sort(p), np.arange(n))
    assert not np.array_equal(shuffle(jax.random.key(0), 1000), shuffle(jax.random.key(1), 1000))


@pytest.mark.parametrize("packed", [True, False])
def test_shuffle_is_uniform_chi_square(packed):
    """Where element 0 lands over 8000 keys, for n = 8: a chi-square test against uniform."""
    positions = np.asarray(jax.vmap(lambda k: jnp.argmax(shuffle(k, 8, packed=packed) == 0))(
        jax.random.split(jax.random.key(2), 8000)))
    observed = np.bincount(positions, minlength=8)
    chi2 = ((observed - 1000.0) ** 2 / 1000.0).sum()
    assert chi2 < 24.3                      # the 0.999 quantile of chi-square with 7 degrees of freedom


def test_shuffle_reaches_every_order_evenly():
    perms = np.asarray(jax.vmap(lambda k: shuffle(k, 4))(jax.random.split(jax.random.key(3), 24000)))
    _, freq = np.unique(perms, axis=0, return_counts=True)
    assert len(freq) == 24 and freq.min() > 0.8 * len(perms) / 24


@pytest.mark.parametrize("n", [1, 2, 7, 1000, 60000])
def test_the_packed_and_key_value_sorts_give_the_same_permutation(n):
    for seed in range(3):
        key = jax.random.key(seed)
        np.testing.assert_array_equal(shuffle(key, n, packed=True), shuffle(key, n, packed=False))


def test_stable_argsort_keeps_ties_in_order_both_ways():
    keys = jnp.array([3, 1, 3, 0, 1, 3], jnp.uint32) << 8          # ties, low 8 bits clear
    expected = np.argsort(np.asarray(keys), kind="stable")
    for packed in (True, False):
        np.testing.assert_array_equal(stable_argsort(keys, 8, packed), expected)


def test_epoch_indices_cut_a_permutation_into_full_batches():
    idx = np.asarray(epoch_indices(jax.random.key(0), 1000, 32))
    assert idx.shape == (31, 32) and len(np.unique(idx)) == 31 * 32
    np.testing.assert_array_equal(idx.reshape(-1), np.asarray(shuffle(jax.random.key(0), 1000))[:992])
    with pytest.raises(ValueError, match="batch_size=33 is larger than the data set"):
        epoch_indices(jax.random.key(0), 32, 33)
