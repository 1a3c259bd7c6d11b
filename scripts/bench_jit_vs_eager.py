"""Benchmark jit versus eager: one training step four ways, plus PyTorch when installed.

Models: linear regression (synthetic, batch 10), softmax regression, the MLP
784-256-10 and LeNet (Fashion-MNIST, batch 256). Modes: eager (``jax.disable_jit``), the step
not jitted, one jitted step in a Python batch loop, and a whole epoch compiled into
one call. Compile time is separate; run times are medians and minima over repeats
after a warm-up, with ``block_until_ready`` before every clock read. All modes are
checked to reach the same parameters from the same init and batch order. Then each
compiled epoch runs under ``jax.profiler`` (the fastest of 3 runs kept, on the CPU): its
time per XLA operation, and how fast its matrix products run against the measured
matmul peak.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys

import jax

from jaxlin import bench, savefig
from jaxlin.bench import torch_baseline
from jaxlin.bench.profile import format_profile, unsupported
from jaxlin.plots.figures import plt
from jaxlin.run.cli import Run, environment, make_parser, positive_int
from jaxlin.run.experiment import add_data_args, load_data

TOLERANCE = 1e-4


def plot_bars(rows, path):
    models = list(dict.fromkeys(r["model"] for r in rows))
    modes = list(dict.fromkeys(r["mode"] for r in rows))
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    width = 0.8 / len(modes)
    for j, mode in enumerate(modes):
        xs, hs = [], []
        for i, model in enumerate(models):
            r = next((r for r in rows if r["model"] == model and r["mode"] == mode), None)
            if r is not None:
                xs.append(i + (j - (len(modes) - 1) / 2) * width)
                hs.append(r["epoch_s_min"])
        bars = ax.bar(xs, hs, width, label=mode)
        # On a log axis a bar's length is not its value: print the value on every bar.
        ax.bar_label(bars, labels=[f"{h:.2g}" for h in hs], rotation=90, fontsize=7, padding=2)
    ax.set_xticks(range(len(models)), models)
    ax.set_yscale("log")
    lowest, highest = min(r["epoch_s_min"] for r in rows), max(r["epoch_s_min"] for r in rows)
    ax.set_ylim(lowest / 3, highest * 8)      # every bar starts inside the axes, room for labels
    ax.set_ylabel("seconds per epoch (log scale)")
    ax.set_title(f"training one epoch on {jax.devices()[0].device_kind}")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(True, axis="y", which="both", alpha=0.3)
    savefig(fig, path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The common flags plus the models, modes, repeats and the data flags."""
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(bench.MODELS),
                        choices=list(bench.MODELS), help="models to benchmark")
    parser.add_argument("--modes", nargs="+", default=list(bench.MODES) + ["torch"],
                        choices=list(bench.MODES) + ["torch"],
                        help="modes to time (torch is skipped when not installed)")
    parser.add_argument("--repeats", type=positive_int, default=5, help="timed repeats per mode")
    parser.add_argument("--eager-steps", type=positive_int, default=10,
                        help="steps timed in the eager and not-jitted modes (extrapolated to an epoch)")
    parser.add_argument("--no-rewrites", dest="rewrites", action="store_false",
                        help="skip timing the compiled epoch under each rewrite")
    parser.add_argument("--no-profile", dest="profile", action="store_false",
                        help="skip profiling the compiled epoch (its time per XLA operation)")
    parser.add_argument("--check-steps", type=positive_int, default=4,
                        help="steps run in every mode for the equality check")
    add_data_args(parser)
    return parser.parse_args(argv)


def available_modes(requested: list[str]) -> list[str]:
    """The requested modes, less torch when PyTorch is not installed (with a note)."""
    modes = [m for m in requested if m != "torch" or torch_baseline.available()]
    if "torch" in requested and "torch" not in modes:
        print("note: PyTorch is not installed; the comparison row is skipped")
    return modes


def benchmark(workloads: list[bench.Workload], modes: list[str], args: argparse.Namespace,
              key: jax.Array) -> tuple[list[dict], dict, dict, list[dict]]:
    """Per workload: the agreement check, the timing rows, the FLOPs of a step and (unless
    ``--no-rewrites``) the compiled epoch's rows under each rewrites."""
    rows, agreement, flops, rewrite_rows = [], {}, {}, []
    for w in workloads:
        agreement[w.name] = bench.check_agreement(w, modes, args.check_steps, key)
        rows += bench.bench_workload(w, modes, repeats=args.repeats, eager_steps=args.eager_steps,
                                     key=key, progress=lambda s: print(f"  timing {s} ...", file=sys.stderr))
        flops[w.name] = bench.step_flops(w)
        if args.rewrites and "jit_epoch" in modes:
            rewrite_rows += bench.bench_rewrites(w, repeats=args.repeats, key=key)
    return rows, agreement, flops, rewrite_rows


