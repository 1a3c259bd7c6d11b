"""Parsing reads flags and nothing else (issue 21): a script's ``parse_args()`` with the flags of
several processes starts no runtime; joining the others is the set-up's own later call."""
from __future__ import annotations

import jax
import pytest

from conftest import SCRIPTS, run_script
from jaxlin.run import flags, processes

TRAINING = ["ch3_06_softmax_regression_scratch", "ch3_07_softmax_regression_concise", "ch4_02_mlp_scratch",
            "ch4_03_mlp_concise", "ch4_06_dropout", "ch6_06_lenet"]
MULTI = ["--coordinator", "127.0.0.1:12355", "--num-processes", "2", "--process-id", "1", "--out", "unused"]


class Parsed(Exception):
    pass


@pytest.mark.parametrize("name", TRAINING)
def test_parse_args_with_coordinator_flags_starts_no_runtime(name, monkeypatch):
    seen = {}
    parse = flags.Parser.parse_args

    def parse_only(self, *args, **kwargs):
        parsed = parse(self, *args, **kwargs)
        seen["initialized"] = jax.distributed.is_initialized()
        seen["args"] = parsed
        raise Parsed

    monkeypatch.setattr(flags.Parser, "parse_args", parse_only)
    joined = []
    monkeypatch.setattr(processes.jax.distributed, "initialize", lambda *a, **k: joined.append(a))
    with pytest.raises(Parsed):
        run_script(name, MULTI)
    assert seen["initialized"] is False and joined == []
    assert (seen["args"].coordinator, seen["args"].num_processes, seen["args"].process_id) == ("127.0.0.1:12355", 2, 1)


def test_the_set_up_joins_the_processes_after_parsing(monkeypatch, tmp_path):
    """The check itself: without the stop after parsing, the set-up calls initialize (stubbed
    here) with the parsed flags."""
    joined = []

    def initialize(*args, **kwargs):
        joined.append(args)
        raise RuntimeError("stub: no coordinator")

    monkeypatch.setattr(processes.jax.distributed, "initialize", initialize)
    monkeypatch.setattr(processes, "leave", lambda message, status=1: (_ for _ in ()).throw(SystemExit(status)))
    with pytest.raises(SystemExit):
        run_script(TRAINING[0], [*MULTI[:-1], str(tmp_path)])
    assert joined and joined[0][:3] == ("127.0.0.1:12355", 2, 1)


def test_no_relay_and_no_abort_hold_remain():
    source = (SCRIPTS.parent / "jaxlin" / "run" / "processes.py").read_text()
    assert not (SCRIPTS.parent / "jaxlin" / "run" / "relay.py").exists()
    assert "SIGABRT" not in source and "relay" not in source
