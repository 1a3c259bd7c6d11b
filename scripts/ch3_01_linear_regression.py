# %% [markdown]
# # 3.1 Linear regression
#
# Three ideas behind the linear model. Vectorization (3.1.2): adding two 10,000-element vectors
# in a Python loop of scalar adds against one `a + b`; JAX arrays are immutable, so the JAX loop
# `c = c.at[i].set(a[i] + b[i])` copies the array every step and is timed over `--jax-loop-steps`
# steps, then extrapolated. The normal distribution (3.1.3), and why minimizing the squared
# loss is maximum likelihood under Gaussian noise.
#
# As a script: `python scripts/ch3_01_linear_regression.py [--help]`; in a notebook the flags
# take their defaults (or the words of `$JAXLIN_ARGS`).


# %%
import jax
import jax.numpy as jnp
import numpy as np

from jaxlin import linreg, linreg_closed_form, normal, plot, savefig, set_axes, synthetic_data
from jaxlin.chapters.ch3_01_gaussian_noise import (
    gaussian_nll,
    loss_and_nll,
    loss_and_nll_profile,
    squared_loss_nll,
)
from jaxlin.chapters.ch3_01_linear_regression import format_seconds as fmt
from jaxlin.chapters.ch3_01_linear_regression import time_vectorization
from jaxlin.run.cli import Run, make_parser, positive_float, positive_int
from jaxlin.run.plot import plt

TRUE_W, TRUE_B = (2.0, -3.4), 4.2           # the book's generating parameters (3.2)
NORMAL_PARAMS = [(0, 1), (0, 2), (3, 1)]
SIGMAS = (0.25, 0.5, 1.0)                   # σ assumed by the likelihood along w₁: same minimizer

parser = make_parser("D2L 3.1 Linear regression: vectorization for speed, the normal distribution, "
                     "and squared loss as maximum likelihood.")
parser.add_argument("--n", type=positive_int, default=10000, help="length of the vectors added")
parser.add_argument("--jax-loop-steps", type=positive_int, default=1000,
                    help="steps of the JAX .at[i].set loop actually run (then extrapolated to --n)")
parser.add_argument("--repeats", type=positive_int, default=20, help="timed calls of each vectorized add")
parser.add_argument("--sigma", type=positive_float, default=0.3, help="noise standard deviation σ of the data")
parser.add_argument("--num-examples", type=positive_int, default=1000, help="examples in the NLL check")
args = parser.parse_args()
run = Run(args, "ch3_01_linear_regression")
key = jax.random.key(args.seed)


# %% [markdown]
# ## Vectorization for speed (3.1.2)
#
# The seconds of each way to add the vectors, printed and drawn on a log scale: the loops take
# milliseconds to seconds, the vectorized adds microseconds. The jitted add is compiled once
# beforehand; its compile time is reported apart.


# %%
def vectorization(args) -> dict:
    """Time the loop and the vectorized add, and print each time in a unit that suits it
    (s, ms, µs: the book's ``0.00000 sec`` for a vectorized add says nothing)."""
    t = time_vectorization(args.n, jax_loop_steps=args.jax_loop_steps, repeats=args.repeats)
    s, n, steps = t["seconds"], t["n"], t["jax_loop_steps"]
    print(f"Python loop over NumPy scalars, c[i] = a[i] + b[i]: {fmt(s['numpy_loop'])} ({n} steps)")
    if t["extrapolated"]:
        print(f"Python loop of JAX c = c.at[i].set(a[i] + b[i]): {fmt(s['jax_loop'])} for {steps} steps, "
              f"{fmt(s['jax_loop_extrapolated'])} extrapolated to {n} (not run in full)")
    else:
        print(f"Python loop of JAX c = c.at[i].set(a[i] + b[i]): {fmt(s['jax_loop'])} ({n} steps)")
    print(f"d = a + b (eager JAX): {fmt(s['eager'])} (median of {t['repeats']}; the first call, "
          f"which compiles the add, {fmt(s['eager_first'])})")
    print(f"d = jit(add)(a, b): {fmt(s['jit'])} (median of {t['repeats']}; compiled once beforehand "
          f"in {fmt(s['jit_compile'])})")
    print(f"d = a + b (NumPy, for reference): {fmt(s['numpy_vectorized'])}")
    print("speed-ups of the vectorized add: " + ", ".join(f"{k} {v:,.0f}x" for k, v in t["speedups"].items()))
    return t


