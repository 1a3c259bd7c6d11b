"""What every script shares: the common flags, the output folder and ``results.json``.

A script is ``main(argv=None)``: ``parser = make_parser(...)``, ``args = parser.parse_args(argv)``,
``run = Run(args, __file__)``, then ``run.path("figure.png")`` for each PNG and
``run.finish(results)`` to write ``results.json`` atomically.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import jax

from jaxlin.io import write_json

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
    return value


def make_parser(description: str, *, epochs: int | None = None, lr: float | None = None,
                batch_size: int | None = None) -> argparse.ArgumentParser:
    """A parser with ``--out``, ``--seed``, ``--quiet`` and, where given a default,
    ``--epochs``, ``--lr`` and ``--batch-size``."""
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder for results.json and PNGs (default: runs/<script name>/)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the run's PRNG key")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
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
    the script says so.
    """

    def __init__(self, args: argparse.Namespace, script: str | os.PathLike):
        stem = Path(script).stem
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
        self.results["files"] = [f for f in self.files if (self.out / f).exists()]
        self.results["seconds_total"] = time.perf_counter() - self.started
        return write_json(self.out / RESULTS, self.results)


def _args_dict(args: argparse.Namespace) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
