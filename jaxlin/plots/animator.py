"""The book's ``Animator`` (D2L 3.6.6): curves that grow once per epoch, one figure redrawn in place.

In a Jupyter kernel every :meth:`Animator.add` redraws the figure and replaces its one
``image/png`` output; in a script nothing is drawn until :meth:`Animator.close`, which
saves the final figure when given a ``path``. The figure is a plain
``matplotlib.figure.Figure`` (not pyplot's), so a notebook never shows it a second time.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure

from jaxlin.plots.figures import png_bytes, savefig, set_axes
from jaxlin.run.jupyter import in_kernel, show_png


class Animator:
    """``Animator(xlabel="epoch", xlim=(1, 10), legend=("train loss", "train acc", "test acc"))``;
    ``add(x, ys)`` appends one point per curve (``ys``: a value, or one per curve; None skips)."""

    def __init__(self, xlabel: str | None = None, ylabel: str | None = None,
                 legend: Sequence[str] | None = None, xlim: Sequence[float] | None = None,
                 ylim: Sequence[float] | None = None, xscale: str = "linear", yscale: str = "linear",
                 fmts: Sequence[str] = ("-", "m--", "g-.", "r:"), figsize: tuple[float, float] = (4.5, 3.2),
                 path: str | os.PathLike | None = None, live: bool | None = None):
        self.fig = Figure(figsize=figsize)
        self.ax = self.fig.add_subplot()
        self.axes_args = (xlabel, ylabel, xlim, ylim, xscale, yscale, legend)
        self.fmts, self.path = tuple(fmts), path
        self.live = in_kernel() if live is None else live
        self.X: list[list[float]] = []
        self.Y: list[list[float]] = []
        self.handle: Any = None

    def add(self, x: float, ys: Any) -> None:
        ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
        if not self.X:
            self.X, self.Y = [[] for _ in ys], [[] for _ in ys]
        for i, y in enumerate(ys):
            if y is not None:
                self.X[i].append(float(x))
                self.Y[i].append(float(y))
        if self.live:
            self.draw()
            self.handle = show_png(png_bytes(self.fig), self.handle)

    def draw(self) -> None:
        self.ax.cla()
        for i, (x, y) in enumerate(zip(self.X, self.Y)):
            self.ax.plot(x, y, self.fmts[i % len(self.fmts)])
        set_axes(self.ax, *self.axes_args)

    def close(self) -> Figure:
        """The final figure, saved as PNG to ``path`` if given (not shown again in a notebook)."""
        self.draw()
        if self.path is not None:
            savefig(self.fig, self.path, show=not self.live)
        return self.fig


__all__ = ["Animator"]
