"""The experiments of D2L 3.4 beyond its formulas: the section's numbers in one compiled call, the
four linear classifiers of two classes on data with outliers, their report and the figures.

The functions they use (softmax, likelihood, entropy, the classifiers and their training) are in
:mod:`jaxlin.chapters.ch3_04_softmax_regression` and the core; this module runs and reports them.
"""
from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin.chapters.ch3_04_softmax_regression import (
    binary_accuracy,
    boundary_frame,
    cross_entropy_grad,
    cross_entropy_pq,
    entropy,
    information,
    init_linear_classifier,
    kl_divergence,
    least_squares_classifier,
    likelihood,
    linear_classifier,
    log_likelihood,
    perceptron_mistake_bound,
    train_perceptron,
    train_sigmoid_classifier,
    two_class_data,
)
from jaxlin.nn.losses import cross_entropy, softmax_cross_entropy
from jaxlin.nn.softmax import softmax

TITLES = {"squared": "sigmoid + squared loss", "logistic": "sigmoid + logistic loss",
          "perceptron": "perceptron", "least_squares": "least squares (±1 targets)"}
TEST_PER_CLASS = 500
CENTER, ANGLE = (1.0, 1.0), 0.5          # the generating boundary of the data set


@functools.partial(jax.jit, static_argnames=("logits", "label_probs", "event_probs", "p", "qs"))
def softmax_values(key: jax.Array, *, logits: tuple, label_probs: tuple, event_probs: tuple, p: tuple,
                   qs: tuple) -> dict:
    """Every number of the section's first part, in one compiled call (one compile, not one per op)."""
    o = jnp.array(logits).reshape(1, -1)
    y_hat = softmax(o)[0]
    probs = jnp.array(label_probs)
    # The same three examples as two-class predictions ŷ and labels y: cross_entropy picks ŷ_y.
    y_hats = jnp.array([[0.8, 0.2], [0.4, 0.6], [0.7, 0.3]])
    labels3 = jnp.array([0, 1, 0])
    p, qs = jnp.array(p), jnp.array(qs)
    key_o, key_y = jax.random.split(key)
    random_logits = jax.random.normal(key_o, (4, 5))
    labels = jax.random.randint(key_y, (4,), 0, 5)
    by_jax = jax.grad(lambda o: softmax_cross_entropy(o, labels).sum())(random_logits)
    return {"probabilities": y_hat,
            "keeps_order": (jnp.argsort(y_hat) == jnp.argsort(o[0])).all(),
            "likelihood": likelihood(probs), "log_likelihood": log_likelihood(probs),
            "cross_entropy_losses": cross_entropy(y_hats, labels3),
            "information_bits": information(jnp.array(event_probs), base=2),
            "H_p_bits": entropy(p, base=2), "H_p_nats": entropy(p),
            "H_pq_bits": cross_entropy_pq(jnp.broadcast_to(p, qs.shape), qs, base=2),
            "kl_bits": kl_divergence(jnp.broadcast_to(p, qs.shape), qs, base=2),
            "grad_max_abs_diff": jnp.abs(by_jax - cross_entropy_grad(random_logits, labels)).max()}


def accuracies(params, train, test, num_blob: int) -> dict[str, float]:
    """Accuracy on the training set, on its blobs without the outliers, and on the clean test set."""
    acc = jax.device_get(_accuracies(params, *train, *test, num_blob))
    return {k: float(v) for k, v in acc.items()}


@functools.partial(jax.jit, static_argnums=5)
def _accuracies(params, X, y, X_test, y_test, num_blob):
    return {"train": binary_accuracy(linear_classifier(params, X), y),
            "train_blobs": binary_accuracy(linear_classifier(params, X[:num_blob]), y[:num_blob]),
            "test": binary_accuracy(linear_classifier(params, X_test), y_test)}


