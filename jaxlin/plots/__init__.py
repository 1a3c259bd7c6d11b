"""Layer 4, the figures: the book's ``plot``, ``set_axes`` and ``show_images``
(:mod:`jaxlin.plots.figures`), legend placement off the data (:mod:`jaxlin.plots.legend`) and
the live training plot, ``Animator`` (:mod:`jaxlin.plots.animator`). Nothing here sets a
matplotlib backend; a figure is returned, shown inline in a notebook, saved where asked.
"""
