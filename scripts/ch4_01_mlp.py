# %% [markdown]
# # 4.1 Multilayer perceptrons
#
# A hidden layer only adds expressive power with a nonlinearity between the layers. Here the
# book's four: $\mathrm{ReLU}(x) = \max(x, 0)$, PReLU $\max(0, x) + \alpha \min(0, x)$,
# $\mathrm{sigmoid}(x) = 1/(1 + e^{-x})$ and $\tanh$, with their derivatives from `jax.grad`
# vectorized by `jax.vmap` (never written by hand).
#
# As a script: `python scripts/ch4_01_mlp.py [--alpha A] [--out DIR]`; in a notebook the flags take their defaults (or the words of `$JAXLIN_ARGS`).


# %%
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt

from jaxlin import derivative, init_prelu, plot, prelu, relu, savefig, sigmoid, tanh
from jaxlin.nn.activations import prelu_slope_grad
from jaxlin.run.cli import Run, make_parser

PROBES = (-2.0, -0.5, 0.0, 0.5, 2.0)

parser = make_parser("D2L 4.1 Multilayer perceptrons: the activation functions ReLU, PReLU, sigmoid, "
                     "tanh and their derivatives.")
parser.add_argument("--alpha", type=float, default=0.25, help="PReLU's initial slope for x < 0")
parser.add_argument("--num-points", type=int, default=801, help="grid points on [-8, 8]")
args = parser.parse_args()
if args.num_points < 2:
    parser.error(f"--num-points must be at least 2, got {args.num_points}")
run = Run(args, "ch4_01_mlp")  # nothing here is random: --seed is accepted but unused


# %% [markdown]
# ## Activation functions and their derivatives (4.1.2)
#
# The values and derivatives at a few points: ReLU's derivative is 0 or 1 (JAX takes 0 at
# $x = 0$), sigmoid's $\sigma(1 - \sigma)$ peaks at 0.25, tanh's $1 - \tanh^2$ at 1.
# PReLU's slope $\alpha$ is a parameter: its gradient $\sum \min(0, x)$.


# %%
def activations(alpha: float) -> dict[str, Callable[[jax.Array], jax.Array]]:
    """The four activations by name, PReLU with its slope bound."""
    return {"relu": relu, "prelu": functools.partial(prelu, init_prelu(alpha)),
            "sigmoid": sigmoid, "tanh": tanh}


x = jnp.linspace(-8.0, 8.0, args.num_points)
fns = activations(args.alpha)
values = {name: f(x) for name, f in fns.items()}
grads = {name: derivative(f)(x) for name, f in fns.items()}

probes = jnp.asarray(PROBES)
table = {name: {"x": list(PROBES), "f": f(probes).tolist(), "df": derivative(f)(probes).tolist()}
         for name, f in fns.items()}
print("x       " + " ".join(f"{p:>7g}" for p in PROBES))
for name, row in table.items():
    print(f"{name:<8}" + " ".join(f"{v:7.4f}" for v in row["f"]))
    print(f"{name + chr(39):<8}" + " ".join(f"{v:7.4f}" for v in row["df"]))
slope_grad = float(prelu_slope_grad(init_prelu(args.alpha), x)["alpha"])
print(f"PReLU: d/dα Σ prelu(x) over the grid = Σ min(0, x) = {slope_grad:.2f}")


# %% [markdown]
# ## The figure
#
# Each function (top) over its derivative (bottom): the sigmoid's and tanh's derivatives vanish
# for large $|x|$, ReLU's does not for $x > 0$.


# %%
def plot_activations(x: jax.Array, values: dict[str, jax.Array], grads: dict[str, jax.Array],
                     path, alpha: float) -> None:
    """One panel per function (top) and per derivative (bottom)."""
    fig, axes = plt.subplots(2, len(values), figsize=(3.2 * len(values), 5.6), sharex=True)
    for j, name in enumerate(values):
        label = f"prelu (α={alpha:g})" if name == "prelu" else name
        plot(x, values[name], "x", f"{name}(x)", axes=axes[0, j], title=label)
        plot(x, grads[name], "x", f"d {name}(x) / dx", axes=axes[1, j], fmts=("m-",),
             title=f"{name}'(x)")
    fig.suptitle("activations (top) and their derivatives from jax.vmap(jax.grad(f)) (bottom)")
    savefig(fig, path)


plot_activations(x, values, grads, run.path("activations.png"), args.alpha)


# %% [markdown]
# ## Results


# %%
results = {"probes": table, "prelu_alpha": args.alpha, "prelu_slope_grad": slope_grad,
           "grid": {"min": -8.0, "max": 8.0, "num_points": args.num_points}}
run.finish(results)
