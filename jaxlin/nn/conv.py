"""Convolutions and pooling (D2L 6.2-6.5), the reusable forms of what chapter 6 writes out.

The book's small demonstrations are channel-first, one image at a time: ``corr2d(X, K)``
on an (h, w) array, ``corr2d_multi_in`` on (c, h, w). The layers that train are
channel-last (NHWC images, HWIO kernels), the layout XLA's convolutions and Flax use:
``conv2d`` is one ``lax.conv_general_dilated``. Faster forms of the same numbers for
XLA:CPU live in :mod:`jaxlin.train.rewrites`, never here.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from jaxlin.checks import check_positive_int


def corr2d(X: jax.Array, K: jax.Array) -> jax.Array:
    """2-D cross-correlation (6.2.1): Y[i, j] = Σ_a Σ_b X[i + a, j + b] · K[a, b].

    Written as a sum over the kernel's h·w positions of shifted slices of ``X``, so it is
    one vectorized expression (the book's double loop over Y is in ``ch6_02``).
    """
    h, w = K.shape
    if X.shape[0] < h or X.shape[1] < w:
        raise ValueError(f"the kernel {K.shape} is larger than the input {X.shape}")
    out_h, out_w = X.shape[0] - h + 1, X.shape[1] - w + 1
    return sum(K[a, b] * X[a:a + out_h, b:b + out_w] for a in range(h) for b in range(w))


def corr2d_multi_in(X: jax.Array, K: jax.Array) -> jax.Array:
    """Several input channels (6.4.1): the cross-correlation of each channel of ``X`` (c, h, w)
    with its kernel of ``K`` (c, kh, kw), summed over channels."""
    if X.shape[0] != K.shape[0]:
        raise ValueError(f"X has {X.shape[0]} channels, K has {K.shape[0]}")
    return sum(corr2d(x, k) for x, k in zip(X, K))


def corr2d_multi_in_out(X: jax.Array, K: jax.Array) -> jax.Array:
    """Several output channels (6.4.2): ``K`` (c_o, c_i, kh, kw) gives (c_o, h', w')."""
    return jnp.stack([corr2d_multi_in(X, k) for k in K])


def corr2d_multi_in_out_1x1(X: jax.Array, K: jax.Array) -> jax.Array:
    """A 1×1 convolution (6.4.3) as one matrix product: (c_o, c_i) · (c_i, h·w)."""
    c_i, h, w = X.shape
    return (K.reshape(K.shape[0], c_i) @ X.reshape(c_i, h * w)).reshape(-1, h, w)


def pool2d(X: jax.Array, pool_size: tuple[int, int], mode: str = "max") -> jax.Array:
    """Max or average pooling of an (h, w) array with a (p_h, p_w) window, stride 1 (6.5.1)."""
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    p_h, p_w = pool_size
    out_h, out_w = X.shape[0] - p_h + 1, X.shape[1] - p_w + 1
    windows = jnp.stack([X[a:a + out_h, b:b + out_w] for a in range(p_h) for b in range(p_w)])
    return windows.max(axis=0) if mode == "max" else windows.mean(axis=0)


def conv_output_size(n: int, k: int, padding: int = 0, stride: int = 1) -> int:
    """⌊(n − k + p + s) / s⌋ (6.3.2) with p the total padding of that side pair (2·padding)."""
    return (n - k + 2 * padding + stride) // check_positive_int(stride, "stride")


def conv2d(X: jax.Array, K: jax.Array, *, padding: int | tuple[int, int] = 0,
           stride: int | tuple[int, int] = 1) -> jax.Array:
    """A batch of NHWC images ``X`` cross-correlated with HWIO kernels ``K`` (6.3, 6.4):
    (n, h, w, c_i) → (n, h', w', c_o), each side padded with ``padding`` zeros."""
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    strides = (stride, stride) if isinstance(stride, int) else tuple(stride)
    return lax.conv_general_dilated(X, K, strides, ((ph, ph), (pw, pw)),
                                    dimension_numbers=("NHWC", "HWIO", "NHWC"))


def avg_pool2d(X: jax.Array, window: int = 2, stride: int | None = None) -> jax.Array:
    """Average pooling of NHWC images over ``window``×``window`` patches (6.5), stride = window."""
    stride = window if stride is None else stride
    dims, steps = (1, window, window, 1), (1, stride, stride, 1)
    return lax.reduce_window(X, 0.0, lax.add, dims, steps, "VALID") / (window * window)


def max_pool2d(X: jax.Array, window: int = 2, stride: int | None = None) -> jax.Array:
    """Max pooling of NHWC images over ``window``×``window`` patches (6.5), stride = window."""
    stride = window if stride is None else stride
    dims, steps = (1, window, window, 1), (1, stride, stride, 1)
    return lax.reduce_window(X, -jnp.inf, lax.max, dims, steps, "VALID")


__all__ = ["avg_pool2d", "conv2d", "conv_output_size", "corr2d", "corr2d_multi_in",
           "corr2d_multi_in_out", "corr2d_multi_in_out_1x1", "max_pool2d", "pool2d"]
