# %% [markdown]
# # 3.4 Softmax regression
#
# The ideas of the section as numbers: the softmax of the logits (2.0, 1.0, 0.1) and that it keeps
# their order; a likelihood and its cross-entropy losses; information $-\log p$, entropy $H(p)$ and
# cross-entropy $H(p, q) \ge H(p)$; the gradient of the loss with respect to the logits. Then, before
# softmax, four linear classifiers of two classes in 2-D, and why the logistic loss trains where the
# squared loss on a sigmoid stalls.
#
# As a script: `python scripts/ch3_04_softmax_regression.py [--help]`; in a notebook the flags take
# their defaults (or the words of `$JAXLIN_ARGS`).


# %%
import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin import (
    binary_cross_entropy_logits,
    cross_entropy,
    entropy,
    information,
    kl_divergence,
    savefig,
    set_axes,
    softmax,
    softmax_cross_entropy,
    train_perceptron,
)
from jaxlin.chapters.ch3_04_softmax_regression import (
    binary_accuracy,
    boundary_frame,
    cross_entropy_grad,
    cross_entropy_pq,
    init_linear_classifier,
    least_squares_classifier,
    likelihood,
    linear_classifier,
    log_likelihood,
    perceptron_mistake_bound,
    sigmoid_squared_loss,
    train_sigmoid_classifier,
    two_class_data,
)
from jaxlin.run.cli import Run, make_parser, positive_float, positive_int
from jaxlin.run.plot import plt

parser = make_parser("D2L 3.4 Softmax regression: softmax, likelihood, information and cross-entropy, "
                     "and linear classifiers.", lr=2.0)
parser.add_argument("--steps", type=positive_int, default=200,
                    help="full-batch gradient steps for each sigmoid classifier")
parser.add_argument("--num-per-class", type=positive_int, default=100, help="training points per class")
parser.add_argument("--outliers", type=int, default=10, help="class-1 outliers far on the correct side")
parser.add_argument("--perceptron-epochs", type=positive_int, default=20, help="perceptron passes")
parser.add_argument("--saturated-bias", type=positive_float, default=8.0,
                    help="b of the saturated start (w = 0): σ(b) ≈ 1 for every example")
args = parser.parse_args()
if args.outliers < 0:
    parser.error("--outliers must be >= 0")
run = Run(args, "ch3_04_softmax_regression")
key_ideas, key_classify = jax.random.split(jax.random.key(args.seed))


# %%
LOSSES = {"squared": sigmoid_squared_loss, "logistic": binary_cross_entropy_logits}
TITLES = {"squared": "sigmoid + squared loss", "logistic": "sigmoid + logistic loss",
          "perceptron": "perceptron", "least_squares": "least squares (±1 targets)"}
TEST_PER_CLASS = 500
CENTER, ANGLE = (1.0, 1.0), 0.5          # the generating boundary of the data set
LOGITS = (2.0, 1.0, 0.1)
LABEL_PROBS = (0.8, 0.6, 0.7)              # three examples' predicted probabilities of their labels
EVENT_PROBS = (1.0, 0.5, 0.25, 0.1)
P = (0.5, 0.25, 0.25)
QS = {"p": P, "uniform": (1 / 3, 1 / 3, 1 / 3), "reversed": (0.25, 0.25, 0.5)}


# %% [markdown]
# ## Softmax, likelihood, information (3.4.2-3.4.7)
#
# $\hat y_j = \frac{e^{o_j}}{\sum_k e^{o_k}}$; the likelihood of three labels predicted with
# probabilities 0.8, 0.6, 0.7 is 0.336, and the summed cross-entropy losses $-\log \hat y_y$ are its
# negative log. For $p = (0.5, 0.25, 0.25)$: $H(p) = 1.5$ bits, and every other $q$ costs more.
# Finally $\partial l / \partial \mathbf{o} = \mathrm{softmax}(\mathbf{o}) - \mathbf{y}$, against `jax.grad`.


