# %% [markdown]
# # 4.8 Numerical stability and initialization
#
# A deep network's gradient is a product of many layer Jacobians, so it can vanish or explode.
# We see it four ways: the sigmoid's gradient vanishing for large $|x|$; a product of 100 random
# 4×4 matrices exploding; activation variances through 10 layers, where Xavier initialization,
# $\mathrm{Var}(W) = \frac{2}{n_\mathrm{in} + n_\mathrm{out}}$, keeps them steady, and He
# initialization, $\mathrm{Var}(W) = \frac{2}{n_\mathrm{in}}$, does the same for ReLU layers; and
# input standardization (and min-max normalization) making gradient descent well conditioned.
#
# As a script: `python scripts/ch4_08_numerical_stability_and_init.py [--depth D] [--width W]`; in a notebook the flags take their defaults (or the words of `$JAXLIN_ARGS`).


# %% [markdown]
# The set-up: the section's settings, stated once (each is a flag when this file runs as a
# script): the gradient-descent steps of the standardization experiment (`--epochs`, 100), the
# depth and width of the layers whose activations we follow, how many random matrices to
# multiply, and how many inputs estimate the variances. One key, split by role: the matrices,
# the layers' weights, their inputs, the regression data, its initial weights and its fit.


# %%
import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin import derivative, relu, sigmoid, standardize, xavier_normal, xavier_uniform
from jaxlin.chapters import ch4_08_numerical_stability_and_init as ch4_08
from jaxlin.data.preprocessing import standardization_stats
from jaxlin.nn.init import normal_init
from jaxlin.run import setup
from jaxlin.run.session import Flag, record, save

num_epochs, depth, width, num_matrices, batch, seed = setup(
    "ch4_08_numerical_stability_and_init", "4.8 Numerical stability and initialization", num_epochs=100,
    depth=Flag(10, help="layers in the variance experiment"), width=Flag(256, help="width of those layers"),
    num_matrices=Flag(100, help="random 4×4 matrices multiplied together"),
    batch=Flag(1000, help="inputs pushed through the layers to estimate the variances"))
key_mats, key_layers, key_inputs, key_reg, key_init, key_fit = jax.random.split(jax.random.key(seed), 6)


# %% [markdown]
# ## Vanishing gradients (4.8.1.1)
#
# The book plots `torch.sigmoid` and its gradient (from `y.backward(torch.ones_like(x))`):
# $\sigma'(x) = \sigma(x)(1 - \sigma(x))$ is at most 0.25, at $x = 0$, and nearly 0 once $|x| > 5$,
# so a chain of saturated sigmoids multiplies the backward signal by tiny factors. In JAX the
# gradient of an elementwise function is `derivative(sigmoid)`, `jax.vmap(jax.grad(sigmoid))`:
# no backward call, no seed vector. Expect `[0.25 0.104994 0.017663 0.000335]` and a gradient
# curve that flattens on both sides.


# %%
probes = jnp.asarray([0.0, 2.0, 4.0, 8.0])
grads = derivative(sigmoid)(probes)
print("sigmoid'(x) at x = 0, 2, 4, 8:", np.round(np.asarray(grads), 6))
save(ch4_08.plot_sigmoid(), "sigmoid_gradient.png")
record(sigmoid_grad=dict(zip(["0", "2", "4", "8"], np.asarray(grads).tolist())))


# %% [markdown]
# ## Exploding gradients (4.8.1.2)
#
# The book multiplies 100 random $\mathcal{N}(0, 1)$ 4×4 matrices with `torch.mm` in a loop and
# prints the first one and the product, whose entries are around $10^{20}$ or more: the norm of
# a product of random matrices grows geometrically, as a deep network's gradient can.
# `matrix_product_norms` draws all 100 with one key and runs the loop as `jax.lax.scan`, one
# compiled loop that also keeps the largest entry after each factor. Expect a matrix of entries
# near 1, then one with entries of order $10^{20}$ to $10^{25}$.


# %%
first, M, sizes = ch4_08.matrix_product_norms(key_mats, num_matrices)
with np.printoptions(precision=4, linewidth=100):
    print("a single matrix\n", np.asarray(first))
    print(f"after multiplying {num_matrices} matrices\n", np.asarray(M))
