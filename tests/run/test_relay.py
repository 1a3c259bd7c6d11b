"""``relay.py``: a cooperating process's stderr without the JAX runtime's log of a lost peer.

The runtime's lines below are what jaxlib 0.10 printed in a process whose coordinator
(process 0) was killed, with the stack trace shortened.
"""
from __future__ import annotations

import os
import select
import threading

from jaxlin.run.relay import relay

ABORT_LOG = b"""\
W1202 04:13:42.131836    1939 preemption_sync_manager.cc:147] Failed to retrieve preemption notice from coordination service: UNAVAILABLE: Socket closed
Additional GRPC error information from remote target coordination_service while calling /xla.coordination.CoordinationService/GetKeyValue:
:UNKNOWN:Error received from peer  {grpc_status:14, grpc_message:"Socket closed"}. This is only expected if one of the tasks is unhealthy. Check the logs for the actual root cause.
E1202 04:13:42.131897    1939 preemption_sync_manager.cc:159] Failed to cancel preemption barrier: FAILED_PRECONDITION: Tried to cancel non-existent barrier PREEMPTION_SYNC_BARRIER. [type.googleapis.com/tensorflow.CoordinationServiceError='']
E1202 04:13:42.132027    1939 coordination_service_agent.cc:289] Polled an error from coordination service (this can be an error from this or another task).
F1202 04:13:42.132042    1939 client.h:80] Terminating process because the JAX distributed service detected fatal errors. This most likely indicates that another task died; see the other task logs for more details. absl::Status: UNAVAILABLE: Failed to send RPC to coordination service.
Additional GRPC error information from remote target coordination_service while calling /xla.coordination.CoordinationService/PollForError:
:UNKNOWN:Error received from peer  {grpc_message:"Socket closed", grpc_status:14}
*** Check failure stack trace: ***
    @     0x7f6e24d40634  absl::lts_20260107::log_internal::LogMessage::SendToLog()
    @     0x7f6e20e040ee  xla::CoordinationServiceAgent::SetError()
    @     0x7f6e2c2a71f5  (unknown)
"""
CONTACT = "process 1 of 3 lost contact with the other processes (one died or was killed: see its output)"
COORDINATOR = "process 1 of 3 lost the coordinator 127.0.0.1:1234: process 0 died or was killed (see its output)"


def relayed(data: bytes, tmp_path) -> tuple[bytes, bytes]:
    """What ``relay`` writes for ``data``, and what it tells the notify pipe."""
    (tmp_path / "in").write_bytes(data)
    heard, notify = os.pipe()
    with open(tmp_path / "in", "rb") as source, open(tmp_path / "out", "wb") as sink:
        relay(CONTACT, COORDINATOR, source.fileno(), sink.fileno(), notify)
    os.close(notify)
    told = os.read(heard, 16)
    os.close(heard)
    return (tmp_path / "out").read_bytes(), told


def test_the_runtimes_abort_log_becomes_one_line_and_the_process_is_told(tmp_path):
    ours = b"warning: a line of the run's own\n"
    out, told = relayed(ours + ABORT_LOG, tmp_path)
    assert told == b"c"                                 # the coordinator is gone
    assert out == ours + f"error: {COORDINATOR}; JAX's runtime ended this process\n".encode()


def test_a_fatal_line_about_another_peer_tells_that(tmp_path):
    """The service reports another task's death: the fatal line names no failed RPC to it."""
    log = ABORT_LOG.replace(b"absl::Status: UNAVAILABLE: Failed to send RPC to coordination service.",
                            b"absl::Status: INTERNAL: task 2 died")
    out, told = relayed(log, tmp_path)
    assert told == b"!" and out == f"error: {CONTACT}; JAX's runtime ended this process\n".encode()


def test_a_fatal_line_is_seen_whatever_file_logs_it(tmp_path):
    log = ABORT_LOG.replace(b"client.h:80]", b"runtime_client.cc:80]")
    out, told = relayed(log, tmp_path)
    assert told == b"c" and b"Terminating" not in out and b"Check failure" not in out


def test_a_process_that_said_why_it_ended_gets_no_second_line(tmp_path):
    said = f"error: {COORDINATOR}\n".encode()
    for data in (ABORT_LOG + said, said + ABORT_LOG):     # whichever came first
        out, told = relayed(data, tmp_path)
        assert out == said and told == b"c"


def test_everything_else_passes_through_unchanged(tmp_path):
    other = (b"W1202 04:13:42.131836    1939 cpu_client.cc:147] an XLA warning of another kind\n"
             b"Traceback (most recent call last):\n  File \"x.py\", line 1\nEpoch\n"
             b"I1202 04:13:42.131836    1939 coordination_service_agent.cc:1] the runtime, dropped\n"
             b"not a continuation: kept\nthe last line, unfinished")
    out, told = relayed(other, tmp_path)
    assert told == b""
    assert out == other.replace(b"I1202 04:13:42.131836    1939 coordination_service_agent.cc:1] "
                                b"the runtime, dropped\n", b"")


def test_a_runtime_line_after_a_bars_update_leaves_the_bar(tmp_path):
    bar = b"\r epoch 1:  40%|####      | 24/60"
    out, _ = relayed(bar + ABORT_LOG.split(b"\n", 3)[3], tmp_path)      # from the E line on, same line
    assert out.startswith(bar + b"\n") and b"coordination_service_agent" not in out


class Pipes:
    """``relay`` in a thread between two pipes: write to its stdin, read what it let through."""

    def __init__(self):
        self.source_r, self.source_w = os.pipe()
        self.sink_r, self.sink_w = os.pipe()
        self.thread = threading.Thread(target=relay, args=(CONTACT, COORDINATOR, self.source_r, self.sink_w),
                                       daemon=True)
        self.thread.start()

    def write(self, data: bytes) -> None:
        os.write(self.source_w, data)

    def read(self, wait: float = 5.0) -> bytes:
        """What came through within ``wait`` s (b"" if nothing)."""
        ready, _, _ = select.select([self.sink_r], [], [], wait)
        return os.read(self.sink_r, 10000) if ready else b""

    def close(self) -> bytes:
        os.close(self.source_w)
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()
        os.close(self.sink_w)
        rest = os.read(self.sink_r, 10000)
        for fd in (self.source_r, self.sink_r):
            os.close(fd)
        return rest


def test_a_progress_bars_partial_line_goes_through_at_once_and_a_runtime_lines_start_waits():
    pipes = Pipes()
    pipes.write(b"\r epoch 1:  40%|####      | 24/60")
    assert pipes.read() == b"\r epoch 1:  40%|####      | 24/60"   # no newline needed
    pipes.write(b"E1202 04:13")                          # could become a runtime line: held ...
    assert pipes.read(wait=0.3) == b""
    pipes.write(b":42.132027    1939 coordination_service_agent.cc:289] Polled an error\nok\n")
    assert pipes.read() == b"ok\n"                        # ... and left out once it is one
    assert pipes.close() == b""


def test_a_stack_trace_split_across_reads_stays_out():
    pipes = Pipes()
    head, tail = ABORT_LOG.split(b"    @     0x7f6e20e040ee", 1)
    pipes.write(head + b"    @     0x7f6e")                # the runtime's partial line while dropping
    assert pipes.read(wait=0.3) == b""
    pipes.write(b"20e040ee" + tail + b"ours\n")
    assert pipes.read() == b"ours\n"
    assert pipes.close().startswith(b"error: ")          # no error line of the process: the relay's
