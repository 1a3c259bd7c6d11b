"""The book's ``train_ch6`` (6.6.2): ``train_ch3`` with the cross-entropy and SGD at ``lr``, on a
device, for LeNet on the loader's iterators."""
from __future__ import annotations

import functools

import jax
import numpy as np

from jaxlin import init_lenet, lenet, sgd, softmax_cross_entropy, train_ch6, try_gpu
from jaxlin.data.fashion_mnist import Batches
from jaxlin.train.step import make_train_step


def test_train_ch6_is_sgd_on_the_cross_entropy_at_lr(tmp_path):
    """Two minibatches, one epoch: the params equal a plain loop of the book's step at lr 0.9
    (another lr or loss would not), and they live on try_gpu()'s device."""
    k1, k2 = jax.random.split(jax.random.key(0))
    X = (jax.random.uniform(k1, (32, 28, 28, 1)) * 255).astype(np.uint8)
    y = jax.random.randint(k2, (32,), 0, 10)
    params = init_lenet(jax.random.key(1))
    train_iter = Batches(X, y, 16)                   # no key: the same order every pass
    trained, history = train_ch6(lenet, params, train_iter, Batches(X, y, 16), 1, 0.9,
                                 plot_path=tmp_path / "curves.png")
    step, want = make_train_step(lenet, softmax_cross_entropy, functools.partial(sgd, lr=0.9)), params
    for Xb, yb in train_iter:
        want, _, _ = step(want, (), Xb, yb)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6), trained, want)
    assert float(np.abs(trained["K1"] - params["K1"]).max()) > 1e-4        # it trained
    assert set(history[0]) == {"epoch", "train_loss", "train_acc", "test_acc"}
    assert trained["W3"].devices() == {try_gpu()}
    assert (tmp_path / "curves.png").is_file()
