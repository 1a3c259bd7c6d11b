"""Layer 2, training: the train step, its lowering choices, the compiled epoch, the book's
loop, evaluation, ``fit``, the vmap sweep and data parallelism. Imports ``jaxlin.nn``.
"""
