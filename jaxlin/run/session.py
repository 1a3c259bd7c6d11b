"""A chapter's one set-up cell, :func:`setup`, and the run the book's calls join.

A chapter states its defaults once::

    num_epochs, lr, batch_size, seed = setup("ch3_06_softmax_regression_scratch",
                                             "3.6 Softmax regression from scratch",
                                             num_epochs=10, lr=0.1, batch_size=256, training=True)

Run as a script, each default is a flag (``--epochs``, ``--lr``, ``--batch-size``, ``--seed``,
``--out``, and with ``training=True`` ``--loop``, ``--checkpoint-dir``, ``--resume``, the data
folders and several processes); in a notebook the defaults hold (or the words of
``$JAXLIN_ARGS``). The values come back in the order given, then ``seed``.

:func:`setup` opens the run (its output folder, :class:`~jaxlin.run.cli.Run`) and makes it the
current one; the book's calls that follow (``load_data_fashion_mnist``, ``train_ch3``) find it
with :func:`current` and do what a script does: the compiled epoch, checkpoints, Ctrl-C
saves, the curves and ``results.json``. Without a set-up (a user's own code) they are the
book's plain functions. Parsing reads flags only; the processes of a multi-process run are
joined here, by :func:`setup`, after it.
"""
from __future__ import annotations

import argparse
import atexit
import collections
import contextlib
import dataclasses
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from jaxlin.plots.figures import png_bytes, savefig
from jaxlin.run.cli import Run
from jaxlin.run.flags import make_parser, positive_float, positive_int
from jaxlin.run.jupyter import in_kernel, show_png

Check = Callable[[tuple], "str | None"]


@dataclasses.dataclass(frozen=True)
class Flag:
    """A chapter's own flag beyond a plain default: ``impl=Flag("scratch", choices=(...), help=...)``
    (``nargs="+"``: one or more values, a list)."""
    default: Any
    help: str | None = None
    choices: tuple | None = None
    type: Any = None
    nargs: str | None = None


# The flags every chapter names alike: a default given for one of these gets that flag, and
# that name in the run's records (``num_epochs`` is ``epochs`` there, as checkpoints have it).
COMMON = {"num_epochs": "epochs", "lr": "lr", "batch_size": "batch_size"}


def _add_flag(parser: argparse.ArgumentParser, name: str, spec: Any) -> None:
    flag = spec if isinstance(spec, Flag) else Flag(spec)
    default, kind = flag.default, flag.type
    if kind is None:
        sample = default[0] if flag.nargs and default else default
        kind = {bool: None, int: positive_int, float: positive_float}.get(type(sample), type(sample))
    option = "--" + name.replace("_", "-")
    text = flag.help or name.replace("_", " ")
    if isinstance(default, bool):
        parser.add_argument(option, dest=name, action=argparse.BooleanOptionalAction, default=default,
                            help=text)
    else:
        parser.add_argument(option, dest=name, type=kind, default=default, choices=flag.choices, help=text,
                            nargs=flag.nargs)


@dataclasses.dataclass
class Session:
    """The current chapter run: its parsed flags, its :class:`~jaxlin.run.cli.Run`, its title
    (for figures and ``results.json``) and the seconds its data took to load."""
    args: argparse.Namespace
    run: Run
    title: str
    training: bool
    load_seconds: float = 0.0


_current: list[Session] = []          # the one current session, replaced by each setup()


def current() -> Session | None:
    """The run :func:`setup` opened last in this process, or None."""
    return _current[-1] if _current else None


