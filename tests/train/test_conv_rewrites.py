"""The conv-net rewrites: banded matrix products and reshaped window sums give the numbers of
XLA's convolution and reduce_window, forward, backward and trained; nets without them are
left as they are."""
from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxlin.nn.conv import avg_pool2d, conv2d, max_pool2d
from jaxlin.nn.lenet import init_lenet, lenet
from jaxlin.nn.losses import softmax_cross_entropy
from jaxlin.nn.mlp import init_mlp, mlp
from jaxlin.nn.nnx_adapter import nnx_model
from jaxlin.nn.updaters import sgd
from jaxlin.train.conv_rewrites import banded_conv2d, rewrite_convs, window_sum
from jaxlin.train.epoch import make_train_epoch
from jaxlin.train.rewrites import CPU, PLAIN


@pytest.mark.parametrize("shape,kernel,padding", [((2, 8, 8, 1), (3, 3, 1, 1), 1),
                                                   ((2, 9, 7, 3), (5, 3, 3, 4), (2, 1)),
                                                   ((1, 6, 8, 2), (1, 2, 2, 5), 0),
                                                   ((2, 14, 14, 6), (5, 5, 6, 16), 0)])
def test_banded_conv2d_is_xlas_convolution(shape, kernel, padding):
    kx, kk = jax.random.split(jax.random.key(0))
    X, K = jax.random.normal(kx, shape), jax.random.normal(kk, kernel)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    np.testing.assert_allclose(banded_conv2d(X, K, ((ph, ph), (pw, pw))), conv2d(X, K, padding=padding),
                               rtol=1e-5, atol=1e-5)


def test_window_sum_is_reduce_window():
    X = jax.random.normal(jax.random.key(1), (2, 6, 4, 3))
    np.testing.assert_allclose(window_sum(X, (1, 2, 2, 1)) / 4, avg_pool2d(X), rtol=1e-6)


def test_lenet_rewritten_has_the_same_outputs_and_gradients():
    params, X = init_lenet(jax.random.key(0)), jax.random.uniform(jax.random.key(1), (4, 28, 28, 1))
    fast = rewrite_convs(lenet)
    np.testing.assert_allclose(fast(params, X), lenet(params, X), rtol=1e-5, atol=1e-6)
    grads = [jax.grad(lambda p, f=f: (f(p, X) ** 2).sum())(params) for f in (lenet, fast)]
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6), *grads)
    text = str(jax.make_jaxpr(fast)(params, X))
    assert "conv_general_dilated" not in text and "reduce_window_sum" not in text      # it did rewrite


def test_what_the_rewrite_cannot_do_stays_as_written():
    """Strided convolutions and max pooling keep XLA's forms, and a net without convolutions is
    called as it is (the same program)."""
    X, K = jax.random.normal(jax.random.key(2), (2, 8, 8, 2)), jax.random.normal(jax.random.key(3), (3, 3, 2, 4))

    def net(K, X):
        return max_pool2d(conv2d(X, K, padding=1, stride=2))

    text = str(jax.make_jaxpr(rewrite_convs(net))(K, X))
    assert "conv_general_dilated" in text and "reduce_window_max" in text
    np.testing.assert_allclose(rewrite_convs(net)(K, X), net(K, X), rtol=1e-6)
    params, Xf = init_mlp(jax.random.key(0)), jnp.ones((2, 784))
    assert str(jax.make_jaxpr(rewrite_convs(mlp))(params, Xf)) == str(jax.make_jaxpr(mlp)(params, Xf))


def test_an_nnx_lenet_is_rewritten_too():
    def make(rngs):
        return nnx.Sequential(nnx.Conv(1, 6, (5, 5), padding=2, rngs=rngs), nnx.sigmoid,
                              lambda x: nnx.avg_pool(x, (2, 2), strides=(2, 2)),
                              lambda x: x.reshape(x.shape[0], -1), nnx.Linear(1176, 10, rngs=rngs))

    init, net = nnx_model(make)
    params, X = init(jax.random.key(0)), jax.random.uniform(jax.random.key(1), (3, 28, 28, 1))
    text = str(jax.make_jaxpr(rewrite_convs(net))(params, X))
    assert "conv_general_dilated" not in text and "reduce_window_sum" not in text
    np.testing.assert_allclose(rewrite_convs(net)(params, X), net(params, X), rtol=1e-5, atol=1e-6)


def test_the_compiled_epoch_trains_lenet_as_the_plain_form_does():
    """Two steps of LeNet at the book's lr 0.9: the CPU rewrites (banded convolutions, reshaped
    pooling, batch_of_one) reaches the parameters the plain lax.conv_general_dilated step does."""
    X = jax.random.uniform(jax.random.key(4), (512, 28, 28, 1))
    y = jax.random.randint(jax.random.key(5), (512,), 0, 10)
    params = init_lenet(jax.random.key(6))
    trained = {}
    for name, rewrites in {"plain": PLAIN, "cpu": CPU, "no conv choices":
                           dataclasses.replace(CPU, banded_conv=False, pool_reshape=False)}.items():
        epoch = make_train_epoch(lenet, softmax_cross_entropy, functools.partial(sgd, lr=0.9), 256,
                                 rewrites=rewrites)
        trained[name] = epoch(params, (), X, y, jax.random.key(7))[0]
    moved = max(float(jnp.abs(trained["plain"][k] - params[k]).max()) for k in params)
    assert moved > 1e-3
    for name in ("cpu", "no conv choices"):
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=name),
                     trained[name], trained["plain"])
