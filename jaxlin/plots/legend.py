"""What makes a figure readable, applied by :mod:`jaxlin.plots.figures`: legends kept off the data,
whole-number epoch ticks and log-axis ticks a reader can read.

:func:`legend_overlaps_data` measures, in display coordinates (pixels), whether a legend's
box covers any drawn point of the axes' lines, scatter points, bars, contours or texts;
:func:`place_legend` moves a legend that does to the first free corner or side of the
axes, else outside on the right.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib import ticker
from matplotlib.collections import PathCollection

INSIDE = ("upper right", "upper left", "lower left", "lower right", "center right", "center left",
          "upper center", "lower center")
PAD = 3.0                                                # pixels kept clear around a legend


def _dense(xy: np.ndarray, step: float = 2.0) -> np.ndarray:
    """The points of the polyline ``xy`` (pixels) every ``step`` pixels or closer; NaN gaps dropped."""
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    if len(xy) < 2:
        return xy
    seg = np.diff(xy, axis=0)
    counts = np.maximum(1, np.ceil(np.hypot(seg[:, 0], seg[:, 1]) / step).astype(int))
    counts = np.minimum(counts, 2000)
    parts = [xy[i] + np.linspace(0, 1, n, endpoint=False)[:, None] * seg[i] for i, n in enumerate(counts)]
    return np.concatenate(parts + [xy[-1:]])


def data_points(ax: Any) -> np.ndarray:
    """Pixel coordinates of what the axes draw: its lines, scatter points, contours and
    collections, densely sampled (an (n, 2) array)."""
    points = [np.empty((0, 2))]
    for line in ax.get_lines():
        if line.get_visible() and len(line.get_xdata()):
            xy = line.get_transform().transform(np.asarray(line.get_xydata(), float))
            points.append(_dense(xy) if line.get_linestyle() not in ("None", "", " ") else xy)
    for coll in ax.collections:
        if not coll.get_visible():
            continue
        if isinstance(coll, PathCollection):           # scatter: one marker per offset
            points.append(coll.get_offset_transform().transform(coll.get_offsets()))
            continue
        transform = coll.get_transform()
        for path in coll.get_paths():
            for poly in path.to_polygons(closed_only=False):
                points.append(_dense(transform.transform(poly)))
    return np.concatenate(points)


def legend_overlaps_data(ax: Any, legend: Any = None) -> bool:
    """Whether the legend's box (widened by :data:`PAD` pixels) covers a drawn point, a bar or
    a text of ``ax``."""
    legend = legend or ax.get_legend()
    if legend is None or not legend.get_visible():
        return False
    box = legend.get_window_extent().padded(PAD)
    xy = data_points(ax)
    inside = ((xy[:, 0] >= box.x0) & (xy[:, 0] <= box.x1) & (xy[:, 1] >= box.y0) & (xy[:, 1] <= box.y1))
    if inside.any():
        return True
    artists = [p for p in ax.patches if p.get_visible()] + [t for t in ax.texts if t.get_visible() and t.get_text()]
    return any(box.overlaps(a.get_window_extent()) for a in artists)


def place_legend(ax: Any, legend: Any = None) -> Any:
    """Keep ``ax``'s legend off its data: unchanged if it covers nothing, else at the first
    free place of :data:`INSIDE`, else outside the axes: on the right, or below where another
    panel is on the right. Returns the legend."""
    legend = legend or ax.get_legend()
    if legend is None:
        return None
    ax.figure.draw_without_rendering()                   # limits and layout as they will be saved
    if not legend_overlaps_data(ax, legend):
        return legend
    for loc in INSIDE:
        legend.set_loc(loc)
        if not legend_overlaps_data(ax, legend):
            return legend
    if _has_right_neighbour(ax):                         # below, not over the next panel
        legend.set_bbox_to_anchor((0.5, -0.18), transform=ax.transAxes)
        legend.set_loc("upper center")
    else:
        legend.set_bbox_to_anchor((1.02, 1.0), transform=ax.transAxes)
        legend.set_loc("upper left")
    return legend


def _has_right_neighbour(ax: Any) -> bool:
    box = ax.get_position()
    return any(o is not ax and o.get_visible() and o.get_position().x0 >= box.x1
               and o.get_position().y0 < box.y1 and o.get_position().y1 > box.y0 for o in ax.figure.axes)


def place_legends(fig: Any) -> bool:
    """:func:`place_legend` on every axes of ``fig``; True if a legend was moved (the figure's
    layout is then worth redoing)."""
    moved = False
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is not None:
            fig.draw_without_rendering()
            if legend_overlaps_data(ax, legend):
                place_legend(ax, legend)
                moved = True
    return moved


class LogTicks(ticker.LogFormatterSciNotation):
    """Log-axis labels: 10ⁿ over many decades; plain numbers (0.2, 0.3, 1, 2) where the axis
    spans at most three decades and matplotlib also labels ticks between powers of ten."""

    def __call__(self, x: float, pos: Any = None) -> str:
        label = super().__call__(x, pos)                 # '' for a tick matplotlib leaves bare
        lo, hi = sorted(self.axis.get_view_interval())
        if not label or lo <= 0 or hi / lo > 1e3 or not 1e-3 <= x <= 1e4:
            return label
        return f"{x:g}"


def readable_log_ticks(axis: Any) -> None:
    """:class:`LogTicks` on a log-scaled ``axis`` (``ax.xaxis`` or ``ax.yaxis``)."""
    axis.set_major_formatter(LogTicks())
    axis.set_minor_formatter(LogTicks(labelOnlyBase=False))


def integer_ticks(axis: Any) -> None:
    """Ticks at whole numbers only (epochs): never 1.5 epochs."""
    axis.set_major_locator(ticker.MaxNLocator(integer=True, steps=[1, 2, 5, 10]))


__all__ = ["INSIDE", "LogTicks", "data_points", "integer_ticks", "legend_overlaps_data", "place_legend",
           "place_legends", "readable_log_ticks"]
