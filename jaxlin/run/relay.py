"""The stderr of one of several cooperating processes, minus the JAX runtime's log of a lost peer.

When process 0 (which hosts JAX's coordination service) dies, the distributed runtime in
every other process logs an error, a fatal line and a C++ stack trace, then aborts; when
a peer is lost it logs more. jaxlin says what happened in one ``error:`` line instead.

:func:`start` (in the process) points file descriptor 2, Python's stderr and XLA's, at
:func:`relay`, which runs as a small process of its own (so that it outlives an abort):
every other byte passes through as it comes, progress bars included, and the runtime's
lines are left out. At the runtime's fatal line the relay tells the process (a byte on a
pipe), which then ends with its one line while the abort is held (:func:`hold_aborts`);
if the runtime ended the process before it could say why, the relay says it.
:func:`stop` puts stderr back and waits for the relay to pass on the last lines.

This file imports neither jax nor jaxlin: the relay runs it as a script,
``python relay.py CONTACT COORDINATOR`` (the lines to say when a peer or the coordinator
is lost), reading stdin until every writer is gone and telling file descriptor 3.
"""
from __future__ import annotations

import ctypes
import io
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

# An absl/glog line from the runtime's peer bookkeeping: "E1202 04:13:42.131897  1939 file.cc:159] ..."
RUNTIME = re.compile(rb"[IWEF]\d{4} [\d:.]+ +\d+ "
                     rb"\S*(coordination|client\.h|preemption|distributed)\S*:\d+\] ")
# The lines a runtime message continues on: gRPC's details and the fatal line's stack trace.
CONTINUED = re.compile(rb"(Additional GRPC error information|:UNKNOWN:|\*\*\* Check failure stack trace|"
                       rb"\s+@\s+0x|\s*\{grpc_)")
FATAL = b"Terminating process because the JAX distributed service detected fatal errors"
COORDINATOR_GONE = b"Failed to send RPC to coordination service"
HEADER = re.compile(rb"[IWEF](\d|$)")     # a partial line that could still become a runtime line


def relay(contact: str, coordinator: str, source: int = 0, sink: int = 1, notify: int | None = None) -> None:
    """Copy ``source`` to ``sink`` until end of file, leaving out the runtime's peer log. At the
    runtime's fatal line write ``c`` (the coordinator is gone) or ``!`` (a peer is) to
    ``notify``; at the end, after that line, say ``coordinator`` or ``contact`` unless the
    process said why it ended (an ``error:`` line)."""
    pending, dropping, fatal, said = b"", False, b"", False
    while chunk := os.read(source, 65536):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        kept = []
        for line in lines:
            if FATAL in line and not fatal:
                fatal = b"c" if COORDINATOR_GONE in line else b"!"
                tell(notify, fatal)
            runtime = RUNTIME.search(line)
            start = runtime.start() if runtime else 0 if FATAL in line else None
            if start is not None:
                dropping = True
                line = line[:start]                # what came before it on the line (a bar) stays
                if not line.strip():
                    continue
            elif dropping and CONTINUED.match(line):
                continue
            else:
                dropping = False
            said = said or line.startswith(b"error:")
            kept.append(line + b"\n")
        if pending and not dropping and not HEADER.match(pending):
            said = said or pending.startswith(b"error:")
            kept.append(pending)            # a partial line (a progress bar's \r update) goes now
            pending = b""
        if kept:
            os.write(sink, b"".join(kept))
    if pending and not RUNTIME.search(pending) and not (dropping and CONTINUED.match(pending)):
        os.write(sink, pending)
    if fatal and not said:
        lost = coordinator if fatal == b"c" else contact
        os.write(sink, f"error: {lost}; JAX's runtime ended this process\n".encode())


def tell(notify: int | None, what: bytes) -> None:
    try:
        if notify is not None:
            os.write(notify, what)
    except OSError:                         # the process is gone already
        pass


class Relayed(NamedTuple):
    pid: int                                # the relay process
    stderr: int                             # a copy of the process's own stderr


class _Terminal(io.TextIOWrapper):
    """Python's stderr through the relay to a terminal: it says it is one, so bars are drawn."""

    def isatty(self) -> bool:
        return True


def start(contact: str, coordinator: str, on_fatal: Callable[[bool], None]) -> Relayed | None:
    """Send file descriptor 2 through :func:`relay` (a process of its own); at the runtime's
    fatal line, call ``on_fatal(coordinator_gone)`` from a thread. ``None`` where processes
    cannot be spawned so (no ``posix_spawn``: stderr stays as it is)."""
    if not hasattr(os, "posix_spawn"):
        return None
    sys.stderr.flush()
    terminal = os.isatty(2)
    read, write = os.pipe()
    heard, notify = os.pipe()
    # posix_spawn, not Popen: the relay outlives this process if it dies, and stop() waits for it.
    pid = os.posix_spawn(sys.executable, [sys.executable, __file__, contact, coordinator], os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, read, 0), (os.POSIX_SPAWN_DUP2, 2, 1),
                                       (os.POSIX_SPAWN_DUP2, notify, 3)])
    own = os.dup(2)
    os.dup2(write, 2)
    for fd in (read, write, notify):
        os.close(fd)
    if terminal:
        sys.stderr = _Terminal(open(2, "wb", closefd=False), line_buffering=True, errors="backslashreplace")

    def listen() -> None:
        if what := os.read(heard, 1):         # nothing: the relay ended first
            on_fatal(what == b"c")

    threading.Thread(target=listen, daemon=True).start()
    return Relayed(pid, own)


def stop(relayed: Relayed | None, *, leaving: bool = False, timeout: float = 2.0) -> None:
    """Put the process's own stderr back (``leaving``: point it nowhere, as the runtime may still
    log while the process ends) and wait (at most ``timeout`` s) for the relay to pass on
    what it still holds."""
    if relayed is None:
        return
    sys.stderr.flush()
    if leaving:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    else:
        os.dup2(relayed.stderr, 2)           # the pipe's last writer is gone: the relay ends
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitpid(relayed.pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:
            return
        time.sleep(0.01)


def hold_aborts() -> None:
    """Hold a thread that aborts the process for 6 s before the abort goes ahead.

    JAX's runtime aborts a process whose coordinator (process 0) is gone, from one of its
    own threads; jaxlib 0.10's ``missed_heartbeat_callback`` cannot be set from Python (it
    fails to pass the callback its status). libc's ``sleep`` as the C-level SIGABRT handler
    (it gets the signal number, 6) gives the process, told by the relay, time to end the
    run with its one ``error:`` line and exit status 1. Every abort of the process is held
    so, including one for another reason: it still happens, 6 s later.
    """
    if sys.platform.startswith(("linux", "darwin")):
        libc = ctypes.CDLL(None)
        libc.signal.argtypes, libc.signal.restype = [ctypes.c_int, ctypes.c_void_p], ctypes.c_void_p
        libc.signal(signal.SIGABRT, ctypes.cast(libc.sleep, ctypes.c_void_p))


if __name__ == "__main__":
    # Ctrl-C and a launcher's SIGTERM reach the whole process group: the relay keeps
    # draining so that the process's last words are not lost.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    relay(*sys.argv[1:3], notify=3)
