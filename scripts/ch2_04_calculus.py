# %% [markdown]
# # 2.4 Calculus
#
# The derivative of $f(x) = 3x^2 - 4x$ at $x = 1$ as the limit of $(f(1 + h) - f(1))/h$ for
# $h \to 0$: the printed quotients approach 2. `jax.grad` gives the slope $f'(1) = 2$ exactly, and
# the figure shows $f$ with its tangent $y = 2x - 3$ at $x = 1$.
#
# As a script: `python scripts/ch2_04_calculus.py [--out DIR]`; in a notebook the flags take
# their defaults (or the words of `$JAXLIN_ARGS`).


# %%
import jax
import numpy as np

from jaxlin import plot
from jaxlin.chapters.ch2_04_calculus import numerical_limits, tangent_line
from jaxlin.run.cli import Run, make_parser

parser = make_parser("D2L 2.4 Calculus: the derivative of f(x) = 3x² − 4x at x = 1 as a limit, and "
                     "its tangent line.")
args = parser.parse_args()
run = Run(args, "ch2_04_calculus")


# %% [markdown]
# ## Derivatives as limits (2.4.1)
#
# $h = 10^{-1}, \dots, 10^{-5}$ (exact powers, not 0.1 multiplied five times).


# %%
def f(x):
    """f(x) = 3x² − 4x, so f'(x) = 6x − 4 and f'(1) = 2."""
    return 3 * x ** 2 - 4 * x


hs = [10.0 ** -i for i in range(1, 6)]
limits = numerical_limits(f, 1.0, hs)
for h, lim in zip(hs, limits):
    print(f"h={h:.5f}, numerical limit={lim:.5f}")


# %% [markdown]
# ## The tangent line (2.4.1, the book's `plot`)
#
# The slope from `jax.grad`, the intercept from the point $(1, f(1))$; in the figure the line
# touches the parabola at $x = 1$.


# %%
slope, intercept = tangent_line(f, 1.0)
print(f"jax.grad(f)(1.0) = {float(jax.grad(f)(1.0))}: the tangent at x = 1 is y = {slope:g}x {intercept:+g}")
x = np.arange(0, 3, 0.1)
figure = plot(x, [f(x), slope * x + intercept], "x", "f(x)", legend=["f(x)", "Tangent line (x=1)"],
              path=run.path("tangent.png"))


# %% [markdown]
# ## Results


# %%
results = {"h": hs, "limits": limits, "derivative_at_1": float(jax.grad(f)(1.0)),
           "tangent": {"slope": slope, "intercept": intercept}}
run.finish(results)
