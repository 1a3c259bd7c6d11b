"""Several cooperating processes over ``jax.distributed`` (JAX's multi-controller runtime).

Every process runs the same script with the same flags plus its own ``--process-id``::

    python scripts/ch4_02_mlp_scratch.py --coordinator 127.0.0.1:12355 --num-processes 2 --process-id 0
    python scripts/ch4_02_mlp_scratch.py --coordinator 127.0.0.1:12355 --num-processes 2 --process-id 1

(or ``$JAXLIN_COORDINATOR``, ``$JAXLIN_NUM_PROCESSES``, ``$JAXLIN_PROCESS_ID``, as a
launcher sets them). Process 0 hosts the coordinator; the collectives are XLA's (gloo
on CPU, NCCL on GPUs). Process 0 alone writes the run's outputs and checkpoints and
prints the run's lines; every process prints its own errors.

No process waits forever (``--peer-timeout``, default 60 s): initialization that does
not see every process in time (a wrong ``--num-processes``, a peer that never
started), a peer that dies (its connections close: the survivors' next collective
fails; a silent one misses JAX's heartbeats), the death of process 0 (its port closes)
and an end of run that the others never reach all end the process with one ``error:``
line and exit status 1. When process 0 dies, JAX's runtime in the others logs it in its
own lines (kept as they come) before jaxlin's one line; a process other than 0 also
watches the coordinator's port, in case no collective is under way to fail.
"""
from __future__ import annotations

import argparse
import atexit
import contextlib
import functools
import json
import os
import socket
import sys
import threading
import traceback
from collections.abc import Iterator
from typing import Any, NoReturn

import jax
import numpy as np

ENV = {"coordinator": "JAXLIN_COORDINATOR", "num_processes": "JAXLIN_NUM_PROCESSES",
       "process_id": "JAXLIN_PROCESS_ID", "peer_timeout": "JAXLIN_PEER_TIMEOUT"}


def add_process_args(parser: Any) -> None:
    """``--coordinator``, ``--num-processes``, ``--process-id`` and ``--peer-timeout``, each
    defaulting to its ``$JAXLIN_...`` variable. Parsing checks them; :func:`start_processes`
    (called by the run's set-up, :func:`jaxlin.run.session.setup`) joins the others."""
    env = {name: os.environ.get(var) for name, var in ENV.items()}
    parser.add_argument("--coordinator", metavar="HOST:PORT", default=env["coordinator"],
                        help="address of process 0's coordinator, for several processes "
                             f"(read from ${ENV['coordinator']} when set)")
    parser.add_argument("--num-processes", type=int, default=env["num_processes"] or "1",
                        help=f"number of cooperating processes (read from ${ENV['num_processes']} when set)")
    parser.add_argument("--process-id", type=int, default=env["process_id"] or "0",
                        help=f"this process's index, 0 … N-1 (read from ${ENV['process_id']} when set)")
    parser.add_argument("--peer-timeout", type=int, default=env["peer_timeout"] or "60",
                        help="seconds a process waits for the others (to start, to answer, to finish) "
                             f"before it gives up (read from ${ENV['peer_timeout']} when set)")
    parser.add_check(check_process_args)


def check_coordinator(where: str) -> str | None:
    """``HOST:PORT`` with a host and a port in 1..65535 (else the join would fail only after
    ``--peer-timeout``); the problem, naming the flag, or None."""
    host, colon, port = where.rpartition(":")
    if not colon or not port.isdigit():
        return f"--coordinator {where!r} is not HOST:PORT (e.g. 127.0.0.1:12355)"
    if not host.strip("[]"):
        return f"--coordinator {where!r} has no host: HOST:PORT, e.g. 127.0.0.1:{port}"
    if not 1 <= int(port) <= 65535:
        return f"--coordinator {where}: port {int(port)} is not in 1..65535"
    return None