def fit_linear_classifiers(key: jax.Array, losses: dict, *, num_per_class: int, outliers: int, lr: float,
                           steps: int, perceptron_epochs: int, saturated_bias: float) -> dict[str, Any]:
    """The four classifiers on the outlier data set, and both sigmoid models from a saturated start
    (w = 0, b = ``saturated_bias``): the data, the models, the curves and the perceptron's mistakes."""
    key_train, key_test, key_init, key_perceptron = jax.random.split(key, 4)
    train = two_class_data(key_train, num_per_class, num_outliers=outliers, center=CENTER, angle=ANGLE)
    test = two_class_data(key_test, TEST_PER_CLASS, center=CENTER, angle=ANGLE)
    starts = {"": init_linear_classifier(key_init, 2),
              "_saturated": {"w": jnp.zeros(2), "b": jnp.asarray(saturated_bias, jnp.float32)}}
    models, saturated, curves = {}, {}, {}
    for name, loss in losses.items():
        for suffix, params0 in starts.items():
            params, history = train_sigmoid_classifier(loss, params0, *train, lr=lr, num_steps=steps)
            curves[name + suffix] = {k: np.asarray(v).tolist() for k, v in history.items()}
            (models if not suffix else saturated)[name] = params
    zero = {"w": jnp.zeros(2), "b": jnp.zeros(())}
    models["perceptron"], mistakes = train_perceptron(zero, *train, num_epochs=perceptron_epochs,
                                                      key=key_perceptron)
    models["least_squares"] = least_squares_classifier(*train)
    u, _ = boundary_frame(ANGLE)
    bound = float(perceptron_mistake_bound(*train, u, -float(u @ jnp.asarray(CENTER))))
    return {"train": train, "test": test, "models": models, "saturated": saturated, "curves": curves,
            "mistakes": np.asarray(mistakes).tolist(), "bound": bound}


def classification_results(fitted: dict, *, num_per_class: int, outliers: int, saturated_bias: float) -> dict:
    """The accuracies, the perceptron's record and the curves, as ``results.json`` keeps them."""
    train, test, n, mistakes = fitted["train"], fitted["test"], num_per_class, fitted["mistakes"]
    return {"data": {"num_per_class": n, "outliers": outliers, "test_size": 2 * TEST_PER_CLASS},
            "accuracy": {name: accuracies(p, train, test, 2 * n) for name, p in fitted["models"].items()},
            "params": {k: {kk: np.asarray(vv).tolist() for kk, vv in p.items()}
                       for k, p in fitted["models"].items()},
            "perceptron": {"mistakes_per_epoch": mistakes,
                           "converged_epoch": next((i + 1 for i, m in enumerate(mistakes) if m == 0), None),
                           "total_mistakes": sum(mistakes), "novikoff_bound": fitted["bound"]},
            "saturated_start": {"bias": saturated_bias,
                                "accuracy": {name: accuracies(p, train, test, 2 * n)
                                             for name, p in fitted["saturated"].items()}},
            "curves": fitted["curves"]}


def print_classification(c: dict) -> None:
    """The accuracy table, the perceptron's mistakes against Novikoff's bound, the saturated starts."""
    d, mistakes = c["data"], c["perceptron"]["mistakes_per_epoch"]
    print(f"\n{2 * d['num_per_class']} points in two separable blobs + {d['outliers']} class-1 outliers far on "
          f"the correct side; clean test set of {d['test_size']}")
    print(f"{'classifier':28s} {'train':>6s} {'blobs':>6s} {'test':>6s}")
    for name, a in c["accuracy"].items():
        print(f"{TITLES[name]:28s} {a['train']:6.3f} {a['train_blobs']:6.3f} {a['test']:6.3f}")
    print(f"perceptron mistakes per epoch: {mistakes[:10]}{' ...' if len(mistakes) > 10 else ''}; "
          f"first epoch without a mistake: {c['perceptron']['converged_epoch']}; total {sum(mistakes)} <= "
          f"Novikoff bound (R/γ)² = {c['perceptron']['novikoff_bound']:.0f} of the generating boundary")
    for name in c["saturated_start"]["accuracy"]:
        acc = c["curves"][f"{name}_saturated"]["accuracy"]
        print(f"saturated start (w = 0, b = {c['saturated_start']['bias']:g}), {TITLES[name]}: train accuracy "
              f"{acc[0]:.3f} at step 0, {acc[len(acc) // 10]:.3f} at step {len(acc) // 10}, "
              f"{acc[-1]:.3f} at step {len(acc) - 1}")


