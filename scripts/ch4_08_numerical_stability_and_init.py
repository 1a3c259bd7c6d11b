# %% [markdown]
# # 4.8 Numerical stability and initialization
#
# A deep network's gradient is a product of many layer Jacobians, so it can vanish or explode.
# We see it four ways: the sigmoid's gradient vanishing for large $|x|$; a product of 100 random
# 4×4 matrices exploding; activation variances through 10 layers, where Xavier initialization,
# $\mathrm{Var}(W) = \frac{2}{n_\mathrm{in} + n_\mathrm{out}}$, keeps them steady; and input
# standardization making gradient descent well conditioned.
#
# As a script: `python scripts/ch4_08_numerical_stability_and_init.py [--depth D] [--width W]`; in a notebook the flags take their defaults (or the words of `$JAXLIN_ARGS`).


# %%
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from jaxlin import (
    derivative,
    evaluate_loss,
    fit,
    init_linreg,
    linreg,
    plot,
    savefig,
    sgd,
    sigmoid,
    squared_loss,
    standardize,
    xavier_normal,
    xavier_uniform,
)
from jaxlin.data.preprocessing import standardization_stats
from jaxlin.nn.init import normal_init
from jaxlin.run.cli import Run, make_parser, positive_int

INITS: dict[str, Callable] = {"N(0, 1)": normal_init(1.0), "N(0, 0.01²)": normal_init(0.01),
                              "Xavier uniform": xavier_uniform, "Xavier normal": xavier_normal}

parser = make_parser("D2L 4.8 Numerical stability and initialization: vanishing/exploding gradients, "
                     "Xavier, standardization.", epochs=100)
parser.add_argument("--depth", type=positive_int, default=10, help="layers in the variance experiment")
parser.add_argument("--width", type=positive_int, default=256, help="width of those layers")
parser.add_argument("--num-matrices", type=positive_int, default=100,
                    help="random 4×4 matrices multiplied together")
parser.add_argument("--batch", type=positive_int, default=1000,
                    help="inputs pushed through the layers to estimate the variances")
args = parser.parse_args()
run = Run(args, "ch4_08_numerical_stability_and_init")
key = jax.random.key(args.seed)
key_mats, key_layers, key_inputs, key_reg, key_init, key_fit = jax.random.split(key, 6)


# %% [markdown]
# ## Vanishing gradients (4.8.1.1)
#
# $\sigma'(x) = \sigma(x)(1 - \sigma(x))$ is at most 0.25 and nearly 0 once $|x| > 5$: in the figure
# the gradient curve flattens on both sides.


# %%
def plot_sigmoid(path) -> None:
    x = jnp.linspace(-8.0, 8.0, 401)
    fig, ax = plt.subplots(figsize=(4.8, 3.3))
    plot(x, [sigmoid(x), derivative(sigmoid)(x)], "x", legend=["sigmoid", "gradient"], axes=ax,
         title="the sigmoid's gradient vanishes for large |x|")
    savefig(fig, path)


def vanishing_gradients(path) -> dict[str, float]:
    """1. sigmoid'(x) at x = 0, 2, 4, 8 (printed), and the sigmoid with its gradient (plotted)."""
    probes = jnp.asarray([0.0, 2.0, 4.0, 8.0])
    grads = derivative(sigmoid)(probes)
    print("sigmoid'(x) at x = 0, 2, 4, 8:", np.round(np.asarray(grads), 6))
    plot_sigmoid(path)
    return dict(zip(["0", "2", "4", "8"], np.asarray(grads).tolist()))


sigmoid_grad = vanishing_gradients(run.path("sigmoid_gradient.png"))


# %% [markdown]
# ## Exploding gradients (4.8.1.2)
#
# The norm of a product of random $\mathcal{N}(0, 1)$ 4×4 matrices grows geometrically.


# %%
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


def exploding_gradients(key: jax.Array, num_matrices: int) -> dict:
    """2. A product of ``num_matrices`` random matrices: the first, the product, max |entry| on the way."""
    first, M, sizes = matrix_product_norms(key, num_matrices)
    with np.printoptions(precision=4, linewidth=100):
        print("a single matrix\n", np.asarray(first))
        print(f"after multiplying {num_matrices} matrices\n", np.asarray(M))
    marks = [k for k in (1, 10, 25, 50, 100) if k <= num_matrices]
    print("max |entry| after k factors: " + ", ".join(f"k={k}: {float(sizes[k - 1]):.3g}" for k in marks))
    return {"first": np.asarray(first).tolist(), "product": np.asarray(M).tolist(),
            "max_abs_after_k": np.asarray(sizes).tolist()}


