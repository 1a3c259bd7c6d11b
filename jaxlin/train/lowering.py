"""Lowering choices: the same numbers, arranged so that XLA compiles a faster program.

The step, the epoch and the sweep are written plainly; a :class:`Lowering` says which
of these rewrites they get. Each one keeps every number the same (the tests check it)
and is a switch of the benchmark (``scripts/bench_jit_vs_eager.py --lowering``), whose
figures the README reports. :data:`CPU` holds those that paid on XLA:CPU, and
:func:`default_lowering` applies it on the CPU backend only; elsewhere the plain forms run.

* ``batch_of_one``: the step runs as a batch of one model, ``vmap`` over a size-1
  axis of params. With a model axis, XLA:CPU writes each weight gradient XᵀG as a
  batched matmul that it sends to its YNNPACK kernel rather than a transposed dot.
* ``row_gather``: a minibatch is gathered as whole rows of ``X`` viewed as
  (N, features), then reshaped, instead of gathering (N, 28, 28, 1) images (off in
  :data:`CPU`: with today's XLA:CPU it no longer pays).
* ``wide_weights`` (the sweep): K stacked weight matrices (K, n, m) are carried as one
  (n, K·m) matrix, so K forward products are one product with no copy of the weights.
* ``banded_conv`` (conv nets): every stride-1 NHWC convolution of the net becomes one
  matrix product, output rows × a banded matrix built from the kernel
  (:mod:`jaxlin.train.conv_lowering`); XLA:CPU's own convolution is far slower inside a
  ``lax.scan`` (jax-ml/jax#12868). Applies only to nets that have convolutions.
* ``pool_reshape`` (conv nets): a non-overlapping window sum (average pooling) becomes a
  reshape and a sum.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxlin.train.conv_lowering import rewrite_convs

Step = Callable[..., tuple[Any, Any, dict]]


@dataclasses.dataclass(frozen=True)
class Lowering:
    batch_of_one: bool = False
    row_gather: bool = False
    wide_weights: bool = False
    banded_conv: bool = False
    pool_reshape: bool = False

    def net(self, net: Callable) -> Callable:
        """The model as this lowering runs it: its convolutions and pooling rewritten (conv nets)."""
        if not (self.banded_conv or self.pool_reshape):
            return net
        return rewrite_convs(net, banded_conv=self.banded_conv, pool_reshape=self.pool_reshape)

    def step(self, step: Step) -> Step:
        """The train step as this lowering runs it."""
        return batch_of_one(step) if self.batch_of_one else step

    def gather(self, X: jax.Array, idx: jax.Array) -> jax.Array:
        """``X[idx]``."""
        if not self.row_gather:
            return X[idx]
        return X.reshape(X.shape[0], -1)[idx].reshape(idx.shape + X.shape[1:])


PLAIN = Lowering()
CPU = Lowering(batch_of_one=True, row_gather=False, wide_weights=True,
               banded_conv=True, pool_reshape=True)


def default_lowering() -> Lowering:
    """:data:`CPU` on the CPU backend, where each choice was measured to pay; else :data:`PLAIN`."""
    return CPU if jax.default_backend() == "cpu" else PLAIN


def batch_of_one(step: Step) -> Step:
    """The same step, run as a batch of one model: ``vmap`` over a size-1 axis of params and state."""

    def step_of_one(params, opt_state, X, y, key=None):
        one = jax.tree.map(lambda a: a[None], (params, opt_state))
        out = jax.vmap(step, in_axes=(0, 0, None, None, None))(*one, X, y, key)
        return jax.tree.map(lambda a: a[0], out)

    return step_of_one


def widen(tree: Any, wide: Any) -> Any:
    """Stacked leaves marked True in ``wide``, (K, ..., m), laid out as (..., K·m)."""
    return jax.tree.map(lambda a, w: jnp.moveaxis(a, 0, -2).reshape(*a.shape[1:-1], -1) if w else a,
                        tree, wide)


def narrow(tree: Any, wide: Any, k: int) -> Any:
    """Undo :func:`widen`: (..., K·m) back to (K, ..., m)."""
    return jax.tree.map(lambda a, w: jnp.moveaxis(a.reshape(*a.shape[:-1], k, -1), -2, 0) if w else a,
                        tree, wide)


__all__ = ["CPU", "PLAIN", "Lowering", "batch_of_one", "default_lowering", "narrow", "widen"]
