"""Rewrites: the same numbers, arranged so that XLA compiles a faster program.

The step, the epoch and the sweep are written plainly; a :class:`Rewrites` says which
of these rewrites they get. Each keeps every number the same (the tests check it) and
applies only to the kind of model and the backend it was measured on, with the
benchmark's rewrites table (``scripts/bench_jit_vs_eager.py``; the README reports it, with
the CPU of each run). A choice is on by default only where it won on every CPU it was
measured on; a new kind of model gets none until the benchmark shows a gain.
:func:`default_rewrites` is :data:`CPU` on the CPU backend; on a GPU nothing has been
measured yet, and the plain forms run.

* ``batch_of_one``: the step runs as a batch of one model, ``vmap`` over a size-1 axis of
  params; XLA:CPU then writes each weight gradient XᵀG as a batched matmul that it sends to
  its YNNPACK kernel rather than a transposed dot. Applies to the models where it won:
  a one-layer classifier (softmax regression: 1.5x on AMD Zen 5, 1.4x on AMD EPYC) and a
  conv net (LeNet: 1.06x on AMD EPYC); never to an MLP (0.83x on Intel Xeon) or a
  one-output regression (0.82x on AMD Zen 5). See :func:`batch_of_one_pays`.
* ``row_gather``: a minibatch gathered as whole rows of ``X`` viewed as (N, features),
  then reshaped, instead of gathering (N, 28, 28, 1) images. Off: it wins on some CPUs
  and models (Intel Xeon's softmax, AMD EPYC's LeNet) and loses on others (AMD Zen 5).
* ``wide_weights`` (the sweep of K models): K stacked weight matrices (K, n, m) carried as
  one (n, K·m) matrix, so K forward products are one product with no copy of the weights
  (1.22 s vs 1.52 s for 8 softmax regressions on AMD Zen 5).
* ``banded_conv`` (conv nets only): every stride-1 NHWC convolution becomes one matrix
  product, output rows × a banded matrix built from the kernel
  (:mod:`jaxlin.train.conv_rewrites`); XLA:CPU's own convolution is far slower inside a
  ``lax.scan`` (jax-ml/jax#12868): 13.9x for LeNet on AMD EPYC. The evaluator runs the
  net the same way (its test images in about 0.6 of the time). A net without convolutions
  is called as written.
* ``pool_reshape`` (conv nets only): a non-overlapping window sum (average pooling) as a
  reshape and a sum (1.18x for LeNet on AMD EPYC).

The shuffle's packed sort, measured the same way, is part of the data layer's shuffle
(:mod:`jaxlin.data.shuffle`).
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxlin.train.conv_rewrites import rewrite_convs

Step = Callable[..., tuple[Any, Any, dict]]


@dataclasses.dataclass(frozen=True)
class Rewrites:
    batch_of_one: bool = False
    row_gather: bool = False
    wide_weights: bool = False
    banded_conv: bool = False
    pool_reshape: bool = False

    def net(self, net: Callable) -> Callable:
        """The model as these rewrites run it: its convolutions and pooling rewritten (conv nets).
        The same ``net`` gets the same rewritten function, so jit (where the net is a static
        argument) compiles it once."""
        if not (self.banded_conv or self.pool_reshape):
            return net
        try:
            return _rewritten(net, self.banded_conv, self.pool_reshape)
        except TypeError:                       # an unhashable callable: rewritten afresh
            return rewrite_convs(net, banded_conv=self.banded_conv, pool_reshape=self.pool_reshape)

    def step(self, step: Step) -> Step:
        """The train step as these rewrites run it."""
        return batch_of_one(step) if self.batch_of_one else step

    def gather(self, X: jax.Array, idx: jax.Array) -> jax.Array:
        """``X[idx]``."""
        if not self.row_gather:
            return X[idx]
        return X.reshape(X.shape[0], -1)[idx].reshape(idx.shape + X.shape[1:])


@functools.cache
def _rewritten(net: Callable, banded_conv: bool, pool_reshape: bool) -> Callable:
    return rewrite_convs(net, banded_conv=banded_conv, pool_reshape=pool_reshape)


PLAIN = Rewrites()
CPU = Rewrites(batch_of_one=True, row_gather=False, wide_weights=True,
               banded_conv=True, pool_reshape=True)


def default_rewrites() -> Rewrites:
    """:data:`CPU` on the CPU backend, where each choice was measured to pay; else :data:`PLAIN`."""
    return CPU if jax.default_backend() == "cpu" else PLAIN


def batch_of_one_pays(params: Any) -> bool:
    """Whether ``batch_of_one`` was measured to pay for a model of these params: a conv net (a
    4-D kernel) or a one-layer classifier (one weight matrix with several outputs)."""
    weights = [leaf for leaf in jax.tree.leaves(params) if jnp.ndim(leaf) >= 2]
    return any(jnp.ndim(w) == 4 for w in weights) or (len(weights) == 1 and weights[0].shape[-1] > 1)


def batch_of_one(step: Step) -> Step:
    """The same step, run as a batch of one model (``vmap`` over a size-1 axis of params and
    state) where :func:`batch_of_one_pays`; else the step itself (decided while tracing)."""

    def step_of_one(params, opt_state, X, y, key=None):
        if not batch_of_one_pays(params):
            return step(params, opt_state, X, y, key)
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


__all__ = ["CPU", "PLAIN", "Rewrites", "batch_of_one", "batch_of_one_pays", "default_rewrites", "narrow", "widen"]
