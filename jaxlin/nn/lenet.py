"""LeNet-5 (D2L 6.6), as the book builds it: two 5×5 convolutions with sigmoid and 2×2
average pooling, then a 120-84-10 perceptron.

Images are NHWC, (n, 28, 28, 1): JAX's convolutions are channel-last, where PyTorch's
are channel-first. Weights are Xavier-uniform (the book's ``init_weights``), biases zero.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxlin.nn.activations import sigmoid
from jaxlin.nn.conv import avg_pool2d, conv2d
from jaxlin.nn.init import xavier_uniform

Params = dict[str, jax.Array]

# name: shape, for conv kernels (kh, kw, c_in, c_out), for dense layers (n_in, n_out)
LENET_SHAPES = {"K1": (5, 5, 1, 6), "K2": (5, 5, 6, 16), "W3": (400, 120), "W4": (120, 84),
                "W5": (84, 10)}


def init_lenet(key: jax.Array) -> Params:
    """``K1, K2`` (HWIO kernels), ``W3 … W5`` Xavier-uniform (eq. 4.8.5), biases ``b1 … b5`` zero."""
    keys = jax.random.split(key, len(LENET_SHAPES))
    params = {}
    for k, (name, shape) in zip(keys, LENET_SHAPES.items()):
        params[name] = xavier_uniform(k, shape)
        params["b" + name[1:]] = jnp.zeros(shape[-1])
    return params


def lenet(params: Params, X: jax.Array) -> jax.Array:
    """Logits of images ``X`` (n, 28, 28, 1): conv(5, pad 2) → σ → avgpool → conv(5) → σ →
    avgpool → flatten (400) → dense 120 → σ → dense 84 → σ → dense 10."""
    X = X.reshape(X.shape[0], 28, 28, 1)
    H = avg_pool2d(sigmoid(conv2d(X, params["K1"], padding=2) + params["b1"].reshape(1, 1, 1, -1)))
    H = avg_pool2d(sigmoid(conv2d(H, params["K2"]) + params["b2"].reshape(1, 1, 1, -1)))
    H = H.reshape(H.shape[0], -1)
    H = sigmoid(H @ params["W3"] + params["b3"].reshape(1, -1))
    H = sigmoid(H @ params["W4"] + params["b4"].reshape(1, -1))
    return H @ params["W5"] + params["b5"].reshape(1, -1)


__all__ = ["LENET_SHAPES", "init_lenet", "lenet"]
