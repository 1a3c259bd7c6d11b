"""The book's chapter-3 helpers that draw: ``train_ch3`` (train, then the three curves) and
``predict_ch3`` (test images titled with their true and predicted labels)."""
from __future__ import annotations

import os
from typing import Any

import jax
import jax.numpy as jnp

from jaxlin.data.fashion_mnist import get_fashion_mnist_labels, to_float
from jaxlin.nn.updaters import Updater
from jaxlin.run.plot import plot_history, show_images
from jaxlin.train.epoch import Prepare, identity
from jaxlin.train.evaluate import Arrays
from jaxlin.train.fit import FitResult, fit
from jaxlin.train.step import Loss, Net


def train_ch3(net: Net, params: Any, train: Arrays, test: Arrays, loss: Loss, num_epochs: int,
              updater: Updater, *, batch_size: int, key: jax.Array, prepare: Prepare = identity,
              plot_path: str | os.PathLike | None = None, **kwargs: Any) -> FitResult:
    """The book's ``train_ch3``: train, then evaluate on ``test`` after every epoch.

    History records ``epoch``, ``train_loss``, ``train_acc`` and ``test_acc``; with
    ``plot_path`` the book's three-curve figure is saved there as PNG.
    """
    result = fit(net, params, loss, updater, train, num_epochs=num_epochs, batch_size=batch_size,
                 key=key, evals={"test": test}, prepare=prepare, **kwargs)
    if plot_path is not None:
        plot_history(result.history, plot_path)
    return result


def predict_ch3(net: Any, params: Any, images: jax.Array, labels: jax.Array, n: int = 8,
                path: str | os.PathLike | None = None) -> list[tuple[str, str]]:
    """The book's ``predict_ch3``: the first ``n`` images titled "true\\npredicted".

    ``images`` are uint8 (N, 28, 28, 1); returns the (true, predicted) text labels.
    """
    images, labels = images[:n], labels[:n]
    preds = jnp.argmax(net(params, to_float(images)), axis=1)
    trues, predicted = get_fashion_mnist_labels(labels), get_fashion_mnist_labels(preds)
    titles = [f"{t}\n{p}" for t, p in zip(trues, predicted)]
    show_images(images, 1, n, titles=titles, scale=1.6, path=path)
    return list(zip(trues, predicted))


__all__ = ["predict_ch3", "train_ch3"]
