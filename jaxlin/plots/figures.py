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
from jaxlin.plots.legend import integer_ticks, place_legend, place_legends, readable_log_ticks
from jaxlin.run.jupyter import in_kernel, show_png


def finish_layout(fig: Any) -> None:
    """Tight layout with every legend off the data (:func:`~jaxlin.plots.legend.place_legends`)."""
    fig.tight_layout()
    if place_legends(fig):
        fig.tight_layout()


def png_bytes(fig: Any) -> bytes:
    """``fig`` as PNG (tight layout, legends off the data, 110 dpi): the file a script saves,
    the image a notebook shows."""
    finish_layout(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def savefig(fig: Any, path: str | os.PathLike, *, show: bool = True) -> Path:
    """Write ``fig`` to ``path`` as PNG atomically and close it; in a Jupyter kernel (with
    ``show``) the PNG written is also shown inline, once (the closed figure is not drawn again)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    finish_layout(fig)
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
    """The book's ``set_axes``: labels, limits, scales, legend and a grid. An x axis labelled
    "epoch..." gets whole-number ticks, a log axis readable labels, the legend a place off the data."""
    ax.set_xlabel(xlabel or "")
    ax.set_ylabel(ylabel or "")
    ax.set_xscale(xscale)
    ax.set_yscale(yscale)
    if xlim is not None:
        ax.set_xlim(xlim)
    if ylim is not None:
        ax.set_ylim(ylim)
    if xlabel and xlabel.startswith("epoch"):
        integer_ticks(ax.xaxis)
    for scale, axis in ((xscale, ax.xaxis), (yscale, ax.yaxis)):
        if scale == "log":
            readable_log_ticks(axis)
    if legend:
        place_legend(ax, ax.legend(legend))
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
                 title: str | None = None, yscale: str = "linear", ylabel: str | None = None,
                 show: bool = True) -> Any:
    """The book's training figure: one curve per metric against the epoch (whole-number ticks);
    the y label defaults to "loss", "accuracy" or "loss / accuracy" after ``keys``. Saved to
    ``path`` if given (and shown in a notebook unless ``show`` is False)."""
    present = [k for k in keys if history and k in history[0]]
    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    fmts = ("-", "m--", "g-.", "r:")
    for i, k in enumerate(present):
        ax.plot(epochs, [h[k] for h in history], fmts[i % len(fmts)], label=k.replace("_", " "))
    kinds = {"loss" if "loss" in k else "accuracy" if "acc" in k else "value" for k in present}
    set_axes(ax, "epoch", ylabel or " / ".join(sorted(kinds, key=("loss", "accuracy", "value").index)),
             (min(epochs) - 0.05, max(epochs) + 0.05) if epochs else None, None, "linear", yscale)
    place_legend(ax, ax.legend())
    if title:
        ax.set_title(title)
    if path is not None:
        savefig(fig, path, show=show)
    return fig


def _pixel_range(img: np.ndarray) -> dict[str, float]:
    """``vmin``/``vmax`` for a grayscale image: its dtype's pixel range (RGB images need none)."""
    if img.ndim == 3:
        return {}
    if np.issubdtype(img.dtype, np.integer) or img.dtype == np.bool_:
        return {"vmin": 0, "vmax": 255 if img.dtype != np.bool_ else 1}
    lo, hi = float(np.nanmin(img)), float(np.nanmax(img))
    return {"vmin": 0.0, "vmax": 1.0} if 0.0 <= lo and hi <= 1.0 else {"vmin": lo, "vmax": hi}


def show_images(imgs: Any, num_rows: int, num_cols: int, titles: Sequence[str] | None = None,
                scale: float = 1.5, path: str | os.PathLike | None = None, cmap: str = "gray_r",
                title_colors: Sequence[str] | None = None, show: bool = True) -> Any:
    """A grid of images (the book's ``show_images``); saved as PNG when ``path`` is given (and
    shown in a notebook unless ``show`` is False).

    Whatever the dtype, a grayscale image is drawn with one colormap (``gray_r``: dark on white,
    as Fashion-MNIST shows its garments) over the pixel range matplotlib uses for RGB images,
    0..255 for integers and 0..1 for floats: uint8 and float copies of a picture look the same,
    and a blank or dim image stays blank or dim. A float image outside 0..1 (standardized, say)
    spans its own smallest to largest value.
    ``title_colors`` colours the titles (e.g. red for a wrong prediction).
    """
    imgs = np.asarray(imgs)
    if imgs.ndim == 4 and imgs.shape[-1] == 1:
        imgs = imgs[..., 0]
    fig, axes = plt.subplots(num_rows, num_cols, figsize=(num_cols * scale, num_rows * scale), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(imgs):
            ax.imshow(imgs[i], cmap=cmap, **_pixel_range(imgs[i]))
            if titles is not None and i < len(titles):
                colored = title_colors is not None and i < len(title_colors)
                ax.set_title(titles[i], fontsize=8, **({"color": title_colors[i]} if colored else {}))
    if path is not None:
        savefig(fig, path, show=show)
    return fig
