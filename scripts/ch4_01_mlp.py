# %% [markdown]
# # 4.1 Multilayer perceptrons
#
# A hidden layer only adds expressive power with a nonlinearity between the layers. Here the
# book's four: $\mathrm{ReLU}(x) = \max(x, 0)$, PReLU $\max(0, x) + \alpha \min(0, x)$,
# $\mathrm{sigmoid}(x) = 1/(1 + e^{-x})$ and $\tanh$, with their derivatives from `jax.grad`
# vectorized by `jax.vmap` (never written by hand).
#
# As a script: `python scripts/ch4_01_mlp.py [--alpha A] [--out DIR]`; in a notebook the flags take their defaults (or the words of `$JAXLIN_ARGS`).


# %% [markdown]
# The set-up: the section's two settings, stated once (each is a flag when this file runs as a
# script): PReLU's initial slope $\alpha$ for $x < 0$ (0.25, PyTorch's default) and the number of
# grid points on $[-8, 8]$ (801, a step of 0.02; the book's `torch.arange(-8.0, 8.0, 0.1)` has
# 160). Nothing here is random: `--seed` is accepted but unused. `setup` opens the run's output
# folder, where `save` puts the figure and `record` the table.


# %%
import functools

import jax.numpy as jnp
import matplotlib.pyplot as plt

from jaxlin import derivative, init_prelu, plot, prelu, relu, sigmoid, tanh
from jaxlin.nn.activations import prelu_slope_grad
from jaxlin.run import setup
from jaxlin.run.session import Flag, record, save

alpha, num_points, seed = setup(
    "ch4_01_mlp", "4.1 Multilayer perceptrons",
    alpha=Flag(0.25, type=float, help="PReLU's initial slope for x < 0"),
    num_points=Flag(801, type=int, help="grid points on [-8, 8]"),
    checks=[lambda s: s.num_points < 2 and f"--num-points must be at least 2, got {s.num_points}"])


# %% [markdown]
# ## Activation functions and their derivatives (4.1.2)
#
# The book applies `torch.relu`, `torch.sigmoid` and `torch.tanh` to a grid `x` that
# `requires_grad`, plots each, then calls `y.backward(torch.ones_like(x))` and plots `x.grad`, the
# derivative at every grid point. In JAX the derivative of an elementwise function is a function
# too: `derivative(f)` is `jax.vmap(jax.grad(f))`, the scalar derivative mapped over the grid,
# never written by hand and with no gradient buffer to clear between the plots. PReLU,
# $\max(0, x) + \alpha \min(0, x)$, which the book names, has its slope as a parameter:
# `init_prelu(alpha)` makes `{"alpha": ...}`, and `functools.partial` binds it so that all four are
# functions of `x` alone.


# %%
PROBES = (-2.0, -0.5, 0.0, 0.5, 2.0)
fns = {"relu": relu, "prelu": functools.partial(prelu, init_prelu(alpha)), "sigmoid": sigmoid, "tanh": tanh}
x = jnp.linspace(-8.0, 8.0, num_points)
values = {name: f(x) for name, f in fns.items()}
grads = {name: derivative(f)(x) for name, f in fns.items()}


# %% [markdown]
# The values and derivatives at five points: ReLU's derivative is 0 or 1 (JAX takes 0 at
# $x = 0$, as PyTorch does), sigmoid's $\sigma(x)(1 - \sigma(x))$ peaks at 0.25, tanh's
# $1 - \tanh^2(x)$ at 1, and PReLU's is $\alpha$ (0.25) for $x < 0$. Then the gradient with respect
# to PReLU's parameter, the reason it is one: $\frac{\partial}{\partial \alpha} \sum_i \mathrm{prelu}(x_i)
# = \sum_i \min(0, x_i)$, which on the grid is $-1604.00$ (the negative half of 801 points).


# %%

probes = jnp.asarray(PROBES)
table = {name: {"x": list(PROBES), "f": f(probes).tolist(), "df": derivative(f)(probes).tolist()}
         for name, f in fns.items()}
print("x       " + " ".join(f"{p:>7g}" for p in PROBES))
for name, row in table.items():
    print(f"{name:<8}" + " ".join(f"{v:7.4f}" for v in row["f"]))
    print(f"{name + chr(39):<8}" + " ".join(f"{v:7.4f}" for v in row["df"]))
slope_grad = float(prelu_slope_grad(init_prelu(alpha), x)["alpha"])
print(f"PReLU: d/dα Σ prelu(x) over the grid = Σ min(0, x) = {slope_grad:.2f}")


# %% [markdown]
# ## The figure
#
# The book draws each function and, separately, its gradient; here all eight in one figure,
# each function (top) over its derivative (bottom), with the book's `plot` drawing into the
# given axes. Look for the sigmoid's and tanh's derivatives vanishing for large $|x|$, where
# ReLU's stays 1 for every $x > 0$: why deep ReLU networks train more easily (4.8).


# %%
fig, axes = plt.subplots(2, len(values), figsize=(3.2 * len(values), 5.6), sharex=True)
for j, name in enumerate(values):
    label = f"prelu (α={alpha:g})" if name == "prelu" else name
    plot(x, values[name], "x", f"{name}(x)", axes=axes[0, j], title=label)
    plot(x, grads[name], "x", f"d {name}(x) / dx", axes=axes[1, j], fmts=("m-",), title=f"{name}'(x)")
fig.suptitle("activations (top) and their derivatives from jax.vmap(jax.grad(f)) (bottom)")
save(fig, "activations.png")


# %% [markdown]
# ## Results
#
# What this section found, kept in the run's `results.json` by `record`: the values and
# derivatives at the five points for each activation, PReLU's $\alpha$ and the gradient with
# respect to it, and the grid.


# %%
record(probes=table, prelu_alpha=alpha, prelu_slope_grad=slope_grad,
       grid={"min": -8.0, "max": 8.0, "num_points": num_points})
