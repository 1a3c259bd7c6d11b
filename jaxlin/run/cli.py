"""What every script shares: the common flags, the output folder and ``results.json``.

A script (also a notebook) starts ``parser = make_parser(...)``, ``args = parser.parse_args()``
(in a Jupyter kernel: the words of ``$JAXLIN_ARGS``), ``run = Run(args, "<script name>")``,
then ``run.path("figure.png")`` for each PNG and ``run.finish(results)`` to write
``results.json`` atomically. The flags and their types live in :mod:`jaxlin.run.flags`
(imported from here too, as the scripts do).
"""
from __future__ import annotations

import argparse
import atexit
import contextlib
import functools
import os
import platform
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import jax

from jaxlin.data.io import write_json
from jaxlin.run.flags import Check, HelpFormatter, Parser, make_parser, positive_float, positive_int, seed
from jaxlin.run.jupyter import in_kernel
from jaxlin.run.outputs import RESULTS, Busy, Discarded, Outputs, finished_run, runs_folder
from jaxlin.run.processes import end_now_if_cooperating
from jaxlin.train.fit import DivergenceError


def environment() -> dict[str, Any]:
    """Where the run happened: device kind, versions, host."""
    import jaxlib
    device = jax.devices()[0]
    return {"backend": jax.default_backend(), "device": device.device_kind,
            "num_devices": jax.device_count(), "num_processes": jax.process_count(),
            "jax": jax.__version__, "jaxlib": jaxlib.__version__,
            "python": platform.python_version(), "platform": platform.platform()}


