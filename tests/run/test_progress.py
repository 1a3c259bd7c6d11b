"""Progress bars: the epoch bar unless quiet, the batch bar only for slow epochs."""
from __future__ import annotations

import itertools
import sys

import pytest

from helpers import Terminal, fit_args
from jaxlin.run.progress import Progress, batch_bar
from jaxlin.train.epoch import make_train_epoch
from jaxlin.train.fit import fit
from jaxlin.train.state import TrainState


@pytest.mark.parametrize("slow", [False, True])
def test_batch_bar_appears_only_when_an_epoch_takes_seconds(slow, monkeypatch):
    """The book-style loop shows a per-batch bar after 3 s of tqdm's clock, faked both ways (a
    real epoch's speed depends on the machine): 'slow', every reading 2 s later; else it stands."""
    import tqdm.std
    clock = iter(range(0, 10**6, 2)) if slow else itertools.repeat(0)
    monkeypatch.setattr(tqdm.std, "time", lambda: next(clock))
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    kw = fit_args(num_epochs=2)
    for quiet in (False, True):
        terminal = Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        book = make_train_epoch(kw["net"], kw["loss"], kw["updater"], 5, loop="book", progress=batch_bar(quiet))
        start = book.init(kw["params"], kw["key"])
        progress = Progress(2, start, quiet=quiet, print_lines=False)
        fit(book, start, kw["train"], num_epochs=2, callback=progress)
        progress.close()
        assert ("epochs" in terminal.getvalue()) == (not quiet)
        assert ("batches" in terminal.getvalue()) == (slow and not quiet)


def test_a_resumed_runs_epoch_bar_starts_at_the_epochs_already_done(monkeypatch):
    """Resumed after 2 of 5 epochs: the bar starts at 2 (shows 2/5), and the next epoch makes it 3."""
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    done = tuple({"epoch": e, "train_loss": 1.0 / e} for e in (1, 2))
    start = TrainState(None, (), None, 2, done)
    progress = Progress(5, start, print_lines=False)
    assert progress.bar.n == 2 and progress.state.epoch == 2 and "2/5" in terminal.getvalue()
    third = start._replace(epoch=3, history=(*done, {"epoch": 3, "train_loss": 0.3}))
    progress(third)
    assert progress.bar.n == 3 and progress.state is third
    progress.close()
    assert "3/5" in terminal.getvalue()                       # the bar's last state, drawn on close
