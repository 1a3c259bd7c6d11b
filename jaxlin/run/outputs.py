"""A run's output folder: one run at a time, its files built aside, put in place at the end.

While a run works, its files go to ``.<out>.incoming`` beside ``out``; ``publish`` moves
them into ``out`` (``results.json`` last) and removes the previous run's files. A run
that fails, diverges, is interrupted or killed never empties a folder holding a
finished run: its record is published beside it, or nothing is. A lock file
(``flock``, released by the system when the process dies, even by kill -9) refuses
a second run into the same folder; the run removes it when it ends (while holding
it: a process that opened the old file finds it gone and locks the new one).
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import IO

RESULTS = "results.json"


class Busy(RuntimeError):
    """Another live process holds the lock of this folder."""


def check_folder(path: Path, flag: str) -> None:
    """``path`` is a folder or can become one: neither it nor a parent is a file."""
    for folder in (path, *path.parents):
        if folder.exists() and not folder.is_dir():
            where = "is a file" if folder == path else f"is under the file {folder}"
            raise ValueError(f"{flag} {path} {where}, not a folder")


class Lock:
    """This process's ``flock`` on a lock file; :meth:`close` removes the file, then releases it."""

    def __init__(self, handle: IO[str], path: Path):
        self.handle, self.path = handle, path

    def close(self) -> None:
        """Remove the lock file (still holding it) and release it; again: nothing happens."""
        if self.handle.closed:
            return
        if _same_file(self.handle, self.path):
            with contextlib.suppress(OSError):
                self.path.unlink()
        self.handle.close()


def _same_file(handle: IO[str], path: Path) -> bool:
    """Whether ``path`` still names the file ``handle`` has open (not removed, not replaced)."""
    try:
        mine, now = os.fstat(handle.fileno()), os.stat(path)
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (now.st_dev, now.st_ino)


def lock(path: Path, what: str) -> Lock:
    """Hold ``.<name>.lock`` beside ``path`` for this process, or raise :class:`Busy`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_file = path.parent / f".{path.name}.lock"
    while True:
        handle = open(lock_file, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip() or "?"
            handle.close()
            raise Busy(f"another run (process {pid}) is writing to {what} {path}: wait for it to end, "
                       f"or choose another folder") from None
        if _same_file(handle, lock_file):
            break
        handle.close()           # its holder removed it between our open and our flock: again
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return Lock(handle, lock_file)


def listed_files(out: Path, results: str = RESULTS) -> list[str]:
    """The files ``out/results`` lists (none if it is missing or unreadable)."""
    try:
        return list(json.loads((out / results).read_text()).get("files", []))
    except (OSError, ValueError, AttributeError):
        return []


def finished_run(out: Path) -> bool:
    """Whether ``out`` holds a finished run's ``results.json``."""
    try:
        return json.loads((out / RESULTS).read_text()).get("status") == "finished"
    except (OSError, ValueError, AttributeError):
        return False


class Outputs:
    """The locked output folder ``out`` and the folder its files are built in."""

    def __init__(self, out: Path, flag: str = "--out"):
        check_folder(out, flag)
        self.out = out
        self._lock = lock(out, flag)
        self.stage = out.parent / f".{out.name}.incoming"
        shutil.rmtree(self.stage, ignore_errors=True)     # a killed run's: we hold the lock
        self.stage.mkdir(parents=True)

    def path(self, name: str) -> Path:
        return self.stage / name

    def publish(self, files: list[str], results: str = RESULTS) -> int:
        """Move ``files`` and then ``results`` from the stage into ``out``; with ``results`` =
        ``results.json``, remove the files the previous run listed. Returns how many it removed."""
        self.out.mkdir(parents=True, exist_ok=True)
        stale = [f for f in listed_files(self.out) if f not in files] if results == RESULTS else []
        for name in files:
            if (self.stage / name).exists():
                if (self.out / name).is_dir():         # a folder output (an Orbax checkpoint)
                    shutil.rmtree(self.out / name)
                os.replace(self.stage / name, self.out / name)
        removed = 0
        for name in stale:
            path = self.out / name
            if path.resolve().parent != self.out.resolve():
                continue                                # only the run folder's own entries
            if path.is_dir():
                shutil.rmtree(path)
            elif path.is_file():
                path.unlink()
            else:
                continue
            removed += 1
        os.replace(self.stage / results, self.out / results)
        return removed

    def close(self) -> None:
        """Drop what was not published and release the lock (again: nothing happens)."""
        shutil.rmtree(self.stage, ignore_errors=True)
        self._lock.close()


class Discarded:
    """The outputs of a process that is not process 0 of a multi-process run: its files are
    written to a private temporary folder, never published, removed at the end; ``out``
    is neither locked nor touched (process 0 owns it)."""

    def __init__(self) -> None:
        import tempfile
        self.stage = Path(tempfile.mkdtemp(prefix="jaxlin-process-"))

    def path(self, name: str) -> Path:
        return self.stage / name

    def publish(self, files: list[str], results: str = RESULTS) -> int:
        return 0

    def close(self) -> None:
        shutil.rmtree(self.stage, ignore_errors=True)


RUNS_ENV = "JAXLIN_RUNS_DIR"


def runs_folder(script: Path) -> Path:
    """Where outputs go by default: ``$JAXLIN_RUNS_DIR`` when set, else ``runs/`` of the checkout
    the script is in (also when run from ``scripts/``, as a notebook is), else ``runs/`` in the
    working directory. ``JAXLIN_RUNS_DIR`` set but empty means no default (``ValueError``):
    the test suite sets it so, and a test that forgets ``--out`` never writes a reader's runs/."""
    if (env := os.environ.get(RUNS_ENV)) is not None:
        if not env:
            raise ValueError(f"pass --out DIR: {RUNS_ENV} is set but empty (no default output folder)")
        return Path(env)
    for folder in (script.resolve().parent, Path.cwd()):
        if folder.name == "scripts" and (folder.parent / "pyproject.toml").is_file():
            return folder.parent / "runs"
    return Path("runs")
