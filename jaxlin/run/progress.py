"""What a script shows and keeps while ``fit`` runs: a progress bar, a line per epoch, the last state.

Bars fit the place: a notebook widget in a Jupyter kernel (with ipywidgets, the
``[notebook]`` extra), a text bar on a terminal, nothing when stderr is a pipe.
"""
from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterable
from typing import Any

from tqdm.std import tqdm as text_tqdm

from jaxlin.run.jupyter import in_kernel
from jaxlin.train.state import TrainState


def bar_class() -> tuple[type, bool | None]:
    """The bar for this place and its ``disable`` default: tqdm's widget in a kernel that has
    ipywidgets (never tqdm.auto's guess and its warnings), else the text bar, off when
    stderr is not a terminal (``None``)."""
    if in_kernel():
        if importlib.util.find_spec("ipywidgets") is not None:
            from tqdm.notebook import tqdm as widget_tqdm
            return widget_tqdm, False
        return text_tqdm, False
    return text_tqdm, None


def bar(quiet: bool = False, **kwargs: Any) -> Any:
    """A progress bar (``quiet``: none) of the kind :func:`bar_class` picks."""
    cls, default = bar_class()
    return cls(file=sys.stderr, disable=quiet or default, **kwargs)


def epoch_line(record: dict[str, float]) -> str:
    """``epoch 3, loss 0.512, train acc 0.829, test acc 0.812``."""
    parts = [f"epoch {record['epoch']}", f"loss {record['train_loss']:.3f}"]
    if "train_acc" in record:
        parts.append(f"train acc {record['train_acc']:.3f}")
    if "test_acc" in record:
        parts.append(f"test acc {record['test_acc']:.3f}")
    return ", ".join(parts)


class Progress:
    """``fit``'s callback: it advances a bar over the epochs, prints :func:`epoch_line` of each
    record (with ``print_lines``), runs ``after_epoch(state)`` (a checkpoint) and keeps the
    state after the last finished epoch (``state``, first the ``start``), for Ctrl-C."""

    def __init__(self, num_epochs: int, start: TrainState, *, quiet: bool = False,
                 print_lines: bool = True, after_epoch: Callable[[TrainState], Any] | None = None):
        self.start = self.state = start
        self.print_lines, self.after_epoch = print_lines, after_epoch
        self.bar = bar(quiet, total=num_epochs, initial=start.epoch, desc="epochs")

    def __call__(self, state: TrainState) -> None:
        if self.after_epoch is not None:
            self.after_epoch(state)
        self.state, record = state, state.history[-1]
        if self.print_lines:
            self.bar.write(epoch_line(record))
        self.bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k != "epoch"})
        self.bar.update()

    def close(self) -> None:
        self.bar.close()


def batch_bar(quiet: bool = False) -> Callable[[Iterable, int], Iterable]:
    """The book's loop's ``progress`` (``make_train_epoch(..., loop="book")``): a bar over an epoch's minibatches, shown once an epoch
    has taken 3 s (a fast epoch prints nothing) and removed when it ends."""
    def wrap(batches: Iterable, total: int) -> Iterable:
        return bar(quiet, iterable=batches, total=total, desc="  batches", leave=False, delay=3.0)
    return wrap
