"""The from-scratch Fashion-MNIST chapters write the book's code in their cells (3.6, 4.2, 4.6);
the library keeps one version of each. Same inputs, same keys: the same numbers."""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxlin
from conftest import chapter_namespace
from jaxlin.data.fashion_mnist import Batches

pytestmark = pytest.mark.data


def small_batches(data, n=2048, batch_size=256, key=jax.random.key(3)):
    """A few full training batches and a test set, as load_data_fashion_mnist gives them."""
    return (Batches(data.train_images[:n], data.train_labels[:n], batch_size, key=key),
            Batches(data.test_images[:1000], data.test_labels[:1000], batch_size))


@pytest.fixture(scope="module")
def ch3_06(fashion_mnist, tmp_path_factory):
    out = tmp_path_factory.mktemp("ch3_06")
    return chapter_namespace("ch3_06_softmax_regression_scratch", ["--epochs", "1", "--out", str(out), "--quiet"])


def test_ch3_06_prints_the_books_small_demonstrations(ch3_06):
    assert np.allclose(ch3_06["X_prob"].sum(axis=1), 1.0, atol=1e-6) and (ch3_06["X_prob"] >= 0).all()
    np.testing.assert_allclose(ch3_06["cross_entropy"](ch3_06["y_hat_toy"], ch3_06["y_toy"]),
                               [-np.log(0.1), -np.log(0.5)], rtol=1e-6)
    assert float(ch3_06["accuracy"](ch3_06["y_hat_toy"], ch3_06["y_toy"])) / 2 == 0.5
    untrained = ch3_06["evaluate_accuracy"](ch3_06["net"], ch3_06["jax"].tree.map(jnp.zeros_like, ch3_06["params"]),
                                            ch3_06["test_iter"])
    assert untrained == pytest.approx(0.1)              # all-zero weights: every class equally likely
    assert ch3_06["train_acc"] > 0.7 and ch3_06["train_loss"] < 1.0          # one epoch of its own loop


def test_ch3_06_cells_equal_the_library(ch3_06, fashion_mnist):
    ns, key = ch3_06, jax.random.key(0)
    X = jax.random.normal(key, (5, 28, 28, 1))
    params = jaxlin.init_softmax_regression(key, 784, 10, sigma=0.01)
    y = jnp.array([0, 3, 9, 1, 1])
    np.testing.assert_allclose(ns["softmax"](X.reshape(5, -1)[:, :10]), jaxlin.softmax(X.reshape(5, -1)[:, :10]))
    np.testing.assert_allclose(ns["net"](params, X), jaxlin.softmax_regression(params, X), rtol=1e-6)
    y_hat = ns["net"](params, X)
    np.testing.assert_allclose(ns["cross_entropy"](y_hat, y), jaxlin.cross_entropy(y_hat, y), rtol=1e-6)
    assert int(ns["accuracy"](y_hat, y)) == int(jaxlin.accuracy(y_hat, y))
    train_iter, test_iter = small_batches(fashion_mnist)
    assert ns["evaluate_accuracy"](ns["net"], params, test_iter) == pytest.approx(
        jaxlin.evaluate_accuracy(ns["net"], params, test_iter), abs=1e-6)   # float32 division


def test_ch3_06_train_ch3_equals_the_librarys(ch3_06, fashion_mnist):
    """The notebook's train_ch3 and jaxlin.train_ch3 (outside a run: the book's loop), from the
    same params over the same batches: the same params and history after two epochs."""
    ns = ch3_06
    params = jaxlin.init_softmax_regression(jax.random.key(5), 784, 10, sigma=0.01)
    updater = functools.partial(jaxlin.sgd, lr=0.1)
    mine = ns["train_ch3"](ns["net"], params, *small_batches(fashion_mnist), ns["cross_entropy"], 2, updater)
    theirs = jaxlin.train_ch3(ns["net"], params, *small_batches(fashion_mnist), jaxlin.cross_entropy, 2, updater)
    for a, b in zip(jax.tree.leaves(mine[0]), jax.tree.leaves(theirs.params)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert not np.allclose(mine[0]["W"], params["W"])                # it trained
    for a, b in zip(mine[1], theirs.history):
        assert a["epoch"] == b["epoch"]
        for name in ("train_loss", "train_acc", "test_acc"):
            assert a[name] == pytest.approx(b[name], abs=1e-5)


def test_ch4_02_cells_equal_the_library(fashion_mnist, tmp_path):
    ns = chapter_namespace("ch4_02_mlp_scratch", ["--epochs", "1", "--num-hiddens", "32", "--out",
                                                  str(tmp_path), "--quiet"])
    x = jnp.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_array_equal(ns["relu"](x), jaxlin.relu(x))
    grad = jax.vmap(jax.grad(ns["relu"]))(x)
    np.testing.assert_array_equal(grad, jax.vmap(jax.grad(jaxlin.relu))(x))
    assert grad.tolist() == [0, 0, 0, 1, 1]                        # the book's derivative at 0
    init_key, _ = jax.random.split(jax.random.key(0))
    reference = jaxlin.init_mlp(init_key, 784, 32, 10, sigma=0.01)
    X = jax.random.uniform(jax.random.key(2), (7, 28, 28, 1))
    np.testing.assert_allclose(ns["net"](reference, X), jaxlin.mlp(reference, X), rtol=1e-6)
    assert ns["history"][0]["test_acc"] > 0.6


def test_ch4_06_cells_equal_the_library(fashion_mnist, tmp_path):
    ns = chapter_namespace("ch4_06_dropout", ["--epochs", "1", "--out", str(tmp_path), "--quiet"])
    X, key = ns["X"], jax.random.key(7)
    for p in (0.0, 0.3, 0.5, 1.0):
        np.testing.assert_array_equal(ns["dropout_layer"](X, p, key=key), jaxlin.dropout_layer(X, p, key=key))
    kept = ns["dropout_layer"](jnp.ones((1000, 100)), 0.5, key=key)
    assert set(np.unique(kept).tolist()) == {0.0, 2.0} and abs(float((kept > 0).mean()) - 0.5) < 0.01
    init_key, _ = jax.random.split(jax.random.key(0))
    params = ns["init_params"](init_key)
    reference = jaxlin.init_mlp(init_key, 784, (256, 256), 10, sigma=0.01)
    assert jax.tree.all(jax.tree.map(lambda a, b: bool((a == b).all()), params, reference))
    images = jax.random.uniform(jax.random.key(2), (9, 28, 28, 1))
    from jaxlin.nn.mlp import mlp_dropout
    np.testing.assert_allclose(ns["net"](params, images, key=key), mlp_dropout(params, images, key=key), rtol=1e-6)
    np.testing.assert_allclose(ns["net"](params, images), mlp_dropout(params, images), rtol=1e-6)
    assert not np.allclose(ns["net"](params, images, key=key), ns["net"](params, images))   # masks while training
