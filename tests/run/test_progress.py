"""Progress bars: the epoch bar unless quiet, the batch bar only for slow epochs."""
from __future__ import annotations

import sys

import pytest

from helpers import Terminal, fit_args
from jaxlin.run.progress import Progress, batch_bar
from jaxlin.train.book import BookEpoch
from jaxlin.train.fit import fit


@pytest.mark.parametrize("slow", [False, True])
def test_batch_bar_appears_only_when_an_epoch_takes_seconds(slow, monkeypatch):
    """The book-style loop shows a per-batch bar after 3 s (tqdm's clock, faked for 'slow')."""
    import tqdm.std
    if slow:
        clock = iter(range(0, 10**6, 2))                       # every reading 2 s later
        monkeypatch.setattr(tqdm.std, "time", lambda: next(clock))
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    kw = fit_args(num_epochs=2)
    for quiet in (False, True):
        terminal = Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        progress = Progress(2, quiet=quiet, print_lines=False)
        book = BookEpoch.make(kw["net"], kw["loss"], kw["updater"], 5, progress=batch_bar(quiet))
        fit(**kw, train_epoch=book, callback=progress)
        progress.close()
        assert ("epochs" in terminal.getvalue()) == (not quiet)
        assert ("batches" in terminal.getvalue()) == (slow and not quiet)
