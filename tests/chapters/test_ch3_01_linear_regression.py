"""3.1.2 vectorization: the loops compute ``a + b``, and the timings are what they say."""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from helpers import assert_loops_added_ones, record_vectorization_loops
from jaxlin.chapters import ch3_01_linear_regression as ch3_01
from jaxlin.chapters.ch3_01_linear_regression import (
    add,
    add_loop_jax,
    add_loop_numpy,
    format_seconds,
    time_calls,
    time_vectorization,
)


def test_loops_compute_the_vectorized_add():
    a, b = np.arange(5, dtype=np.float32), np.full(5, 2.0, np.float32)
    np.testing.assert_array_equal(add_loop_numpy(a, b), [2, 3, 4, 5, 6])
    np.testing.assert_array_equal(add_loop_jax(jnp.asarray(a), jnp.asarray(b), 3), [2, 3, 4, 0, 0])
    np.testing.assert_array_equal(add_loop_jax(jnp.asarray(a), jnp.asarray(b)), [2, 3, 4, 5, 6])
    np.testing.assert_array_equal(add(jnp.asarray(a), jnp.asarray(b)), [2, 3, 4, 5, 6])


def test_time_calls_blocks_and_counts():
    times = time_calls(lambda: jnp.ones(3) + 1, 4)
    assert len(times) == 4 and all(t > 0 for t in times)
    with pytest.raises(ValueError):
        time_calls(lambda: None, 0)


def test_time_vectorization_extrapolates_the_bounded_jax_loop():
    t = time_vectorization(200, jax_loop_steps=20, repeats=2)
    s = t["seconds"]
    assert t["extrapolated"] and t["jax_loop_steps"] == 20 and t["loops_agree_with_add"]
    assert s["jax_loop_extrapolated"] == pytest.approx(s["jax_loop"] * 10)
    assert all(v > 0 for v in s.values()) and all(v > 0 for v in t["speedups"].values())
    assert t["speedups"]["numpy_loop/jit"] == pytest.approx(s["numpy_loop"] / s["jit"])
    full = time_vectorization(30, jax_loop_steps=100, repeats=1)   # more steps than n: run in full
    assert not full["extrapolated"] and full["jax_loop_steps"] == 30


def test_time_vectorization_times_loops_that_compute_a_plus_b(monkeypatch):
    """What the loops returned while being timed, checked here; and the flag
    ``loops_agree_with_add`` turns False when a loop computes something else."""
    seen = record_vectorization_loops(monkeypatch)
    t = time_vectorization(200, jax_loop_steps=20, repeats=2)
    assert len(seen["add_loop_numpy"]) == 1 and seen["add_loop_jax"]
    assert_loops_added_ones(seen, 200, 20)
    assert t["loops_agree_with_add"]
    monkeypatch.setattr(ch3_01, "add_loop_numpy", lambda a, b: a - b)
    assert not time_vectorization(30, jax_loop_steps=100, repeats=1)["loops_agree_with_add"]
    monkeypatch.undo()
    monkeypatch.setattr(ch3_01, "add_loop_jax", lambda a, b, steps=None: ch3_01.add(a, b).at[0].set(0))
    assert not time_vectorization(30, jax_loop_steps=100, repeats=1)["loops_agree_with_add"]


@pytest.mark.parametrize("seconds, text", [(5.17382, "5.17 s"), (0.0026, "2.6 ms"), (1.98e-5, "19.8 µs"),
                                           (4.0e-6, "4 µs"), (8.5e-7, "850 ns"), (0.0, "0 ns")])
def test_format_seconds_picks_a_unit(seconds, text):
    """Tiny times in µs or ns, never the book's 0.00000 sec."""
    assert format_seconds(seconds) == text
