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


# %% [markdown]
# The set-up: this section's only setting is `--seed`, the key of 2.5.4's random `a` (the
# book's `torch.randn(size=())` reads a global generator; JAX takes the key explicitly, so a
# seed gives the same `a`). `x` is the book's `torch.arange(4.0)`. `setup` opens the run's
# output folder, where `record` keeps each section's gradients in `results.json`.


# %%
import jax
import jax.numpy as jnp

from jaxlin.chapters.ch2_05_autograd import control_flow_f, graph_forward, graph_grads_vjp
from jaxlin.run import setup
from jaxlin.run.session import record

(seed,) = setup("ch2_05_autograd", "2.5 Automatic differentiation")
key = jax.random.key(seed)
x = jnp.arange(4.0)


# %% [markdown]
# ## A simple example (2.5.1)
#
# The book sets `x.requires_grad_(True)`, computes $y = 2\mathbf{x}^\top\mathbf{x}$, calls
# `y.backward()` and reads `x.grad`, which equals $\nabla_{\mathbf{x}} y = 4\mathbf{x}$; before the
# next gradient (of `x.sum()`) it must call `x.grad.zero_()`, since PyTorch accumulates. In JAX
# `y` is a Python function and `jax.grad(y)` a new function returning the gradient as a value:
# nothing is recorded, nothing accumulates, so there is nothing to zero. Expect
# `[0. 4. 8. 12.]` (all `True` against `4x`), then `[1. 1. 1. 1.]`.


# %%
def y(x):  # the function itself is what gets differentiated: nothing is recorded
    return 2 * jnp.dot(x, x)


print("# A simple example: y = 2 xᵀx")
print("x =", x, " y(x) =", y(x))
grad = jax.grad(y)(x)
print("jax.grad(y)(x) =", grad, " == 4x:", grad == 4 * x)
grad_sum = jax.grad(jnp.sum)(x)
print("jax.grad(lambda x: x.sum())(x) =", grad_sum, "(a fresh value: nothing to zero first)")
record(x=x, grad=grad, grad_sum=grad_sum)


# %% [markdown]
# ## Backward for non-scalar variables (2.5.2)
#
# For a vector $\mathbf{y} = \mathbf{x} \odot \mathbf{x}$ the book calls `y.sum().backward()` (the
# same as `y.backward(torch.ones(len(x)))`): a vector-Jacobian product
# $\mathbf{v}^\top \frac{\partial \mathbf{y}}{\partial \mathbf{x}}$ with $\mathbf{v} = \mathbf{1}$. JAX names each piece:
# `jax.grad` of the sum, `jax.vjp(square, x)` returning the value and its pullback
# $\mathbf{v} \mapsto \mathbf{v}^\top J$, and `jax.jacobian` for the whole matrix. Expect $2\mathbf{x}$ =
# `[0. 2. 4. 6.]` twice, then the Jacobian $\mathrm{diag}(2\mathbf{x})$.


# %%
def square(x: jax.Array) -> jax.Array:
    """y = x * x, elementwise: a function with a non-scalar output."""
    return x * x


print("\n# Backward for non-scalar variables: y = x * x")
grad_of_sum = jax.grad(lambda x: square(x).sum())(x)
print("grad of y.sum() =", grad_of_sum)
y_val, pullback = jax.vjp(square, x)
(vjp_ones,) = pullback(jnp.ones_like(y_val))
print("vjp with v = ones (what the book's y.backward(ones) computes) =", vjp_ones)
jacobian = jax.jacobian(square)(x)
print("full Jacobian ∂y/∂x =\n", jacobian)
record(grad_of_sum_x_squared=grad_of_sum, jacobian=jacobian)


# %% [markdown]
# ## Detaching computation (2.5.3)
#
# The book computes `u = y.detach()` with $y = x^2$, then $z = u x$: with $u$ held constant,
# $\partial z / \partial x = u$, while the gradient of $y$ itself stays $2x$. JAX's `detach` is
# `jax.lax.stop_gradient`, an identity whose derivative is zero: inside the function handed to
# `jax.grad`, it marks the value that is a constant for differentiation. Expect
# `[0. 1. 4. 9.]` (equal to `u`) and `True` for $2x$.


# %%
def z_of(x):
    u = jax.lax.stop_gradient(x * x)  # the book's y.detach(): a constant for differentiation
    return (u * x).sum()