# %%
@jax.jit
def softmax_values(key: jax.Array) -> dict:
    """Every number of the section's first part, in one compiled call (one compile, not one per op)."""
    o = jnp.array(LOGITS).reshape(1, -1)
    y_hat = softmax(o)[0]
    probs = jnp.array(LABEL_PROBS)
    # The same three examples as two-class predictions ŷ and labels y: cross_entropy picks ŷ_y.
    y_hats = jnp.array([[0.8, 0.2], [0.4, 0.6], [0.7, 0.3]])
    labels3 = jnp.array([0, 1, 0])
    p = jnp.array(P)
    qs = jnp.array(list(QS.values()))
    key_o, key_y = jax.random.split(key)
    logits = jax.random.normal(key_o, (4, 5))
    labels = jax.random.randint(key_y, (4,), 0, 5)
    by_jax = jax.grad(lambda o: softmax_cross_entropy(o, labels).sum())(logits)
    return {"probabilities": y_hat,
            "keeps_order": (jnp.argsort(y_hat) == jnp.argsort(o[0])).all(),
            "likelihood": likelihood(probs), "log_likelihood": log_likelihood(probs),
            "cross_entropy_losses": cross_entropy(y_hats, labels3),
            "information_bits": information(jnp.array(EVENT_PROBS), base=2),
            "H_p_bits": entropy(p, base=2), "H_p_nats": entropy(p),
            "H_pq_bits": cross_entropy_pq(jnp.broadcast_to(p, qs.shape), qs, base=2),
            "kl_bits": kl_divergence(jnp.broadcast_to(p, qs.shape), qs, base=2),
            "grad_max_abs_diff": jnp.abs(by_jax - cross_entropy_grad(logits, labels)).max()}


def softmax_ideas(key: jax.Array) -> dict:
    """The section's small computations, printed as the book shows them."""
    v = jax.device_get(softmax_values(key))
    print(f"softmax({', '.join(f'{x:g}' for x in LOGITS)}) = {np.round(v['probabilities'], 3)}, "
          f"sum {v['probabilities'].sum():.3f}, same order as the logits: {bool(v['keeps_order'])}")
    print(f"likelihood 0.8 × 0.6 × 0.7 = {v['likelihood']:.3f}, log-likelihood {v['log_likelihood']:.3f}; "
          f"cross-entropy losses {np.round(v['cross_entropy_losses'], 3)} sum to "
          f"{v['cross_entropy_losses'].sum():.3f} = −log-likelihood")
    print("information −log₂ p: " + ", ".join(f"p={p:g}: {abs(i):.2f} bits"
                                              for p, i in zip(EVENT_PROBS, v["information_bits"])))
    print(f"p = {P}: entropy H(p) = {v['H_p_bits']:.3f} bits = {v['H_p_nats']:.4f} nats")
    cross = {}
    for i, (name, q) in enumerate(QS.items()):
        cross[name] = {"q": list(q), "H_pq_bits": float(v["H_pq_bits"][i]), "kl_bits": float(v["kl_bits"][i])}
        print(f"  q = {name:8s} {np.round(q, 3)}: H(p, q) = {v['H_pq_bits'][i]:.3f} bits >= H(p), "
              f"KL(p‖q) = {v['kl_bits'][i]:.3f}")
    print(f"∂l/∂o = softmax(o) − y: max |jax.grad − (softmax(o) − onehot(y))| = "
          f"{v['grad_max_abs_diff']:.2e} over 4 examples × 5 classes")
    return {"softmax": {"logits": list(LOGITS), "probabilities": v["probabilities"].tolist(),
                        "keeps_order": bool(v["keeps_order"])},
            "likelihood": {"probs": list(LABEL_PROBS), "likelihood": float(v["likelihood"]),
                           "log_likelihood": float(v["log_likelihood"]),
                           "cross_entropy_losses": v["cross_entropy_losses"].tolist(),
                           "cross_entropy_sum": float(v["cross_entropy_losses"].sum())},
            "information_bits": {f"{p:g}": abs(float(i)) for p, i in zip(EVENT_PROBS, v["information_bits"])},
            "entropy": {"p": list(P), "H_p_bits": float(v["H_p_bits"]), "H_p_nats": float(v["H_p_nats"]),
                        "cross": cross},
            "grad_max_abs_diff": float(v["grad_max_abs_diff"])}


