"""Figures: ``show_images`` draws a grid, ``savefig`` writes atomically."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jaxlin.run.plot import plt, savefig, show_images


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