def plot_timings(t: dict, path) -> None:
    """Seconds of each way to add the vectors, on a log scale."""
    s = t["seconds"]
    jax_loop = "JAX .at[].set loop" + (" (extrap.)" if t["extrapolated"] else "")
    bars = {jax_loop: s["jax_loop_extrapolated"], "NumPy loop": s["numpy_loop"], "eager a + b": s["eager"],
            "jit add": s["jit"], "NumPy a + b": s["numpy_vectorized"]}
    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    names, values = list(bars)[::-1], list(bars.values())[::-1]
    ax.barh(np.arange(len(bars)), values, color="tab:blue")
    for i, v in enumerate(values):
        ax.text(v, i, f" {fmt(v)}", va="center", fontsize=8)
    set_axes(ax, f"seconds to add two vectors of {t['n']:,} (log scale)", None, xscale="log")
    ax.set_yticks(np.arange(len(bars)), names)   # after set_axes, which resets the y axis
    ax.set_xlim(min(bars.values()) / 3, max(bars.values()) * 30)
    savefig(fig, path)


results = {"vectorization": vectorization(args)}
plot_timings(results["vectorization"], run.path("vectorization.png"))


# %% [markdown]
# ## The normal distribution and squared loss (3.1.3)
#
# $p(x) = \frac{1}{\sqrt{2\pi\sigma^2}} \exp\left(-\frac{(x - \mu)^2}{2\sigma^2}\right)$ for
# $(\mu, \sigma) = (0, 1), (0, 2), (3, 1)$: changing $\mu$ shifts the bell, a larger $\sigma$ widens
# and lowers it. Each integrates to 1 (printed).


# %%
def normal_densities(path) -> dict:
    """The book's figure of three normal densities, and each one's integral (≈ 1) by the trapezoid rule."""
    x = np.arange(-7, 7, 0.01)
    densities = [np.asarray(normal(jnp.asarray(x), mu, sigma)) for mu, sigma in NORMAL_PARAMS]
    plot(x, densities, xlabel="x", ylabel="p(x)", figsize=(4.5, 2.5), ylim=(0, 0.62),  # room for the legend
         legend=[f"mean {mu}, std {sigma}" for mu, sigma in NORMAL_PARAMS], path=path)
    integrals = {f"mu={mu},sigma={sigma}": float(np.trapezoid(p, x))
                 for (mu, sigma), p in zip(NORMAL_PARAMS, densities)}
    print("∫ p(x) dx over [-7, 7): " + ", ".join(f"{k}: {v:.4f}" for k, v in integrals.items()))
    return integrals


results["normal_integrals"] = normal_densities(run.path("normal.png"))


# %% [markdown]
# ## Squared loss is maximum likelihood
#
# For $y = \mathbf{w}^\top\mathbf{x} + b + \epsilon$, $\epsilon \sim \mathcal{N}(0, \sigma^2)$:
# $-\log P(\mathbf{y} \mid \mathbf{X}) = \frac{n}{2}\log(2\pi\sigma^2) + \sum_i \frac{(y_i - \hat y_i)^2}{2\sigma^2}$,
# checked numerically. In the figure, along $w_1$ the summed squared loss and the NLL for every
# assumed $\sigma$ are smallest at the same point, the least-squares $\hat w_1$.