print("\n# Detaching computation: z = u * x with u = stop_gradient(x * x)")
grad_detached = jax.grad(z_of)(x)
print("jax.grad(z)(x) =", grad_detached, " == u:", grad_detached == x * x)
grad_y_alone = jax.grad(lambda x: square(x).sum())(x)
print("gradient of y itself is still 2x:", grad_y_alone == 2 * x)
record(grad_detached=grad_detached)


# %% [markdown]
# ## Gradients through Python control flow (2.5.4)
#
# The book's `f` doubles `b = 2a` in a `while` loop until $\|b\| \ge 1000$ and then branches on
# the sign of `b.sum()`; whatever path it takes, $f(a) = k a$ for some constant $k$, so
# $f'(a) = f(a)/a$. `jax.grad` runs the Python code on concrete values, so loops and branches
# work as in PyTorch (under `jit` they would need `lax.while_loop`/`lax.cond`, see the context
# managers below). `a` is drawn from the set-up's key. Expect `equal: True`.


# %%
print("\n# Gradients through Python control flow")
a = jax.random.normal(key, ())
d, grad_a = control_flow_f(a), jax.grad(control_flow_f)(a)   # Python's loop runs on concrete values
control_ok = bool(jnp.allclose(grad_a, d / a, rtol=1e-6))
print(f"a = {float(a):.6f}, f(a) = {float(d):.4f}, f'(a) = {float(grad_a):g}, "
      f"f(a)/a = {float(d / a):g}, equal: {control_ok}")
record(control_flow={"a": float(a), "f_a": float(d), "grad": float(grad_a), "grad_equals_f_over_a": control_ok})


# %% [markdown]
# ## The computation graph, step by step
#
# The book's picture of a computation graph, made runnable: $u = x + y$, $z = u\,w$ at
# $(x, y, w) = (2, 3, 4)$. The forward pass gives $u = 5$, $z = 20$; backpropagation applies the
# chain rule node by node, $\partial z/\partial w = u = 5$, $\partial z/\partial u = w = 4$ and
# $\partial z/\partial x = \partial z/\partial u \cdot \partial u/\partial x = 4$. Each step is one
# `jax.vjp` (a node's pullback), and `jax.grad` of the whole function agrees: `[4.0, 4.0, 5.0]`.


# %%
print("\n# The computation graph z = (x + y) · w, step by step with jax.vjp")
forward = graph_forward(2.0, 3.0, 4.0)
print("forward:", ", ".join(f"{k} = {v:g}" for k, v in forward.items()))
graph_grads = graph_grads_vjp(2.0, 3.0, 4.0)
print("backward: ∂z/∂u = w = {u:g}; ∂z/∂w = u = {w:g}; ∂z/∂x = ∂z/∂u·1 = {x:g}; ∂z/∂y = {y:g}".format(
    **{k: float(v) for k, v in graph_grads.items()}))
whole = jax.grad(lambda x, y, w: (x + y) * w, argnums=(0, 1, 2))(2.0, 3.0, 4.0)
print("jax.grad of the whole function agrees:", [float(g) for g in whole])
record(graph_forward=forward, graph_grads={k: float(graph_grads[k]) for k in ("x", "y", "w")},
       graph_grads_jax_grad=[float(g) for g in whole])


# %% [markdown]
# ## Context managers: `with`, and what replaces `torch.no_grad()`
#
# The book's MXNet code records the forward pass inside `with autograd.record():`, and its
# PyTorch code (3.2's `sgd`) updates the parameters inside `with torch.no_grad():` so that the
# update is not recorded. Both are Python *context managers*: `with cm as v: body` calls
# `cm.__enter__()` (its return value is bound to `v`), runs `body`, then always calls
# `cm.__exit__(exc_type, exc, traceback)` — with `None`s after a normal exit, with the
# exception if `body` raised (returning a false value lets the exception go on). It is the
# shape of "set something up, and undo it whatever happens". The tiny class below logs both
# calls; expect `['enter', 'body', 'exit']`, then `['enter', 'exit after ValueError']` and the
# `ValueError` still caught outside.


# %%
class Trace:
    """A context manager that logs when it is entered and left."""
    def __init__(self):
        self.log = []

    def __enter__(self):
        self.log.append("enter")
        return self

    def __exit__(self, exc_type, exc, traceback):
        self.log.append("exit" if exc_type is None else f"exit after {exc_type.__name__}")
        return False                        # do not swallow the exception


