"""The normal distribution and squared loss (D2L 3.1.3): least squares is maximum likelihood.

With y = Xw + b + ε and ε ~ N(0, σ²), the negative log-likelihood of the data is

    −log P(y | X) = n/2 · log(2πσ²) + Σᵢ (yᵢ − ŷᵢ)² / (2σ²),

a constant plus the summed squared loss divided by σ², so the (w, b) that minimize
the squared loss also maximize the likelihood, whatever σ is.
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax.scipy.stats import norm

from jaxlin.nn.linear import linreg
from jaxlin.nn.losses import squared_loss

Params = dict[str, jax.Array]


def normal(x: jax.Array, mu: float, sigma: float) -> jax.Array:
    """The normal density p(x) = 1/√(2πσ²) · exp(−(x − μ)² / (2σ²)), the book's ``normal``."""
    p = 1 / jnp.sqrt(2 * math.pi * sigma ** 2)
    return p * jnp.exp(-0.5 / sigma ** 2 * (x - mu) ** 2)


def gaussian_nll(y_hat: jax.Array, y: jax.Array, sigma: float) -> jax.Array:
    """Per example −log p(yᵢ | xᵢ) = −log N(yᵢ; ŷᵢ, σ²), from ``jax.scipy.stats.norm.logpdf``."""
    return -norm.logpdf(y.reshape(y_hat.shape), loc=y_hat, scale=sigma)


def squared_loss_nll(y_hat: jax.Array, y: jax.Array, sigma: float) -> jax.Array:
    """Per example ½·log(2πσ²) + (yᵢ − ŷᵢ)²/(2σ²) = ½·log(2πσ²) + l⁽ⁱ⁾/σ², l the squared loss.

    Summed over the data: n/2 · log(2πσ²) + Σ(y − ŷ)²/(2σ²), the closed form of
    :func:`gaussian_nll` summed.
    """
    return 0.5 * jnp.log(2 * math.pi * sigma ** 2) + squared_loss(y_hat, y) / sigma ** 2


def perturb_w(params: Params, index: int, deltas: jax.Array) -> Params:
    """A batch of params, one per δ in ``deltas``: w[index] + δ, everything else unchanged.

    Leaves get a leading axis of length ``len(deltas)``, ready for ``jax.vmap``.
    """
    deltas = jnp.asarray(deltas, jnp.float32).reshape(-1)
    w = jnp.broadcast_to(params["w"], (deltas.shape[0], *params["w"].shape))
    b = jnp.broadcast_to(params["b"], (deltas.shape[0], *params["b"].shape))
    return {"w": w.at[:, index].add(deltas.reshape(-1, *([1] * (w.ndim - 2)))), "b": b}


def loss_and_nll(params: Params, X: jax.Array, y: jax.Array, sigma: float) -> dict[str, jax.Array]:
    """For one linear model: the summed squared loss Σ l⁽ⁱ⁾ and both forms of the summed NLL.

    Returns ``loss_sum`` (Σ(y − ŷ)²/2), ``nll`` (Σ −log N(y; ŷ, σ²)) and ``nll_formula``
    (n/2·log(2πσ²) + loss_sum/σ²).
    """
    y_hat = linreg(params, X)
    return {"loss_sum": squared_loss(y_hat, y).sum(),
            "nll": gaussian_nll(y_hat, y, sigma).sum(),
            "nll_formula": squared_loss_nll(y_hat, y, sigma).sum()}


@functools.partial(jax.jit, static_argnames="index")
def loss_and_nll_profile(params: Params, X: jax.Array, y: jax.Array, sigma: float,
                         index: int, deltas: jax.Array) -> dict[str, jax.Array]:
    """:func:`loss_and_nll` at w[index] + δ for every δ in ``deltas``, vectorized with ``vmap``."""
    batch = perturb_w(params, index, deltas)
    return jax.vmap(loss_and_nll, in_axes=(0, None, None, None))(batch, X, y, sigma)
