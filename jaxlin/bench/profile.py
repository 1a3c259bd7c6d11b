"""Where a compiled call's time goes: XLA's per-operation times from a ``jax.profiler`` trace.

XLA:CPU runs a compiled program as a sequence of operations (a fused elementwise kernel,
a matrix product, a sort, a copy), and the profiler records every run of each. ``profile``
runs a compiled call under ``jax.profiler.trace`` a few times (its Perfetto JSON, read with
the standard library) and keeps the fastest, adds up the time of each operation over the
call, and reads from the compiled HLO how many matrix-product FLOPs each operation does,
so that the products' own speed can be set against the machine's measured matmul peak.
On a GPU the trace names kernels, not these operations: it profiles on the CPU only.
"""
from __future__ import annotations

import gzip
import json
import math
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax

# "%dot.16 = f32[10,256]{1,0} dot(%bitcast.31, %select), lhs_contracting_dims={0}, ..."
_INSTRUCTION = re.compile(r"^\s*(?:ROOT )?%([\w.\-]+) = (\w+\[[\d,]*\]\S*|\(.*?\)) ([\w\-]+)\((.*)$")
_DIMS = re.compile(r"^\w+\[([\d,]*)\]")
_COMPUTATION = re.compile(r"^(?:ENTRY )?%([\w.\-]+) .*\{$")
_OPERAND = re.compile(r"%([\w.\-]+)")
_CALLS = re.compile(r"calls=%([\w.\-]+)")
_CONTRACTING = re.compile(r"lhs_contracting_dims=\{([\d,]*)\}")
# Operations that only hold others (a loop, a call): their time is their body's.
_CONTAINERS = {"while", "conditional", "call", "tuple", "get-tuple-element", "parameter", "constant"}


@dataclass
class Op:
    """One operation of the compiled program over one profiled call."""
    name: str
    seconds: float
    calls: int
    flops: float                      # matrix-product FLOPs over all its runs (0: none)


@dataclass
class Profile:
    wall_seconds: float               # the profiled call, block_until_ready included
    ops: list[Op]                     # slowest first
    runs: int = 1                     # profiled runs, of which this is the fastest

    @property
    def op_seconds(self) -> float:
        return sum(op.seconds for op in self.ops)

    @property
    def matmul_seconds(self) -> float:
        return sum(op.seconds for op in self.ops if op.flops)

    @property
    def matmul_flops(self) -> float:
        return sum(op.flops for op in self.ops)

    def summary(self, peak_gflops: float) -> dict[str, float]:
        """The products' share of the operations' time and their speed against ``peak_gflops``."""
        gflops = self.matmul_flops / self.matmul_seconds / 1e9 if self.matmul_seconds else 0.0
        return {"wall_s": self.wall_seconds, "op_s": self.op_seconds, "matmul_s": self.matmul_seconds,
                "matmul_flops": self.matmul_flops,
                "matmul_share": self.matmul_seconds / self.op_seconds if self.op_seconds else 0.0,
                "matmul_gflop_per_s": gflops, "matmul_fraction_of_peak": gflops / peak_gflops}


def dot_flops(hlo: str) -> tuple[dict[str, float], dict[str, str]]:
    """Matrix-product FLOPs of one run of each instruction in ``hlo`` (a compiled module's text):
    2 · output elements · contracted size for a ``dot``, the sum over its body for a fusion.
    Also each instruction's opcode."""
    shapes, opcodes, own, calls, body = {}, {}, defaultdict(float), {}, defaultdict(list)
    computation = None
    for line in hlo.splitlines():
        if m := _COMPUTATION.match(line):
            computation = m.group(1)
        elif m := _INSTRUCTION.match(line):
            name, shape, opcode, rest = m.groups()
            dims = _DIMS.match(shape)              # a tuple (multi-output fusion) has none
            shapes[name] = [int(d) for d in dims.group(1).split(",") if d] if dims else []
            opcodes[name] = opcode
            body[computation].append(name)
            if opcode == "dot":
                lhs, contracting = _OPERAND.search(rest), _CONTRACTING.search(rest)
                dims = [int(d) for d in contracting.group(1).split(",") if d] if contracting else []
                lhs_shape = shapes.get(lhs.group(1)) if lhs else None
                if lhs_shape is None or any(d >= len(lhs_shape) for d in dims):
                    raise ValueError(f"cannot read the shapes of the product {name} in the compiled "
                                     f"HLO: {line.strip()[:200]}")
                own[name] = 2.0 * math.prod(shapes[name]) * math.prod(lhs_shape[d] for d in dims)
            elif opcode == "fusion" and (called := _CALLS.search(rest)):
                calls[name] = called.group(1)

    def flops(name: str) -> float:
        inner = calls.get(name)
        return own[name] + (sum(flops(n) for n in body[inner]) if inner else 0.0)

    return {name: flops(name) for name in opcodes}, opcodes