def plot_entropy() -> Any:
    """Information −log₂ p, and H(p, q) ≥ H(p) for a coin with p = 0.3 as q varies."""
    from jaxlin.plots.figures import plt, set_axes  # matplotlib only when a figure is drawn
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.0, 3.4))
    p = np.linspace(0.01, 1, 200)
    ax1.plot(p, np.asarray(information(jnp.asarray(p), base=2)))
    set_axes(ax1, "p", "information −log₂ p (bits)")
    p0 = jnp.array([0.3, 0.7])
    q = np.linspace(0.02, 0.98, 200)
    Q = jnp.asarray(np.stack([q, 1 - q], axis=1), jnp.float32)
    ax2.plot(q, np.asarray(cross_entropy_pq(jnp.broadcast_to(p0, Q.shape), Q, base=2)), label="H(p, q)")
    ax2.axhline(float(entropy(p0, base=2)), color="m", linestyle="--", label="H(p)")
    ax2.axvline(0.3, color="gray", linestyle=":", label="q = p = 0.3")
    set_axes(ax2, "q (probability of heads believed)", "bits", ylim=(0, 3))
    ax2.legend(fontsize=8)
    ax2.set_title("cross-entropy of a coin with p = 0.3")
    return fig


BOUNDARY_STYLES = {"squared": ("tab:green", "--", "sigmoid + squared"),
                   "logistic": ("black", "-", "sigmoid + logistic"),
                   "perceptron": ("tab:purple", ":", "perceptron"),
                   "least_squares": ("tab:red", "-.", "least squares")}


def plot_boundaries(models: dict, train: tuple, acc: dict, num_blob: int) -> Any:
    """The training data with each classifier's decision boundary o = 0."""
    from jaxlin.plots.figures import plt, set_axes
    X, y = np.asarray(train[0]), np.asarray(train[1])
    fig, ax = plt.subplots(figsize=(6.0, 4.4))              # equal axes plus the legend beside
    ax.scatter(*X[:num_blob][y[:num_blob] == 0].T, s=14, c="tab:blue", marker="o", label="class 0")
    ax.scatter(*X[:num_blob][y[:num_blob] == 1].T, s=14, c="tab:orange", marker="^", label="class 1")
    if len(X) > num_blob:
        ax.scatter(*X[num_blob:].T, s=30, facecolors="none", edgecolors="tab:red", marker="^",
                   label="class 1 (outliers)")
    pad = 1.0
    x1 = np.linspace(X[:, 0].min() - pad, X[:, 0].max() + pad, 400)
    x2 = np.linspace(X[:, 1].min() - pad, X[:, 1].max() + pad, 400)
    G1, G2 = np.meshgrid(x1, x2)
    grid = jnp.asarray(np.stack([G1.ravel(), G2.ravel()], axis=1), jnp.float32)
    for name, params in models.items():
        o = np.asarray(linear_classifier(params, grid)).reshape(G1.shape)
        color, style, label = BOUNDARY_STYLES[name]
        ax.contour(G1, G2, o, levels=[0.0], colors=[color], linestyles=[style], linewidths=1.8)
        ax.plot([], [], color=color, linestyle=style, label=f"{label} (test acc {acc[name]['test']:.3f})")
    ax.set_aspect("equal", anchor="W")                 # the legend right beside it, not off the page
    set_axes(ax, "$x_1$", "$x_2$")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    ax.set_title("decision boundaries o = 0 on the training data")
    return fig


def plot_training(curves: dict, mistakes: list) -> Any:
    """Train accuracy per step of both sigmoid models (normal and saturated start); perceptron mistakes."""
    from jaxlin.plots.figures import plt, set_axes
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.0, 3.4))
    colors = {"squared": "tab:green", "logistic": "black"}
    for name, color in colors.items():
        for suffix, style in (("", "-"), ("_saturated", "--")):
            acc = curves[name + suffix]["accuracy"]
            ax1.plot(np.arange(len(acc)), acc, color=color, linestyle=style,
                     label=f"{name} loss" + (", saturated start" if suffix else ""))
    set_axes(ax1, "gradient step", "train accuracy", ylim=(0.4, 1.02))
    ax1.legend(fontsize=8, loc="center right")
    ax1.set_title("sigmoid classifier, full-batch GD")
    ax2.bar(np.arange(1, len(mistakes) + 1), mistakes, color="tab:purple")
    set_axes(ax2, "epoch", "mistakes")
    ax2.set_xticks(np.arange(1, len(mistakes) + 1, max(1, len(mistakes) // 10)))
    ax2.set_title("perceptron")
    return fig
