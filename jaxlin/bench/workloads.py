"""The benchmark's models: data, ``init``, ``net``, loss, lr and batch size of each, as the
book trains them (3.2, 3.6, 4.2, 6.6), and the quality band each must reach."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from jaxlin.data.fashion_mnist import to_float
from jaxlin.data.synthetic import synthetic_data
from jaxlin.nn.lenet import init_lenet, lenet
from jaxlin.nn.linear import init_linreg, linreg
from jaxlin.nn.losses import softmax_cross_entropy, squared_loss
from jaxlin.nn.mlp import init_mlp, mlp
from jaxlin.nn.softmax import init_softmax_regression, softmax_regression_logits
from jaxlin.train.epoch import identity

MODELS = ("linreg", "softmax", "mlp", "lenet")


@dataclass
class Workload:
    """One model to benchmark: data, ``init(key)``, ``net``, ``loss``, lr and batch size."""
    name: str
    X: jax.Array
    y: jax.Array
    init: Callable[[jax.Array], Any]
    net: Callable
    loss: Callable
    lr: float
    batch_size: int
    prepare: Callable = identity
    layers: tuple[int, ...] = ()          # the PyTorch twin's Linear sizes
    convolutional: bool = False           # LeNet: its twin is the book's nn.Sequential LeNet
    quality_epochs: int = 1               # epochs before the quality band is read
    test: tuple[jax.Array, jax.Array] | None = None    # held-out data for the quality band

    @property
    def steps_per_epoch(self) -> int:
        return self.X.shape[0] // self.batch_size


def make_workloads(names: Sequence[str], fashion_mnist: Any = None, *, key: jax.Array) -> list[Workload]:
    """The benchmark's models: ``linreg`` (synthetic, batch 10, lr 0.03), ``softmax`` and ``mlp``
    (Fashion-MNIST, batch 256, lr 0.1) and ``lenet`` (batch 256, lr 0.9), as in the book."""
    out = []
    for name in names:
        if name == "linreg":
            X, y = synthetic_data(key, jnp.array([2.0, -3.4]), 4.2, 1000)
            out.append(Workload("linreg", X, y, lambda k: init_linreg(k, 2), linreg, squared_loss,
                                0.03, 10, layers=(2, 1)))
            continue
        if name not in MODELS:
            raise ValueError(f"unknown model {name!r}: choose from {', '.join(MODELS)}")
        if fashion_mnist is None:
            raise ValueError(f"model {name!r} needs the Fashion-MNIST arrays")
        data = (fashion_mnist.train_images, fashion_mnist.train_labels)
        test = (fashion_mnist.test_images, fashion_mnist.test_labels)
        if name == "softmax":
            out.append(Workload("softmax", *data, lambda k: init_softmax_regression(k),
                                softmax_regression_logits, softmax_cross_entropy, 0.1, 256,
                                to_float, layers=(784, 10), test=test))
        elif name == "mlp":
            out.append(Workload("mlp", *data, lambda k: init_mlp(k, 784, 256, 10), mlp,
                                softmax_cross_entropy, 0.1, 256, to_float, layers=(784, 256, 10), test=test))
        else:
            out.append(Workload("lenet", *data, init_lenet, lenet, softmax_cross_entropy, 0.9, 256,
                                to_float, test=test, convolutional=True, quality_epochs=3))
    return out


# What one epoch from init at the book's lr and batch size reaches (the timed epoch; LeNet's
# sigmoids sit at chance for an epoch, so its band is read after three): a step that is fast
# because it is wrong leaves its band, however good its time looks.
BANDS = {"linreg": ("train_loss", 0.0, 0.1), "softmax": ("test_acc", 0.72, 0.86),
         "mlp": ("test_acc", 0.68, 0.88), "lenet": ("test_acc", 0.55, 0.82)}


__all__ = ["BANDS", "MODELS", "Workload", "make_workloads"]