# %%
def max_likelihood(key: jax.Array, args) -> tuple[dict, dict]:
    """Both sides of −log P(y | X) = n/2·log(2πσ²) + Σ(y − ŷ)²/(2σ²), and where each is smallest."""
    sigma, n = args.sigma, args.num_examples
    X, y = synthetic_data(key, jnp.array(TRUE_W), TRUE_B, n, noise=sigma)
    w_star = linreg_closed_form(X, y)
    points = {"true": {"w": jnp.array(TRUE_W).reshape(-1, 1), "b": jnp.array([TRUE_B])},
              "least_squares": {"w": w_star["w"], "b": w_star["b"].reshape(1)},
              "zero": {"w": jnp.zeros((2, 1)), "b": jnp.zeros(1)}}
    per_example_err = float(jnp.abs(gaussian_nll(linreg(points["true"], X), y, sigma)
                                    - squared_loss_nll(linreg(points["true"], X), y, sigma)).max())
    check = {}
    for name, params in points.items():
        v = {k: float(x) for k, x in loss_and_nll(params, X, y, sigma).items()}
        v["abs_diff"] = abs(v["nll"] - v["nll_formula"])
        v["rel_diff"] = v["abs_diff"] / abs(v["nll"])
        check[name] = v
    print(f"\ny = Xw + b + ε, ε ~ N(0, {sigma}²), n = {n}: −Σ log N(y; ŷ, σ²) (norm.logpdf) against "
          f"n/2·log(2πσ²) + Σ(y − ŷ)²/(2σ²)")
    print(f"  per example, at the true (w, b): max |difference| = {per_example_err:.2e}")
    for name, v in check.items():
        print(f"  at {name:13s} (w, b): NLL {v['nll']:12.4f}, formula {v['nll_formula']:12.4f}, "
              f"|difference| {v['abs_diff']:.2e} (relative {v['rel_diff']:.1e})")

    deltas = jnp.arange(-100, 101, dtype=jnp.float32) / 100  # δ = 0 exactly at index 100
    profiles = {}
    for s in SIGMAS:
        p = jax.device_get(loss_and_nll_profile(points["least_squares"], X, y, s, 0, deltas))
        slope, intercept = np.polyfit(p["loss_sum"], p["nll"], 1)
        profiles[s] = {"loss_argmin": int(np.argmin(p["loss_sum"])), "nll_argmin": int(np.argmin(p["nll"])),
                       "slope": float(slope), "intercept": float(intercept),
                       "expected_slope": 1 / s ** 2, "expected_intercept": n / 2 * float(np.log(2 * np.pi * s ** 2)),
                       "loss_sum": p["loss_sum"].tolist(), "nll": p["nll"].tolist()}
    print(f"  along w₁ = ŵ₁ + δ, δ ∈ [−1, 1] (201 points), ŵ the least-squares solution "
          f"({float(w_star['w'][0, 0]):.4f}, {float(w_star['w'][1, 0]):.4f}), b̂ = {float(w_star['b'][0]):.4f}; "
          f"Σl the summed squared loss, l = (y − ŷ)²/2:")
    for s, p in profiles.items():
        print(f"    σ = {s:4g}: squared loss smallest at δ = {float(deltas[p['loss_argmin']]):+.2f}, "
              f"NLL smallest at δ = {float(deltas[p['nll_argmin']]):+.2f}; NLL = {p['intercept']:.2f} + "
              f"{p['slope']:.4f}·Σl (expected n/2·log(2πσ²) + Σl/σ² = {p['expected_intercept']:.2f} + "
              f"{p['expected_slope']:.4f}·Σl)")
    results = {"sigma": sigma, "num_examples": n, "per_example_max_abs_diff": per_example_err,
               "check": check, "w_least_squares": np.asarray(w_star["w"]).reshape(-1).tolist(),
               "b_least_squares": float(w_star["b"][0]),
               "profile": {"coordinate": "w1", "deltas": np.asarray(deltas).tolist(),
                           **{f"sigma={s}": p for s, p in profiles.items()}}}
    return results, {"deltas": np.asarray(deltas), "w1": float(w_star["w"][0, 0]), "profiles": profiles}


def plot_profiles(curves: dict, path) -> None:
    """Summed squared loss and NLL (for each σ) along w₁: all smallest at the least-squares ŵ₁."""
    w1 = curves["w1"] + curves["deltas"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.0, 3.4))
    first = curves["profiles"][SIGMAS[0]]
    ax1.plot(w1, first["loss_sum"])
    set_axes(ax1, "$w_1$", "Σ (y − ŷ)²/2")
    ax1.set_title("summed squared loss")
    for s, style in zip(SIGMAS, ("-", "m--", "g-.")):
        nll = np.asarray(curves["profiles"][s]["nll"])
        ax2.plot(w1, nll - nll.min(), style, label=f"assumed σ = {s:g}")
    set_axes(ax2, "$w_1$", "NLL − its minimum")
    ax2.set_title("negative log-likelihood")
    for ax in (ax1, ax2):
        ax.axvline(curves["w1"], color="gray", linestyle=":", label="least-squares $\\hat w_1$")
        ax.axvline(TRUE_W[0], color="tab:red", linestyle="--", alpha=0.5, label="true $w_1$")
    ax2.legend(fontsize=8)              # one legend, beside both panels (the lines cross each's middle)
    savefig(fig, path)


results["max_likelihood"], curves = max_likelihood(key, args)
plot_profiles(curves, run.path("squared_loss_vs_nll.png"))


# %% [markdown]
# ## Results


# %%
run.finish(results)
