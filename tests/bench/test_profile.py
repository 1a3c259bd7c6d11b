"""``jaxlin.bench.profile``: matrix-product FLOPs read from compiled HLO, and per-operation times
from a ``jax.profiler`` trace."""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import pytest

from jaxlin import init_mlp, mlp, sgd, softmax_cross_entropy
from jaxlin.bench.profile import dot_flops, format_profile, profile
from jaxlin.train.step import make_train_step


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


# A module as XLA:CPU prints it, cut down: a fusion that holds a product, a nested fusion,
# a multi-output (tuple) fusion and a batched product in the entry computation.
HLO = """\
HloModule m, entry_computation_layout={(f32[8,16]{1,0}, f32[16,4]{1,0})->f32[8,4]{1,0}}

%inner (p0: f32[8,16], p1: f32[16,4]) -> f32[8,4] {
  %p0 = f32[8,16]{1,0} parameter(0)
  %p1 = f32[16,4]{1,0} parameter(1)
  ROOT %dot.1 = f32[8,4]{1,0} dot(%p0, %p1), lhs_contracting_dims={1}, rhs_contracting_dims={0}
}

%outer (q0: f32[8,16], q1: f32[16,4]) -> f32[8,4] {
  %q0 = f32[8,16]{1,0} parameter(0)
  %q1 = f32[16,4]{1,0} parameter(1)
  %nested = f32[8,4]{1,0} fusion(%q0, %q1), kind=kCustom, calls=%inner
  ROOT %tanh.1 = f32[8,4]{1,0} tanh(%nested)
}

%pair (r0: f32[8,16]) -> (f32[8,16], f32[8,16]) {
  %r0 = f32[8,16]{1,0} parameter(0)
  %neg.1 = f32[8,16]{1,0} negate(%r0)
  ROOT %tuple.1 = (f32[8,16]{1,0}, f32[8,16]{1,0}) tuple(%r0, %neg.1)
}

ENTRY %main (a: f32[8,16], b: f32[16,4], c: f32[3,8,16], d: f32[3,16,5]) -> f32[8,4] {
  %a = f32[8,16]{1,0} parameter(0)
  %b = f32[16,4]{1,0} parameter(1)
  %c = f32[3,8,16]{2,1,0} parameter(2)
  %d = f32[3,16,5]{2,1,0} parameter(3)
  %fused = f32[8,4]{1,0} fusion(%a, %b), kind=kLoop, calls=%outer
  %two = (f32[8,16]{1,0}, f32[8,16]{1,0}) fusion(%a), kind=kLoop, calls=%pair
  %dot.2 = f32[3,8,5]{2,1,0} dot(%c, %d), lhs_batch_dims={0}, lhs_contracting_dims={2}, rhs_batch_dims={0}, rhs_contracting_dims={1}
  ROOT %copy.1 = f32[8,4]{1,0} copy(%fused)
}
"""


def test_flops_are_read_through_fusions_nested_fusions_and_batched_products():
    flops, opcodes = dot_flops(HLO)
    assert flops["fused"] == flops["nested"] == flops["dot.1"] == 2 * 8 * 4 * 16
    assert flops["dot.2"] == 2 * (3 * 8 * 5) * 16
    assert flops["two"] == flops["copy.1"] == flops["tanh.1"] == 0
    assert opcodes["two"] == "fusion" and opcodes["dot.2"] == "dot" and opcodes["copy.1"] == "copy"


def test_an_unreadable_product_is_refused_not_counted_as_nothing():
    broken = HLO.replace("dot(%c, %d)", "dot(%unknown, %d)")
    with pytest.raises(ValueError, match="cannot read the shapes of the product dot.2"):
        dot_flops(broken)


def test_a_train_steps_products_are_nearly_all_of_xlas_flop_count():
    """XLA's count adds the elementwise work to the products: for an MLP step the products are
    within 1 % of it and never above it."""
    params = init_mlp(jax.random.key(0), 784, 256, 10, sigma=0.01)
    X, y = jnp.ones((256, 784)), jnp.zeros((256,), jnp.int32)
    step = make_train_step(mlp, softmax_cross_entropy, functools.partial(sgd, lr=0.1))
    c = step.lower(params, (), X, y).compile()
    jax.block_until_ready(c(params, (), X, y))
    cost = c.cost_analysis()
    xla = (cost[0] if isinstance(cost, list) else cost)["flops"]
    ours = profile(lambda: c(params, (), X, y), c.as_text(), repeats=1).matmul_flops
    assert 0.99 * xla <= ours <= xla


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
    assert p.runs == 3 and "loop (the fastest of 3 profiled), time per XLA operation" in text
