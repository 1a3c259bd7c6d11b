"""Benchmark the training step: eager vs not jitted vs jitted step vs compiled epoch.

Every mode trains the same model from the same init in the same batch order
(:func:`jaxlin.train.step.epoch_indices`), so besides timing them the benchmark checks
that they reach the same parameters. Clocks are read only after
``block_until_ready``; compilation is timed apart (ahead-of-time ``lower().compile()``),
and each timed figure is the median and minimum over repeats after a warm-up.
"""
from __future__ import annotations

import dataclasses
import functools
import statistics
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin.bench import profile
from jaxlin.bench.workloads import BANDS, Workload
from jaxlin.data.shuffle import epoch_indices
from jaxlin.nn.updaters import sgd
from jaxlin.train.epoch import make_train_epoch
from jaxlin.train.evaluate import evaluate_accuracy, evaluate_loss
from jaxlin.train.rewrites import PLAIN, Rewrites, default_rewrites
from jaxlin.train.step import make_train_step, train_step
from jaxlin.train.timer import Timer

MODES = ("eager", "nojit", "jit_step", "jit_epoch")
MODE_TEXT = {"eager": "eager (jax.disable_jit, op by op)",
             "nojit": "step not jitted (primitives dispatched one by one)",
             "jit_step": "jitted step (gather + step in one call), Python batch loop",
             "jit_epoch": "compiled epoch (lax.scan over device batches)",
             "torch": "PyTorch, the book's concise loop (DataLoader, num_workers=0)"}



