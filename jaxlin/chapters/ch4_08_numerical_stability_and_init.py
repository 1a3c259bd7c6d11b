"""Numerical stability and initialization (D2L 4.8): what the section's experiments need beyond
the book's calls.

* the product of random matrices (``lax.scan``) and the per-layer statistics of activations
  through square layers with no bias, for several initializations and activations;
* the regression on features of very different scales, trained by full-batch gradient descent
  with the step 1/λ_max of each feature set's Hessian, raw against standardized;
* the section's figures (each function returns its figure).
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin.nn.activations import derivative, sigmoid
from jaxlin.nn.linear import init_linreg, linreg
from jaxlin.nn.losses import squared_loss
from jaxlin.nn.updaters import sgd
from jaxlin.plots.figures import plot, plt
from jaxlin.train.epoch import make_train_epoch
from jaxlin.train.evaluate import evaluate_loss, evaluator
from jaxlin.train.fit import Fitted, fit

# The regression's raw features: three N(0, 1) columns moved to these means and stretched to
# these scales (think metres, kilograms and grams), and weights giving each a similar share of y.
RAW_MEANS = (1.0, 0.0, 50.0)
RAW_SCALES = (0.1, 1.0, 100.0)
TRUE_W = (10.0, 1.0, 0.01)
TRUE_B, NOISE, N_EXAMPLES = 4.2, 0.1, 1000


@functools.partial(jax.jit, static_argnums=(1, 2))
def matrix_product_norms(key: jax.Array, num_matrices: int, size: int = 4
                         ) -> tuple[jax.Array, jax.Array, jax.Array]:
    """M = W₁W₂⋯W_k for W ~ N(0, 1)^(size×size): the first factor, the product, and max |entry|
    of the running product after each factor."""
    mats = jax.random.normal(key, (num_matrices, size, size))

    def body(M, W):
        M = M @ W
        return M, jnp.abs(M).max()

    M, sizes = jax.lax.scan(body, jnp.eye(size), mats)
    return mats[0], M, sizes


@functools.partial(jax.jit, static_argnames="activation")
def forward_statistics(Ws: jax.Array, X: jax.Array, activation: Callable
                       ) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Per layer l of h⁽ˡ⁾ = σ(z⁽ˡ⁾), z⁽ˡ⁾ = h⁽ˡ⁻¹⁾W⁽ˡ⁾ (no bias), Ws stacked (depth, n, n):
    Var(h⁽ˡ⁾), the mean σ'(z⁽ˡ⁾) (the factor each layer puts on the backward signal; near 0:
    saturated) and the second moment E[(h⁽ˡ⁾)²]."""
    slope = derivative(activation)

    def body(h, W):
        z = h @ W
        h = activation(z)
        return h, (h.var(), slope(z.reshape(-1)).mean(), (h ** 2).mean())

    return jax.lax.scan(body, X, Ws)[1]


def init_layers(key: jax.Array, init: Callable, depth: int, width: int) -> jax.Array:
    """``depth`` square weight matrices W ~ init(k, (width, width)), one key each, stacked.

    Called eagerly on purpose: every init reuses the one compiled sampler per distribution
    and shape, where a jit per init would compile its own copy of the random generator.
    """
    return jnp.stack([init(k, (width, width)) for k in jax.random.split(key, depth)])


def activation_statistics(key: jax.Array, X: jax.Array, depth: int, inits: dict[str, Callable],
                          activations: dict[str, Callable]) -> dict:
    """Per activation and initialization: the variance, the mean slope and the second moment of
    the activations, per layer (the same layer keys for every initialization)."""
    stats: dict = {}
    for act, f in activations.items():
        stats[act] = {}
        for name, init in inits.items():
            var, slope, moment = forward_statistics(init_layers(key, init, depth, X.shape[1]), X, f)
            stats[act][name] = {"variance": np.asarray(var).tolist(), "mean_slope": np.asarray(slope).tolist(),
                                "second_moment": np.asarray(moment).tolist()}
    return stats


def print_activation_statistics(stats: dict, X: jax.Array, depth: int) -> None:
    """The variance after the first and the last layer, and the last layer's mean slope."""
    print(f"input variance {float(X.var()):.3f}; activation variance after layer 1 and layer {depth} "
          f"(and the mean activation slope at layer {depth}):")
    for act, per_init in stats.items():
        for name, s in per_init.items():
            print(f"  {act:<6} {name:<15} {s['variance'][0]:10.4g} {s['variance'][-1]:10.4g}"
                  f"   (slope {s['mean_slope'][-1]:.3g})")


def plot_sigmoid() -> Any:
    """The sigmoid and its gradient on [-8, 8]."""
    x = jnp.linspace(-8.0, 8.0, 401)
    fig, ax = plt.subplots(figsize=(4.8, 3.3))
    plot(x, [sigmoid(x), derivative(sigmoid)(x)], "x", legend=["sigmoid", "gradient"], axes=ax,
         title="the sigmoid's gradient vanishes for large |x|")
    return fig


