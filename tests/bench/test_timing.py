"""The benchmark's pieces: every mode trains what a plain loop of train steps trains, and the
agreement check reports the differences that are there."""
from __future__ import annotations

import dataclasses

import jax
import numpy as np
import pytest

from helpers import bench_mode_params, max_abs_diff, plain_loop_params
from jaxlin import bench
from jaxlin.nn.linear import linreg

STEPS = 4
MODES = ["eager", "nojit", "jit_step", "jit_epoch"]


def test_every_mode_trains_what_a_plain_loop_of_steps_trains():
    key = jax.random.key(0)
    (w,) = bench.make_workloads(["linreg"], key=key)
    want = plain_loop_params(w, key, STEPS)
    assert max_abs_diff(want, w.init(jax.random.key(1))) > 1e-2                 # it trained
    got = bench_mode_params(w, key, STEPS)
    assert set(got) == set(MODES)
    for mode, params in got.items():
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=mode),
                     params, want)
    diffs = bench.check_agreement(w, MODES, STEPS, key)
    assert set(diffs) == set(MODES)
    for mode, diff in diffs.items():                 # what the check reports is what is there
        assert diff == max_abs_diff(got[mode], got["jit_epoch"]), mode
        assert diff <= 1e-5, mode


def test_the_agreement_check_sees_a_mode_that_trains_differently():
    """A net that adds 1 to its output only when its input is traced: the eager and unjitted
    modes (concrete inputs) then train another model than the jitted ones, and the check must
    report it."""
    key = jax.random.key(0)
    (w,) = bench.make_workloads(["linreg"], key=key)

    def net(params, X):
        return linreg(params, X) + (1.0 if isinstance(X, jax.core.Tracer) else 0.0)

    w = dataclasses.replace(w, net=net)
    diffs = bench.check_agreement(w, MODES, STEPS, key)
    assert diffs["jit_epoch"] == 0.0 and diffs["jit_step"] <= 1e-5     # traced as the compiled epoch is
    assert diffs["eager"] > 1e-2 and diffs["nojit"] > 1e-2
    unshifted = plain_loop_params(dataclasses.replace(w, net=linreg), key, STEPS)   # what eager trains
    shifted = bench_mode_params(w, key, STEPS, modes=())["jit_epoch"]
    assert diffs["eager"] == pytest.approx(max_abs_diff(unshifted, shifted), rel=1e-4)
