"""Early stopping (D2L 4.4 / 5.6): stop when the validation loss stops improving, keep the best params.

The rule is one pure function over an immutable state; :class:`EarlyStopping` only
holds the latest state so it can serve as ``fit(callback=...)``.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

from jaxlin.checks import check_early_stopping
from jaxlin.train.state import TrainState


class EarlyStoppingState(NamedTuple):
    """The best monitored loss so far, its epoch and params, and epochs waited since."""
    best_loss: float = math.inf
    best_epoch: int = 0
    best_params: Any = None
    wait: int = 0


def early_stopping_update(state: EarlyStoppingState, epoch: int, loss: float, params: Any, *,
                          patience: int, min_delta: float = 0.0) -> tuple[EarlyStoppingState, bool]:
    """One epoch of the rule: a new state and whether to stop.

    The epoch improves when ``loss < best_loss − min_delta``: its params become the
    best and the wait resets. Otherwise (a NaN loss included) the wait grows; stop
    once it reaches ``patience``.
    """
    if loss < state.best_loss - min_delta:
        return EarlyStoppingState(float(loss), int(epoch), params, 0), False
    state = state._replace(wait=state.wait + 1)
    return state, state.wait >= patience


class EarlyStopping:
    """A ``fit`` callback: ``callback(state) -> stop``.

    Watches the last record's ``monitor`` (e.g. ``"valid_loss"`` from an evaluator of
    ``{"valid": ...}`` with a loss);
    after training, ``best_params``/``best_epoch``/``best_loss`` hold the best epoch
    and ``stopped_epoch`` the epoch it stopped at (None if it never did).
    """

    def __init__(self, patience: int, min_delta: float = 0.0, monitor: str = "valid_loss"):
        self.patience, self.min_delta = check_early_stopping(patience, min_delta)
        self.monitor = monitor
        self.state = EarlyStoppingState()
        self.stopped_epoch: int | None = None

    def __call__(self, train: TrainState) -> bool:
        record = train.history[-1]
        if self.monitor not in record:
            raise KeyError(f"early stopping monitors {self.monitor!r}, but the epoch record has only "
                           f"{sorted(record)}: evaluate that data set in fit (evaluate=evaluator(...))")
        self.state, stop = early_stopping_update(self.state, train.epoch, record[self.monitor], train.params,
                                                 patience=self.patience, min_delta=self.min_delta)
        if stop:
            self.stopped_epoch = train.epoch
        return stop

    @property
    def best_params(self) -> Any:
        return self.state.best_params

    @property
    def best_epoch(self) -> int:
        return self.state.best_epoch

    @property
    def best_loss(self) -> float:
        return self.state.best_loss


__all__ = ["EarlyStopping", "EarlyStoppingState", "early_stopping_update"]
