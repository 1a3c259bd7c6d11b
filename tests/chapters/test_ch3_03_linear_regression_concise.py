"""3.3 writes load_array in a cell (its first minibatch printed) and trains nnx.Linear with
optax through jaxlin.fit; the library's load_array and the linreg model of 3.2 give the same numbers."""
from __future__ import annotations

import contextlib
import io

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxlin
from conftest import chapter_namespace
from helpers import train_model

NUM_EXAMPLES, NUM_EPOCHS = 200, 2


@pytest.fixture(scope="module")
def ns(tmp_path_factory):
    out, printed = tmp_path_factory.mktemp("ch3_03"), io.StringIO()
    with contextlib.redirect_stdout(printed):
        namespace = chapter_namespace("ch3_03_linear_regression_concise",
                                      ["--epochs", str(NUM_EPOCHS), "--num-examples", str(NUM_EXAMPLES),
                                       "--out", str(out), "--quiet"])
    return namespace | {"printed": printed.getvalue()}


def same_batches(a, b):
    a, b = list(a), list(b)
    assert len(a) == len(b)
    for (Xa, ya), (Xb, yb) in zip(a, b):
        np.testing.assert_array_equal(Xa, Xb)
        np.testing.assert_array_equal(ya, yb)
    return a


def test_load_array_equals_the_librarys(ns):
    X, y = jaxlin.synthetic_data(jax.random.key(3), jnp.array([2, -3.4]), 4.2, 53)
    shuffled = same_batches(ns["load_array"]((X, y), 10, key=jax.random.key(4)),
                            jaxlin.load_array((X, y), 10, key=jax.random.key(4)))
    in_order = same_batches(ns["load_array"]((X, y), 10), jaxlin.load_array((X, y), 10))
    assert [len(b[1]) for b in shuffled] == [len(b[1]) for b in in_order] == [10] * 5 + [3]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in in_order]), X)


def test_it_prints_the_first_minibatch_and_the_books_losses(ns):
    X, y = next(iter(ns["load_array"]((ns["features"], ns["labels"]), 10, key=jax.random.key(0))))
    assert X.shape == (10, 2) and y.shape == (10, 1)
    assert ns["printed"].startswith(str((X, y)))                       # print(next(iter(data_iter)))
    for epoch in ns["state"].history:
        assert f"epoch {epoch['epoch']}, loss {epoch['train_loss']:f}" in ns["printed"]


def test_the_nnx_linear_trains_as_3_2s_linreg(ns):
    """jaxlin.fit of jaxlin.linreg from the same initial kernel and bias, with the same keys,
    loss and optimizer: the same trained weight and bias."""
    start = ns["init"](ns["init_key"])
    params = {"w": start["kernel"], "b": start["bias"]}
    np.testing.assert_allclose(jaxlin.linreg(params, ns["features"]), ns["net"](start, ns["features"]),
                               rtol=1e-6, atol=1e-6)
    result, _ = train_model(jaxlin.linreg, params, optax.l2_loss, optax.sgd(0.03), (ns["features"], ns["labels"]),
                            num_epochs=NUM_EPOCHS, batch_size=10, key=ns["shuffle_key"])
    np.testing.assert_allclose(ns["state"].params["kernel"], result.params["w"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ns["state"].params["bias"], result.params["b"], rtol=1e-5, atol=1e-6)
