"""Calculus (D2L 2.4): the derivative as a limit, and the tangent line from ``jax.grad``."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import jax


def numerical_lim(f: Callable[[float], float], x: float, h: float) -> float:
    """The difference quotient (f(x + h) − f(x)) / h, whose limit h → 0 is f'(x) (eq. 2.4.1)."""
    if h == 0:
        raise ValueError("h must be nonzero")
    return (f(x + h) - f(x)) / h


def numerical_limits(f: Callable[[float], float], x: float, hs: Sequence[float]) -> list[float]:
    """``numerical_lim(f, x, h)`` for each ``h`` in ``hs`` (Python floats: float64, as in the book)."""
    return [numerical_lim(f, x, h) for h in hs]


def tangent_line(f: Callable[[jax.Array], jax.Array], x0: float) -> tuple[float, float]:
    """Slope and intercept of the tangent y = f'(x₀)·x + (f(x₀) − f'(x₀)·x₀), with f' from ``jax.grad``."""
    value, slope = jax.value_and_grad(f)(float(x0))
    return float(slope), float(value - slope * x0)