results = softmax_ideas(key_ideas)


# %% [markdown]
# ## Information and cross-entropy, drawn
#
# Left: the information $-\log_2 p$ of an event, large for rare events. Right: for a coin with
# $p = 0.3$, the cross-entropy $H(p, q)$ as the believed $q$ varies is smallest, equal to $H(p)$,
# at $q = p$.


# %%
def plot_entropy(path) -> None:
    """Information −log₂ p, and H(p, q) ≥ H(p) for a coin with p = 0.3 as q varies."""
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
    savefig(fig, path)


plot_entropy(run.path("entropy.png"))


# %% [markdown]
# ## Linear classifiers of two classes
#
# A separable data set with a clump of far class-1 outliers on the correct side, and four
# classifiers: a sigmoid output trained with the squared loss, the same with the logistic loss,
# the perceptron, and least squares on ±1 targets. Both sigmoid models are also trained from a
# saturated start ($\sigma(o) \approx 1$ everywhere), where the squared loss's gradient
# $(\sigma - y)\,\sigma(1 - \sigma)$ vanishes and the logistic loss's $\sigma - y$ does not.


# %%
def accuracies(params, train, test, num_blob: int) -> dict[str, float]:
    """Accuracy on the training set, on its blobs without the outliers, and on the clean test set."""
    acc = jax.device_get(_accuracies(params, *train, *test, num_blob))
    return {k: float(v) for k, v in acc.items()}


@functools.partial(jax.jit, static_argnums=5)
def _accuracies(params, X, y, X_test, y_test, num_blob):
    return {"train": binary_accuracy(linear_classifier(params, X), y),
            "train_blobs": binary_accuracy(linear_classifier(params, X[:num_blob]), y[:num_blob]),
            "test": binary_accuracy(linear_classifier(params, X_test), y_test)}


