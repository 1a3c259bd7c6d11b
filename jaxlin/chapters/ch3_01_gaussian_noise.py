"""The normal distribution and squared loss (D2L 3.1.3): least squares is maximum likelihood.

With y = Xw + b + ε and ε ~ N(0, σ²), the negative log-likelihood of the data is

    −log P(y | X) = n/2 · log(2πσ²) + Σᵢ (yᵢ − ŷᵢ)² / (2σ²),

a constant plus the summed squared loss divided by σ², so the (w, b) that minimize
the squared loss also maximize the likelihood, whatever σ is.
"""
from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.stats import norm

from jaxlin.data.synthetic import synthetic_data
from jaxlin.nn.linear import linreg, linreg_closed_form
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


def likelihood_check(key: jax.Array, true_w: tuple[float, ...], true_b: float, sigma: float,
                     n: int) -> tuple[dict, dict, jax.Array, jax.Array]:
    """Both sides of −log P(y | X) = n/2·log(2πσ²) + Σ(y − ŷ)²/(2σ²) on n examples of the book's
    data with noise σ, at the true, the least-squares and the zero (w, b).

    Returns the per-point values (``nll``, ``nll_formula``, their differences), the points, and
    the data ``(X, y)``."""
    X, y = synthetic_data(key, jnp.array(true_w), true_b, n, noise=sigma)
    w_star = linreg_closed_form(X, y)
    points = {"true": {"w": jnp.array(true_w).reshape(-1, 1), "b": jnp.array([true_b])},
              "least_squares": {"w": w_star["w"], "b": w_star["b"].reshape(1)},
              "zero": {"w": jnp.zeros((2, 1)), "b": jnp.zeros(1)}}
    check = {}
    for name, params in points.items():
        v = {k: float(x) for k, x in loss_and_nll(params, X, y, sigma).items()}
        v["abs_diff"] = abs(v["nll"] - v["nll_formula"])
        v["rel_diff"] = v["abs_diff"] / abs(v["nll"])
        check[name] = v
    return check, points, X, y


def nll_profiles(params: Params, X: jax.Array, y: jax.Array, sigmas: tuple[float, ...],
                 deltas: jax.Array) -> dict[float, dict]:
    """For each assumed σ, the summed squared loss and the NLL along w₁ = ŵ₁ + δ: where each is
    smallest, and the line NLL = intercept + slope·Σl fitted through them (expected:
    n/2·log(2πσ²) + Σl/σ²)."""
    n = X.shape[0]
    profiles = {}
    for s in sigmas:
        p = jax.device_get(loss_and_nll_profile(params, X, y, s, 0, deltas))
        slope, intercept = np.polyfit(p["loss_sum"], p["nll"], 1)
        profiles[s] = {"loss_argmin": int(np.argmin(p["loss_sum"])), "nll_argmin": int(np.argmin(p["nll"])),
                       "slope": float(slope), "intercept": float(intercept),
                       "expected_slope": 1 / s ** 2, "expected_intercept": n / 2 * float(np.log(2 * np.pi * s ** 2)),
                       "loss_sum": p["loss_sum"].tolist(), "nll": p["nll"].tolist()}
    return profiles


def print_likelihood(ml: dict) -> None:
    """The check of the NLL's closed form and the profiles' minimizers, as 3.1.3 prints them."""
    sigma, n, deltas = ml["sigma"], ml["num_examples"], ml["profile"]["deltas"]
    print(f"\ny = Xw + b + ε, ε ~ N(0, {sigma}²), n = {n}: −Σ log N(y; ŷ, σ²) (norm.logpdf) against "
          f"n/2·log(2πσ²) + Σ(y − ŷ)²/(2σ²)")
    print(f"  per example, at the true (w, b): max |difference| = {ml['per_example_max_abs_diff']:.2e}")
    for name, v in ml["check"].items():
        print(f"  at {name:13s} (w, b): NLL {v['nll']:12.4f}, formula {v['nll_formula']:12.4f}, "
              f"|difference| {v['abs_diff']:.2e} (relative {v['rel_diff']:.1e})")
    w, b = ml["w_least_squares"], ml["b_least_squares"]
    print(f"  along w₁ = ŵ₁ + δ, δ ∈ [−1, 1] (201 points), ŵ the least-squares solution "
          f"({w[0]:.4f}, {w[1]:.4f}), b̂ = {b:.4f}; Σl the summed squared loss, l = (y − ŷ)²/2:")
    for key, p in ml["profile"].items():
        if not key.startswith("sigma="):
            continue
        print(f"    σ = {float(key[6:]):4g}: squared loss smallest at δ = {deltas[p['loss_argmin']]:+.2f}, "
              f"NLL smallest at δ = {deltas[p['nll_argmin']]:+.2f}; NLL = {p['intercept']:.2f} + "
              f"{p['slope']:.4f}·Σl (expected n/2·log(2πσ²) + Σl/σ² = {p['expected_intercept']:.2f} + "
              f"{p['expected_slope']:.4f}·Σl)")


def plot_profiles(ml: dict, true_w1: float) -> Any:
    """Summed squared loss and NLL (for each σ) along w₁: all smallest at the least-squares ŵ₁."""
    from jaxlin.plots.figures import plt, set_axes  # matplotlib only when a figure is drawn
    w1_hat = ml["w_least_squares"][0]
    w1 = w1_hat + np.asarray(ml["profile"]["deltas"])
    sigmas = [key for key in ml["profile"] if key.startswith("sigma=")]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.0, 3.4))
    ax1.plot(w1, ml["profile"][sigmas[0]]["loss_sum"])
    set_axes(ax1, "$w_1$", "Σ (y − ŷ)²/2")
    ax1.set_title("summed squared loss")
    for key, style in zip(sigmas, ("-", "m--", "g-.")):
        nll = np.asarray(ml["profile"][key]["nll"])
        ax2.plot(w1, nll - nll.min(), style, label=f"assumed σ = {float(key[6:]):g}")
    set_axes(ax2, "$w_1$", "NLL − its minimum")
    ax2.set_title("negative log-likelihood")
    for ax in (ax1, ax2):
        ax.axvline(w1_hat, color="gray", linestyle=":", label="least-squares $\\hat w_1$")
        ax.axvline(true_w1, color="tab:red", linestyle="--", alpha=0.5, label="true $w_1$")
    ax2.legend(fontsize=8)              # one legend, beside both panels (the lines cross each's middle)
    return fig
