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


# %% [markdown]
# The set-up: the section's settings, stated once (each is a flag when this file runs as a
# script): the vectors' length `n` (the book's 10,000), how many steps of the slow JAX loop are
# really run, how many timed calls of each vectorized add, and the noise σ and the number of
# examples of the likelihood check. `--seed` makes the one key of that check's data. `setup`
# opens the run's output folder, where `save` puts the three figures and `record` the numbers.


# %%
import jax
import jax.numpy as jnp
import numpy as np

from jaxlin import plot
from jaxlin.chapters import ch3_01_gaussian_noise as ml
from jaxlin.chapters.ch3_01_gaussian_noise import normal
from jaxlin.chapters.ch3_01_linear_regression import plot_timings, print_timings, time_vectorization
from jaxlin.run import setup
from jaxlin.run.session import Flag, record, save

n, jax_loop_steps, repeats, sigma, num_examples, seed = setup(
    "ch3_01_linear_regression", "3.1 Linear regression",
    n=Flag(10000, help="length of the vectors added"),
    jax_loop_steps=Flag(1000, help="steps of the JAX .at[i].set loop actually run (then extrapolated to --n)"),
    repeats=Flag(20, help="timed calls of each vectorized add"),
    sigma=Flag(0.3, help="noise standard deviation σ of the data"),
    num_examples=Flag(1000, help="examples in the NLL check"))
key = jax.random.key(seed)


# %% [markdown]
# ## Vectorization for speed (3.1.2)
#
# The book adds two vectors of 10,000 ones twice: in a Python `for` loop, `c[i] = a[i] + b[i]`,
# and as one vectorized `d = a + b`, timing each with its `Timer`. JAX arrays are immutable, so
# the loop's write becomes `c = c.at[i].set(a[i] + b[i])`, a new 10,000-element array per step
# (about a millisecond each on a CPU): it runs `--jax-loop-steps` steps and is extrapolated to
# `n`; the loop over NumPy scalars runs in full. JAX dispatches asynchronously, so every clock
# stops after `block_until_ready`, and the jitted add is compiled beforehand (its compile time
# is printed apart). The book prints `0.00000 sec` for the vectorized add; we print each time
# in a unit that suits it. Expect the NumPy loop in milliseconds, the JAX loop in seconds
# (extrapolated), the adds in microseconds, drawn on a log scale.


# %%
timings = time_vectorization(n, jax_loop_steps=jax_loop_steps, repeats=repeats)
print_timings(timings)
save(plot_timings(timings), "vectorization.png")
record(vectorization=timings)


# %% [markdown]
# ## The normal distribution and squared loss (3.1.3)
#
# The book defines `normal(x, mu, sigma)`,
# $p(x) = \frac{1}{\sqrt{2\pi\sigma^2}} \exp\left(-\frac{(x - \mu)^2}{2\sigma^2}\right)$, and plots it for
# $(\mu, \sigma) = (0, 1), (0, 2), (3, 1)$ on $x \in [-7, 7)$: changing $\mu$ shifts the bell, a
# larger $\sigma$ widens and lowers it. jaxlin's `normal` is the book's function in `jnp`; as a
# check the book does not make, the cell also integrates each density by the trapezoid rule.
# Expect integrals of 1.0000, 0.9995 (the wide bell's tails reach past ±7) and 1.0000, and the
# three bells.


# %%
NORMAL_PARAMS = [(0, 1), (0, 2), (3, 1)]
x = np.arange(-7, 7, 0.01)
densities = [np.asarray(normal(jnp.asarray(x), mu, sigma)) for mu, sigma in NORMAL_PARAMS]
figure = plot(x, densities, xlabel="x", ylabel="p(x)", figsize=(4.5, 2.5), ylim=(0, 0.62),  # room for the legend
              legend=[f"mean {mu}, std {sigma}" for mu, sigma in NORMAL_PARAMS])
save(figure, "normal.png")
integrals = {f"mu={mu},sigma={sigma}": float(np.trapezoid(p, x)) for (mu, sigma), p in zip(NORMAL_PARAMS, densities)}
print("∫ p(x) dx over [-7, 7): " + ", ".join(f"{k}: {v:.4f}" for k, v in integrals.items()))
record(normal_integrals=integrals)


# %% [markdown]
# ## Squared loss is maximum likelihood
#
# The book's argument, checked numerically: for $y = \mathbf{w}^\top\mathbf{x} + b + \epsilon$ with
# $\epsilon \sim \mathcal{N}(0, \sigma^2)$,
# $-\log P(\mathbf{y} \mid \mathbf{X}) = \frac{n}{2}\log(2\pi\sigma^2) + \sum_i \frac{(y_i - \hat y_i)^2}{2\sigma^2}$,
# a constant plus the summed squared loss over $\sigma^2$, so the $(\mathbf{w}, b)$ that minimize one
# maximize the other, whatever $\sigma$ is. `likelihood_check` draws the book's data (true
# $\mathbf{w} = (2, -3.4)$, $b = 4.2$) from the set-up's key and compares $-\sum \log \mathcal{N}$
# (from `jax.scipy.stats.norm.logpdf`) with the formula at three points. Expect differences of
# float32 rounding, at most about 1e-7 relative.


# %%
TRUE_W, TRUE_B = (2.0, -3.4), 4.2           # the book's generating parameters (3.2)
check, points, X, y = ml.likelihood_check(key, TRUE_W, TRUE_B, sigma, num_examples)
true_y_hat = ml.linreg(points["true"], X)
per_example_err = float(jnp.abs(ml.gaussian_nll(true_y_hat, y, sigma) - ml.squared_loss_nll(true_y_hat, y, sigma)).max())


# %% [markdown]
# Then along one coordinate, $w_1 = \hat w_1 + \delta$ for 201 values of $\delta \in [-1, 1]$
# around the least-squares $\hat{\mathbf{w}}$, the summed squared loss and the NLL for three assumed
# $\sigma$ (0.25, 0.5, 1): `loss_and_nll_profile` evaluates all 201 models at once with `jax.vmap`
# over a batch of parameters, one compiled call per $\sigma$. Expect every minimum at
# $\delta = +0.00$ and a fitted slope $1/\sigma^2$ (16, 4, 1); the figure shows the curves'
# common minimizer.


# %%
SIGMAS = (0.25, 0.5, 1.0)                   # σ assumed by the likelihood along w₁: same minimizer
deltas = jnp.arange(-100, 101, dtype=jnp.float32) / 100  # δ = 0 exactly at index 100
profiles = ml.nll_profiles(points["least_squares"], X, y, SIGMAS, deltas)
likelihood = {"sigma": sigma, "num_examples": num_examples, "per_example_max_abs_diff": per_example_err,
              "check": check, "w_least_squares": np.asarray(points["least_squares"]["w"]).reshape(-1).tolist(),
              "b_least_squares": float(points["least_squares"]["b"][0]),
              "profile": {"coordinate": "w1", "deltas": np.asarray(deltas).tolist(),
                          **{f"sigma={s}": p for s, p in profiles.items()}}}
ml.print_likelihood(likelihood)
save(ml.plot_profiles(likelihood, TRUE_W[0]), "squared_loss_vs_nll.png")
record(max_likelihood=likelihood)
