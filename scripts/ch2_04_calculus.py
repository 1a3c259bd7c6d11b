# %% [markdown]
# # 2.4 Calculus
#
# The derivative of $f(x) = 3x^2 - 4x$ at $x = 1$ as the limit of $(f(1 + h) - f(1))/h$ for
# $h \to 0$: the printed quotients approach 2. `jax.grad` gives the slope $f'(1) = 2$ exactly, and
# the figure shows $f$ with its tangent $y = 2x - 3$ at $x = 1$.
#
# As a script: `python scripts/ch2_04_calculus.py [--out DIR]`; in a notebook the flags take
# their defaults (or the words of `$JAXLIN_ARGS`).


# %% [markdown]
# The set-up: this section has no settings (`--seed` exists, but nothing here is random).
# `setup` opens the run's output folder, where `save` puts the tangent figure and `record` the
# limits and the slope (`results.json`).


# %%
import jax
import numpy as np

from jaxlin import plot
from jaxlin.chapters.ch2_04_calculus import numerical_limits, tangent_line
from jaxlin.run import setup
from jaxlin.run.session import record, save

setup("ch2_04_calculus", "2.4 Calculus")


# %% [markdown]
# ## Derivatives as limits (2.4.1)
#
# The book defines $f(x) = 3x^2 - 4x$ and prints the difference quotient
# $\frac{f(1 + h) - f(1)}{h}$ for $h = 10^{-1}, \dots, 10^{-5}$: it approaches
# $f'(1) = 6 \cdot 1 - 4 = 2$. `f` is a plain Python function, so the same `f` takes floats here
# and arrays (and JAX's tracers) below. jaxlin takes exact powers `10.0 ** -i`, not 0.1
# multiplied five times as the book's loop does. Expect 2.30000, 2.03000, 2.00300, 2.00030,
# 2.00003.


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
# The book draws $f$ and its tangent line $y = 2x - 3$ at $x = 1$ with its `plot` function
# (matplotlib). Its slope it works out by hand; here `jax.grad(f)` is the derivative function
# itself, $f'(x) = 6x - 4$, evaluated at 1, and the intercept comes from the point $(1, f(1))$:
# $b = f(1) - f'(1) \cdot 1 = -3$. jaxlin's `plot` is the book's and returns the figure; `save`
# shows it in a notebook and keeps it as `tangent.png`. Expect `y = 2x -3` and the line
# touching the parabola at $x = 1$.


# %%
slope, intercept = tangent_line(f, 1.0)
print(f"jax.grad(f)(1.0) = {float(jax.grad(f)(1.0))}: the tangent at x = 1 is y = {slope:g}x {intercept:+g}")
x = np.arange(0, 3, 0.1)
figure = plot(x, [f(x), slope * x + intercept], "x", "f(x)", legend=["f(x)", "Tangent line (x=1)"])
save(figure, "tangent.png")


# %% [markdown]
# ## Results
#
# What this section found, kept in the run's `results.json` by `record`: the five values of
# $h$ and their quotients, `jax.grad`'s exact $f'(1) = 2$ and the tangent's slope and intercept.


# %%
record(h=hs, limits=limits, derivative_at_1=float(jax.grad(f)(1.0)),
       tangent={"slope": slope, "intercept": intercept})
