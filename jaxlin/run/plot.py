"""The book's plotting functions: each returns its figure and, given a path, saves it as PNG.

Nothing here chooses a matplotlib backend: a notebook shows figures inline (a saved
figure as the PNG written), and a script without a display gets matplotlib's default
(``MPLBACKEND`` overrides it).
"""
from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from jaxlin.data.io import atomic_path
from jaxlin.run.kernel import in_kernel, show_png


def png_bytes(fig: Any) -> bytes:
    """``fig`` as PNG (tight layout, 110 dpi): the file a script saves, the image a notebook shows."""
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def savefig(fig: Any, path: str | os.PathLike, *, show: bool = True) -> Path:
    """Write ``fig`` to ``path`` as PNG atomically and close it; in a Jupyter kernel (with
    ``show``) the PNG written is also shown inline, once (the closed figure is not drawn again)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    if show and in_kernel():
        show_png(path.read_bytes())
    return path


def set_axes(ax: Any, xlabel: str | None = None, ylabel: str | None = None,
             xlim: Sequence[float] | None = None, ylim: Sequence[float] | None = None,
             xscale: str = "linear", yscale: str = "linear",
             legend: Sequence[str] | None = None) -> None:
    """The book's ``set_axes``: labels, limits, scales, legend and a grid."""
    ax.set_xlabel(xlabel or "")
    ax.set_ylabel(ylabel or "")
    ax.set_xscale(xscale)
    ax.set_yscale(yscale)
    if xlim is not None:
        ax.set_xlim(xlim)
    if ylim is not None:
        ax.set_ylim(ylim)
    if legend:
        ax.legend(legend)
    ax.grid(True)


def plot(X: Any, Y: Any = None, xlabel: str | None = None, ylabel: str | None = None,
         legend: Sequence[str] | None = None, xlim: Sequence[float] | None = None,
         ylim: Sequence[float] | None = None, xscale: str = "linear", yscale: str = "linear",
         fmts: Sequence[str] = ("-", "m--", "g-.", "r:"), figsize: tuple[float, float] = (4.5, 3.2),
         axes: Any = None, title: str | None = None, path: str | os.PathLike | None = None) -> Any:
    """The book's ``plot``: one or several curves on one axes, saved to ``path`` if given.

    ``X`` and ``Y`` are a 1-D array or a list of them; with ``Y`` omitted, ``X`` is
    plotted against its index. Returns the figure.
    """
    def as_list(v):
        """A list of 1-D curves: one array, a list of numbers (one curve), or a list of arrays."""
        if not isinstance(v, (list, tuple)) or (len(v) and np.ndim(v[0]) == 0):
            v = [v]
        return [np.asarray(a) for a in v]

    if Y is None:
        Y, X = as_list(X), [np.arange(len(y)) for y in as_list(X)]
    else:
        X, Y = as_list(X), as_list(Y)
    if len(X) != len(Y):
        X = X * len(Y)
    fig = None
    if axes is None:
        fig, axes = plt.subplots(figsize=figsize)
    for i, (x, y) in enumerate(zip(X, Y)):
        axes.plot(x, y, fmts[i % len(fmts)])
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend)
    if title:
        axes.set_title(title)
    if fig is not None and path is not None:
        savefig(fig, path)
    return axes.figure


def plot_history(history: Sequence[dict[str, float]], path: str | os.PathLike | None = None,
                 keys: Sequence[str] = ("train_loss", "train_acc", "test_acc"),
                 title: str | None = None, yscale: str = "linear") -> Any:
    """The book's training figure: one curve per metric against the epoch."""
    present = [k for k in keys if history and k in history[0]]
    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    fmts = ("-", "m--", "g-.", "r:")
    for i, k in enumerate(present):
        ax.plot(epochs, [h[k] for h in history], fmts[i % len(fmts)], label=k.replace("_", " "))
    set_axes(ax, "epoch", None, (min(epochs) - 0.05, max(epochs) + 0.05) if epochs else None,
             None, "linear", yscale)
    ax.legend()
    if title:
        ax.set_title(title)
    if path is not None:
        savefig(fig, path)
    return fig


def show_images(imgs: Any, num_rows: int, num_cols: int, titles: Sequence[str] | None = None,
                scale: float = 1.5, path: str | os.PathLike | None = None) -> Any:
    """A grid of images (the book's ``show_images``); saved as PNG when ``path`` is given."""
    imgs = np.asarray(imgs)
    if imgs.ndim == 4 and imgs.shape[-1] == 1:
        imgs = imgs[..., 0]
    fig, axes = plt.subplots(num_rows, num_cols, figsize=(num_cols * scale, num_rows * scale), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(imgs):
            ax.imshow(imgs[i], cmap="gray_r" if imgs.dtype == np.uint8 else "gray")
            if titles is not None and i < len(titles):
                ax.set_title(titles[i], fontsize=8)
    if path is not None:
        savefig(fig, path)
    return fig
