"""Vectorization for speed (D2L 3.1.2): a Python loop of scalar adds against one vectorized add.

The book adds two 10,000-element vectors once element by element in a Python
``for`` loop and once as ``a + b``. JAX arrays are immutable, so the loop's
``c[i] = a[i] + b[i]`` becomes ``c = c.at[i].set(a[i] + b[i])``: three dispatched
operations and a fresh 10,000-element array per element, about a millisecond a step
on a CPU. :func:`time_vectorization` therefore times the loop over NumPy scalars in
full and the JAX loop over a bounded number of steps, extrapolated to ``n``.

JAX dispatches asynchronously: every clock read here follows ``block_until_ready``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin.checks import check_positive_int
from jaxlin.train.timer import Timer


def format_seconds(seconds: float) -> str:
    """A duration with a unit that suits it, three significant digits: ``5.17 s``, ``2.62 ms``,
    ``19.8 µs``, ``850 ns`` (never ``0.00000 sec``)."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(seconds) >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def add_loop_numpy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The book's loop ``c[i] = a[i] + b[i]`` over NumPy scalars, one Python step per element."""
    c = np.zeros_like(a)
    for i in range(a.shape[0]):
        c[i] = a[i] + b[i]
    return c


def add_loop_jax(a: jax.Array, b: jax.Array, steps: int | None = None) -> jax.Array:
    """The same loop on JAX arrays: ``c = c.at[i].set(a[i] + b[i])`` for the first ``steps`` elements.

    Each step builds a new array (JAX arrays are immutable); elements past ``steps``
    stay 0. ``steps=None`` runs all ``len(a)`` steps.
    """
    steps = a.shape[0] if steps is None else min(check_positive_int(steps, "steps"), a.shape[0])
    c = jnp.zeros_like(a)
    for i in range(steps):
        c = c.at[i].set(a[i] + b[i])
    return c


def add(a: jax.Array, b: jax.Array) -> jax.Array:
    """d = a + b, the vectorized add (one operation on whole arrays)."""
    return a + b