def linear_classification(key: jax.Array, args) -> tuple[dict, dict, tuple]:
    """The four classifiers on the outlier data set, and both sigmoid models from a saturated start.

    Returns the results (accuracies, perceptron mistakes, per-step curves), the four
    trained models and the training data.
    """
    key_train, key_test, key_init, key_perceptron = jax.random.split(key, 4)
    n = args.num_per_class
    train = two_class_data(key_train, n, num_outliers=args.outliers, center=CENTER, angle=ANGLE)
    test = two_class_data(key_test, TEST_PER_CLASS, center=CENTER, angle=ANGLE)
    starts = {"": init_linear_classifier(key_init, 2),
              "_saturated": {"w": jnp.zeros(2), "b": jnp.asarray(args.saturated_bias, jnp.float32)}}
    models, saturated, curves = {}, {}, {}
    for name, loss in LOSSES.items():
        for suffix, params0 in starts.items():
            params, history = train_sigmoid_classifier(loss, params0, *train, lr=args.lr,
                                                       num_steps=args.steps)
            curves[name + suffix] = {k: np.asarray(v).tolist() for k, v in history.items()}
            (models if not suffix else saturated)[name] = params

    zero = {"w": jnp.zeros(2), "b": jnp.zeros(())}
    models["perceptron"], mistakes = train_perceptron(zero, *train, num_epochs=args.perceptron_epochs,
                                                      key=key_perceptron)
    models["least_squares"] = least_squares_classifier(*train)
    u, _ = boundary_frame(ANGLE)
    bound = float(perceptron_mistake_bound(*train, u, -float(u @ jnp.asarray(CENTER))))
    mistakes = np.asarray(mistakes).tolist()

    acc = {name: accuracies(p, train, test, 2 * n) for name, p in models.items()}
    print(f"\n{2 * n} points in two separable blobs + {args.outliers} class-1 outliers far on the "
          f"correct side; clean test set of {2 * TEST_PER_CLASS}")
    print(f"{'classifier':28s} {'train':>6s} {'blobs':>6s} {'test':>6s}")
    for name, a in acc.items():
        print(f"{TITLES[name]:28s} {a['train']:6.3f} {a['train_blobs']:6.3f} {a['test']:6.3f}")
    converged = next((i + 1 for i, m in enumerate(mistakes) if m == 0), None)
    print(f"perceptron mistakes per epoch: {mistakes[:10]}{' ...' if len(mistakes) > 10 else ''}; "
          f"first epoch without a mistake: {converged}; total {sum(mistakes)} <= Novikoff bound "
          f"(R/γ)² = {bound:.0f} of the generating boundary")
    for name in LOSSES:
        c = curves[f"{name}_saturated"]["accuracy"]
        print(f"saturated start (w = 0, b = {args.saturated_bias:g}), {TITLES[name]}: train accuracy "
              f"{c[0]:.3f} at step 0, {c[len(c) // 10]:.3f} at step {len(c) // 10}, "
              f"{c[-1]:.3f} at step {len(c) - 1}")
    results = {"data": {"num_per_class": n, "outliers": args.outliers, "test_size": 2 * TEST_PER_CLASS},
               "accuracy": acc,
               "params": {k: {kk: np.asarray(vv).tolist() for kk, vv in p.items()} for k, p in models.items()},
               "perceptron": {"mistakes_per_epoch": mistakes, "converged_epoch": converged,
                              "total_mistakes": sum(mistakes), "novikoff_bound": bound},
               "saturated_start": {"bias": args.saturated_bias,
                                   "accuracy": {name: accuracies(p, train, test, 2 * n)
                                                for name, p in saturated.items()}},
               "curves": curves}
    return results, models, train


classify, models, train = linear_classification(key_classify, args)
results["classification"] = classify


# %% [markdown]
# ## Decision boundaries and training curves
#
# The outliers pull the least-squares boundary, whose loss keeps growing for points classified
# right "too well", but neither sigmoid model. In the training figure the saturated squared-loss
# model stays flat while the logistic one recovers; the perceptron's mistakes fall to zero.


# %%
def plot_boundaries(models: dict, train: tuple, acc: dict, num_blob: int, path) -> None:
    """The training data with each classifier's decision boundary o = 0."""
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
    styles = {"squared": ("tab:green", "--"), "logistic": ("black", "-"),
              "perceptron": ("tab:purple", ":"), "least_squares": ("tab:red", "-.")}
    labels = {"squared": "sigmoid + squared", "logistic": "sigmoid + logistic",
              "perceptron": "perceptron", "least_squares": "least squares"}
    for name, params in models.items():
        o = np.asarray(linear_classifier(params, grid)).reshape(G1.shape)
        color, style = styles[name]
        ax.contour(G1, G2, o, levels=[0.0], colors=[color], linestyles=[style], linewidths=1.8)
        ax.plot([], [], color=color, linestyle=style,
                label=f"{labels[name]} (test acc {acc[name]['test']:.3f})")
    ax.set_aspect("equal", anchor="W")                 # the legend right beside it, not off the page
    set_axes(ax, "$x_1$", "$x_2$")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    ax.set_title("decision boundaries o = 0 on the training data")
    savefig(fig, path)


def plot_training(curves: dict, mistakes: list, path) -> None:
    """Train accuracy per step of both sigmoid models (normal and saturated start); perceptron mistakes."""
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
    savefig(fig, path)


plot_boundaries(models, train, classify["accuracy"], 2 * args.num_per_class,
                run.path("decision_boundaries.png"))
plot_training(classify["curves"], classify["perceptron"]["mistakes_per_epoch"], run.path("training.png"))


# %% [markdown]
# ## Results


# %%
run.finish(results)
