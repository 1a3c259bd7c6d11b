"""2.5 automatic differentiation: the computation graph and gradients through control flow."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxlin.chapters.ch2_05_autograd import control_flow_f, graph_forward, graph_grads_vjp


def test_graph_forward_and_vjp_gradients():
    forward = graph_forward(2.0, 3.0, 4.0)
    assert (forward["u"], forward["z"]) == (5.0, 20.0)
    grads = {k: float(v) for k, v in graph_grads_vjp(2.0, 3.0, 4.0).items()}
    assert grads == {"x": 4.0, "y": 4.0, "w": 5.0, "u": 4.0}


@pytest.mark.parametrize("a", [0.37, -1.3, 2e-3])
def test_gradient_through_control_flow_is_f_over_a(a):
    a = jnp.float32(a)
    np.testing.assert_allclose(jax.grad(control_flow_f)(a), control_flow_f(a) / a, rtol=1e-5)


def test_control_flow_negative_branch_scales_by_100():
    assert float(jax.grad(control_flow_f)(jnp.float32(-1.0))) == 100 * 1024.0