def time_calls(f: Callable[[], Any], repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` calls of ``f()``, each result blocked on before the clock stops."""
    repeats = check_positive_int(repeats, "repeats")
    timer = Timer()
    timer.times.clear()
    for _ in range(repeats):
        timer.start()
        jax.block_until_ready(f())
        timer.stop()
    return list(timer.times)


def time_loops(a_np: np.ndarray, b_np: np.ndarray, a: jax.Array, b: jax.Array,
               steps: int) -> tuple[dict[str, float], np.ndarray, jax.Array]:
    """Seconds of the NumPy loop (all elements) and of the JAX loop (``steps`` steps, after a
    short warm-up), and the two loops' results."""
    timer = Timer()
    timer.start()
    c_np = add_loop_numpy(a_np, b_np)
    numpy_loop = timer.stop()

    jax.block_until_ready(add_loop_jax(a, b, min(steps, 10)))  # compile the indexing ops once
    timer.start()
    c = jax.block_until_ready(add_loop_jax(a, b, steps))
    jax_loop = timer.stop()
    return {"numpy_loop": numpy_loop, "jax_loop": jax_loop}, c_np, c


def time_vectorized(a_np: np.ndarray, b_np: np.ndarray, a: jax.Array, b: jax.Array,
                    repeats: int) -> dict[str, float]:
    """Seconds of ``a + b``: the first eager call, then the medians of ``repeats`` eager,
    jitted (compile time apart) and NumPy calls."""
    timer = Timer()
    timer.start()
    jax.block_until_ready(add(a, b))
    eager_first = timer.stop()
    eager = float(np.median(time_calls(lambda: add(a, b), repeats)))

    timer.start()
    add_jit = jax.jit(add).lower(a, b).compile()
    jit_compile = timer.stop()
    jit = float(np.median(time_calls(lambda: add_jit(a, b), repeats)))

    numpy_vectorized = float(np.median(time_calls(lambda: a_np + b_np, repeats)))
    return {"eager_first": eager_first, "eager": eager, "jit_compile": jit_compile, "jit": jit,
            "numpy_vectorized": numpy_vectorized}


def vectorization_speedups(seconds: dict[str, float]) -> dict[str, float]:
    """Loop time over vectorized time, for each loop and each vectorized add."""
    numpy_loop, jax_loop = seconds["numpy_loop"], seconds["jax_loop_extrapolated"]
    return {"numpy_loop/eager": numpy_loop / seconds["eager"], "numpy_loop/jit": numpy_loop / seconds["jit"],
            "jax_loop/eager": jax_loop / seconds["eager"],
            "jax_loop/jit": jax_loop / seconds["jit"],
            "numpy_loop/numpy_vectorized": numpy_loop / seconds["numpy_vectorized"]}


def time_vectorization(n: int = 10000, *, jax_loop_steps: int = 1000,
                       repeats: int = 20) -> dict[str, Any]:
    """Seconds for adding two length-``n`` vectors of ones, four ways, plus speed-ups.

    * ``numpy_loop``: :func:`add_loop_numpy`, all ``n`` steps, timed once (as the book).
    * ``jax_loop``: :func:`add_loop_jax` over ``jax_loop_steps`` steps after a short
      warm-up, extrapolated linearly to ``n`` (``jax_loop_extrapolated``); exact when
      ``jax_loop_steps >= n``.
    * ``eager``: ``a + b`` on JAX arrays (the first call, which compiles the primitive,
      is ``eager_first``; then the median of ``repeats`` calls).
    * ``jit``: the jitted :func:`add`; its compile time (``jit_compile``, from
      ``lower().compile()``) is reported separately from the median run time.
    * ``numpy_vectorized``: ``a + b`` on the NumPy arrays, for reference.

    Speed-ups are loop time over vectorized time; ``loops_agree_with_add`` says whether
    both loops computed what ``a + b`` does.
    """
    n = check_positive_int(n, "n")
    steps = min(check_positive_int(jax_loop_steps, "jax_loop_steps"), n)
    a_np, b_np = np.ones(n, np.float32), np.ones(n, np.float32)
    a, b = jnp.ones(n), jnp.ones(n)
    loops, c_np, c = time_loops(a_np, b_np, a, b, steps)
    vectorized = time_vectorized(a_np, b_np, a, b, repeats)
    seconds = {**loops, "jax_loop_extrapolated": loops["jax_loop"] * n / steps, **vectorized}
    agree = bool(np.array_equal(c_np, a_np + b_np)
                 and np.array_equal(np.asarray(c[:steps]), np.asarray(add(a, b)[:steps])))
    return {"n": n, "jax_loop_steps": steps, "extrapolated": steps < n, "repeats": repeats,
            "loops_agree_with_add": agree, "seconds": seconds, "speedups": vectorization_speedups(seconds)}


def print_timings(t: dict[str, Any]) -> None:
    """Each time of :func:`time_vectorization` in a unit that suits it (s, ms, µs: the book's
    ``0.00000 sec`` for a vectorized add says nothing), then the speed-ups."""
    s, n, steps = t["seconds"], t["n"], t["jax_loop_steps"]
    fmt = format_seconds
    print(f"Python loop over NumPy scalars, c[i] = a[i] + b[i]: {fmt(s['numpy_loop'])} ({n} steps)")
    if t["extrapolated"]:
        print(f"Python loop of JAX c = c.at[i].set(a[i] + b[i]): {fmt(s['jax_loop'])} for {steps} steps, "
              f"{fmt(s['jax_loop_extrapolated'])} extrapolated to {n} (not run in full)")
    else:
        print(f"Python loop of JAX c = c.at[i].set(a[i] + b[i]): {fmt(s['jax_loop'])} ({n} steps)")
    print(f"d = a + b (eager JAX): {fmt(s['eager'])} (median of {t['repeats']}; the first call, "
          f"which compiles the add, {fmt(s['eager_first'])})")
    print(f"d = jit(add)(a, b): {fmt(s['jit'])} (median of {t['repeats']}; compiled once beforehand "
          f"in {fmt(s['jit_compile'])})")
    print(f"d = a + b (NumPy, for reference): {fmt(s['numpy_vectorized'])}")
    print("speed-ups of the vectorized add: " + ", ".join(f"{k} {v:,.0f}x" for k, v in t["speedups"].items()))


def plot_timings(t: dict[str, Any]) -> Any:
    """The figure of the seconds of each way to add the vectors, on a log scale."""
    from jaxlin.plots.figures import plt, set_axes
    s = t["seconds"]
    jax_loop = "JAX .at[].set loop" + (" (extrap.)" if t["extrapolated"] else "")
    bars = {jax_loop: s["jax_loop_extrapolated"], "NumPy loop": s["numpy_loop"], "eager a + b": s["eager"],
            "jit add": s["jit"], "NumPy a + b": s["numpy_vectorized"]}
    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    names, values = list(bars)[::-1], list(bars.values())[::-1]
    ax.barh(np.arange(len(bars)), values, color="tab:blue")
    for i, v in enumerate(values):
        ax.text(v, i, f" {format_seconds(v)}", va="center", fontsize=8)
    set_axes(ax, f"seconds to add two vectors of {t['n']:,} (log scale)", None, xscale="log")
    ax.set_yticks(np.arange(len(bars)), names)   # after set_axes, which resets the y axis
    ax.set_xlim(min(bars.values()) / 3, max(bars.values()) * 30)
    return fig
