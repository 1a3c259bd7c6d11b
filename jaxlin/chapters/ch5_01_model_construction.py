"""Layers and blocks (D2L 5.1) as Flax NNX modules.

scripts/ch5_01_model_construction.py writes the blocks in its cells (tested equal to these,
which later sections and users import); what it imports from here, :class:`Constant` and the
halving loops, the book does not show.

An NNX module is a Python object that holds its own arrays, as a PyTorch module
does: ``nnx.Linear(in_features, out_features, rngs=rngs)`` creates its kernel and
bias when it is constructed, so it must be told its input size (see 5.3 for the
contrast with Linen). Trainable arrays are ``nnx.Param``s; an array the model holds
but must not train is another ``nnx.Variable`` type (here :class:`Constant`), which
``nnx.grad`` and ``nnx.Optimizer(..., wrt=nnx.Param)`` leave alone.
"""
from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx


class MLP(nnx.Module):
    """The book's MLP block: X ↦ relu(X W₁ + b₁) W₂ + b₂ (``hidden`` holds W₁, b₁; ``out`` W₂, b₂).
    Written out in scripts/ch5_01_model_construction.py (5.1.1)."""

    def __init__(self, num_inputs: int = 20, num_hiddens: int = 256, num_outputs: int = 10, *,
                 rngs: nnx.Rngs):
        self.hidden = nnx.Linear(num_inputs, num_hiddens, rngs=rngs)
        self.out = nnx.Linear(num_hiddens, num_outputs, rngs=rngs)

    def __call__(self, X: jax.Array) -> jax.Array:
        return self.out(nnx.relu(self.hidden(X)))


class MySequential(nnx.Module):
    """A container applying its blocks in order: X ↦ f_n(… f_2(f_1(X))).

    ``nnx.List`` registers the blocks as children (the book's ``self._modules``), so
    their Params are part of this module's state; NNX refuses a plain ``list`` of
    modules as an attribute rather than silently losing their parameters. Written out in scripts/ch5_01_model_construction.py
    (5.1.2).
    """

    def __init__(self, *blocks: Callable[[jax.Array], jax.Array]):
        self.blocks = nnx.List(blocks)

    def __call__(self, X: jax.Array) -> jax.Array:
        for block in self.blocks:
            X = block(X)
        return X


def halve_until_small(X: jax.Array) -> jax.Array:
    """X / 2ᵏ for the least k ≥ 0 with Σ|X| / 2ᵏ ≤ 1: the book's ``while X.abs().sum() > 1: X /= 2``.

    k is counted by a ``lax.while_loop`` on the (gradient-stopped) total, so the block
    compiles under jit, and ``ldexp`` scales X exactly by 2⁻ᵏ, so it stays differentiable
    (k is piecewise constant in X, as in the book's loop). Halving is exact in floating
    point (barring underflow), so k is the book's count. A non-finite total stops at once.
    """
    def too_big(state: tuple[jax.Array, jax.Array]) -> jax.Array:
        _, total = state
        return (total > 1) & jnp.isfinite(total)

    def halve(state: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        k, total = state
        return k + 1, total / 2

    total = jax.lax.stop_gradient(jnp.abs(X).sum())
    k, _ = jax.lax.while_loop(too_big, halve, (jnp.zeros((), jnp.int32), total))
    return jnp.ldexp(X, -k)


def halve_eagerly(X: jax.Array) -> jax.Array:
    """The book's loop as written, ``while Σ|X| > 1: X ← X / 2`` (and stop on a non-finite sum).

    Python's ``while`` needs a concrete bool: this runs eagerly (NNX modules are called
    like PyTorch's), but under ``jax.jit`` / ``nnx.jit`` the sum is a tracer and
    ``bool`` of it raises a ``TracerBoolConversionError``.
    """
    while (total := jnp.abs(X).sum()) > 1 and jnp.isfinite(total):
        X = X / 2
    return X


class Constant(nnx.Variable):
    """An array the model holds but never trains (the book's ``requires_grad=False``).

    It is part of ``nnx.state(model)`` (so it is saved and restored with the model) but
    not of ``nnx.state(model, nnx.Param)``, which is what ``nnx.grad`` differentiates."""


class FixedHiddenMLP(nnx.Module):
    """The book's FixedHiddenMLP, returning a scalar:

        H = relu(linear(X) · W + 1),  Y = linear(H)  (the *same* Linear, one set of Params),
        Y ← Y / 2 while Σ|Y| > 1,  output Σ Y.

    W ~ U(0, 1) of shape (features, features) is drawn once at construction and held as a
    :class:`Constant`. ``eager=True`` runs the book's Python loop (:func:`halve_eagerly`),
    which works when the module is called directly but not under jit; the default is the
    exact, jit-compatible :func:`halve_until_small`. Written out in scripts/ch5_01_model_construction.py (5.1.3).
    """

    def __init__(self, features: int = 20, *, eager: bool = False, rngs: nnx.Rngs):
        self.rand_weight = Constant(jax.random.uniform(rngs.params(), (features, features)))
        self.linear = nnx.Linear(features, features, rngs=rngs)
        self.eager = eager

    def __call__(self, X: jax.Array) -> jax.Array:
        X = self.linear(X)
        X = nnx.relu(X @ self.rand_weight[...] + 1)
        X = self.linear(X)  # the same layer again: its parameters are shared
        return (halve_eagerly(X) if self.eager else halve_until_small(X)).sum()


class NestMLP(nnx.Module):
    """A block nesting a Sequential: Linear₁₆(relu(Linear₃₂(relu(Linear₆₄(X))))).
    Written out in scripts/ch5_01_model_construction.py (5.1.3)."""

    def __init__(self, num_inputs: int = 20, *, rngs: nnx.Rngs):
        self.net = nnx.Sequential(nnx.Linear(num_inputs, 64, rngs=rngs), nnx.relu,
                                  nnx.Linear(64, 32, rngs=rngs), nnx.relu)
        self.linear = nnx.Linear(32, 16, rngs=rngs)

    def __call__(self, X: jax.Array) -> jax.Array:
        return self.linear(self.net(X))


def chimera(num_inputs: int = 20, *, rngs: nnx.Rngs) -> nnx.Sequential:
    """The book's chimera: Sequential(NestMLP, Linear(16, 20), FixedHiddenMLP), X ↦ a scalar.
    Written out in scripts/ch5_01_model_construction.py (5.1.3)."""
    return nnx.Sequential(NestMLP(num_inputs, rngs=rngs), nnx.Linear(16, 20, rngs=rngs),
                          FixedHiddenMLP(20, rngs=rngs))


__all__ = ["MLP", "Constant", "FixedHiddenMLP", "MySequential", "NestMLP", "chimera",
           "halve_eagerly", "halve_until_small"]