marks = [k for k in (1, 10, 25, 50, 100) if k <= num_matrices]
print("max |entry| after k factors: " + ", ".join(f"k={k}: {float(sizes[k - 1]):.3g}" for k in marks))
record(matrix_product={"first": np.asarray(first).tolist(), "product": np.asarray(M).tolist(),
                       "max_abs_after_k": np.asarray(sizes).tolist()})


# %% [markdown]
# ## Parameter initialization (4.8.2)
#
# The book argues with variances: for $o_i = \sum_{j=1}^{n_\mathrm{in}} w_{ij} x_j$ with zero-mean,
# independent weights of variance $\sigma^2$, $\mathrm{Var}[o_i] = n_\mathrm{in} \sigma^2 \mathrm{Var}[x_j]$, and
# the backward pass gives the same with $n_\mathrm{out}$; Xavier initialization satisfies both on
# average, $\frac{1}{2}(n_\mathrm{in} + n_\mathrm{out})\sigma^2 = 1$. We check it: `--depth` square
# layers of `--width` (no bias), the variance of the activations after each, for four
# initializations (`jaxlin`'s `xavier_uniform`/`xavier_normal`, two fixed normals) and two
# activations. `forward_statistics` is one `lax.scan` over the stacked weights. In the figure
# (log scale), for linear layers $\mathcal{N}(0, 1)$ explodes (above $10^{20}$), $\mathcal{N}(0, 0.01^2)$
# vanishes and both Xavier variants stay near the input's variance 1. With tanh, whose slope is
# below 1 away from 0, Xavier's variance shrinks slowly (about 0.05 after 10 layers), and
# $\mathcal{N}(0, 1)$ keeps a variance near 1 only by saturating: its mean slope is 0.05, so the
# gradient vanishes although the variance looks steady.


# %%
INITS = {"N(0, 1)": normal_init(1.0), "N(0, 0.01²)": normal_init(0.01),
         "Xavier uniform": xavier_uniform, "Xavier normal": xavier_normal}
X = jax.random.normal(key_inputs, (batch, width))
stats = ch4_08.activation_statistics(key_layers, X, depth, INITS, {"linear": lambda h: h, "tanh": jnp.tanh})
ch4_08.print_activation_statistics(stats, X, depth)
save(ch4_08.plot_variances(stats, width), "activation_variance.png")
theory = 2.0 / (2 * width)
print(f"Xavier: Var(W) = 2/(n_in + n_out) = {theory:.3g}, so n_in·Var(W) = {width * theory:.3g}")
record(activation_statistics=stats, xavier_var_w=theory)


# %% [markdown]
# ### He (Kaiming) initialization for ReLU layers
#
# Xavier's argument assumes an activation that is linear near 0 (tanh, or none). ReLU zeroes
# half of its inputs: for a symmetric, zero-mean $z$, $h = \max(0, z)$ has
# $\mathbb{E}[h^2] = \frac{1}{2}\mathbb{E}[z^2]$. The layer $z^{(l)}_i = \sum_j w_{ij} h^{(l-1)}_j$ then
# gives $\mathbb{E}[(h^{(l)})^2] = \frac{1}{2} n_\mathrm{in} \sigma^2 \, \mathbb{E}[(h^{(l-1)})^2]$: the factor
# is 1 exactly when $\sigma^2 = \frac{2}{n_\mathrm{in}}$, He et al.'s (2015) initialization (PyTorch's
# `nn.init.kaiming_normal_`). Xavier's $\sigma^2 = \frac{1}{n}$ for square layers halves the second
# moment per layer, so the activations' scale shrinks by $1/\sqrt{2}$ per layer; $\mathcal{N}(0, 0.01^2)$
# at width 256 by $\sqrt{256 \cdot 10^{-4}/2} \approx 0.113$. `he_normal` is that one line; the cell
# pushes the same inputs through the same ReLU layers (the same keys) with each.


