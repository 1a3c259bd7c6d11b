"""Figures: ``show_images`` draws a grid, ``savefig`` writes atomically."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jaxlin.plots.figures import plt, savefig, show_images


def test_show_images_writes_a_figure(tmp_path):
    show_images(np.zeros((4, 28, 28, 1), np.uint8), 2, 2, titles=list("abcd"), path=tmp_path / "g.png")
    assert (tmp_path / "g.png").stat().st_size > 0


def test_figures_are_written_atomically(tmp_path, monkeypatch):
    """A savefig that fails half-way leaves the previous PNG whole, and no temporary file."""
    fig = plt.figure()
    savefig(fig, tmp_path / "curves.png")
    before = (tmp_path / "curves.png").read_bytes()
    fig = plt.figure()
    monkeypatch.setattr(fig, "savefig", lambda f, **kw: (Path(f).write_bytes(b"\x89PNG half"),
                                                         1 / 0))
    with pytest.raises(ZeroDivisionError):
        savefig(fig, tmp_path / "curves.png")
    plt.close(fig)
    assert (tmp_path / "curves.png").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png"]


def saved_pixels(imgs, path):
    show_images(imgs, 1, len(imgs), path=path)
    return plt.imread(path)


def test_show_images_never_inverts_or_rescales_by_dtype(tmp_path):
    """uint8 0..255 and float 0..1 copies of a picture give the same PNG, pixel for pixel, and
    a bright pixel is drawn dark in both (one colormap, gray_r)."""
    picture = np.random.default_rng(0).integers(0, 256, (2, 28, 28, 1)).astype(np.uint8)
    picture[:, :14, :, 0] = 0                                  # the top half black: drawn white
    as_uint8 = saved_pixels(picture, tmp_path / "u8.png")
    as_float = saved_pixels(picture.astype(np.float32) / 255, tmp_path / "f32.png")
    np.testing.assert_array_equal(as_uint8, as_float)
    bright = saved_pixels(np.full((1, 28, 28), 255, np.uint8), tmp_path / "bright.png")
    dark = saved_pixels(np.zeros((1, 28, 28), np.float32), tmp_path / "dark.png")
    centre = (slice(bright.shape[0] // 2 - 2, bright.shape[0] // 2 + 2),) * 2
    assert bright[centre].mean() < dark[centre].mean()


def test_epoch_plots_have_whole_number_ticks_and_a_y_label():
    from jaxlin.plots.figures import plot, plot_history
    history = [{"epoch": e, "train_loss": 1 / e, "test_acc": 0.5 + e / 10} for e in (1, 2, 3)]
    fig = plot_history(history, keys=("train_loss", "test_acc"))
    fig.canvas.draw()
    ax = fig.axes[0]
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks == [1, 2, 3] and ax.get_ylabel() == "loss / accuracy"
    fig = plot(np.arange(1, 8), np.arange(1, 8) ** 2, "epochs", "loss")
    fig.canvas.draw()
    assert all(float(t).is_integer() for t in fig.axes[0].get_xticks())
    plt.close("all")


def legend_box_covers(ax) -> bool:
    """Whether the legend's box covers a point of a line (segments sampled every pixel)."""
    from helpers import covered_by_legend
    return bool(covered_by_legend(ax))


def test_savefig_moves_a_legend_off_the_data(tmp_path):
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    x = np.linspace(-1, 1, 50)
    ax.plot(x, x ** 2, label="parabola")
    ax.axvline(0.0, color="k", label="x = 0")
    ax.legend(loc="upper center")                              # on the vertical line
    fig.canvas.draw()
    assert legend_box_covers(ax)
    savefig(fig, tmp_path / "moved.png")
    assert not legend_box_covers(ax)


def test_legend_with_no_free_corner_goes_outside(tmp_path):
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    grid = np.linspace(0, 1, 30)
    X, Y = np.meshgrid(grid, grid)
    ax.scatter(X.ravel(), Y.ravel(), s=4, label="everywhere")
    ax.legend()
    savefig(fig, tmp_path / "outside.png")
    box, axes_box = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert box.x0 >= axes_box.x1 and not legend_box_covers(ax)


def test_log_ticks_are_plain_numbers_over_few_decades():
    from jaxlin.plots.figures import plot
    fig = plot(np.arange(1, 101), np.geomspace(4, 0.15, 100), "epoch", "log rmse", yscale="log")
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels(which="both") if t.get_text()]
    assert labels and not any("times" in s or "^" in s for s in labels)    # no 4×10⁰
    assert {"0.2", "1", "2"} <= set(labels)
    fig = plot(np.arange(10), np.geomspace(1, 1e-16, 10), "layer", "variance", yscale="log")
    fig.canvas.draw()
    assert any("10^" in t.get_text() for t in fig.axes[0].get_yticklabels())   # many decades: 10ⁿ
    plt.close("all")
