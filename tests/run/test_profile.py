"""``jaxlin.run.profile``: matrix-product FLOPs read from compiled HLO, and per-operation times
from a ``jax.profiler`` trace."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxlin.run.profile import dot_flops, format_profile, profile


def compiled(f, *args):
    return jax.jit(f).lower(*args).compile()


def test_a_products_flops_are_two_m_k_n_whether_fused_or_batched():
    a, b = jnp.ones((64, 96)), jnp.ones((96, 40))
    for f in (lambda a, b: a @ b, lambda a, b: jax.nn.relu(a @ b + 1.0)):
        flops, _ = dot_flops(compiled(f, a, b).as_text())
        assert max(flops.values()) == 2 * 64 * 96 * 40
    batched = jnp.ones((3, 64, 96)), jnp.ones((3, 96, 40))
    flops, _ = dot_flops(compiled(lambda a, b: jnp.einsum("bmk,bkn->bmn", a, b), *batched).as_text())
    assert max(flops.values()) == 3 * 2 * 64 * 96 * 40
    flops, _ = dot_flops(compiled(lambda a: jnp.tanh(a) * 2.0, a).as_text())
    assert not any(flops.values())                                   # no product, no FLOPs


def test_the_profile_counts_every_run_of_a_loops_product():
    """20 steps of x ← tanh(x W): one product per step, 2·256³ FLOPs each, most of the time."""
    def loop(x, w):
        return jax.lax.fori_loop(0, 20, lambda i, x: jnp.tanh(x @ w), x)

    x, w = jnp.ones((256, 256)), jnp.eye(256) * 0.5
    c = compiled(loop, x, w)
    jax.block_until_ready(c(x, w))
    p = profile(lambda: c(x, w), c.as_text())
    assert p.matmul_flops == 20 * 2 * 256 ** 3
    product, = [op for op in p.ops if op.flops]
    assert product.calls == 20 and product.seconds > 0
    assert 0 < p.matmul_seconds <= p.op_seconds and p.wall_seconds > 0
    assert all(op.calls >= 1 for op in p.ops)
    s = p.summary(peak_gflops=100.0)
    assert s["matmul_gflop_per_s"] == p.matmul_flops / p.matmul_seconds / 1e9
    assert s["matmul_fraction_of_peak"] == s["matmul_gflop_per_s"] / 100.0
    text = format_profile("loop", p, 100.0)
    assert product.name in text and "matrix products:" in text