# %%
def he_normal(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """W ~ N(0, 2/n_in), n_in = shape[0] (layers compute h @ W)."""
    return math.sqrt(2.0 / shape[0]) * jax.random.normal(key, shape)


RELU_INITS = {"He normal": he_normal, "Xavier normal": xavier_normal, "N(0, 0.01²)": normal_init(0.01)}
relu_stats = ch4_08.activation_statistics(key_layers, X, depth, RELU_INITS, {"relu": relu})["relu"]

# %% [markdown]
# The standard deviation of the activations after each ReLU layer, then two ratios: the last
# layer's std over the first's, and its $(\mathrm{depth} - 1)$-th root, the mean factor per layer.
# Expect He's std to stay near 0.8-1.0 (ratio ≈ 1, factor ≈ 1), Xavier's to fall from about
# 0.58 to 0.02 (factor ≈ 0.70 ≈ $1/\sqrt{2}$), and $\mathcal{N}(0, 0.01^2)$'s to vanish (factor ≈ 0.11).
# The figure draws the three on a log scale.


# %%
relu_std = {name: np.sqrt(s["variance"]) for name, s in relu_stats.items()}
relu_init = {}
for name, std in relu_std.items():
    ratio = float(std[-1] / std[0])
    relu_init[name] = {"std": std.tolist(), "ratio_last_to_first": ratio, "factor_per_layer": ratio ** (1 / (depth - 1)),
                     "rms_last": float(np.sqrt(relu_stats[name]["second_moment"][-1]))}
    print(f"{name:<14} std per layer {np.array2string(std, precision=3, max_line_width=200)}; "
          f"last/first {ratio:.3g}, per layer {relu_init[name]['factor_per_layer']:.3f}")
save(ch4_08.plot_variances({"relu": {n: {"std": s["std"]} for n, s in relu_init.items()}}, width, key="std",
                           ylabel="std of activations", legend_slope=False), "relu_init.png")
record(relu_init=relu_init)


# %% [markdown]
# ## Standardizing the inputs
#
# The book's advice (4.8 and 4.10) to standardize each input feature,
# $x \leftarrow \frac{x - \mu}{\sigma}$, shown on a regression: three features on very different
# scales (think metres, kilograms and grams) make the squared loss's Hessian
# $\mathbb{E}[\tilde{\mathbf{x}}\tilde{\mathbf{x}}^\top]$ badly conditioned, a narrow valley where gradient
# descent crawls; standardized, its condition number κ is near 1. Each run is full-batch gradient
# descent (`fit` with the whole set as one batch) at the step $1/\lambda_\max$ of its own Hessian.
# Expect κ above $10^6$ for the raw features and near 1 standardized, a loss still near 80
# against 0.005 (the noise floor σ²/2) after 100 steps, and the standardized model mapped back
# to raw units recovering $\mathbf{w} = (10, 1, 0.01)$, $b = 4.2$.


# %%
X_raw, y = ch4_08.raw_regression_data(key_reg)
mean, std = standardization_stats(X_raw)
X_std = standardize(X_raw, mean, std)
curves = {name: ch4_08.descent_curve(name, features, y, num_epochs, key_init=key_init, key_fit=key_fit)
          for name, features in (("raw", X_raw), ("standardized", X_std))}
w_back, b_back = ch4_08.to_raw_units(curves["standardized"].pop("params"), mean, std)
curves["raw"].pop("params")
save(ch4_08.plot_standardization(curves), "standardization.png")
record(standardization=curves, standardized_w_in_raw_units=w_back.tolist(), standardized_b_in_raw_units=b_back)


# %% [markdown]
# ### Min-max normalization
#
# The other common rescaling maps each feature to $[0, 1]$:
# $x \leftarrow \frac{x - \min(x)}{\max(x) - \min(x)}$, per column over the examples. It keeps the
# zeros of sparse, non-negative features such as pixel intensities (3.5 divides by 255, a
# min-max scaling with known bounds), but a single outlier squeezes all the other values
# together, where standardization divides by a spread that one value moves less. Both are
# statistics of the *training* set, applied unchanged to the test set. On a small array whose
# second column has an outlier (100), expect the min-max column `[0. 0.01 0.02 1.]` against
# the standardized column, and each min-max column spanning exactly 0 to 1.


# %%
def min_max_normalize(X: jax.Array) -> jax.Array:
    lo, hi = X.min(axis=0, keepdims=True), X.max(axis=0, keepdims=True)
    return (X - lo) / (hi - lo)


A = jnp.array([[1.0, 0.0], [2.0, 1.0], [3.0, 2.0], [4.0, 100.0]])
A_min_max, A_standardized = min_max_normalize(A), standardize(A)
print("min-max normalized:\n", np.round(np.asarray(A_min_max), 4))
print("standardized:\n", np.round(np.asarray(A_standardized), 4))
record(normalization={"input": A.tolist(), "min_max": A_min_max.tolist(), "standardized": A_standardized.tolist()})