matrix_product = exploding_gradients(key_mats, args.num_matrices)


# %% [markdown]
# ## Parameter initialization (4.8.2)
#
# The variance of the activations layer by layer, for four initializations and two activations.
# In the figure (log scale) $\mathcal{N}(0, 1)$ explodes, $\mathcal{N}(0, 0.01^2)$ vanishes and both
# Xavier variants stay near the input's variance.


# %%
def identity(h: jax.Array) -> jax.Array:
    return h


ACTIVATIONS: dict[str, Callable] = {"linear": identity, "tanh": jnp.tanh}


# %%
@functools.partial(jax.jit, static_argnames="activation")
def forward_statistics(Ws: jax.Array, X: jax.Array, activation: Callable) -> tuple[jax.Array, jax.Array]:
    """Per layer l of h⁽ˡ⁾ = σ(z⁽ˡ⁾), z⁽ˡ⁾ = h⁽ˡ⁻¹⁾W⁽ˡ⁾ (no bias), Ws stacked (depth, n, n):
    Var(h⁽ˡ⁾) and the mean σ'(z⁽ˡ⁾), the factor each layer puts on the backward signal
    (near 0: saturated, the gradient vanishes even if the variance looks steady)."""
    slope = derivative(activation)

    def body(h, W):
        z = h @ W
        h = activation(z)
        return h, (h.var(), slope(z.reshape(-1)).mean())

    return jax.lax.scan(body, X, Ws)[1]


def init_layers(key: jax.Array, init: Callable, depth: int, width: int) -> jax.Array:
    """``depth`` square weight matrices W ~ init(k, (width, width)), one key each, stacked.

    Called eagerly on purpose: every init reuses the one compiled sampler per distribution
    and shape, where a jit per init would compile its own copy of the random generator.
    """
    return jnp.stack([init(k, (width, width)) for k in jax.random.split(key, depth)])


def layer_statistics(key: jax.Array, init: Callable, X: jax.Array, depth: int,
                     activation: Callable[[jax.Array], jax.Array]) -> tuple[jax.Array, jax.Array]:
    """:func:`forward_statistics` through ``depth`` square layers W ~ init(key, (n, n))."""
    return forward_statistics(init_layers(key, init, depth, X.shape[1]), X, activation)


def activation_statistics(key: jax.Array, X: jax.Array, depth: int) -> dict:
    """3. Per activation and initialization: the variance of activations and the mean slope per layer."""
    stats = {}
    for act, f in ACTIVATIONS.items():
        stats[act] = {}
        for name, init in INITS.items():
            var, slope = layer_statistics(key, init, X, depth, f)
            stats[act][name] = {"variance": np.asarray(var).tolist(), "mean_slope": np.asarray(slope).tolist()}
    return stats


def print_activation_statistics(stats: dict, X: jax.Array, depth: int) -> None:
    """The variance after the first and the last layer, and the last layer's mean slope."""
    print(f"input variance {float(X.var()):.3f}; activation variance after layer 1 and layer {depth} "
          f"(and the mean activation slope at layer {depth}):")
    for act, per_init in stats.items():
        for name, s in per_init.items():
            print(f"  {act:<6} {name:<15} {s['variance'][0]:10.4g} {s['variance'][-1]:10.4g}"
                  f"   (slope {s['mean_slope'][-1]:.3g})")


def plot_variances(stats: dict, width: int, path) -> None:
    """Variance of activations per layer (log scale), one panel per activation."""
    fig, axes = plt.subplots(1, len(stats), figsize=(5.2 * len(stats), 3.8))
    for ax, (act, per_init) in zip(np.atleast_1d(axes), stats.items()):
        layers = np.arange(1, len(next(iter(per_init.values()))["variance"]) + 1)
        legend = [name if act == "linear" else f"{name}; mean {act}' {s['mean_slope'][-1]:.2g}"
                  for name, s in per_init.items()]
        plot(layers, [np.asarray(s["variance"]) for s in per_init.values()], "layer",
             "variance of activations", legend=legend, yscale="log", axes=ax,
             fmts=("-o", "m--s", "g-.^", "r:v"), title=f"{act} layers, width {width}")
        ax.legend(legend, fontsize=8)
    savefig(fig, path)


def xavier_variance(width: int) -> float:
    """Var(W) = 2/(n_in + n_out) for square layers of ``width``, printed with n_in·Var(W)."""
    theory = 2.0 / (2 * width)
    print(f"Xavier: Var(W) = 2/(n_in + n_out) = {theory:.3g}, so n_in·Var(W) = {width * theory:.3g}")
    return theory


