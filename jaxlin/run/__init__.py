"""Layer 4, the run around training: a chapter's set-up (:func:`setup`, its one cell), its
flags and output folder, checkpoints, progress, the book's helpers that draw (``d2l``) and
several processes. The figures live in :mod:`jaxlin.plots`, the benchmark in
:mod:`jaxlin.bench`.
"""
from jaxlin._lazy import lazy_exports

_EXPORTS = {"Flag": "jaxlin.run.session", "setup": "jaxlin.run.session"}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