def check_process_args(args: argparse.Namespace) -> str | None:
    n, i, where = args.num_processes, args.process_id, args.coordinator
    if n < 1 or args.peer_timeout < 1:
        return f"--num-processes ({n}) and --peer-timeout ({args.peer_timeout}) must be positive"
    if not 0 <= i < n:
        return f"--process-id {i} must lie in [0, {n}) for --num-processes {n}"
    if n > 1 and not where:
        return f"--num-processes {n} needs --coordinator HOST:PORT (process 0's address and a free port)"
    if where and (problem := check_coordinator(where)):
        return problem
    if n > 1 and getattr(args, "loop", "epoch") == "book":
        return "--loop book runs in one process; several processes run the compiled epoch (--loop epoch)"
    return None


def start_processes(args: argparse.Namespace) -> str | None:
    """After parsing: bad flags are a problem; with ``--num-processes`` > 1, join the others
    (``jax.distributed.initialize``) within ``--peer-timeout`` seconds, or exit 1 saying why."""
    problem = check_process_args(args)
    if problem or args.num_processes == 1:
        return problem
    n, i, timeout = args.num_processes, args.process_id, args.peer_timeout
    who = f"process {i} of {n}"
    joined = threading.Event()

    def watchdog() -> None:
        if not joined.wait(timeout):
            leave(f"{who}: not every process joined {args.coordinator} within --peer-timeout {timeout} s: "
                  f"are all {n} started with the same --coordinator and --num-processes {n}, "
                  f"each with its own --process-id?")

    threading.Thread(target=watchdog, daemon=True).start()
    gone = f"{who} lost the coordinator {args.coordinator}: process 0 died or was killed (see its output)"
    lost = gone if (i, n) == (1, 2) else lost_contact(i, n)
    try:                                    # JAX's own limits lie beyond ours: our message comes first
        jax.distributed.initialize(args.coordinator, n, i, initialization_timeout=timeout + 30,
                                   heartbeat_timeout_seconds=timeout, shutdown_timeout_seconds=timeout + 30)
    except Exception as err:   # noqa: BLE001  (JAX raises RuntimeError, ValueError or its own)
        leave(f"{who}: cannot join {args.coordinator}: {first_line(err)}")
    finally:
        joined.set()                        # the watchdog guards the join only
    if i != 0:
        threading.Thread(target=watch_coordinator, args=(args.coordinator, gone), daemon=True).start()
    sys.excepthook = functools.partial(_excepthook, lost)
    atexit.register(_finish, who, timeout)   # runs before JAX's own shutdown (atexit is LIFO)
    if i != 0:                              # the run's lines and bars are process 0's
        args.quiet = True
        sys.stdout.flush()
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # XLA's prints too
    return None


# Flags each process may set for itself: its index and what it writes or reads locally.
OWN_FLAGS = frozenset({"process_id", "out", "quiet", "data_dir", "fashion_mnist_dir", "checkpoint_dir"})
FLAGS_BYTES = 16384


def agree_on_flags(args: argparse.Namespace) -> str | None:
    """Of several processes, each one's flags (all but :data:`OWN_FLAGS`) against process 0's:
    the first difference, naming the flag and both values, or None. Every process gets the
    same answer (one all-gather of the flags, as JSON)."""
    if jax.process_count() == 1:
        return None
    from jax.experimental import multihost_utils
    flags = {k: v for k, v in vars(args).items() if not k.startswith("_") and k not in OWN_FLAGS}
    text = json.dumps(flags, sort_keys=True, default=str).encode()[:FLAGS_BYTES]
    mine = np.zeros(FLAGS_BYTES + 4, np.uint8)
    mine[:4], mine[4:4 + len(text)] = np.frombuffer(np.uint32(len(text)).tobytes(), np.uint8), list(text)
    with stdout_to_devnull():               # gloo's "[Gloo] Rank 0 is connected..." as it first connects
        every = np.asarray(multihost_utils.process_allgather(mine))
    seen = [json.loads(row[4:4 + int(row[:4].view(np.uint32)[0])].tobytes()) for row in every]
    for i, other in enumerate(seen[1:], start=1):
        for name in sorted(seen[0].keys() | other.keys()):
            if seen[0].get(name) != other.get(name):
                flag = "--" + name.replace("_", "-")
                return (f"the processes disagree on {flag}: process 0 has {flag} {seen[0].get(name)}, "
                        f"process {i} has {flag} {other.get(name)} (all flags but --process-id, --out and "
                        f"the data and checkpoint folders must be the same)")
    return None