X = jax.random.normal(key_inputs, (args.batch, args.width))
stats = activation_statistics(key_layers, X, args.depth)
print_activation_statistics(stats, X, args.depth)
plot_variances(stats, args.width, run.path("activation_variance.png"))
theory = xavier_variance(args.width)


# %% [markdown]
# ## Standardizing the inputs
#
# Three features on very different scales (think metres, kilograms and grams) make the loss
# surface a narrow valley: the Hessian's condition number is huge and gradient descent crawls.
# Standardized to mean 0 and variance 1 the same regression converges in a few steps (figure);
# the learned weights, mapped back to raw units, recover $(10, 1, 0.01)$.


# %%
# Raw features: three N(0, 1) columns moved to these means and stretched to these scales
# (think metres, kilograms and grams), and weights giving each a similar share of y.
RAW_MEANS = (1.0, 0.0, 50.0)
RAW_SCALES = (0.1, 1.0, 100.0)
TRUE_W = (10.0, 1.0, 0.01)
TRUE_B, NOISE, N_EXAMPLES = 4.2, 0.1, 1000


# %%
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
                     key_fit: jax.Array):
    """Full-batch gradient descent on the squared loss with the step 1/λ_max of this X's Hessian
    (its largest safe step is 2/λ_max). The history starts with the loss at step 0."""
    lr = float(1.0 / hessian_eigenvalues(X).max())
    params = init_linreg(key_init, X.shape[1])
    start = {"epoch": 0, "train_loss": evaluate_loss(linreg, params, (X, y), squared_loss)}
    result = fit(linreg, params, squared_loss, functools.partial(sgd, lr=lr),
                 (X, y), num_epochs=num_steps, batch_size=X.shape[0], key=key_fit,
                 evals={"train": (X, y)}, eval_loss=squared_loss)
    result.history.insert(0, start)
    return result, lr


def descent_curve(name: str, X: jax.Array, y: jax.Array, num_steps: int, *, key_init: jax.Array,
                  key_fit: jax.Array) -> dict:
    """:func:`gradient_descent` on one set of features, with its Hessian's eigenvalues and κ (printed)."""
    eig = hessian_eigenvalues(X)
    result, lr = gradient_descent(X, y, num_steps, key_init=key_init, key_fit=key_fit)
    curve = {"lr": lr, "condition_number": float(eig.max() / eig.min()),
             "eigenvalues": eig.tolist(), "final_loss": result.history[-1]["train_loss"],
             "history": result.history, "seconds": result.seconds, "params": result.params}
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


def standardization(key_reg: jax.Array, num_steps: int, *, key_init: jax.Array,
                    key_fit: jax.Array) -> tuple[dict, np.ndarray, float]:
    """4. The same regression on raw and on standardized inputs; the standardized fit in raw units."""
    X_raw, y = raw_regression_data(key_reg)
    mean, std = standardization_stats(X_raw)
    X_std = standardize(X_raw, mean, std)
    curves = {name: descent_curve(name, features, y, num_steps, key_init=key_init, key_fit=key_fit)
              for name, features in (("raw", X_raw), ("standardized", X_std))}
    w_back, b_back = to_raw_units(curves["standardized"].pop("params"), mean, std)
    curves["raw"].pop("params")
    return curves, w_back, b_back


def plot_standardization(curves: dict, path) -> None:
    fig, axes = plt.subplots(1, len(curves), figsize=(4.8 * len(curves), 3.6), sharey=True)
    for ax, (name, c) in zip(np.atleast_1d(axes), curves.items()):
        steps = np.asarray([r["epoch"] for r in c["history"]])
        plot(steps, [[r["train_loss"] for r in c["history"]], np.full(len(steps), NOISE ** 2 / 2)],
             "gradient descent step", "training loss", legend=["loss", "noise floor σ²/2"],
             yscale="log", axes=ax, fmts=("-", "k:"),
             title=f"{name} features (κ = {c['condition_number']:.3g}, lr = {c['lr']:.3g})")
    savefig(fig, path)


curves, w_back, b_back = standardization(key_reg, args.epochs, key_init=key_init, key_fit=key_fit)
plot_standardization(curves, run.path("standardization.png"))


# %% [markdown]
# ## Results


# %%
results = {"sigmoid_grad": sigmoid_grad, "matrix_product": matrix_product,
           "activation_statistics": stats,
           "xavier_var_w": theory, "standardization": curves,
           "standardized_w_in_raw_units": w_back.tolist(), "standardized_b_in_raw_units": b_back}
run.finish(results)
