"""The jit-versus-eager benchmark: its models (:mod:`~jaxlin.bench.workloads`), the timing of
each mode (:mod:`~jaxlin.bench.timing`), the profile of a compiled call
(:mod:`~jaxlin.bench.profile`) and the PyTorch row (:mod:`~jaxlin.bench.torch_baseline`,
only when ``torch`` is installed). Beside the run layer: it imports training and data, and
nothing imports it but ``scripts/bench_jit_vs_eager.py``, the sweep and the tests.
"""
from jaxlin.bench.timing import (
    MODE_TEXT,
    MODES,
    bench_rewrites,
    bench_workload,
    check_agreement,
    format_rewrites,
    format_table,
    matmul_peak,
    profile_epoch,
    quality,
    rewrite_variants,
    step_flops,
)
from jaxlin.bench.workloads import BANDS, MODELS, Workload, make_workloads

__all__ = ["BANDS", "MODELS", "MODE_TEXT", "MODES", "Workload", "bench_rewrites", "bench_workload",
           "check_agreement", "format_rewrites", "format_table", "rewrite_variants", "make_workloads",
           "matmul_peak", "profile_epoch", "quality", "step_flops"]