@contextlib.contextmanager
def stdout_to_devnull() -> Iterator[None]:
    """File descriptor 1 points at /dev/null for a while: a library's banner stays off the run's
    stdout (and off stderr, which holds only the run's errors)."""
    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


_ending = threading.Event()                 # set once this process begins its orderly exit


def watch_coordinator(where: str, gone: str, every: float = 1.0) -> None:
    """Connect to the coordinator's port every ``every`` s; when it refuses twice in a row
    (process 0 died: nothing listens there any more), say ``gone`` and end this process."""
    host, _, port = where.rpartition(":")
    refused = 0
    while not _ending.wait(every):
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
            refused = 0
        except OSError:
            refused += 1
            if refused == 2 and not _ending.is_set():
                leave(gone)


def lost_contact(i: int, n: int) -> str:
    """What a process says when a peer is gone (of two, process 0 knows which one)."""
    if (i, n) == (0, 2):
        return "process 0 of 2 lost process 1: it died or was killed (see its output)"
    return (f"process {i} of {n} lost contact with the other processes "
            f"(one died or was killed: see its output)")


def is_main_process() -> bool:
    """Whether this process writes the run's outputs (process 0, or the only one)."""
    return jax.process_index() == 0


def first_line(err: BaseException) -> str:
    text = str(err).strip()
    return (text.splitlines()[0] if text else type(err).__name__)[:300]


def end_now_if_cooperating(status: int) -> None:
    """Of several processes, one that fails exits at once with ``status`` (the run's outputs are
    written by then): JAX's shutdown barrier would wait for peers that are still training."""
    if jax.distributed.is_initialized():
        exit_now(status)


_leaving = threading.Lock()


def exit_now(status: int) -> NoReturn:
    """End the process at once, its buffered lines written."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(status)


def leave(message: str, status: int = 1) -> NoReturn:
    """Print ``error: message`` and end this process now, skipping the shutdown barrier where it
    would wait for peers that are gone. Of threads that leave at once, the first one speaks."""
    _leaving.acquire()
    try:
        print(f"error: {message}", file=sys.stderr, flush=True)
    finally:
        exit_now(status)


def _excepthook(lost: str, kind: type, err: BaseException, tb: Any) -> None:
    """An uncaught error ends this process at once (its peers' collectives then fail too)."""
    if isinstance(err, jax.errors.JaxRuntimeError) and any(
            word in str(err) for word in ("Gloo", "Connection", "coordination", "heartbeat", "NCCL")):
        leave(f"{lost}: {first_line(err)}")
    who = f"process {jax.process_index()} of {jax.process_count()}"
    traceback.print_exception(kind, err, tb)
    leave(f"{who} failed: {first_line(err)}")


def _finish(who: str, timeout: int) -> None:
    """At exit: wait (at most ``timeout`` s) for every process to finish, then disconnect."""
    done: list[BaseException | None] = []
    _ending.set()                            # process 0 closes the coordinator once all are here

    def shutdown() -> None:
        try:
            jax.distributed.shutdown()
            done.append(None)
        except Exception as err:   # noqa: BLE001
            done.append(err)

    thread = threading.Thread(target=shutdown, daemon=True)
    thread.start()
    thread.join(timeout)
    if not done:
        leave(f"{who}: the other processes did not finish within --peer-timeout {timeout} s "
              f"(one failed or died: see its output)")
    if done[0] is not None:
        leave(f"{who}: the other processes did not finish cleanly: {first_line(done[0])}")
