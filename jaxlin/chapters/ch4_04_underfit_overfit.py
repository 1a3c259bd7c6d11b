"""Polynomial regression (D2L 4.4.4): the features xⁱ/i!, the data, a bias-free linear model,
its fit with the book's SGD and K-fold cross-validation of it; and what the chapter shows
beside the book: the normal fit against least squares, why early stopping can test worse,
and the two figures."""
from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin.checks import check_positive_int
from jaxlin.data.model_selection import k_fold
from jaxlin.nn.updaters import sgd
from jaxlin.plots.figures import plot, plt
from jaxlin.train.epoch import make_train_epoch
from jaxlin.train.evaluate import evaluate_loss, evaluator
from jaxlin.train.fit import fit

Params = dict[str, jax.Array]
TRUE_W = (5.0, 1.2, -3.4, 5.6)  # y = 5 + 1.2x − 3.4x²/2! + 5.6x³/3! + ε


def poly_features(x: jax.Array, max_degree: int) -> jax.Array:
    """The features xⁱ / i! for i = 0 … max_degree − 1, shape (n, max_degree), from x of shape (n,).

    Dividing by i! = Γ(i + 1) keeps large powers from producing huge gradients (eq. 4.4.2's
    features rescaled as in the book).
    """
    max_degree = check_positive_int(max_degree, "max_degree")
    x = jnp.asarray(x, jnp.float32).reshape(-1, 1)
    powers = jnp.arange(max_degree, dtype=jnp.float32).reshape(1, -1)
    factorials = jnp.asarray([math.factorial(i) for i in range(max_degree)], jnp.float32).reshape(1, -1)
    return x ** powers / factorials


def polynomial_data(key: jax.Array, true_w: jax.Array, num_examples: int, *, max_degree: int = 20,
                    noise: float = 0.1) -> tuple[jax.Array, jax.Array]:
    """Draw y = Σᵢ wᵢ xⁱ/i! + ε with x ~ N(0, 1), ε ~ N(0, noise²) (eq. 4.4.2).

    ``true_w`` holds the leading coefficients; the rest of the ``max_degree`` are zero.
    Returns ``(features, labels)`` of shapes (n, max_degree) and (n, 1).
    """
    num_examples = check_positive_int(num_examples, "num_examples")
    true_w = jnp.asarray(true_w, jnp.float32).reshape(-1)
    if true_w.shape[0] > max_degree:
        raise ValueError(f"true_w has {true_w.shape[0]} coefficients, more than max_degree={max_degree}")
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    w = jnp.zeros(max_degree).at[: true_w.shape[0]].set(true_w)
    key_x, key_eps = jax.random.split(key)
    features = poly_features(jax.random.normal(key_x, (num_examples,)), max_degree)
    labels = features @ w + noise * jax.random.normal(key_eps, (num_examples,))
    return features, labels.reshape(-1, 1)


def init_polyreg(key: jax.Array, num_features: int, sigma: float = 0.01) -> Params:
    """``w ~ N(0, sigma²)`` of shape (num_features, 1); no bias (feature 0 is the constant 1)."""
    num_features = check_positive_int(num_features, "num_features")
    return {"w": sigma * jax.random.normal(key, (num_features, 1))}


def polyreg(params: Params, X: jax.Array) -> jax.Array:
    """The bias-free linear model ŷ = Xw on polynomial features (the book's ``nn.Linear(bias=False)``)."""
    return X @ params["w"]


def mse(y_hat: jax.Array, y: jax.Array) -> jax.Array:
    """Elementwise squared error (ŷ − y)², without the ½ (the book's ``nn.MSELoss`` here)."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2




def fit_poly(data, num_features: int, num_epochs: int, *, lr: float, batch_size: int,
             key_init: jax.Array, key_fit: jax.Array, evals_names=("train", "test"),
             callback=None):
    """Train ŷ = Xw on the first ``num_features`` features with the book's SGD and MSE loss."""
    cut = {name: (X[:, :num_features], y) for name, (X, y) in data.items()}
    epoch = make_train_epoch(polyreg, mse, functools.partial(sgd, lr=lr),
                             min(batch_size, cut["train"][0].shape[0]))
    evaluate = evaluator(polyreg, {name: cut[name] for name in evals_names}, loss=mse)
    return fit(epoch, epoch.init(init_polyreg(key_init, num_features), key_fit), cut["train"],
               num_epochs=num_epochs, evaluate=evaluate, callback=callback)


def cross_validate(X: jax.Array, y: jax.Array, k: int, num_features: int, num_epochs: int, *,
                   lr: float, batch_size: int, key_init: jax.Array, key_fit: jax.Array) -> list[float]:
    """The validation loss of each of the ``k`` folds (trained on the other k − 1)."""
    losses = []
    for X_train, y_train, X_valid, y_valid in k_fold(k, X, y):
        result = fit_poly({"train": (X_train, y_train)}, num_features, num_epochs, lr=lr,
                          batch_size=batch_size, key_init=key_init, key_fit=key_fit,
                          evals_names=())
        losses.append(evaluate_loss(polyreg, result.state.params, (X_valid[:, :num_features], y_valid), mse))
    return losses