def _timed(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> list[float]:
    """Seconds of ``repeats`` calls after ``warmup`` ones, each synchronised before the clock stops."""
    for _ in range(warmup):
        jax.block_until_ready(fn())
    timer = Timer()
    for _ in range(repeats):
        timer.start()
        jax.block_until_ready(fn())
        timer.stop()
    return timer.times


def _updater(w: Workload):
    return functools.partial(sgd, lr=w.lr)


def _loop_runner(w: Workload, mode: str, X: jax.Array, y: jax.Array) -> tuple[Callable, float]:
    """``run(params, X, y, key, num_steps) -> params`` for a per-step mode on data shaped like
    ``X``, ``y``, and its compile seconds."""
    updater = _updater(w)
    if mode == "jit_step":
        params = w.init(jax.random.key(0))
        idx = np.arange(w.batch_size, dtype=np.int32)
        timer = Timer()
        # gather and step in one jitted call per minibatch, params donated (updated in place)
        book = make_train_epoch(w.net, w.loss, updater, w.batch_size, loop="book", prepare=w.prepare,
                                donate=True)
        step = book.fn.lower(params, (), X, y, idx).compile()
        compile_seconds = timer.stop()
    else:
        plain = train_step(w.net, w.loss, updater)     # the step a reader writes: no rewrite
        step = lambda params, state, X, y, idx: plain(params, state, w.prepare(X[idx]), y[idx])  # noqa: E731
        compile_seconds = 0.0

    def run(params, X, y, key, num_steps):
        params = jax.tree.map(jnp.copy, params)       # the jitted step consumes (donates) its input
        shuffle_key, _ = jax.random.split(key)
        indices = np.asarray(epoch_indices(shuffle_key, X.shape[0], w.batch_size))
        for idx in indices[:num_steps]:
            params, _, _ = step(params, (), X, y, idx)
        return params

    if mode == "eager":
        def run_eager(*args):
            with jax.disable_jit():
                return run(*args)
        return run_eager, compile_seconds
    return run, compile_seconds


def _compiled_epoch(w: Workload, X: jax.Array, y: jax.Array,
                    rewrites: Rewrites | None = None) -> tuple[Any, float]:
    """``w``'s epoch compiled ahead of time for data shaped like ``X``, ``y``; its compile seconds."""
    epoch = make_train_epoch(w.net, w.loss, _updater(w), w.batch_size, prepare=w.prepare, rewrites=rewrites)
    params, timer = w.init(jax.random.key(0)), Timer()
    compiled = epoch.compile(params, (), X, y, jax.random.key(0))
    return compiled, timer.stop()


def _epoch_runner(w: Workload, X: jax.Array, y: jax.Array,
                  rewrites: Rewrites | None = None) -> tuple[Callable, float]:
    compiled, compile_seconds = _compiled_epoch(w, X, y, rewrites)
    return (lambda params, X, y, key: compiled(params, (), X, y, key)[0]), compile_seconds


def quality(w: Workload, key: jax.Array) -> dict[str, Any]:
    """The band's metric after ``w.quality_epochs`` compiled epochs (the first is the one every
    mode agrees with): test accuracy for the classifiers, the training loss for linear regression."""
    run, _ = _epoch_runner(w, w.X, w.y)
    params = w.init(jax.random.key(1))
    for epoch in range(w.quality_epochs):
        params = run(params, w.X, w.y, jax.random.fold_in(key, epoch) if epoch else key)
    if w.test is None:
        value = evaluate_loss(w.net, params, (w.X, w.y), w.loss, prepare=w.prepare)
    else:
        value = evaluate_accuracy(w.net, params, w.test, prepare=w.prepare)
    metric, low, high = BANDS[w.name]
    return {"metric": metric, "epochs": w.quality_epochs, "value": value, "band": [low, high], "ok": low <= value <= high}


def rewrite_variants(conv: bool = False) -> dict[str, Rewrites]:
    """The default rewrites, each of its epoch choices switched alone (a conv net's too, when
    ``conv``), and none of them."""
    base = default_rewrites()
    variants = {"default": base}
    for name in ("batch_of_one", "row_gather") + (("banded_conv", "pool_reshape") if conv else ()):
        on = getattr(base, name)
        variants[f"{'no' if on else 'with'} {name}"] = dataclasses.replace(base, **{name: not on})
    variants["plain"] = PLAIN
    return variants


def bench_rewrites(w: Workload, *, repeats: int, key: jax.Array) -> list[dict[str, Any]]:
    """The compiled epoch timed under each of :func:`rewrite_variants` (rows of mode ``jit_epoch``)."""
    params0 = w.init(jax.random.key(1))
    rows = []
    for name, rewrites in rewrite_variants(conv=w.convolutional).items():
        run, compile_seconds = _epoch_runner(w, w.X, w.y, rewrites)
        times = _timed(lambda: run(params0, w.X, w.y, key), repeats)
        rows.append({"model": w.name, "rewrites": name, **dataclasses.asdict(rewrites),
                     "compile_s": compile_seconds, "epoch_s_median": statistics.median(times),
                     "epoch_s_min": min(times)})
    return rows


def check_agreement(w: Workload, modes: Sequence[str], check_steps: int, key: jax.Array) -> dict[str, float]:
    """Max |Δparam| of each mode against the compiled epoch after the same ``check_steps`` steps."""
    n = check_steps * w.batch_size
    X, y = w.X[:n], w.y[:n]
    params = w.init(jax.random.key(1))
    run_epoch, _ = _epoch_runner(w, X, y)
    reference = run_epoch(params, X, y, key)
    diffs = {"jit_epoch": 0.0}
    for mode in modes:
        if mode in ("jit_epoch", "torch"):
            continue
        run, _ = _loop_runner(w, mode, X, y)
        got = run(params, X, y, key, check_steps)
        diffs[mode] = max(float(jnp.abs(a - b).max()) for a, b in
                          zip(jax.tree.leaves(got), jax.tree.leaves(reference)))
    return diffs


def bench_workload(w: Workload, modes: Sequence[str], *, repeats: int, eager_steps: int,
                   key: jax.Array, progress: Callable[[str], None] = lambda s: None) -> list[dict[str, Any]]:
    """Time every mode on ``w``; per-step modes that are slow are timed over
    ``eager_steps`` steps and extrapolated to an epoch (flagged in the row)."""
    rows = []
    params0 = w.init(jax.random.key(1))
    steps = w.steps_per_epoch
    for mode in modes:
        progress(f"{w.name}: {mode}")
        if mode == "jit_epoch":
            run, compile_seconds = _epoch_runner(w, w.X, w.y)
            times = _timed(lambda: run(params0, w.X, w.y, key), repeats)
            epoch_times, extrapolated, timed_steps = times, False, steps
        elif mode == "torch":
            from jaxlin.bench import torch_baseline
            compile_seconds, epoch_times = 0.0, torch_baseline.time_epochs(w, repeats)
            extrapolated, timed_steps = False, None
        else:
            run, compile_seconds = _loop_runner(w, mode, w.X, w.y)
            full = mode == "jit_step"
            timed_steps = steps if full else min(eager_steps, steps)
            times = _timed(lambda: run(params0, w.X, w.y, key, timed_steps), repeats if full else 2,
                           warmup=1)
            epoch_times = [t * steps / timed_steps for t in times]
            extrapolated = not full
        per_epoch_median, per_epoch_min = statistics.median(epoch_times), min(epoch_times)
        n_examples = steps * w.batch_size
        rows.append({"model": w.name, "mode": mode, "compile_s": compile_seconds,
                     "step_s_median": per_epoch_median / steps, "step_s_min": per_epoch_min / steps,
                     "epoch_s_median": per_epoch_median, "epoch_s_min": per_epoch_min,
                     "examples_per_s": n_examples / per_epoch_min, "steps_per_epoch": steps,
                     "timed_steps": timed_steps, "extrapolated": extrapolated})
    eager = next((r for r in rows if r["mode"] == "eager"), None)
    for r in rows:
        r["speedup_vs_eager"] = eager["step_s_min"] / r["step_s_min"] if eager else None
    return rows


def matmul_peak(sizes: Sequence[int] = (1024, 2048), repeats: int = 10) -> float:
    """Measured float32 GFLOP/s of jitted n×n matmuls, the best over ``sizes`` and ``repeats``
    after warm-ups (the machine's practical peak; a cold first call reads half of it)."""
    mm, a = jax.jit(lambda a, b: a @ b), {n: jax.random.normal(jax.random.key(0), (n, n)) for n in sizes}
    return max(2 * n ** 3 / min(_timed(lambda: mm(a[n], a[n]), repeats, warmup=3)) / 1e9 for n in sizes)


def profile_epoch(w: Workload, key: jax.Array) -> profile.Profile:
    """One compiled epoch of ``w`` (the default rewrites) under the profiler, after a warm-up."""
    (compiled, _), params = _compiled_epoch(w, w.X, w.y), w.init(jax.random.key(1))
    jax.block_until_ready(compiled(params, (), w.X, w.y, key))
    return profile.profile(lambda: compiled(params, (), w.X, w.y, key), compiled.as_text())


def step_flops(w: Workload) -> float:
    """XLA's FLOP count of one train step (forward, backward and update)."""
    params = w.init(jax.random.key(0))
    X, y = w.prepare(w.X[: w.batch_size]), w.y[: w.batch_size]
    cost = make_train_step(w.net, w.loss, _updater(w)).lower(params, (), X, y).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    return float(cost.get("flops", 0.0)) if cost else 0.0


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The results as a fixed-width text table."""
    head = (f"{'model':8} {'mode':10} {'compile s':>9} {'ms/step':>9} {'s/epoch':>9} "
            f"{'min s/ep':>9} {'examples/s':>11} {'vs eager':>9}  note")
    lines = [head, "-" * len(head)]
    for r in rows:
        speed = f"{r['speedup_vs_eager']:.0f}x" if r.get("speedup_vs_eager") else "-"
        note = f"extrapolated from {r['timed_steps']} steps" if r["extrapolated"] else ""
        lines.append(f"{r['model']:8} {r['mode']:10} {r['compile_s']:9.2f} {1e3 * r['step_s_median']:9.3f} "
                     f"{r['epoch_s_median']:9.4f} {r['epoch_s_min']:9.4f} {r['examples_per_s']:11.0f} "
                     f"{speed:>9}  {note}")
    return "\n".join(lines)


def format_rewrites(rows: Sequence[dict[str, Any]]) -> str:
    """The compiled epoch under each rewrites: seconds and the ratio to the default rewrites."""
    head = f"{'model':8} {'rewrites':18} {'compile s':>9} {'min s/ep':>9} {'x default':>9}"
    lines = [head, "-" * len(head)]
    for r in rows:
        base = next(b for b in rows if b["model"] == r["model"] and b["rewrites"] == "default")
        lines.append(f"{r['model']:8} {r['rewrites']:18} {r['compile_s']:9.2f} {r['epoch_s_min']:9.4f} "
                     f"{r['epoch_s_min'] / base['epoch_s_min']:9.2f}")
    return "\n".join(lines)