class Run:
    """One script run: its output folder, the files it writes and its ``results.json``.

    The folder is locked for the run (a second run into it is refused) and the files
    are built aside (:mod:`jaxlin.run.outputs`) and put in place by :meth:`finish`,
    replacing the previous run's. ``results.json`` records ``status``: ``finished``,
    ``diverged`` or ``failed`` (exit status 1), ``interrupted`` (Ctrl-C: 130; SIGTERM:
    143). A run that does not finish never replaces a finished one: its record goes
    beside it, as ``results.<status>.json``. In a multi-process run (:mod:`jaxlin.run.processes`)
    only process 0 locks and writes ``out``; the others write to a private folder that
    is removed.
    """

    def __init__(self, args: argparse.Namespace, script: str | os.PathLike):
        """``script``: the script's name (``"ch3_06_softmax_regression_scratch"``; a notebook
        has no ``__file__``) or its path."""
        self.script = script_path(script)
        stem = self.script.stem
        self.args = args
        self.files: list[str] = []
        self.done = False
        self.started = time.perf_counter()
        self.results: dict[str, Any] = {"script": stem, "args": _args_dict(args),
                                        "environment": environment()}
        try:                 # in a multi-process run, process 0 alone writes the outputs
            self.out = Path(args.out) if args.out is not None else runs_folder(self.script) / stem
            self.outputs = Outputs(self.out) if jax.process_index() == 0 else Discarded()
        except (ValueError, Busy) as err:
            self.usage_error(str(err))
        except OSError as err:               # a read-only file system, /proc, a full disk
            self.done = True
            print(f"error: cannot write the outputs to --out {self.out}: {err.strerror or err}"
                  f"{f' ({err.filename})' if err.filename else ''}", file=sys.stderr)
            raise SystemExit(1) from None
        atexit.register(self.outputs.close)
        self.terminated = False
        if threading.current_thread() is threading.main_thread() and not in_kernel():
            signal.signal(signal.SIGTERM, self._on_sigterm)
            sys.excepthook = functools.partial(_one_line_for_os_errors, sys.excepthook, self)

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        # What schedulers and `timeout` send: end as Ctrl-C does (the last finished epoch
        # is saved), but with the status 128 + 15 that says SIGTERM.
        self.terminated = True
        raise KeyboardInterrupt

    def path(self, name: str) -> Path:
        """The path to write output file ``name`` to (aside until :meth:`finish`), recorded in
        results.json."""
        if name not in self.files:
            self.files.append(name)
        return self.outputs.path(name)

    def final_path(self, name: str) -> Path:
        """Where output ``name`` (written to :meth:`path`) will be once the run ends: the path to
        print (the folder it is built in is gone by then)."""
        return self.out / name

    def finish(self, results: dict[str, Any] | None = None, **more: Any) -> None:
        """Write ``results.json`` (the results, args, environment, files and total seconds) and
        put the run's files in place; say where they are. Once: a finished run ignores a second call."""
        if self.done:
            return
        self.done = True
        self.results.update(results or {})
        self.results.update(more)
        self.results.setdefault("status", "finished")
        self.results["seconds_total"] = time.perf_counter() - self.started
        keep = self.results["status"] != "finished" and finished_run(self.out)
        name = f"results.{self.results['status']}.json" if keep else RESULTS
        self.results["files"] = [] if keep else [f for f in self.files if self.outputs.path(f).exists()]
        try:
            write_json(self.outputs.path(name), self.results)
            replaced = self.outputs.publish(self.results["files"], name)
        except OSError as err:
            print(f"error: cannot write the outputs of this run to {self.out}: {err}", file=sys.stderr)
            raise SystemExit(1) from None
        finally:
            self.outputs.close()
        if keep:
            print(f"note: the finished run in {self.out} is kept; this run's record is "
                  f"{self.out / name}", file=sys.stderr)
            return
        if replaced:
            print(f"note: replaced the previous run in {self.out} ({replaced} files removed)",
                  file=sys.stderr)
        print(f"outputs in {self.out}/: {', '.join([RESULTS, *self.results['files']])}")

    def usage_error(self, message: str) -> NoReturn:
        """A bad option found after parsing (e.g. against the data): usage, message, exit status 2;
        nothing is written (the run is over: its exit handler does nothing)."""
        self.done = True
        if hasattr(self, "outputs"):
            self.outputs.close()                # nothing to publish: the folder stays as it was
        parser = getattr(self.args, "_parser", None)
        if parser is not None:
            parser.error(message)
        print(f"{self.script.name}: error: {message}", file=sys.stderr)
        raise SystemExit(2)

    def command(self, *, drop: tuple[str, ...] = (), add: tuple[str, ...] = ()) -> str:
        """This run's command line (this interpreter, the script, ARGS) without ``drop`` flags, plus ``add``."""
        argv = [a for a in getattr(self.args, "_argv", sys.argv[1:]) if a not in drop]
        script = self.script.resolve()
        with contextlib.suppress(ValueError):
            script = script.relative_to(Path.cwd())
        return shlex.join([sys.executable, str(script), *argv, *add])

    def fail(self, message: str, results: dict[str, Any] | None = None, *,
             status: str = "failed") -> NoReturn:
        """Write ``results.json`` with ``status`` and the error, print it, exit with status 1."""
        self.finish(dict(results or {}) | {"status": status, "error": message})
        print(f"error: {message}", file=sys.stderr)
        end_now_if_cooperating(1)
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
        print(f"\n{'terminated (SIGTERM): ' if self.terminated else ''}{message}", file=sys.stderr)
        raise SystemExit(143 if self.terminated else 130)

    @contextlib.contextmanager
    def held(self) -> Iterator[list[int]]:
        """``with run.held() as arrived:`` a Ctrl-C or SIGTERM during the block (a checkpoint
        being saved, the final figures and ``results.json`` being written) is noted in
        ``arrived``, not raised: the block finishes. Then :meth:`exit_if_signalled`."""
        if threading.current_thread() is not threading.main_thread():
            yield []
            return
        arrived: list[int] = []
        previous = {s: signal.signal(s, lambda signum, frame: arrived.append(signum))
                    for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield arrived
        except SystemExit:         # the run is ending: a later signal changes nothing (ignored, as
            for s in previous:     # Python's finalization would reset a handler to the default)
                signal.signal(s, signal.SIG_IGN)
            raise
        except BaseException:
            _restore(previous)
            raise
        _restore(previous)

    def exit_if_signalled(self, arrived: list[int]) -> None:
        """After a :meth:`held` block that finished the run: a signal that came during it ends the
        process now, with the status that signal means (130 for Ctrl-C, 143 for SIGTERM)."""
        if arrived:
            self.terminated = signal.SIGTERM in arrived
            print(f"\n{'terminated (SIGTERM)' if self.terminated else 'interrupted'} while the run was "
                  f"finishing: its outputs are complete, in {self.out}", file=sys.stderr)
            raise SystemExit(143 if self.terminated else 130)

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


def _restore(handlers: dict[int, Any]) -> None:
    for signum, handler in handlers.items():
        signal.signal(signum, handler)


def _one_line_for_os_errors(previous: Callable[..., Any], run: Run, kind: type, err: BaseException,
                            tb: Any) -> None:
    """A script's uncaught ``OSError`` (a full disk, a folder made read-only): the numbers the run
    holds are written first (``results.json``, or beside a finished run's), then one line; exit 1.
    Any other uncaught error (a bug) is recorded as ``failed`` too, then its traceback: the run's
    exit handler never records a run that crashed as finished."""
    if not issubclass(kind, OSError):
        with contextlib.suppress(OSError, SystemExit):
            run.finish({"status": "failed", "error": f"{kind.__name__}: {err}"})
        return previous(kind, err, tb)
    message = f"{err.strerror or err}: {getattr(err, 'filename', None) or run.out}"
    try:
        run.finish({"status": "failed", "error": message})
    except (OSError, SystemExit):
        message += " (and the run's record could not be written either)"
    print(f"error: {message}", file=sys.stderr)
    return None


def script_path(script: str | os.PathLike) -> Path:
    """The file behind a script's name: the running ``__main__`` file when it is that script,
    else ``scripts/<name>.py`` (a notebook's "run it again with" names the script)."""
    path = Path(script)
    if path.suffix == ".py":
        return path
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file and Path(main_file).stem == path.name:
        return Path(main_file)
    return Path("scripts") / f"{path.name}.py"


def _args_dict(args: argparse.Namespace) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
            if not k.startswith("_")}


__all__ = ["Check", "HelpFormatter", "Parser", "Run", "environment", "make_parser", "positive_float",
           "positive_int", "script_path", "seed"]
