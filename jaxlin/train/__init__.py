"""Layer 2, training: the train step, its rewrites, the compiled epoch, the book's
loop, evaluation, ``fit``, the vmap sweep and data parallelism. Imports ``jaxlin.nn``.
"""
