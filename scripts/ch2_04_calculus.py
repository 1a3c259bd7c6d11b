"""D2L 2.4 Calculus: the derivative of f(x) = 3x² − 4x at x = 1 as a limit, and its tangent line.

The book reads the slope 2 off the limit and writes the tangent 2x − 3 by hand;
here ``jax.grad`` gives the exact slope and ``tangent_line`` the intercept.
"""
from __future__ import annotations

import jax
import numpy as np

from jaxlin import plot
from jaxlin.chapters.ch2_04_calculus import numerical_limits, tangent_line
from jaxlin.run.cli import Run, make_parser


def f(x):
    """f(x) = 3x² − 4x, so f'(x) = 6x − 4 and f'(1) = 2."""
    return 3 * x ** 2 - 4 * x


def main(argv: list[str] | None = None) -> dict:
    args = make_parser(__doc__.splitlines()[0]).parse_args(argv)
    run = Run(args, __file__)

    hs = [10.0 ** -i for i in range(1, 6)]  # exact powers, not 0.1 multiplied five times
    limits = numerical_limits(f, 1.0, hs)
    for h, lim in zip(hs, limits):
        print(f"h={h:.5f}, numerical limit={lim:.5f}")

    slope, intercept = tangent_line(f, 1.0)
    print(f"jax.grad(f)(1.0) = {float(jax.grad(f)(1.0))}: the tangent at x = 1 is y = {slope:g}x {intercept:+g}")

    x = np.arange(0, 3, 0.1)
    plot(x, [f(x), slope * x + intercept], "x", "f(x)", legend=["f(x)", "Tangent line (x=1)"],
         path=run.path("tangent.png"))

    results = {"h": hs, "limits": limits, "derivative_at_1": float(jax.grad(f)(1.0)),
               "tangent": {"slope": slope, "intercept": intercept}}
    run.finish(results)
    return results


if __name__ == "__main__":
    main()
