# %% [markdown]
# # 2.5 Automatic differentiation
#
# The book marks a tensor with `requires_grad`, records the forward pass, calls `y.backward()`
# and reads the mutable `x.grad`. JAX records nothing: `jax.grad(f)` is a new function that
# traces `f` on demand and returns the gradient as a value. No grad buffer to zero, and
# "detach" is `jax.lax.stop_gradient`.
#
# As a script: `python scripts/ch2_05_autograd.py [--seed S] [--out DIR]`; in a notebook the
# flags take their defaults (or the words of `$JAXLIN_ARGS`).


# %%
import jax
import jax.numpy as jnp

from jaxlin.chapters.ch2_05_autograd import control_flow_f, graph_forward, graph_grads_vjp
from jaxlin.run.cli import Run, make_parser

parser = make_parser("D2L 2.5 Automatic differentiation: gradients as function transformations "
                     "with jax.grad and jax.vjp.")
args = parser.parse_args()
run = Run(args, "ch2_05_autograd")
key = jax.random.key(args.seed)
x = jnp.arange(4.0)


# %% [markdown]
# ## A simple example (2.5.1)
#
# $y = 2\mathbf{x}^\top\mathbf{x}$ has the gradient $\nabla_{\mathbf{x}} y = 4\mathbf{x}$; a second
# gradient is a fresh value, nothing accumulates.


# %%
def simple_example(x: jax.Array) -> dict:
    """2.5.1: the gradient of y = 2 xᵀx is 4x; a second gradient needs no zeroing first."""
    print("# A simple example: y = 2 xᵀx")
    def y(x):  # the function itself is what gets differentiated: nothing is recorded
        return 2 * jnp.dot(x, x)

    print("x =", x, " y(x) =", y(x))
    grad = jax.grad(y)(x)
    print("jax.grad(y)(x) =", grad, " == 4x:", grad == 4 * x)
    grad_sum = jax.grad(jnp.sum)(x)
    print("jax.grad(lambda x: x.sum())(x) =", grad_sum, "(a fresh value: nothing to zero first)")
    return {"grad": grad, "grad_sum": grad_sum}


results = {"x": x, **simple_example(x)}


# %% [markdown]
# ## Backward for non-scalar variables (2.5.2)
#
# For $\mathbf{y} = \mathbf{x} \odot \mathbf{x}$ the book's `y.backward(ones)` is a vector-Jacobian
# product: `jax.vjp` with $\mathbf{v} = \mathbf{1}$ gives $2\mathbf{x}$, the full Jacobian is
# $\mathrm{diag}(2\mathbf{x})$.


# %%
def square(x: jax.Array) -> jax.Array:
    """y = x * x, elementwise: a function with a non-scalar output."""
    return x * x


def non_scalar_backward(x: jax.Array) -> dict:
    """2.5.2: y = x * x: the gradient of its sum, the vjp with ones, and the full Jacobian."""
    print("\n# Backward for non-scalar variables: y = x * x")
    grad_of_sum = jax.grad(lambda x: square(x).sum())(x)
    print("grad of y.sum() =", grad_of_sum)
    y_val, pullback = jax.vjp(square, x)
    (vjp_ones,) = pullback(jnp.ones_like(y_val))
    print("vjp with v = ones (what the book's y.backward(ones) computes) =", vjp_ones)
    jacobian = jax.jacobian(square)(x)
    print("full Jacobian ∂y/∂x =\n", jacobian)
    return {"grad_of_sum_x_squared": grad_of_sum, "jacobian": jacobian}


results.update(non_scalar_backward(x))


# %% [markdown]
# ## Detaching computation (2.5.3)
#
# With $u = \mathrm{stop\_gradient}(x^2)$ held constant, $z = u x$ has $\partial z / \partial x = u$,
# while the gradient of $y = x^2$ itself stays $2x$.