def compare_fits(data: dict, fits: dict) -> dict[str, Any]:
    """The normal (4-feature) fit against the true w and the least-squares w on the same
    features, and how much worse the underfit model trains."""
    X4, y_train = data["train"][0][:, :4], data["train"][1]
    lstsq_w = np.asarray(jnp.linalg.lstsq(X4, y_train)[0]).reshape(-1)
    w = np.asarray(fits["normal"]["weights"])
    return {"least_squares_w4": lstsq_w.tolist(), "normal_max_abs_error": float(np.abs(w - np.asarray(TRUE_W)).max()),
            "normal_gap_to_least_squares": float(np.abs(w - lstsq_w).max()),
            "underfit_over_normal_train_loss": fits["underfitting"]["train_loss"] / fits["normal"]["train_loss"]}


def slow_convergence_note(data: dict, gap: float, epochs: int) -> str | None:
    """Why SGD can still be far from least squares after the book's epochs (None when it is not)."""
    if gap <= 0.05:
        return None
    x = np.asarray(data["train"][0][:, 1])
    return (f"note: after {epochs} epochs SGD is still {gap:.2f} from the least-squares solution: "
            f"this draw's x spans only [{x.min():.2f}, {x.max():.2f}], where x³/3! is hard to tell "
            f"from x, so its coefficient converges slowly (more --epochs, or another --seed)")


def plot_fits(fits: dict) -> Any:
    """Log-scale train/test loss per epoch, one panel per model (the book's three figures)."""
    fig, axes = plt.subplots(1, len(fits), figsize=(4.2 * len(fits), 3.4))
    for ax, (name, f) in zip(np.atleast_1d(axes), fits.items()):
        h = f["history"]
        epochs = np.asarray([r["epoch"] for r in h])
        plot(epochs, [[r["train_loss"] for r in h], [r["test_loss"] for r in h]], "epoch", "loss (MSE)",
             legend=["train", "test"], yscale="log", ylim=(1e-3, 1e2), axes=ax,
             title=f"{name}: {f['num_features']} features, {len(h)} epochs")
    return fig


def why_worse(data: dict, best_epoch: int, best_test: float, *, noise: float, max_degree: int) -> str:
    """Why the early-stopped fit tests worse than the full run: where its validation set lies."""
    x_train, x_valid = np.asarray(data["train"][0][:, 1]), np.asarray(data["valid"][0][:, 1])
    lo, hi = x_train.min(), x_train.max()
    outside = int(np.sum((x_valid < lo) | (x_valid > hi)))
    where = (f", {outside} of them outside the training x range [{lo:.2f}, {hi:.2f}], where the "
             f"{max_degree}-feature polynomial extrapolates and their error grows" if outside else "")
    return (f"it keeps the best validation epoch of a noisy, small-data run ({len(x_valid)} validation "
            f"examples{where}); the validation loss turns up at epoch {best_epoch}, before the model fits "
            f"the signal (test loss then {best_test:.3g}; the noise floor is σ² = {noise ** 2:g})")


def plot_early_stopping(history: list[dict], best_epoch: int, stopped_epoch: int | None,
                        full_history: list[dict]) -> Any:
    """The early-stopped 20-feature fit against the full-length one."""
    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    e = np.asarray([r["epoch"] for r in history])
    ef = np.asarray([r["epoch"] for r in full_history])
    plot([ef, ef, e, e], [[r["train_loss"] for r in full_history], [r["test_loss"] for r in full_history],
                          [r["valid_loss"] for r in history], [r["test_loss"] for r in history]],
         "epoch", "loss (MSE)", yscale="log", axes=ax, fmts=(":", "r:", "g-", "m--"),
         title="20 features: early stopping on the validation loss")
    names = ["train (full run)", "test (full run)", "valid (early stopping)", "test (early stopping)",
             f"best epoch {best_epoch} (params kept)"]
    ax.axvline(best_epoch, color="k", lw=0.8)
    if stopped_epoch is not None:
        ax.axvline(stopped_epoch, color="grey", lw=0.8, ls="--")
        names.append(f"stopped after epoch {stopped_epoch}")
    ax.legend(ax.get_lines(), names, fontsize=8)
    return fig


__all__ = ["TRUE_W", "compare_fits", "cross_validate", "fit_poly", "init_polyreg", "mse", "plot_early_stopping",
           "plot_fits", "poly_features", "polynomial_data", "polyreg", "slow_convergence_note", "why_worse"]