def setup(name: str, title: str, *, training: bool = False, checks: Sequence[Check] = (),
          argv: list[str] | None = None, **defaults: Any) -> tuple:
    """Parse the chapter's flags (defaults: ``defaults``), open its run; return the values.

    ``num_epochs``, ``lr`` and ``batch_size`` become ``--epochs``, ``--lr``, ``--batch-size``;
    any other name ``--its-name`` (an int: a positive integer, a float: a positive number,
    a bool: ``--name/--no-name``, or a :class:`Flag`). Returns a named tuple of the values
    in the order given, then ``seed`` (``seed=N`` makes ``--seed``'s default N, not 0). Each of
    ``checks`` gets that tuple and returns a problem (one line naming the flags: exit status 2,
    as a bad flag) or None.

    The run ends when the next ``setup`` opens or the interpreter exits (or ``train_ch3``
    finishes it): its ``results.json`` holds what :func:`record` recorded and lists the
    figures :func:`save` saved.
    """
    parser = make_parser(f"D2L {title}.")
    if "seed" in defaults:
        parser.set_defaults(seed=defaults.pop("seed"))
    for key, spec in defaults.items():
        if key in COMMON:
            default = spec.default if isinstance(spec, Flag) else spec
            kind = positive_int if key != "lr" else positive_float
            parser.add_argument("--" + COMMON[key].replace("_", "-"), dest=COMMON[key], type=kind, default=default,
                                help=(spec.help if isinstance(spec, Flag) and spec.help else
                                      {"num_epochs": "number of epochs", "lr": "learning rate",
                                       "batch_size": "minibatch size"}[key]))
        else:
            _add_flag(parser, key, spec)
    if training:
        from jaxlin.run.experiment import add_training_args
        add_training_args(parser)
    args = parser.parse_args(argv)
    if training:
        from jaxlin.run.experiment import check_checkpoint_args
        from jaxlin.run.processes import agree_on_flags, start_processes
        # joined before the checkpoint folder is read (reading it may start JAX's runtime),
        # and agreed on every flag before any data is loaded
        if (problem := start_processes(args) or agree_on_flags(args) or check_checkpoint_args(args)):
            parser.error(problem)
    values = collections.namedtuple("Settings", [*defaults, "seed"])
    settings = values(*(getattr(args, COMMON.get(key, key)) for key in defaults), args.seed)
    for check in checks:
        if problem := check(settings):
            parser.error(problem)
    if _current:
        finish(_current.pop())
    session = Session(args, Run(args, name), title, training)
    # Registered after Run's own exit handler (which drops the files not yet put in place):
    # atexit runs last in, first out, so the run is finished first.
    atexit.register(finish, session)
    _current.append(session)
    return settings


def finish(session: Session | None = None) -> None:
    """End the (current) run: write its ``results.json`` and put its files in place (once); the
    book's calls after it are plain functions again."""
    session = session or current()
    if session is not None:
        session.run.finish()
        if session in _current:
            _current.remove(session)


def record(**values: Any) -> None:
    """Keep ``values`` (numbers the section prints) in the current run's ``results.json``."""
    if (session := current()) is not None:
        session.run.results.update(values)


def save(fig: Any, name: str) -> None:
    """Show ``fig`` (in a notebook) and, in a chapter's run, save it as PNG ``name`` in the run's
    folder. Returns nothing, so that a notebook cell ending with it shows the figure once."""
    session = current()
    if session is None:
        if in_kernel():
            show_png(png_bytes(fig))
        return
    savefig(fig, session.run.path(name))


def out_path(name: str) -> Path:
    """Where a section writes its file ``name`` (5.5's ``x-file``): in a chapter's run, its
    folder (aside until the run ends, listed in ``results.json``); without one, ``name`` in the
    working folder, as the book writes it."""
    session = current()
    return session.run.path(name) if session is not None else Path(name)


def final_path(name: str) -> Path:
    """Where the file written to :func:`out_path` ``(name)`` will be once the run ends (the path
    to print: the folder it is written in is gone by then)."""
    session = current()
    return session.run.final_path(name) if session is not None else Path(name)


def usage_error(message: str) -> NoReturn:
    """A bad flag found after the set-up (a data file it names that cannot be read): the usage
    and one line, exit status 2, as for any bad flag; the run ends with nothing written."""
    session = current()
    if session is None:
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)
    _current.remove(session)
    session.run.done = True               # nothing to write: its exit handler does nothing
    session.run.usage_error(message)


def fail(message: str) -> NoReturn:
    """A section that cannot go on (say, predictions Kaggle would refuse): ``results.json``
    records ``status: failed``, the error and the numbers recorded so far; one line, exit
    status 1."""
    session = current()
    if session is None:
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(1)
    session.run.fail(message)


def guard() -> Any:
    """``with guard():`` around a section's own training: in a chapter's run, a
    :class:`~jaxlin.train.fit.DivergenceError` (a NaN loss) still ends with ``results.json``
    saying so and exit status 1, Ctrl-C with status 130 (the run keeps no checkpoint);
    without a run, nothing."""
    session = current()
    return session.run.guard() if session is not None else contextlib.nullcontext()


__all__ = ["Flag", "Session", "current", "fail", "final_path", "finish", "guard", "out_path", "record", "save",
           "setup", "usage_error"]
