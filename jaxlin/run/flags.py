"""The scripts' flags: argparse types that refuse bad values, a parser with checks across flags,
``--help`` that shows each default, and the flags every script has (:func:`make_parser`).

A bad value is one line and exit status 2, as argparse's own errors; in a Jupyter kernel
the words of ``$JAXLIN_ARGS`` are the command line (:func:`jaxlin.run.jupyter.kernel_argv`).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from jaxlin.run.jupyter import ARGS_ENV, in_kernel, kernel_argv
from jaxlin.run.processes import end_now_if_cooperating

SEED_BOUND = 2**63          # jax.random.key takes a 64-bit seed; the non-negative half of int64


def _read(text: str, kind: type, what: str) -> Any:
    """``kind(text)``, or the argparse error "expected WHAT, got 'TEXT'" (exit status 2)."""
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def _refuse(what: str, text: Any) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"expected {what}, got {text}")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (bad values exit with status 2 and a message)."""
    if (value := _read(text, int, "a positive integer")) < 1:
        raise _refuse("a positive integer", value)
    return value


def nonnegative_int(text: str) -> int:
    """argparse type: an integer >= 0 (where 0 means "none", e.g. ``--folds 0``)."""
    if (value := _read(text, int, "an integer >= 0")) < 0:
        raise _refuse("an integer >= 0", value)
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0, within float32 (training runs in float32)."""
    value = _read(text, float, "a positive number")
    if not math.isfinite(value) or value <= 0:
        raise _refuse("a positive finite number", text)
    if value > float(np.finfo(np.float32).max):
        raise _refuse("a number finite in float32 (at most 3.4e38)", text)
    return value


def nonnegative_float(text: str) -> float:
    """argparse type: a finite number >= 0 (a weight decay, a tolerance)."""
    if not (math.isfinite(value := _read(text, float, "a number >= 0")) and value >= 0):
        raise _refuse("a finite number >= 0", text)
    return value


def seed(text: str) -> int:
    """argparse type: a PRNG seed, an integer in [0, 2**63) (``jax.random.key`` takes 64 bits)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed, got {text!r}") from None
    if not 0 <= value < SEED_BOUND:
        raise argparse.ArgumentTypeError(f"the seed must fit in 64 bits: an integer in [0, 2**63), "
                                         f"got {text}")
    return value


Check = Callable[[argparse.Namespace], "str | None"]


class Parser(argparse.ArgumentParser):
    """``argparse`` plus checks across options, run after parsing.

    ``add_check(check)``: ``check(args)`` returns a problem (a message naming the
    option) or None; a problem exits with status 2 and the usage, like any bad
    option. The parsed command line is kept as ``args._argv`` (to print "resume
    with: ...") and the parser as ``args._parser`` (for :meth:`Run.usage_error`).
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, allow_abbrev=False, **kwargs)     # --epoch is not --epochs
        self.checks: list[Check] = []

    def add_check(self, check: Check) -> None:
        self.checks.append(check)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self._print_message(message, sys.stderr)
        end_now_if_cooperating(status)
        raise SystemExit(status)

    def parse_args(self, args: Any = None, namespace: Any = None) -> argparse.Namespace:
        """Parse ``args``; by default ``sys.argv[1:]`` in a script and, in a Jupyter kernel
        (whose argv is the kernel's own), the words of ``$JAXLIN_ARGS`` (none: the defaults)."""
        if args is None and in_kernel():
            try:
                args = kernel_argv()
            except ValueError as err:           # shlex: an unclosed quote
                self.error(f"${ARGS_ENV} is not a command line ({err}): {os.environ.get(ARGS_ENV)}")
        argv = list(sys.argv[1:] if args is None else args)
        parsed = super().parse_args(argv, namespace)
        for check in self.checks:
            problem = check(parsed)
            if problem:
                self.error(problem)
        parsed._argv, parsed._parser = argv, self
        return parsed


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` with each option's default, except a switch's (``--no-rewrites (default:
    True)`` would read as if the switch were on) and a None (the help says what it means)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.nargs == 0 or action.default is None:
            return action.help
        return super()._get_help_string(action)


def make_parser(description: str, *, epochs: int | None = None, lr: float | None = None,
                batch_size: int | None = None) -> Parser:
    """A parser with ``--out``, ``--seed``, ``--quiet`` and, where given a default,
    ``--epochs``, ``--lr`` and ``--batch-size``."""
    parser = Parser(description=description, formatter_class=HelpFormatter)
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder for results.json and PNGs (default: runs/<script name>/ of "
                             "the checkout, or of $JAXLIN_RUNS_DIR when set)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the run's PRNG key, in [0, 2**63)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bars (they are also off when stderr is not a terminal)")
    if epochs is not None:
        parser.add_argument("--epochs", type=positive_int, default=epochs, help="number of epochs")
    if lr is not None:
        parser.add_argument("--lr", type=positive_float, default=lr, help="learning rate")
    if batch_size is not None:
        parser.add_argument("--batch-size", type=positive_int, default=batch_size, help="minibatch size")
    return parser
