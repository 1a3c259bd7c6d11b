"""Custom layers (D2L 5.4) as Flax NNX modules: one without parameters, one with its own.

A custom NNX layer is a class: whatever ``__init__`` assigns as an ``nnx.Param`` is a
parameter (found by ``nnx.state(layer, nnx.Param)``, differentiated by ``nnx.grad``);
a layer that assigns none has an empty parameter state.
"""
from __future__ import annotations

import jax
from flax import nnx


class CenteredLayer(nnx.Module):
    """A layer without parameters: X ↦ X − mean(X) (the mean over all entries).
    Written out in scripts/ch5_04_custom_layer.py (5.4.1)."""

    def __call__(self, X: jax.Array) -> jax.Array:
        return X - X.mean()


class MyDense(nnx.Module):
    """A fully connected layer with its own parameters: X ↦ relu(X · weight + bias),
    weight of shape (in_units, units) and bias of shape (units,), both ~ N(0, 1); an input of
    another width is refused. Written out in scripts/ch5_04_custom_layer.py (5.4.2)."""

    def __init__(self, in_units: int, units: int, *, rngs: nnx.Rngs):
        self.in_units = in_units
        self.weight = nnx.Param(jax.random.normal(rngs.params(), (in_units, units)))
        self.bias = nnx.Param(jax.random.normal(rngs.params(), (units,)))

    def __call__(self, X: jax.Array) -> jax.Array:
        if X.shape[-1] != self.in_units:
            raise ValueError(f"MyDense expects {self.in_units} input features, got input of shape {X.shape}")
        return nnx.relu(X @ self.weight[...] + self.bias[...].reshape((1,) * (X.ndim - 1) + (-1,)))


__all__ = ["CenteredLayer", "MyDense"]
