"""``relay.py``: a cooperating process's stderr without the JAX runtime's log of a lost peer.

The runtime's lines below are what jaxlib 0.10 printed in a process whose coordinator
(process 0) was killed, with the stack trace shortened.
"""
from __future__ import annotations

import os
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
LOST = "process 1 of 2 lost the coordinator 127.0.0.1:1234: process 0 died or was killed (see its output)"


def relayed(data: bytes, tmp_path) -> tuple[bytes, bytes]:
    """What ``relay`` writes for ``data``, and what it tells the notify pipe."""
    (tmp_path / "in").write_bytes(data)
    heard, notify = os.pipe()
    with open(tmp_path / "in", "rb") as source, open(tmp_path / "out", "wb") as sink:
        relay(LOST, source.fileno(), sink.fileno(), notify)
    os.close(notify)
    told = os.read(heard, 16)
    os.close(heard)
    return (tmp_path / "out").read_bytes(), told


def test_the_runtimes_abort_log_becomes_one_line_and_the_process_is_told(tmp_path):
    ours = b"warning: a line of the run's own\n"
    out, told = relayed(ours + ABORT_LOG, tmp_path)
    assert told == b"!"
    assert out == ours + f"error: {LOST}; JAX's runtime ended this process\n".encode()


def test_a_process_that_said_why_it_ended_gets_no_second_line(tmp_path):
    said = f"error: {LOST}\n".encode()
    for data in (ABORT_LOG + said, said + ABORT_LOG):     # whichever came first
        out, told = relayed(data, tmp_path)
        assert out == said and told == b"!"


def test_everything_else_passes_through_unchanged(tmp_path):
    other = (b"W1202 04:13:42.131836    1939 cpu_client.cc:147] an XLA warning of another kind\n"
             b"Traceback (most recent call last):\n  File \"x.py\", line 1\nEpoch\n"
             b"I1202 04:13:42.131836    1939 coordination_service_agent.cc:1] the runtime, dropped\n"
             b"not a continuation: kept\nthe last line, unfinished")
    out, told = relayed(other, tmp_path)
    assert told == b""
    assert out == other.replace(b"I1202 04:13:42.131836    1939 coordination_service_agent.cc:1] "
                                b"the runtime, dropped\n", b"")


def test_a_progress_bars_partial_line_goes_through_at_once(tmp_path):
    """A ``\\r`` update has no newline: the relay forwards it without waiting for one."""
    source_r, source_w = os.pipe()
    sink_r, sink_w = os.pipe()
    thread = threading.Thread(target=relay, args=(LOST, source_r, sink_w), daemon=True)
    thread.start()
    os.write(source_w, b"\r epoch 1:  40%|####      | 24/60")
    assert os.read(sink_r, 1000) == b"\r epoch 1:  40%|####      | 24/60"   # before any newline
    os.write(source_w, b"E1202 04:13")                   # could become a runtime line: held ...
    os.write(source_w, b":42.132027    1939 coordination_service_agent.cc:289] Polled an error\nok\n")
    assert os.read(sink_r, 1000) == b"ok\n"              # ... and left out once it is one
    os.close(source_w)
    thread.join(timeout=10)
    assert not thread.is_alive()
    os.close(sink_w)
    assert os.read(sink_r, 1000) == b""
    for fd in (source_r, sink_r):
        os.close(fd)
