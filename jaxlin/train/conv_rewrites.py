"""Convolutions and pooling rewritten as matrix products and reshapes, with the same numbers.

:func:`rewrite_convs` traces a net to its jaxpr once and evaluates it again, equation by
equation, replacing each stride-1 NHWC/HWIO ``conv_general_dilated`` by
:func:`banded_conv2d` and each non-overlapping ``reduce_window_sum`` by a reshape and a
sum; every other equation is bound as it was. Differentiation then runs through the
rewritten forms, so the train step's gradient is one of matrix products too. The reader's
LeNet (``lax.conv_general_dilated``, or ``nnx.Conv``, which calls it) is never edited.

The banded form: output row i of a (kh, kw) convolution reads input rows i … i+kh−1.
Those kh rows, each of w·c_in values, are one row of a matrix R (n·h', kh·w·c_in); the
kernel K becomes T (kh·w·c_in, w'·c_o) with T[a, v, c, j, o] = K[a, v − j, c, o] where
0 ≤ v − j < kw and 0 elsewhere. Then Y = R·T: a product XLA:CPU runs with its fast
matmul kernel, where its convolution inside a loop runs a slow generic one. Cut into
blocks of a few output columns (each with the kw − 1 input columns it also reads), R has
more rows and T fewer zeros.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.extend as jex
import jax.numpy as jnp
import numpy as np
from jax import lax

_NHWC = lax.ConvDimensionNumbers(lhs_spec=(0, 3, 1, 2), rhs_spec=(3, 2, 0, 1), out_spec=(0, 3, 1, 2))


def band_matrix(K: jax.Array, width: int) -> jax.Array:
    """T (kh·width·c_in, w'·c_o), w' = width − kw + 1, with T[a, v, c, j, o] = K[a, v − j, c, o]."""
    kh, kw, c_in, c_o = K.shape
    out_w = width - kw + 1
    shift = np.zeros((kw, width, out_w), np.float32)           # shift[b, v, j] = [v == j + b]
    for b in range(kw):
        shift[b, np.arange(out_w) + b, np.arange(out_w)] = 1
    T = jnp.einsum("bvj,abco->avcjo", shift.astype(K.dtype), K)
    return T.reshape(kh * width * c_in, out_w * c_o)


def column_block(out_w: int, most: int = 5) -> int:
    """The widest block of output columns, at most ``most``, that divides ``out_w`` (measured on
    LeNet: its 28 columns in blocks of 4 and its 10 in blocks of 5 ran fastest)."""
    return max(b for b in range(1, most + 1) if out_w % b == 0)


def banded_conv2d(X: jax.Array, K: jax.Array, padding: tuple[tuple[int, int], ...]) -> jax.Array:
    """The stride-1 NHWC cross-correlation of ``X`` with HWIO ``K``, as rows × a banded matrix.

    Each output row is cut into blocks of :func:`column_block` columns; a block reads kw − 1
    more input columns than it writes, so its banded matrix is mostly nonzero.
    """
    X = jnp.pad(X, ((0, 0), *padding, (0, 0)))
    n, h, w, c_in = X.shape
    kh, kw, _, c_o = K.shape
    out_h, out_w = h - kh + 1, w - kw + 1
    block = column_block(out_w)
    width = block + kw - 1                                               # input columns per block
    rows = jnp.stack([X[:, a:a + out_h] for a in range(kh)], axis=2)      # (n, h', kh, w, c_in)
    blocks = jnp.stack([rows[:, :, :, j:j + width] for j in range(0, out_w, block)], axis=2)
    Y = blocks.reshape(-1, kh * width * c_in) @ band_matrix(K, width)     # (n·h'·blocks, block·c_o)
    return Y.reshape(n, out_h, out_w, c_o)


def window_sum(X: jax.Array, window: tuple[int, ...]) -> jax.Array:
    """The sum over non-overlapping ``window``s (stride = window) as a reshape and a sum."""
    shape = [d for size, k in zip(X.shape, window) for d in (size // k, k)]
    return X.reshape(shape).sum(axis=tuple(range(1, 2 * X.ndim, 2)))


def _bandable(params: dict[str, Any], X: Any, K: Any) -> bool:
    return (params["dimension_numbers"] == _NHWC and params["window_strides"] == (1, 1)
            and params["lhs_dilation"] == (1, 1) and params["rhs_dilation"] == (1, 1)
            and params["feature_group_count"] == 1 and params["batch_group_count"] == 1
            and X.ndim == 4 and jnp.issubdtype(X.dtype, jnp.floating) and X.dtype == K.dtype)


def _reshapable(params: dict[str, Any], X: Any) -> bool:
    window = params["window_dimensions"]
    return (window == params["window_strides"] and all(lo == hi == 0 for lo, hi in params["padding"])
            and set(params["base_dilation"]) == {1} and set(params["window_dilation"]) == {1}
            and all(size % k == 0 for size, k in zip(X.shape, window)))


def _rewrites_any(jaxpr: Any) -> bool:
    """Whether ``jaxpr`` (or a jit call inside it) holds a convolution or a window sum."""
    return any(eqn.primitive.name in ("conv_general_dilated", "reduce_window_sum")
               or (eqn.primitive.name in ("jit", "pjit") and _rewrites_any(eqn.params["jaxpr"].jaxpr))
               for eqn in jaxpr.eqns)


def _evaluate(jaxpr: Any, consts: list, args: list, *, banded_conv: bool, pool_reshape: bool) -> list:
    """Evaluate ``jaxpr`` on ``args``, with the rewrites (recursing into nested jit calls)."""
    env: dict[Any, Any] = {}

    def read(v):
        return v.val if isinstance(v, jex.core.Literal) else env[v]

    env.update(zip(jaxpr.constvars, consts))
    env.update(zip(jaxpr.invars, args))
    for eqn in jaxpr.eqns:
        inputs, name, params = [read(v) for v in eqn.invars], eqn.primitive.name, eqn.params
        if banded_conv and name == "conv_general_dilated" and _bandable(params, *inputs):
            outputs = [banded_conv2d(*inputs, params["padding"])]
        elif pool_reshape and name == "reduce_window_sum" and _reshapable(params, *inputs):
            outputs = [window_sum(*inputs, params["window_dimensions"])]
        elif name in ("jit", "pjit"):
            inner = params["jaxpr"]
            outputs = _evaluate(inner.jaxpr, inner.consts, inputs, banded_conv=banded_conv,
                                pool_reshape=pool_reshape)
        else:
            outputs = eqn.primitive.bind(*inputs, **eqn.primitive.get_bind_params(params))
            outputs = outputs if eqn.primitive.multiple_results else [outputs]
        env.update(zip(eqn.outvars, outputs))
    return [read(v) for v in jaxpr.outvars]


def rewrite_convs(net: Callable, *, banded_conv: bool = True, pool_reshape: bool = True) -> Callable:
    """``net`` with its convolutions as banded matrix products and its pooling as reshapes; a net
    with neither is called as it is."""

    @functools.wraps(net)
    def rewritten(params: Any, X: jax.Array, **kwargs: Any) -> Any:
        def call(params, X, kwargs):
            return net(params, X, **kwargs)

        closed, shapes = jax.make_jaxpr(call, return_shape=True)(params, X, kwargs)
        if not _rewrites_any(closed.jaxpr):              # not a conv net: the program as written
            return net(params, X, **kwargs)
        out = _evaluate(closed.jaxpr, closed.consts, jax.tree.leaves((params, X, kwargs)),
                        banded_conv=banded_conv, pool_reshape=pool_reshape)
        return jax.tree.unflatten(jax.tree.structure(shapes), out)

    return rewritten


__all__ = ["band_matrix", "banded_conv2d", "column_block", "rewrite_convs", "window_sum"]
