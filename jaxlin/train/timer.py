"""The book's ``Timer`` (d2l.Timer): record several running times."""
from __future__ import annotations

import time

import numpy as np


class Timer:
    """Record several running times; ``stop`` returns the last one in seconds.

    Under JAX, work is dispatched asynchronously: call ``block_until_ready`` on a
    result before ``stop`` so the clock measures the computation, not the dispatch.
    """

    def __init__(self) -> None:
        self.times: list[float] = []
        self.start()

    def start(self) -> None:
        self.tik = time.perf_counter()

    def stop(self) -> float:
        self.times.append(time.perf_counter() - self.tik)
        return self.times[-1]

    def avg(self) -> float:
        return sum(self.times) / len(self.times)

    def sum(self) -> float:
        return sum(self.times)

    def cumsum(self) -> list[float]:
        return np.array(self.times).cumsum().tolist()
