"""Layer 1, the pure math: models, losses, updaters, initializers, activations, penalties.

No jit, no I/O, no randomness but explicit keys. Imports only ``jaxlin.checks``.
"""
