"""Automatic differentiation (D2L 2.5) as function transformations.

The book records operations on tensors that carry a ``.grad`` slot; JAX instead
transforms a pure function: ``jax.grad(f)`` *is* the gradient function, and
``jax.vjp(f, x)`` returns f(x) together with the pullback v ↦ vᵀ ∂f/∂x.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp


def control_flow_f(a: jax.Array) -> jax.Array:
    """The book's f with Python control flow: double b = 2a while ‖b‖ < 1000, then keep b if
    sum(b) > 0 else 100·b. f is piecewise linear in a, so f'(a) = f(a) / a.

    Differentiable with ``jax.grad`` (the loop runs on concrete values); not jittable
    as written, since the loop bound depends on the value of ``a``.
    """
    b = a * 2
    while jnp.linalg.norm(b) < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


def graph_forward(x: float, y: float, w: float) -> dict[str, float]:
    """Forward pass of the graph u = x + y, z = u · w; returns every node's value."""
    u = x + y
    return {"x": x, "y": y, "w": w, "u": u, "z": u * w}


def graph_grads_vjp(x: float, y: float, w: float) -> dict[str, jax.Array]:
    """Backpropagation through z = (x + y) · w one node at a time with ``jax.vjp``.

    Seed ∂z/∂z = 1, pull back through the product (∂z/∂u = w, ∂z/∂w = u), then through
    the sum (∂u/∂x = ∂u/∂y = 1): the chain rule ∂z/∂x = ∂z/∂u · ∂u/∂x.
    """
    x, y, w = (jnp.asarray(v, dtype=jnp.float32) for v in (x, y, w))
    u, pull_add = jax.vjp(jnp.add, x, y)
    z, pull_mul = jax.vjp(jnp.multiply, u, w)
    dz_du, dz_dw = pull_mul(jnp.ones_like(z))
    dz_dx, dz_dy = pull_add(dz_du)
    return {"x": dz_dx, "y": dz_dy, "w": dz_dw, "u": dz_du}
