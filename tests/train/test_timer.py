"""The book's Timer."""
from __future__ import annotations

import pytest

from jaxlin import Timer


def test_timer_accumulates():
    timer = Timer()
    timer.stop()
    timer.start()
    timer.stop()
    assert len(timer.times) == 2 and timer.sum() >= 0 and timer.cumsum()[-1] == pytest.approx(timer.sum())
