"""Minibatch stochastic gradient descent (D2L 3.2.6)."""
from __future__ import annotations

from typing import Any

import jax

from jaxlin.validate import check_learning_rate, check_positive_int, is_concrete


def sgd(params: Any, grads: Any, lr: float, batch_size: int) -> Any:
    """Minibatch SGD: p ← p − lr · g / batch_size for every leaf (eq. 3.1.10).

    ``grads`` are gradients of the *summed* minibatch loss, as in the book.
    Returns new params; nothing is mutated.
    """
    check_learning_rate(lr, "lr")
    if is_concrete(batch_size):
        check_positive_int(batch_size, "batch_size")
    return jax.tree.map(lambda p, g: p - lr * g / batch_size, params, grads)