def _trace_events(folder: Path) -> list[dict[str, Any]]:
    trace, = folder.glob("**/perfetto_trace.json.gz")
    with gzip.open(trace) as f:
        return [e for e in json.load(f)["traceEvents"] if e.get("ph") == "X"]


def unsupported() -> str | None:
    """Why this backend cannot be profiled here (``None``: it can)."""
    backend = jax.default_backend()
    if backend == "cpu":
        return None
    return f"the profile reads XLA:CPU's operations, and this backend is {backend}"


def profile(call: Callable[[], Any], hlo: str, repeats: int = 3) -> Profile:
    """Run ``call`` (a compiled call, already warm) under the profiler ``repeats`` times, one
    trace each, and keep the fastest (a shared machine slows some runs): each operation's
    time, run count and matrix-product FLOPs, from the trace and ``hlo`` (its ``as_text()``).
    A ``ValueError`` where that cannot be done (:func:`unsupported`, an HLO it cannot read)."""
    if reason := unsupported():
        raise ValueError(reason)
    flops, opcodes = dot_flops(hlo)
    best = None
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            with jax.profiler.trace(folder, create_perfetto_trace=True):
                tic = time.perf_counter()
                jax.block_until_ready(call())
                wall = time.perf_counter() - tic
            events = _trace_events(Path(folder))
        if best is None or wall < best[0]:
            best = wall, events
    wall, events = best
    seconds, runs = defaultdict(float), defaultdict(int)
    for e in events:                         # Python frames and the runtime's own spans are not ops
        opcode = opcodes.get(e["name"])
        if opcode is not None and opcode not in _CONTAINERS:
            seconds[e["name"]] += e["dur"] / 1e6
            runs[e["name"]] += 1
    ops = [Op(n, seconds[n], runs[n], flops[n] * runs[n]) for n in seconds]
    return Profile(wall, sorted(ops, key=lambda op: -op.seconds), repeats)


def format_profile(title: str, p: Profile, peak_gflops: float, top: int = 8) -> str:
    """The slowest ``top`` operations and the rest, then the matrix products' share and speed."""
    total = p.op_seconds
    fastest = f" (the fastest of {p.runs} profiled)" if p.runs > 1 else ""
    lines = [f"{title}{fastest}, time per XLA operation: {1e3 * p.wall_seconds:.0f} ms for the call, "
             f"{1e3 * total:.0f} ms in its operations",
             f"  {'operation':28} {'runs':>6} {'ms':>8} {'share':>6} {'GFLOP/s':>8}"]
    for op in p.ops[:top]:
        speed = f"{op.flops / op.seconds / 1e9:8.0f}" if op.flops and op.seconds else f"{'-':>8}"
        lines.append(f"  {op.name[:28]:28} {op.calls:6d} {1e3 * op.seconds:8.2f} "
                     f"{op.seconds / total:6.1%} {speed}")
    rest = p.ops[top:]
    if rest:
        seconds = sum(op.seconds for op in rest)
        lines.append(f"  {f'{len(rest)} others':28} {'':6} {1e3 * seconds:8.2f} {seconds / total:6.1%}")
    s = p.summary(peak_gflops)
    lines.append(f"  matrix products: {s['matmul_share']:.0%} of the operations' time, at "
                 f"{s['matmul_gflop_per_s']:.0f} GFLOP/s ({s['matmul_fraction_of_peak']:.0%} of the "
                 f"measured {peak_gflops:.0f} GFLOP/s peak)")
    return "\n".join(lines)
