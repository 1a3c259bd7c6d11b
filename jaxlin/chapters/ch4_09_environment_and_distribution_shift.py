"""Covariate shift and its correction (D2L 4.9.3), executed on synthetic data.

Source inputs x ~ q(x) and target inputs u ~ p(x) share one labelling rule P(y | x).
A logistic-regression *domain classifier* h separates them (z = 1 for target, z = 0
for source, the book's z = 1 / −1); then p(x)/q(x) = exp(h(x)) · n_source/n_target,
and training minimises the importance-weighted risk (eq. 4.9.5)

    (1/n) Σᵢ βᵢ l(f(xᵢ), yᵢ),   βᵢ = min(exp(h(xᵢ)) · n_source/n_target, c).

Per-example weights travel with the labels: ``y`` is an (n, 2) array of
[label, weight] columns (:func:`with_weights`), so the core's ``fit`` trains the
weighted and the unweighted classifier with one loss and one code path.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxlin.checks import check_positive_int
from jaxlin.nn.linear import init_linreg, linreg
from jaxlin.nn.losses import binary_cross_entropy_logits
from jaxlin.train.epoch import make_train_epoch
from jaxlin.train.evaluate import evaluator
from jaxlin.train.fit import Fitted, fit

Params = dict[str, jax.Array]
FMTS = ("m--", "g-.", "r:")   # unweighted, weighted, trained on target: the same in both figures


# ------------------------------------------------------------------ data

def sample_inputs(key: jax.Array, mean: jax.Array, std: float, num_examples: int) -> jax.Array:
    """x ~ N(mean, std² I): an (n, d) array."""
    num_examples = check_positive_int(num_examples, "num_examples")
    mean = jnp.asarray(mean, jnp.float32).reshape(1, -1)
    return mean + std * jax.random.normal(key, (num_examples, mean.shape[1]))


def parabola_labels(X: jax.Array) -> jax.Array:
    """The shared labelling rule y = 1[x₂ > x₁² − 1], as float (n, 1): not linearly separable.

    A linear classifier can only fit it locally, so the best one depends on where the
    inputs lie: exactly the case where covariate shift hurts and reweighting helps.
    """
    return (X[:, 1] > X[:, 0] ** 2 - 1).astype(jnp.float32).reshape(-1, 1)


def gaussian_log_density_ratio(X: jax.Array, source_mean: jax.Array, target_mean: jax.Array,
                               std: float) -> jax.Array:
    """The true log p(x)/q(x) for p = N(μ_t, σ²I) and q = N(μ_s, σ²I), an (n, 1) array:

        log p(x)/q(x) = ((μ_t − μ_s)ᵀx − (|μ_t|² − |μ_s|²)/2) / σ².

    Linear in x, so a logistic-regression domain classifier can represent it exactly.
    """
    mu_s = jnp.asarray(source_mean, jnp.float32).reshape(-1, 1)
    mu_t = jnp.asarray(target_mean, jnp.float32).reshape(-1, 1)
    return (X @ (mu_t - mu_s) - ((mu_t ** 2).sum() - (mu_s ** 2).sum()) / 2) / std ** 2


def with_weights(y: jax.Array, weights: jax.Array | None = None) -> jax.Array:
    """Labels with their example weights as one (n, 2) array [y, β]; β = 1 when omitted."""
    y = jnp.asarray(y, jnp.float32).reshape(-1, 1)
    weights = jnp.ones_like(y) if weights is None else jnp.asarray(weights, jnp.float32).reshape(-1, 1)
    if weights.shape != y.shape:
        raise ValueError(f"got {y.shape[0]} labels but {weights.shape[0]} weights")
    return jnp.concatenate([y, weights], axis=1)


# ------------------------------------------------------------------ logistic regression

def init_logistic_regression(key: jax.Array, num_inputs: int, sigma: float = 0.01) -> Params:
    """``w ~ N(0, sigma²)`` of shape (d, 1), ``b = 0``: the linear model's params."""
    return init_linreg(key, num_inputs, sigma)


def logistic_regression(params: Params, X: jax.Array) -> jax.Array:
    """The logit h(x) = xᵀw + b (n, 1); P(y = 1 | x) = σ(h(x)) = 1 / (1 + exp(−h(x)))."""
    return linreg(params, X)


def weighted_logistic_loss(h: jax.Array, y_weights: jax.Array) -> jax.Array:
    """βᵢ · l(h(xᵢ), yᵢ) with ``y_weights`` = [y, β] (:func:`with_weights`); β = 1 is plain ERM."""
    return y_weights[:, 1:2] * binary_cross_entropy_logits(h, y_weights[:, 0:1])


def weighted_error(h: jax.Array, y_weights: jax.Array) -> jax.Array:
    """βᵢ · 1[(h(xᵢ) > 0) ≠ yᵢ]: its mean is the error rate when β = 1."""
    wrong = (h > 0).astype(jnp.float32) != y_weights[:, 0:1]
    return y_weights[:, 1:2] * wrong.astype(jnp.float32)