with Trace() as trace:
    trace.log.append("body")
print(trace.log)
try:
    with Trace() as failing:
        raise ValueError("raised in the body")
except ValueError as err:
    print(failing.log, "and the ValueError still reaches the caller:", err)
record(context_manager={"normal": trace.log, "raised": failing.log})

# %% [markdown]
# JAX has no `torch.no_grad()` because it has nothing to switch off: no operation is recorded,
# and a gradient exists only where you call `jax.grad` on a function. The book's update
# `with torch.no_grad(): w -= lr * w.grad` is, in JAX, plain arithmetic on the value
# `jax.grad` returned, $\mathbf{w} \leftarrow \mathbf{w} - \eta \nabla_{\mathbf{w}} L$, and `w` is a new
# array. What a `no_grad` block computes *inside* a function being differentiated is
# `jax.lax.stop_gradient`: the value is used, its derivative is zero. For
# $L(\mathbf{w}) = \sum_i w_i x_i$ the gradient is $\mathbf{x}$, so with $\eta = 0.1$ expect
# `w = [0. -0.1 -0.2 -0.3]`; the gradient of `stop_gradient(w ** 2).sum()` is `[0. 0. 0. 0.]`.


# %%
def linear_loss(w):
    return jnp.sum(w * x)


w, lr = jnp.zeros(4), 0.1
w = w - lr * jax.grad(linear_loss)(w)       # no context needed: nothing was recorded
print("w after one step:", w)
frozen = jax.grad(lambda w: jax.lax.stop_gradient(w ** 2).sum())(w)
print("gradient through stop_gradient:", frozen)
record(no_grad_step=w, stop_gradient_grad=frozen)

# %% [markdown]
# JAX's own context managers change how the code inside the `with` block runs, and restore the
# setting on exit. `jax.disable_jit()` runs jitted functions op by op, as plain Python on
# concrete values: useful to debug a jitted function with `print` or a debugger. 2.5.4's
# `control_flow_f` cannot be jitted, since its `while` and `if` ask for the value of a traced
# array (a `TracerBoolConversionError`); under `jax.disable_jit()` the very same
# `jax.jit(control_flow_f)` runs. Expect the error's name, then `f(a)` twice, equal.


# %%
f_jit = jax.jit(control_flow_f)                 # a is 2.5.4's, drawn from the set-up's key
try:
    f_jit(a)
except jax.errors.ConcretizationTypeError as err:
    jit_error = type(err).__name__
    print("jax.jit(control_flow_f)(a) raises", jit_error)
with jax.disable_jit():
    eager = f_jit(a)
print("under jax.disable_jit():", float(eager), "== f(a):", float(control_flow_f(a)))
record(disable_jit={"jit_error": jit_error, "eager": float(eager), "f_a": float(control_flow_f(a))})

# %% [markdown]
# `jax.default_device(device)` puts the arrays created inside the block on `device` (the book
# moves tensors with `.to(device)` or creates them with `device=`; 5.6 does this in full). And
# `jax.numpy_rank_promotion("raise")` makes an implicit broadcast between arrays of different
# *ranks*, such as (3,) + (2, 3), an error instead of a silent reshape; this project's tests
# set it for everything, since an (n,) against (n, 1) broadcast in a loss is a classic bug.
# Expect the array's device (`cpu` on a CPU-only machine), then `(2, 3)` under `"allow"` and a
# `ValueError` under `"raise"`.


# %%
with jax.default_device(jax.devices("cpu")[0]):
    on_cpu = jnp.ones(3)
platform = next(iter(on_cpu.devices())).platform
print("created under jax.default_device(cpu):", on_cpu.devices(), platform)
with jax.numpy_rank_promotion("allow"):
    allowed = (jnp.ones(3) + jnp.ones((2, 3))).shape
print('(3,) + (2, 3) under "allow":', allowed)
with jax.numpy_rank_promotion("raise"):
    try:
        jnp.ones(3) + jnp.ones((2, 3))
    except ValueError as err:
        raised = type(err).__name__
        print('under "raise":', raised, "-", str(err).split(" and ")[0])
record(default_device=platform, rank_promotion={"allow": list(allowed), "raise": raised})
