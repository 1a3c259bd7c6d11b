"""What every script shares: the common flags, the output folder and ``results.json``.

A script is ``main(argv=None)``: ``parser = make_parser(...)``, ``args = parser.parse_args(argv)``,
``run = Run(args, __file__)``, then ``run.path("figure.png")`` for each PNG and
``run.finish(results)`` to write ``results.json`` atomically.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import jax
import numpy as np

from jaxlin.data.io import write_json
from jaxlin.train.fit import DivergenceError

RESULTS = "results.json"


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (bad values exit with status 2 and a message)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    if value > float(np.finfo(np.float32).max):       # training runs in float32
        raise argparse.ArgumentTypeError(f"expected a number finite in float32 (at most 3.4e38), got {text}")
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

    def parse_args(self, args: Any = None, namespace: Any = None) -> argparse.Namespace:
        argv = list(sys.argv[1:] if args is None else args)
        parsed = super().parse_args(argv, namespace)
        for check in self.checks:
            problem = check(parsed)
            if problem:
                self.error(problem)
        parsed._argv, parsed._parser = argv, self
        return parsed


def make_parser(description: str, *, epochs: int | None = None, lr: float | None = None,
                batch_size: int | None = None) -> Parser:
    """A parser with ``--out``, ``--seed``, ``--quiet`` and, where given a default,
    ``--epochs``, ``--lr`` and ``--batch-size``."""
    parser = Parser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder for results.json and PNGs (default: runs/<script name>/)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the run's PRNG key")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bars (they are also off when stderr is not a terminal)")
    if epochs is not None:
        parser.add_argument("--epochs", type=positive_int, default=epochs, help="number of epochs")
    if lr is not None:
        parser.add_argument("--lr", type=positive_float, default=lr, help="learning rate")
    if batch_size is not None:
        parser.add_argument("--batch-size", type=positive_int, default=batch_size, help="minibatch size")
    return parser


def environment() -> dict[str, Any]:
    """Where the run happened: device kind, versions, host."""
    import jaxlib
    device = jax.devices()[0]
    return {"backend": jax.default_backend(), "device": device.device_kind,
            "num_devices": jax.device_count(), "jax": jax.__version__, "jaxlib": jaxlib.__version__,
            "python": platform.python_version(), "platform": platform.platform()}


class Run:
    """One script run: its output folder, the files it writes and its ``results.json``.

    A folder that holds an earlier run's outputs is not silently mixed with this
    one: the files that run listed in its ``results.json`` are removed first, and
    the script says so. ``results.json`` records ``status``: ``finished``,
    ``diverged`` or ``failed`` (exit status 1), or ``interrupted`` (Ctrl-C, exit status 130).
    """

    def __init__(self, args: argparse.Namespace, script: str | os.PathLike):
        self.script = Path(script)
        stem = self.script.stem
        self.out = Path(args.out) if args.out is not None else Path("runs") / stem
        self.args = args
        self.files: list[str] = []
        self.started = time.perf_counter()
        self.results: dict[str, Any] = {"script": stem, "args": _args_dict(args),
                                        "environment": environment()}
        self._clear_previous()
        self.out.mkdir(parents=True, exist_ok=True)

    def _clear_previous(self) -> None:
        previous = self.out / RESULTS
        if not previous.is_file():
            return
        try:
            files = json.loads(previous.read_text()).get("files", [])
        except (OSError, ValueError):
            files = []
        removed = 0
        for name in files:
            path = self.out / name
            if path.is_file() and path.resolve().parent == self.out.resolve():
                path.unlink()
                removed += 1
        previous.unlink()
        print(f"note: replaced the previous run in {self.out} ({removed} files removed)", file=sys.stderr)

    def path(self, name: str) -> Path:
        """The path of an output file ``name`` in the run folder, recorded in results.json."""
        if name not in self.files:
            self.files.append(name)
        return self.out / name

    def finish(self, results: dict[str, Any] | None = None, **more: Any) -> Path:
        """Write ``results.json`` (the results, args, environment, files and total seconds)."""
        self.results.update(results or {})
        self.results.update(more)
        self.results.setdefault("status", "finished")
        self.results["files"] = [f for f in self.files if (self.out / f).exists()]
        self.results["seconds_total"] = time.perf_counter() - self.started
        return write_json(self.out / RESULTS, self.results)

    def usage_error(self, message: str) -> NoReturn:
        """A bad option found after parsing (e.g. against the data): usage, message, exit status 2."""
        parser = getattr(self.args, "_parser", None)
        if parser is not None:
            parser.error(message)
        print(f"{self.script.name}: error: {message}", file=sys.stderr)
        raise SystemExit(2)

    def command(self, *, drop: tuple[str, ...] = (), add: tuple[str, ...] = ()) -> str:
        """This run's command line (``python script.py ARGS``) without ``drop`` flags, plus ``add``."""
        argv = [a for a in getattr(self.args, "_argv", sys.argv[1:]) if a not in drop]
        script = self.script.resolve()
        with contextlib.suppress(ValueError):
            script = script.relative_to(Path.cwd())
        return shlex.join(["python", str(script), *argv, *add])

    def fail(self, message: str, results: dict[str, Any] | None = None, *,
             status: str = "failed") -> NoReturn:
        """Write ``results.json`` with ``status`` and the error, print it, exit with status 1."""
        self.finish(dict(results or {}) | {"status": status, "error": message})
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(1)

    def diverged(self, err: DivergenceError, results: dict[str, Any] | None = None,
                 hint: str = "") -> NoReturn:
        """Record a divergence in ``results.json`` (the epoch, step and last good epoch), say to
        try a smaller learning rate (then ``hint``), exit 1."""
        lr = getattr(self.args, "lr", None)
        advice = "\ntry a smaller learning rate" + (f" (--lr {lr:g} now)" if lr is not None else "")
        self.fail(f"{err}{advice}{hint}", dict(results or {}) | {
            "diverged": {"epoch": err.epoch, "step": err.step}, "history": err.history,
            "last_good_epoch": err.history[-1] if err.history else None}, status="diverged")

    def interrupted(self, message: str, results: dict[str, Any] | None = None) -> NoReturn:
        """Record a Ctrl-C in ``results.json`` and exit with status 130 after ``message``."""
        self.finish(dict(results or {}) | {"status": "interrupted"})
        print(f"\n{message}", file=sys.stderr)
        raise SystemExit(130)

    @contextlib.contextmanager
    def guard(self, results: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Training that diverges or is interrupted still ends with ``results.json``.

        ``with run.guard() as partial:`` a :class:`~jaxlin.train.fit.DivergenceError`
        exits with status 1 and a KeyboardInterrupt (Ctrl-C) with 130, after
        writing ``results.json`` with the status and what ``partial`` holds by then.
        """
        partial = results if results is not None else {}
        try:
            yield partial
        except DivergenceError as err:
            self.diverged(err, partial)
        except KeyboardInterrupt:
            self.interrupted(f"interrupted; this script keeps no checkpoint: run it again with "
                             f"{self.command()}", partial)


def _args_dict(args: argparse.Namespace) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
            if not k.startswith("_")}
