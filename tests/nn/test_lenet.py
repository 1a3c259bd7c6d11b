"""LeNet (6.6): its params, Xavier's bounds for kernels, and its forward pass against one built
from the channel-first demonstrations of 6.2-6.5."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin.nn.conv import corr2d_multi_in_out, pool2d
from jaxlin.nn.lenet import LENET_SHAPES, init_lenet, lenet


def test_init_lenet_has_the_books_shapes_and_xavier_bounds():
    params = init_lenet(jax.random.key(0))
    assert {k: v.shape for k, v in params.items() if k[0] in "KW"} == LENET_SHAPES
    for name, shape in LENET_SHAPES.items():
        window = shape[0] * shape[1] if len(shape) == 4 else 1
        bound = math.sqrt(6 / (window * shape[-2] + window * shape[-1]))   # fans count the window
        w = params[name]
        assert float(jnp.abs(w).max()) <= bound and float(jnp.abs(w).max()) > 0.9 * bound, name
        assert float(jnp.abs(params["b" + name[1:]]).max()) == 0.0


def reference_lenet(params, image):
    """One (28, 28) image through LeNet written with corr2d and pool2d (channel-first)."""
    def sigmoid(x):
        return 1 / (1 + jnp.exp(-x))

    def block(x, K, b, pad):
        x = jnp.pad(x, ((0, 0), (pad, pad), (pad, pad)))
        y = sigmoid(corr2d_multi_in_out(x, K.transpose(3, 2, 0, 1)) + b.reshape(-1, 1, 1))
        return jnp.stack([pool2d(c, (2, 2), "avg")[::2, ::2] for c in y])

    h = block(image[None], params["K1"], params["b1"], 2)
    h = block(h, params["K2"], params["b2"], 0)
    h = h.transpose(1, 2, 0).reshape(-1)           # NHWC's flatten order: height, width, channel
    h = sigmoid(h @ params["W3"] + params["b3"])
    h = sigmoid(h @ params["W4"] + params["b4"])
    return h @ params["W5"] + params["b5"]


def test_lenet_is_the_books_net():
    params = init_lenet(jax.random.key(1))
    params = {k: v + 0.1 if k[0] == "b" else v for k, v in params.items()}      # biases count too
    X = jax.random.uniform(jax.random.key(2), (3, 28, 28, 1))
    out = lenet(params, X)
    assert out.shape == (3, 10)
    for n in range(3):
        np.testing.assert_allclose(out[n], reference_lenet(params, X[n, :, :, 0]), rtol=1e-4, atol=1e-5)