# %%
def detaching(x: jax.Array) -> dict:
    """2.5.3: z = u * x with u = stop_gradient(x * x) has gradient u; y's own gradient stays 2x."""
    print("\n# Detaching computation: z = u * x with u = stop_gradient(x * x)")
    def z_of(x):
        u = jax.lax.stop_gradient(x * x)  # the book's y.detach(): a constant for differentiation
        return (u * x).sum()
    grad_detached = jax.grad(z_of)(x)
    print("jax.grad(z)(x) =", grad_detached, " == u:", grad_detached == x * x)
    grad_y_alone = jax.grad(lambda x: square(x).sum())(x)
    print("gradient of y itself is still 2x:", grad_y_alone == 2 * x)
    return {"grad_detached": grad_detached}


results.update(detaching(x))


# %% [markdown]
# ## Gradients through Python control flow (2.5.4)
#
# `f` loops and branches on its input, yet is piecewise linear in `a`, so $f'(a) = f(a)/a$:
# `jax.grad` runs the Python code on concrete values (under `jit` it would need `lax.cond`).


# %%
def control_flow(key: jax.Array) -> dict:
    """2.5.4: f is piecewise linear in a, so f'(a) = f(a)/a even through Python loops and branches."""
    print("\n# Gradients through Python control flow")
    a = jax.random.normal(key, ())
    d, grad_a = control_flow_f(a), jax.grad(control_flow_f)(a)
    control_ok = bool(jnp.allclose(grad_a, d / a, rtol=1e-6))
    print(f"a = {float(a):.6f}, f(a) = {float(d):.4f}, f'(a) = {float(grad_a):g}, "
          f"f(a)/a = {float(d / a):g}, equal: {control_ok}")
    # jax.grad runs the Python loop on concrete values; jit would need lax.while_loop/cond.
    return {"control_flow": {"a": float(a), "f_a": float(d), "grad": float(grad_a),
                             "grad_equals_f_over_a": control_ok}}


results.update(control_flow(key))


# %% [markdown]
# ## The computation graph, step by step
#
# $z = (x + y)\,w$ at $(2, 3, 4)$: the forward values, then the backward pass one `jax.vjp` at a
# time, matching `jax.grad` of the whole function: $(4, 4, 5)$.


# %%
def computation_graph() -> dict:
    """z = (x + y) · w at (2, 3, 4): forward values, the backward pass step by step, and jax.grad."""
    print("\n# The computation graph z = (x + y) · w, step by step with jax.vjp")
    forward = graph_forward(2.0, 3.0, 4.0)
    print("forward:", ", ".join(f"{k} = {v:g}" for k, v in forward.items()))
    graph_grads = graph_grads_vjp(2.0, 3.0, 4.0)
    print("backward: ∂z/∂u = w = {u:g}; ∂z/∂w = u = {w:g}; ∂z/∂x = ∂z/∂u·1 = {x:g}; ∂z/∂y = {y:g}".format(
        **{k: float(v) for k, v in graph_grads.items()}))
    whole = jax.grad(lambda x, y, w: (x + y) * w, argnums=(0, 1, 2))(2.0, 3.0, 4.0)
    print("jax.grad of the whole function agrees:", [float(g) for g in whole])
    return {"graph_forward": forward,
            "graph_grads": {k: float(graph_grads[k]) for k in ("x", "y", "w")},
            "graph_grads_jax_grad": [float(g) for g in whole]}


results.update(computation_graph())


# %%
def record_versus_transformations() -> None:
    """How the book's recorded tape differs from differentiating functions."""
    print("\n# autograd.record() versus function transformations")
    print("The book records operations inside `with autograd.record():` and replays them\n"
          "backwards. JAX differentiates a function instead: grad, vjp, jacobian and jit\n"
          "compose (jax.jit(jax.grad(f)) is one compiled gradient), and the only state is\n"
          "what the function returns.")


record_versus_transformations()


# %% [markdown]
# ## Results


# %%
run.finish(results)