def train_logistic_regression(X: jax.Array, y_weights: jax.Array, *, key: jax.Array, num_epochs: int,
                              learning_rate: float, batch_size: int,
                              evals: dict[str, tuple[jax.Array, jax.Array]] | None = None) -> Fitted:
    """Minimise the weighted logistic loss with Adam; ``history`` has ``{name}_loss`` = the
    (weighted) error rate on each set in ``evals``."""
    init_key, fit_key = jax.random.split(key)
    params = init_logistic_regression(init_key, X.shape[1])
    epoch = make_train_epoch(logistic_regression, weighted_logistic_loss, optax.adam(learning_rate), batch_size)
    evaluate = evaluator(logistic_regression, evals or {}, loss=weighted_error)
    return fit(epoch, epoch.init(params, fit_key), (X, y_weights), num_epochs=num_epochs, evaluate=evaluate)


# ------------------------------------------------------------------ the correction

def domain_data(source_X: jax.Array, target_X: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The book's binary problem {(xᵢ, source), (uⱼ, target)}: inputs and [z, 1] with z = 1 for target."""
    X = jnp.concatenate([source_X, target_X])
    z = jnp.concatenate([jnp.zeros(source_X.shape[0]), jnp.ones(target_X.shape[0])])
    return X, with_weights(z)


def log_importance_weights(domain_params: Params, X: jax.Array, num_source: int,
                           num_target: int) -> jax.Array:
    """log β(x) = h(x) + log(n_source/n_target), the estimate of log p(x)/q(x); (n, 1).

    With unequal sample sizes the classifier's odds are (n_t p(x)) / (n_s q(x)), hence
    the correction; for n_s = n_t it is the book's β = exp(h(x)).
    """
    return logistic_regression(domain_params, X) + jnp.log(num_source / num_target)


def importance_weights(domain_params: Params, X: jax.Array, num_source: int, num_target: int,
                       clip: float | None = None) -> jax.Array:
    """β(x) = exp(h(x)) · n_source/n_target, or min(β, c) with ``clip`` = c (the book's option); (n, 1)."""
    beta = jnp.exp(log_importance_weights(domain_params, X, num_source, num_target))
    return beta if clip is None else jnp.minimum(beta, clip)


def effective_sample_size(weights: jax.Array) -> jax.Array:
    """Kish's n_eff = (Σβ)² / Σβ²: how many unweighted examples the weighted sample is worth."""
    return weights.sum() ** 2 / (weights ** 2).sum()


def decision_boundary(params: Params, x1: jax.Array) -> jax.Array:
    """For d = 2: the x₂ where h(x) = w₁x₁ + w₂x₂ + b = 0, for each x₁ (for plots)."""
    w, b = params["w"].reshape(-1), params["b"].reshape(())
    return -(w[0] * x1 + b) / w[1]


# ------------------------------------------------------------------ the figures

def plot_target_error(fits: dict[str, Fitted], num_epochs: int) -> Any:
    """The target-domain error per epoch of each classifier."""
    from jaxlin.plots.figures import plot
    epochs = np.array([h["epoch"] for h in fits["unweighted"].state.history])
    return plot(epochs, [np.array([h["target_loss"] for h in f.state.history]) for f in fits.values()],
                xlabel="epoch", ylabel="target-domain error", legend=list(fits), xlim=[1, max(num_epochs, 2)],
                ylim=[0, 0.7], fmts=FMTS, figsize=(5, 3.5), title="logistic regression on the target domain")


def plot_domains(Xs: jax.Array, ys: jax.Array, beta: jax.Array, Xt: jax.Array, yt: jax.Array,
                 boundaries: dict[str, Params]) -> Any:
    """Source inputs sized by β and target inputs, coloured by label, with the decision lines;
    one legend for both panels, outside on the right (inside, every corner holds points or lines)."""
    from matplotlib.lines import Line2D

    from jaxlin.plots.figures import plt, set_axes
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4), sharex=True, sharey=True)
    x1 = np.linspace(-4, 4, 200)
    size = 40 * np.asarray(beta).reshape(-1) / float(np.mean(beta))
    for ax, X, y, s, title in ((axes[0], Xs, ys, np.clip(size, 1, 200), "source, marker size ∝ β(x)"),
                               (axes[1], Xt, yt, 4, "target (test sample)")):
        X, y = np.asarray(X), np.asarray(y).reshape(-1)
        ax.scatter(X[:, 0], X[:, 1], s=s, c=np.where(y > 0.5, "tab:orange", "tab:blue"), alpha=0.35,
                   linewidths=0)
        ax.plot(x1, x1 ** 2 - 1, "k-", label="rule: x2 = x1² − 1")
        for (name, params), fmt in zip(boundaries.items(), FMTS):
            ax.plot(x1, np.asarray(decision_boundary(params, jnp.asarray(x1))), fmt, label=name)
        set_axes(ax, "x1", "x2", (-4, 4), (-4, 5))
        ax.set_title(title)
    handles, labels = axes[0].get_legend_handles_labels()
    classes = [Line2D([], [], ls="", marker="o", color=c, alpha=0.6) for c in ("tab:orange", "tab:blue")]
    axes[1].legend(handles + classes, labels + ["label 1", "label 0"], loc="upper left",
                   bbox_to_anchor=(1.02, 1.0), fontsize=8)
    return fig


__all__ = [
    "decision_boundary", "domain_data", "effective_sample_size", "gaussian_log_density_ratio",
    "importance_weights", "init_logistic_regression", "log_importance_weights",
    "logistic_regression", "parabola_labels", "plot_domains", "plot_target_error", "sample_inputs",
    "train_logistic_regression",
    "weighted_error", "weighted_logistic_loss", "with_weights",
]