def plot_variances(stats: dict, width: int, key: str = "variance", ylabel: str = "variance of activations",
                   legend_slope: bool = True) -> Any:
    """``key`` of the activations per layer (log scale), one panel per activation."""
    fig, axes = plt.subplots(1, len(stats), figsize=(5.2 * len(stats), 3.8))
    for ax, (act, per_init) in zip(np.atleast_1d(axes), stats.items()):
        layers = np.arange(1, len(next(iter(per_init.values()))[key]) + 1)
        legend = [name if act == "linear" or not legend_slope else f"{name}; mean {act}' {s['mean_slope'][-1]:.2g}"
                  for name, s in per_init.items()]
        plot(layers, [np.asarray(s[key]) for s in per_init.values()], "layer", ylabel, legend=legend,
             yscale="log", axes=ax, fmts=("-o", "m--s", "g-.^", "r:v"), title=f"{act} layers, width {width}")
        ax.legend(legend, fontsize=8)
    return fig


def raw_regression_data(key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """y = Xw + b + ε on features with means ``RAW_MEANS`` and scales ``RAW_SCALES``."""
    key_x, key_eps = jax.random.split(key)
    Z = jax.random.normal(key_x, (N_EXAMPLES, len(RAW_SCALES)))
    X = Z * jnp.asarray(RAW_SCALES).reshape(1, -1) + jnp.asarray(RAW_MEANS).reshape(1, -1)
    y = X @ jnp.asarray(TRUE_W).reshape(-1, 1) + TRUE_B
    return X, y + NOISE * jax.random.normal(key_eps, y.shape)


def hessian_eigenvalues(X: jax.Array) -> np.ndarray:
    """Eigenvalues of the squared loss's Hessian E[x̃x̃ᵀ], x̃ = (x, 1): they set GD's safe step 2/λ_max
    and its slowest direction's rate λ_min/λ_max."""
    X1 = jnp.concatenate([X, jnp.ones((X.shape[0], 1), X.dtype)], axis=1)
    return np.linalg.eigvalsh(np.asarray(X1.T @ X1, np.float64) / X.shape[0])


def gradient_descent(X: jax.Array, y: jax.Array, num_steps: int, *, key_init: jax.Array,
                     key_fit: jax.Array) -> tuple[Fitted, float]:
    """Full-batch gradient descent on the squared loss with the step 1/λ_max of this X's Hessian
    (its largest safe step is 2/λ_max): ``fit``'s result (the history starts with the loss at
    step 0) and the step size."""
    lr = float(1.0 / hessian_eigenvalues(X).max())
    params = init_linreg(key_init, X.shape[1])
    start = {"epoch": 0, "train_loss": evaluate_loss(linreg, params, (X, y), squared_loss)}
    epoch = make_train_epoch(linreg, squared_loss, functools.partial(sgd, lr=lr), X.shape[0])
    evaluate = evaluator(linreg, {"train": (X, y)}, loss=squared_loss)
    state, seconds = fit(epoch, epoch.init(params, key_fit), (X, y), num_epochs=num_steps, evaluate=evaluate)
    return Fitted(state._replace(history=(start, *state.history)), seconds), lr


def descent_curve(name: str, X: jax.Array, y: jax.Array, num_steps: int, *, key_init: jax.Array,
                  key_fit: jax.Array) -> dict:
    """:func:`gradient_descent` on one set of features, with its Hessian's eigenvalues and κ (printed)."""
    eig = hessian_eigenvalues(X)
    (state, seconds), lr = gradient_descent(X, y, num_steps, key_init=key_init, key_fit=key_fit)
    curve = {"lr": lr, "condition_number": float(eig.max() / eig.min()),
             "eigenvalues": eig.tolist(), "final_loss": state.history[-1]["train_loss"],
             "history": list(state.history), "seconds": seconds, "params": state.params}
    print(f"{name:>12}: Hessian eigenvalues {np.array2string(eig, precision=3)}, κ = "
          f"{eig.max() / eig.min():.3g}, lr = 1/λ_max = {lr:.3g}; loss after {num_steps} steps: "
          f"{curve['final_loss']:.4g}")
    return curve


def to_raw_units(params: dict, mean: jax.Array, std: jax.Array) -> tuple[np.ndarray, float]:
    """The weights and bias of a model on standardized features, as a model on the raw features."""
    w_back = np.asarray(params["w"]).reshape(-1) / np.asarray(std).reshape(-1)
    b_back = float(params["b"][0] - (np.asarray(mean).reshape(-1) * w_back).sum())
    print(f"standardized model mapped back to raw units: w = {np.round(w_back, 4)}, b = {b_back:.3f} "
          f"(true w = {TRUE_W}, b = {TRUE_B})")
    return w_back, b_back


def plot_standardization(curves: dict) -> Any:
    """The training loss per step of each feature set's descent, against the noise floor σ²/2."""
    fig, axes = plt.subplots(1, len(curves), figsize=(4.8 * len(curves), 3.6), sharey=True)
    for ax, (name, c) in zip(np.atleast_1d(axes), curves.items()):
        steps = np.asarray([r["epoch"] for r in c["history"]])
        plot(steps, [[r["train_loss"] for r in c["history"]], np.full(len(steps), NOISE ** 2 / 2)],
             "gradient descent step", "training loss", legend=["loss", "noise floor σ²/2"],
             yscale="log", axes=ax, fmts=("-", "k:"),
             title=f"{name} features (κ = {c['condition_number']:.3g}, lr = {c['lr']:.3g})")
    return fig
