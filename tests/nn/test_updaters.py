"""The scratch ``sgd`` updater: the update equation and its argument checks."""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from helpers import BAD_LR, FEW, floats
from jaxlin import as_transformation, sgd


def test_sgd_is_the_update_equation():
    params = {"w": jnp.array([1.0, 2.0]), "b": jnp.array(0.5)}
    grads = {"w": jnp.array([10.0, -20.0]), "b": jnp.array(4.0)}
    new = sgd(params, grads, lr=0.1, batch_size=5)
    np.testing.assert_allclose(new["w"], [1.0 - 0.1 * 10 / 5, 2.0 + 0.1 * 20 / 5])
    np.testing.assert_allclose(new["b"], 0.5 - 0.1 * 4 / 5)
    np.testing.assert_allclose(params["w"], [1.0, 2.0])     # nothing mutated


@FEW
@given(shape=st.sampled_from([(1,), (3,), (2, 4)]),
       lr=st.floats(1e-4, 10.0), batch_size=st.integers(1, 512), data=st.data())
def test_sgd_is_p_minus_lr_g_over_batch_size(shape, lr, batch_size, data):
    p = {"w": data.draw(arrays(np.float32, shape, elements=floats(10))), "b": np.float32(1.5)}
    g = {"w": data.draw(arrays(np.float32, shape, elements=floats(10))), "b": np.float32(-2.0)}
    params = jax.tree.map(jnp.asarray, p)
    new = sgd(params, jax.tree.map(jnp.asarray, g), lr=lr, batch_size=batch_size)
    for name in p:
        np.testing.assert_allclose(new[name], p[name] - lr * g[name] / batch_size, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(params["w"], p["w"])                 # nothing mutated


@FEW
@given(lr=BAD_LR)
def test_sgd_rejects_a_learning_rate_that_is_not_finite_and_positive(lr):
    params = {"w": jnp.ones(2)}
    with pytest.raises(ValueError, match="lr must be a positive finite number"):
        sgd(params, params, lr=lr, batch_size=4)


@FEW
@given(batch_size=st.one_of(st.integers(-5, 0), st.sampled_from([2.5, "4", True])))
def test_sgd_rejects_a_batch_size_that_is_not_a_positive_integer(batch_size):
    params = {"w": jnp.ones(2)}
    with pytest.raises((TypeError, ValueError), match="batch_size must be a positive integer"):
        sgd(params, params, lr=0.1, batch_size=batch_size)


def test_the_books_sgd_equals_optax_sgd():
    """One step of ``partial(sgd, lr)`` through the train step's optax form equals ``optax.sgd``."""
    params = {"w": jnp.array([[1.0], [-2.0]]), "b": jnp.array([0.5])}
    grads = {"w": jnp.array([[0.3], [0.1]]), "b": jnp.array([-1.0])}
    book = as_transformation(functools.partial(sgd, lr=0.1))
    reference = optax.sgd(0.1)
    ours = optax.apply_updates(params, book.update(grads, book.init(params), params)[0])
    theirs = optax.apply_updates(params, reference.update(grads, reference.init(params), params)[0])
    jax.tree.map(functools.partial(np.testing.assert_allclose, rtol=1e-7), ours, theirs)
    jax.tree.map(functools.partial(np.testing.assert_allclose, rtol=1e-7), ours,
                 sgd(params, jax.tree.map(lambda g: 4 * g, grads), 0.1, 4))       # summed over 4 examples
