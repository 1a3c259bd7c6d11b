"""Evaluation: metric sums over every example exactly once, in one vmap-vectorized jitted call."""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp
from jax.sharding import Mesh

from jaxlin.checks import (
    check_classifier_labels,
    check_finite,
    check_positive_int,
    check_same_length,
    classifies,
    is_concrete,
)
from jaxlin.train.epoch import Prepare, identity
from jaxlin.train.parallel import place_rows
from jaxlin.train.rewrites import Rewrites, default_rewrites
from jaxlin.train.step import Loss, Net, apply_net

Arrays = tuple[jax.Array, jax.Array]


@functools.partial(jax.jit, static_argnames=("net", "loss", "prepare", "chunk"))
def _evaluate_sums(params: Any, X: jax.Array, y: jax.Array, *, net: Net, loss: Loss | None,
                   prepare: Prepare, chunk: int) -> dict[str, jax.Array]:
    """Pad the data to a multiple of ``chunk``, ``vmap`` the metrics over (num_chunks, chunk, ...)
    and mask the padding out, so no example is lost or counted twice."""

    def chunk_sums(X, y, mask):
        X = prepare(X)
        y_hat = apply_net(net, params, X)
        out = {"n": mask.sum()}
        if loss is not None:
            per_example = loss(y_hat, y).reshape(mask.shape[0], -1).sum(1)
            out["loss_sum"] = jnp.where(mask, per_example, 0).sum()
        if classifies(y_hat, y):
            out["correct"] = jnp.where(mask, jnp.argmax(y_hat, axis=1) == y, False).sum()
        return out

    def in_chunks(a, pad):
        a = jnp.concatenate([a, jnp.zeros((pad, *a.shape[1:]), a.dtype)]) if pad else a
        return a.reshape(-1, chunk, *a.shape[1:])

    n = X.shape[0]
    pad = -n % chunk
    mask = (jnp.arange(n + pad) < n).reshape(-1, chunk)
    per_chunk = jax.vmap(chunk_sums)(in_chunks(X, pad), in_chunks(y, pad), mask)
    return jax.tree.map(lambda s: s.sum(), per_chunk)


def evaluate_sums(net: Net, params: Any, X: jax.Array, y: jax.Array, *, loss: Loss | None = None,
                  prepare: Prepare = identity, chunk: int = 1000) -> dict[str, jax.Array]:
    """Metric sums over every example of ``(X, y)``: ``n``, ``loss_sum`` (with a ``loss``) and,
    for classifiers, ``correct``. Same ``net``, ``loss`` and ``prepare``: one compilation."""
    n = check_same_length(X, y, "X", "y")
    chunk = min(check_positive_int(chunk, "chunk"), n)
    check_finite(X, "the evaluation features")
    if is_concrete(y):                         # not inside a vmap or jit: check the labels once
        outputs = jax.eval_shape(lambda p, X: net(p, prepare(X)), params, X[:1])
        check_classifier_labels(y, outputs, "labels")
    return _evaluate_sums(params, X, y, net=net, loss=loss, prepare=prepare, chunk=chunk)


def _total(net: Net, params: Any, data: Arrays | Iterable, name: str, **kwargs: Any) -> tuple[float, float]:
    batches = [data] if isinstance(data, tuple) else data
    total = n = 0.0
    for X, y in batches:
        sums = evaluate_sums(net, params, X, y, **kwargs)
        if name not in sums:                   # "correct": only a classifier's labels have it
            raise ValueError(f"an accuracy needs a classifier: integer class labels of shape (n,) and "
                             f"outputs (n, C); got {y.dtype} labels of shape {tuple(y.shape)}")
        total, n = total + sums[name], n + sums["n"]
    if n == 0:
        raise ValueError("the evaluation got no examples")
    return float(total), float(n)


def evaluate_accuracy(net: Net, params: Any, data: Arrays | Iterable, *,
                      prepare: Prepare = identity) -> float:
    """Accuracy over a whole data set: correct predictions summed, then divided by N.

    ``data`` is a pair of arrays ``(X, y)`` or an iterable of ``(X, y)`` batches; every
    example counts once, the last partial batch included. Written out in
    scripts/ch3_06_softmax_regression_scratch.py (3.6.5).
    """
    correct, n = _total(net, params, data, "correct", prepare=prepare)
    return correct / n


def evaluate_loss(net: Net, params: Any, data: Arrays | Iterable, loss: Loss, *,
                  prepare: Prepare = identity) -> float:
    """The mean loss over a whole data set (the book's ``evaluate_loss``)."""
    total, n = _total(net, params, data, "loss_sum", loss=loss, prepare=prepare)
    return total / n


@dataclasses.dataclass(frozen=True)
class Evaluator:
    """``evaluate(params) -> record``: ``{name}_loss`` (with a ``loss``) and, for classifiers,
    ``{name}_acc`` over every example of each data set in ``data``; what ``fit`` records after
    each epoch. Make it with :func:`evaluator`."""
    net: Net
    data: dict[str, Arrays]
    loss: Loss | None = None
    prepare: Prepare = identity

    def __call__(self, params: Any) -> dict[str, float]:
        record: dict[str, float] = {}
        for name, (X, y) in self.data.items():   # fit checked the labels when the data entered
            sums = jax.device_get(_evaluate_sums(params, X, y, net=self.net, loss=self.loss,
                                                 prepare=self.prepare, chunk=min(1000, X.shape[0])))
            if "loss_sum" in sums:
                record[f"{name}_loss"] = float(sums["loss_sum"]) / float(sums["n"])
            if "correct" in sums:
                record[f"{name}_acc"] = float(sums["correct"]) / float(sums["n"])
        return record


def evaluator(net: Net, data: dict[str, Arrays], *, loss: Loss | None = None,
              prepare: Prepare = identity, mesh: Mesh | None = None,
              rewrites: Rewrites | None = None) -> Evaluator:
    """An :class:`Evaluator` of ``net`` on ``data`` (e.g. ``{"test": (X, y)}``). With a ``mesh``
    each data set is split by rows over its devices when it splits evenly, else replicated.
    The net runs as ``rewrites`` (default: :func:`~jaxlin.train.rewrites.default_rewrites`)
    arrange it, as in training: a conv net's convolutions as matrix products on XLA:CPU."""
    if mesh is not None:
        data = {name: place_rows(d, mesh) for name, d in data.items()}
    return Evaluator((rewrites or default_rewrites()).net(net), dict(data), loss, prepare)


__all__ = ["Evaluator", "evaluate_accuracy", "evaluate_loss", "evaluate_sums", "evaluator"]
