"""The stderr of one of several cooperating processes, minus the JAX runtime's log of a lost peer.

When process 0 (which hosts JAX's coordination service) dies, the distributed runtime in
every other process logs an error, a fatal line and a C++ stack trace, then aborts; when
it is shut down it logs more. jaxlin says what happened in one ``error:`` line instead.
``processes.start_processes`` runs this file as a small process of its own (so it outlives
an abort) and points the process's file descriptor 2 at it: every other byte passes
through as it comes, progress bars included, and the runtime's lines are left out. At the
runtime's fatal line it tells the process (a byte on the ``NOTIFY`` descriptor), which then
ends with its one line while the abort is held; if the runtime ended the process before
jaxlin could say why, this relay says it.

Run as ``python relay.py LOST [NOTIFY]`` (``LOST``: the line to say) (no jax, no jaxlin: it must start fast and cannot
fail on their import); it reads stdin until every writer is gone.
"""
from __future__ import annotations

import os
import re
import signal
import sys

# An absl/glog line from the runtime's peer bookkeeping: "E1202 04:13:42.131897  1939 file.cc:159] ..."
RUNTIME = re.compile(rb"[IWEF]\d{4} [\d:.]+ +\d+ \S*(coordination|client\.h|preemption|distributed)\S*:\d+\] ")
# The lines a runtime message continues on: gRPC's details and the fatal line's stack trace.
CONTINUED = re.compile(rb"(Additional GRPC error information|:UNKNOWN:|\*\*\* Check failure stack trace|"
                       rb"\s+@\s+0x|\s*\{grpc_)")
FATAL = b"Terminating process because the JAX distributed service detected fatal errors"
HEADER = re.compile(rb"[IWEF](\d|$)")     # a partial line that could still become a runtime line


def relay(lost: str, source: int = 0, sink: int = 1, notify: int | None = None) -> None:
    """Copy ``source`` to ``sink`` until end of file, leaving out the runtime's peer log; write
    a byte to ``notify`` at the runtime's fatal line; at the end, after that line, say ``lost``
    unless the process said why it ended (an ``error:`` line)."""
    pending, dropping, fatal, said = b"", False, False, False
    while chunk := os.read(source, 65536):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        kept = []
        for line in lines:
            if RUNTIME.match(line):
                dropping = True
                if FATAL in line and not fatal:
                    fatal = True
                    tell(notify)
            elif not (dropping and CONTINUED.match(line)):
                dropping, said = False, said or line.startswith(b"error:")
                kept.append(line + b"\n")
        if pending and not HEADER.match(pending):
            said = said or pending.startswith(b"error:")
            kept.append(pending)            # a partial line (a progress bar's \r update) goes now
            pending = b""
        if kept:
            os.write(sink, b"".join(kept))
    if pending and not RUNTIME.match(pending):
        os.write(sink, pending)
    if fatal and not said:
        os.write(sink, f"error: {lost}; JAX's runtime ended this process\n".encode())


def tell(notify: int | None) -> None:
    try:
        if notify is not None:
            os.write(notify, b"!")
    except OSError:                         # the process is gone already
        pass


if __name__ == "__main__":
    # Ctrl-C and a launcher's SIGTERM reach the whole process group: the relay keeps
    # draining so that the process's last words are not lost.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    relay(sys.argv[1] if len(sys.argv) > 1 else "this process lost the others",
          notify=int(sys.argv[2]) if len(sys.argv) > 2 else None)
