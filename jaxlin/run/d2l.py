"""The book's helpers that draw: ``train_ch3`` (train, the three curves growing per epoch),
``train_ch6`` (the same on a device, for chapter 6's conv nets) and ``predict_ch3`` (test
images titled with their true and predicted labels).

Both take the book's arguments: the ``(train_iter, test_iter)`` of
``load_data_fashion_mnist`` feed ``train_ch3`` directly; ``params`` and the
optimizer state are explicit, as JAX needs.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxlin.checks import check_positive_int
from jaxlin.data import fashion_mnist
from jaxlin.data.fashion_mnist import Batches, get_fashion_mnist_labels, to_float
from jaxlin.nn.losses import softmax_cross_entropy
from jaxlin.nn.updaters import Updater, as_transformation, sgd
from jaxlin.plots.animator import Animator
from jaxlin.plots.figures import show_images
from jaxlin.run.experiment import load_data
from jaxlin.run.session import current
from jaxlin.train.devices import try_gpu
from jaxlin.train.epoch import train_epoch_ch3
from jaxlin.train.evaluate import evaluate_accuracy
from jaxlin.train.fit import epoch_record
from jaxlin.train.rewrites import default_rewrites
from jaxlin.train.step import Loss, Net, make_train_step


class Trained(NamedTuple):
    """What ``train_ch3`` returns: ``params, history = train_ch3(...)``."""
    params: Any
    history: list[dict[str, float]]


def _batches(data: Any, name: str) -> Iterable:
    if isinstance(data, tuple):
        raise TypeError(f"{name} must be an iterable of (X, y) minibatches, e.g. from "
                        "load_data_fashion_mnist(batch_size, key=...), not a pair of arrays "
                        "(fit(...) trains on arrays)")
    return data


def train_ch3(net: Net, params: Any, train_iter: Iterable, test_iter: Iterable, loss: Loss,
              num_epochs: int, updater: Updater, *, plot_path: str | os.PathLike | None = None,
              ylim: tuple[float, float] | None = (0.3, 0.9)) -> Trained:
    """The book's ``train_ch3``: per epoch, ``train_epoch_ch3`` over ``train_iter`` (one jitted
    step per minibatch), then the accuracy over ``test_iter``.

    History records ``epoch``, ``train_loss``, ``train_acc`` and ``test_acc``. In a Jupyter
    kernel the three curves are drawn live, one figure updated once per epoch (the book's
    ``Animator``, y axis ``ylim``; None: fitted to the curves; written out in
    scripts/ch3_06_softmax_regression_scratch.py, 3.6.6); with ``plot_path`` the final
    figure is saved there as PNG. A NaN or infinite loss raises
    :class:`~jaxlin.train.fit.DivergenceError`; raw uint8 images a ``TypeError`` naming
    ``to_float``, before any step.

    In a chapter's run (:func:`jaxlin.run.session.setup` with ``training=True``), with the
    batches of :func:`load_data_fashion_mnist`, the same call trains as the script does:
    the compiled epoch over the same batches (``--loop book``: this loop), a checkpoint
    per epoch (``--checkpoint-dir``, ``--resume``), Ctrl-C and SIGTERM saving the last
    finished epoch, then the curves, predictions and ``results.json`` in the run's folder.
    """
    train_iter, test_iter = _batches(train_iter, "train_iter"), _batches(test_iter, "test_iter")
    session = current()
    if session is not None and session.training and isinstance(train_iter, Batches) \
            and train_iter.key is not None and isinstance(test_iter, Batches):
        from jaxlin.run.classifier import train_in_run  # the run around fit (imports this module)
        result = train_in_run(session, net, params, train_iter, test_iter, loss, num_epochs, updater)
        return Trained(result.state.params, list(result.state.history))
    num_epochs = check_positive_int(num_epochs, "num_epochs")
    tx = as_transformation(updater)          # the updater as optax, once: the step and its state
    # a conv net's convolutions as matrix products on XLA:CPU (jaxlin.train.rewrites); else the net itself
    step = make_train_step(default_rewrites().net(net), loss, tx)
    opt_state = tx.init(params)
    animator = Animator(xlabel="epoch", ylabel="loss / accuracy", xlim=(1, max(num_epochs, 2)), ylim=ylim,
                        path=plot_path,
                        legend=("train loss", "train acc", "test acc"))
    history: list[dict[str, float]] = []
    try:
        for epoch in range(1, num_epochs + 1):
            params, opt_state, sums = train_epoch_ch3(step, params, opt_state, train_iter)
            record = epoch_record(epoch, sums, history)
            record["test_acc"] = evaluate_accuracy(net, params, test_iter)
            history.append(record)
            animator.add(epoch, (record["train_loss"], record.get("train_acc"), record["test_acc"]))
    finally:
        animator.close()
    return Trained(params, history)


def train_ch6(net: Net, params: Any, train_iter: Iterable, test_iter: Iterable, num_epochs: int,
              lr: float, device: jax.Device | None = None, *,
              plot_path: str | os.PathLike | None = None) -> Trained:
    """The book's ``train_ch6`` (6.6.2): :func:`train_ch3` with the cross-entropy of the logits
    and minibatch SGD at ``lr``, on ``device`` (default ``try_gpu()``: a GPU when there is one).

    The params are put on the device; the batches follow them there (JAX runs an operation
    where its committed inputs live). The book's Xavier initialization is the caller's ``init``.
    """
    params = jax.device_put(params, try_gpu() if device is None else device)
    return train_ch3(net, params, train_iter, test_iter, softmax_cross_entropy, num_epochs,
                     functools.partial(sgd, lr=lr), plot_path=plot_path, ylim=None)


def load_data_fashion_mnist(batch_size: int, resize: int | None = None, *, key: jax.Array,
                            data_dir: str | os.PathLike | None = None,
                            fashion_mnist_dir: str | os.PathLike | None = None) -> tuple[Batches, Batches]:
    """The book's ``load_data_fashion_mnist`` (3.5.3): ``(train_iter, test_iter)``, training
    batches reshuffled every epoch from ``key``, test batches in order
    (:class:`~jaxlin.data.fashion_mnist.Batches`).

    In a chapter's run the folders default to its ``--data-dir`` and ``--fashion-mnist-dir``,
    the seconds it took are recorded, and a missing or damaged data set ends the run with
    one line (exit status 1), a batch larger than the data with exit status 2.
    """
    session = current()
    if session is None or not session.training:
        return fashion_mnist.load_data_fashion_mnist(batch_size, resize, key=key, data_dir=data_dir,
                                                     fashion_mnist_dir=fashion_mnist_dir)
    data, session.load_seconds = load_data(session.args, session.run, batch_size=batch_size,
                                           data_dir=data_dir, fashion_mnist_dir=fashion_mnist_dir,
                                           train_part=(0, 1))      # each process's part: train_in_run
    return (Batches(data.train_images, data.train_labels, batch_size, key=key, resize=resize),
            Batches(data.test_images, data.test_labels, batch_size, resize=resize))


def predict_ch3(net: Any, params: Any, images: Any, labels: jax.Array | None = None, n: int = 8,
                path: str | os.PathLike | None = None, *, show: bool = True) -> list[tuple[str, str]]:
    """The book's ``predict_ch3``: the first ``n`` images titled "true: coat\\npred: shirt ✗"
    (a wrong prediction marked ✗ and titled in red).

    ``predict_ch3(net, params, test_iter)`` takes the first batch of an iterator (as the
    book does); ``predict_ch3(net, params, images, labels)`` uint8 (N, 28, 28, 1) images.
    Returns the (true, predicted) text labels; the figure is saved to ``path`` if given.
    """
    n = check_positive_int(n, "n")
    if labels is None:
        images, labels = next(iter(images))
    images, labels = images[:n], labels[:n]
    X = to_float(images) if images.dtype == jnp.uint8 else images
    preds = jnp.argmax(net(params, X), axis=1)
    trues, predicted = get_fashion_mnist_labels(labels), get_fashion_mnist_labels(preds)
    titles = [f"true: {t}\npred: {p}" + ("" if t == p else " ✗") for t, p in zip(trues, predicted)]
    colors = ["black" if t == p else "tab:red" for t, p in zip(trues, predicted)]
    show_images(images, 1, n, titles=titles, scale=1.6, path=path, title_colors=colors, show=show)
    return list(zip(trues, predicted))


__all__ = ["Trained", "load_data_fashion_mnist", "predict_ch3", "train_ch3", "train_ch6"]