def report_agreement(agreement: dict[str, dict[str, float]], check_steps: int) -> bool:
    """Print each mode's largest parameter difference from the compiled epoch; whether all are
    within ``TOLERANCE``."""
    ok = all(d <= TOLERANCE for diffs in agreement.values() for d in diffs.values())
    for name, diffs in agreement.items():
        print(f"{name}: max |Δparams| vs compiled epoch after {check_steps} steps: "
              + ", ".join(f"{m} {d:.2e}" for m, d in diffs.items()))
    print(f"equality check {'passed' if ok else 'FAILED'} (tolerance {TOLERANCE:g})")
    return ok


def workload_summary(w: bench.Workload, rows: list[dict], step_flops: float, peak: float) -> dict[str, float]:
    """One workload's speed-ups (jit step over eager, compiled epoch over torch) and throughput."""
    by_mode = {r["mode"]: r for r in rows if r["model"] == w.name}
    s = {}
    if "jit_step" in by_mode and "eager" in by_mode:
        s["jit_step_vs_eager_per_step"] = by_mode["eager"]["step_s_min"] / by_mode["jit_step"]["step_s_min"]
    if "jit_epoch" in by_mode and "torch" in by_mode:
        s["jit_epoch_vs_torch"] = by_mode["torch"]["epoch_s_min"] / by_mode["jit_epoch"]["epoch_s_min"]
    if "jit_epoch" in by_mode:
        gflops = step_flops * w.steps_per_epoch / by_mode["jit_epoch"]["epoch_s_min"] / 1e9
        s |= {"jit_epoch_gflop_per_s": gflops, "fraction_of_matmul_peak": gflops / peak,
              "jit_epoch_compile_s": by_mode["jit_epoch"]["compile_s"]}
    return s


def summarize(workloads: list[bench.Workload], rows: list[dict], flops: dict, peak: float) -> dict:
    """:func:`workload_summary` of every workload, each printed on one line."""
    summary = {}
    for w in workloads:
        summary[w.name] = workload_summary(w, rows, flops[w.name], peak)
        print(f"{w.name}: " + ", ".join(f"{k} {v:.3g}" for k, v in summary[w.name].items()))
    return summary


def profile_epochs(workloads: list[bench.Workload], modes: list[str], args: argparse.Namespace,
                   key: jax.Array, peak: float) -> dict[str, dict]:
    """Where each compiled epoch's time goes (unless ``--no-profile``): printed, and per model
    the matrix products' share and speed plus the slowest operations."""
    if not args.profile or "jit_epoch" not in modes:
        return {}
    if reason := unsupported():
        print(f"note: no profile: {reason}")
        return {}
    out = {}
    for w in workloads:
        try:
            p = bench.profile_epoch(w, key)
        except ValueError as err:             # an HLO this profile cannot read: the rest stands
            print(f"note: no profile of {w.name}: {err}")
            continue
        print()
        print(format_profile(f"{w.name}: one compiled epoch", p, peak))
        out[w.name] = p.summary(peak) | {"ops": [dataclasses.asdict(op) for op in p.ops[:12]]}
    return out


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    run = Run(args, __file__)
    key = jax.random.key(args.seed)
    modes = available_modes(args.modes)

    data, load_seconds = (load_data(args, run) if {"softmax", "mlp", "lenet"} & set(args.models) else (None, 0.0))
    workloads = bench.make_workloads(args.models, data, key=key)
    for w in workloads:
        if args.check_steps > len(w.X) // w.batch_size:
            run.usage_error(f"--check-steps {args.check_steps} is more than the {len(w.X) // w.batch_size} "
                            f"full batches of {w.batch_size} in {w.name}'s training set")
    env = environment()
    print(f"device: {env['device']} ({env['backend']}), jax {env['jax']}, jaxlib {env['jaxlib']}")

    rows, agreement, flops, rewrite_rows = benchmark(workloads, modes, args, key)
    peak = bench.matmul_peak()
    print()
    print(bench.format_table(rows))
    print()
    ok = report_agreement(agreement, args.check_steps)
    quality = {w.name: bench.quality(w, key) for w in workloads}
    for name, q in quality.items():
        print(f"{name}: {q['metric']} after {q['epochs']} compiled epoch(s) {q['value']:.4f}, band {q['band']}: "
              f"{'ok' if q['ok'] else 'OUT OF BAND'}")
    summary = summarize(workloads, rows, flops, peak)
    print(f"measured float32 matmul peak: {peak:.0f} GFLOP/s; data loading: {load_seconds:.2f} s")
    if rewrite_rows:
        print()
        print(bench.format_rewrites(rewrite_rows))
    profiles = profile_epochs(workloads, modes, args, key, peak)

    plot_bars(rows, run.path("bench.png"))
    results = {"rows": rows, "agreement": agreement, "agreement_ok": ok, "tolerance": TOLERANCE,
               "quality": quality,
               "summary": summary, "rewrites": rewrite_rows, "profile": profiles,
               "matmul_peak_gflop_per_s": peak, "step_flops": flops,
               "seconds": {"load_data": load_seconds}, "mode_descriptions": bench.MODE_TEXT}
    run.finish(results)
    if not ok:
        raise SystemExit("error: the modes disagree beyond the tolerance")
    if not all(q["ok"] for q in quality.values()):
        raise SystemExit("error: a trained model is outside its quality band: the step is wrong")
    return run.results


if __name__ == "__main__":
    main()
