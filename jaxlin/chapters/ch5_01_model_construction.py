"""Blocks and custom layers (D2L 5.1, 5.2, 5.4) as Flax Linen modules.

A Linen module holds only its configuration; its parameters live in a separate
pytree returned by ``module.init(key, X)`` and passed back to ``module.apply``.
Values that must not be trained (the book's ``requires_grad=False`` weight) go
into a collection other than ``"params"``, here ``"constants"``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp


class MLP(nn.Module):
    """The book's MLP block: X ↦ Dense₁₀(relu(Dense₂₅₆(X)))."""
    num_hiddens: int = 256
    num_outputs: int = 10

    @nn.compact
    def __call__(self, X: jax.Array) -> jax.Array:
        return nn.Dense(self.num_outputs, name="out")(nn.relu(nn.Dense(self.num_hiddens, name="hidden")(X)))


class MySequential(nn.Module):
    """A container applying its blocks in order: X ↦ f_n(… f_2(f_1(X)))."""
    blocks: Sequence[Callable[[jax.Array], jax.Array]]

    def __call__(self, X: jax.Array) -> jax.Array:
        for block in self.blocks:
            X = block(X)
        return X


def _halve_until_small(X: jax.Array) -> jax.Array:
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


class FixedHiddenMLP(nn.Module):
    """The book's FixedHiddenMLP, returning a scalar:

        H = relu(Dense(X) · W + 1),  Y = Dense(H)  (the *same* Dense, one set of parameters),
        Y ← Y / 2 while Σ|Y| > 1,  output Σ Y.

    W ~ U(0, 1) of shape (features, features) is drawn once at init from the
    ``"params"`` key into the ``"constants"`` collection: it is a constant of the
    model, never a trainable parameter (``jax.grad`` w.r.t. ``"params"`` ignores it).
    """
    features: int = 20

    @nn.compact
    def __call__(self, X: jax.Array) -> jax.Array:
        rand_weight = self.variable(
            "constants", "rand_weight",
            lambda: jax.random.uniform(self.make_rng("params"), (self.features, self.features))).value
        linear = nn.Dense(self.features, name="linear")
        X = linear(X)
        X = nn.relu(X @ rand_weight + 1)
        X = linear(X)  # the same layer again: its parameters are shared
        return _halve_until_small(X).sum()


class NestMLP(nn.Module):
    """A block nesting a Sequential: Dense₁₆(relu(Dense₃₂(relu(Dense₆₄(X))))).

    Built in ``setup`` so the Sequential's layers nest under ``net`` in the tree."""

    def setup(self) -> None:
        self.net = nn.Sequential([nn.Dense(64), nn.relu, nn.Dense(32), nn.relu])
        self.linear = nn.Dense(16)

    def __call__(self, X: jax.Array) -> jax.Array:
        return self.linear(self.net(X))


def chimera() -> nn.Sequential:
    """The book's chimera: Sequential(NestMLP, Dense(20), FixedHiddenMLP)."""
    return nn.Sequential([NestMLP(), nn.Dense(20), FixedHiddenMLP()])


def tied_mlp(num_hiddens: int = 8) -> nn.Sequential:
    """Dense(h) → relu → shared → relu → shared → relu → Dense(1), where ``shared`` is one
    Dense(h) instance used twice: one parameter entry, whose gradient sums both uses."""
    shared = nn.Dense(num_hiddens)
    return nn.Sequential([nn.Dense(num_hiddens), nn.relu, shared, nn.relu, shared, nn.relu, nn.Dense(1)])


class CenteredLayer(nn.Module):
    """A layer without parameters: X ↦ X − mean(X) (the mean over all entries)."""

    def __call__(self, X: jax.Array) -> jax.Array:
        return X - X.mean()


class MyDense(nn.Module):
    """A fully connected layer with its own parameters: X ↦ relu(X·weight + bias),
    weight of shape (in_units, units) and bias of shape (units,), both ~ N(0, 1)."""
    units: int
    in_units: int

    @nn.compact
    def __call__(self, X: jax.Array) -> jax.Array:
        if X.shape[-1] != self.in_units:
            raise ValueError(f"MyDense expects {self.in_units} input features, got input of shape {X.shape}")
        weight = self.param("weight", nn.initializers.normal(1.0), (self.in_units, self.units))
        bias = self.param("bias", nn.initializers.normal(1.0), (self.units,))
        return nn.relu(X @ weight + bias.reshape((1,) * (X.ndim - 1) + (-1,)))


def my_init(key: jax.Array, shape: Sequence[int], dtype: Any = jnp.float32) -> jax.Array:
    """The book's custom initializer: w ~ U(−10, 10), then w ← w · 1[|w| ≥ 5].

    A Flax initializer ``(key, shape, dtype)``: pass it as ``kernel_init`` or to ``reinit``."""
    w = jax.random.uniform(key, tuple(shape), dtype, -10.0, 10.0)
    return jnp.where(jnp.abs(w) >= 5, w, jnp.zeros_like(w))
