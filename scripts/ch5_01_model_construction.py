# %% [markdown]
# # 5.1 Layers and blocks
#
# A block is anything that maps inputs to outputs and owns some parameters: a layer, several
# layers, a whole model. In Flax NNX a block is an `nnx.Module`, an object that holds its arrays;
# it is built with explicit input sizes and an `nnx.Rngs` for their initial values, and
# `net(X)` runs it eagerly, as in the book. `nnx.split` turns the same block into a graph
# definition plus a state (a pytree), so it also runs as one pure function under `jax.jit`.
#
# As a script: `python scripts/ch5_01_model_construction.py [--seed S] [--out DIR]`; in a notebook
# the flags take their defaults (or the words of `$JAXLIN_ARGS`).


# %% [markdown]
# The set-up: this section has no settings of its own, only the seed. The book's input is
# `torch.rand(2, 20)`; here a uniform draw from its own key, and one more key per block built
# below (each `nnx.Rngs(key)` seeds a block's initial weights).

# %%
from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from jaxlin.chapters.ch5_01_model_construction import Constant, halve_until_small
from jaxlin.chapters.ch5_02_parameters import named_parameters
from jaxlin.run.session import record, setup

(seed,) = setup("ch5_01_model_construction", "5.1 Layers and blocks")
key_X, key_net = jax.random.split(jax.random.key(seed))
X = jax.random.uniform(key_X, (2, 20))
keys = jax.random.split(key_net, 6)
rngs = [nnx.Rngs(k) for k in keys]


# %% [markdown]
# ## Running a block, eagerly and compiled
#
# `run_block` calls a block on `X` and lists its variables by path; those that are not an
# `nnx.Param` are constants, never trained. `jitted` splits the block into graph and state once and
# merges them back inside `jax.jit`: each section checks that the compiled output equals the eager one.


# %%
def jitted(model: nnx.Module) -> Callable[[jax.Array], jax.Array]:
    """``model`` as one compiled function of X: its state is split off once and merged back
    inside ``jax.jit`` (the functional form that train steps use)."""
    graphdef, state = nnx.split(model)
    forward = jax.jit(lambda state, X: nnx.merge(graphdef, state)(X))
    return lambda X: forward(state, X)


def run_block(name: str, model: nnx.Module, X: jax.Array) -> dict:
    """Call ``model`` on ``X``; print and return the output and the variables' shapes."""
    Y = model(X)
    print(f"\n# {name}\noutput shape {Y.shape}:\n{Y}")
    params = named_parameters(model)
    others = named_parameters(nnx.to_pure_dict(nnx.state(model, nnx.Not(nnx.Param))))
    for path, shape in params:
        print(f"  {path}: {shape}")
    for path, shape in others:
        print(f"  {path}: {shape}  (not an nnx.Param: never trained)")
    return {"output": Y, "output_shape": list(Y.shape),
            "params": {path: list(shape) for path, shape in params},
            "constants": {path: list(shape) for path, shape in others},
            "jit_matches_eager": bool(jnp.allclose(jitted(model)(X), Y, rtol=1e-6, atol=1e-6))}


# %% [markdown]
# ## A sequential network
#
# The book's opening example: $\mathbf{Y} = \mathrm{ReLU}(\mathbf{X}\mathbf{W}_1 + \mathbf{b}_1)\mathbf{W}_2
# + \mathbf{b}_2$ with 20 inputs, 256 hidden units and 10 outputs, written as `nnx.Sequential`.
# Expect a (2, 10) output and four parameters: two kernels and two biases.


# %%
sequential = run_block("nnx.Sequential(Linear(20, 256), relu, Linear(256, 10))", nnx.Sequential(
    nnx.Linear(20, 256, rngs=rngs[0]), nnx.relu, nnx.Linear(256, 10, rngs=rngs[0])), X)


# %% [markdown]
# ## A custom block (5.1.1)
#
# The same network as a class. The book's `MLP(nn.Module)` creates its layers in `__init__` and
# computes in `forward`; an `nnx.Module` does the same in `__init__` and `__call__`. NNX builds
# the arrays at once, so each `nnx.Linear` is told its input size and gets the `rngs` that draw
# its initial weights (the book's layers draw from PyTorch's global generator). The parameters
# are named after the attributes that hold them (`hidden/kernel`, `out/bias`, ...): expect a
# (2, 10) output and those four.


# %%
class MLP(nnx.Module):
    def __init__(self, num_inputs=20, num_hiddens=256, num_outputs=10, *, rngs):
        self.hidden = nnx.Linear(num_inputs, num_hiddens, rngs=rngs)
        self.out = nnx.Linear(num_hiddens, num_outputs, rngs=rngs)

    def __call__(self, X):
        return self.out(nnx.relu(self.hidden(X)))


mlp = run_block("MLP", MLP(rngs=rngs[1]), X)


# %% [markdown]
# ## The sequential block (5.1.2)
#
# `MySequential` is the book's hand-written `Sequential`: it keeps its blocks in order and feeds each
# one's output to the next. The book stores them in `self._modules`, PyTorch's registry of
# children; NNX's is an `nnx.List` attribute (a plain `list` of modules is refused, rather than
# losing their parameters silently), so the blocks' Params are part of this module's state.
# Same shapes as `nnx.Sequential` above, parameters under `blocks/0/...` and `blocks/2/...`.


# %%
class MySequential(nnx.Module):
    def __init__(self, *blocks):
        self.blocks = nnx.List(blocks)

    def __call__(self, X):
        for block in self.blocks:
            X = block(X)
        return X


my_sequential = run_block("MySequential(Linear(20, 256), relu, Linear(256, 10))", MySequential(
    nnx.Linear(20, 256, rngs=rngs[2]), nnx.relu, nnx.Linear(256, 10, rngs=rngs[2])), X)


# %% [markdown]
# ## Executing code in the forward pass (5.1.3)
#
# `FixedHiddenMLP` computes $\mathbf{H} = \mathrm{ReLU}(\mathrm{linear}(\mathbf{X})\,\mathbf{R} + 1)$ with a
# random but fixed $\mathbf{R}$, applies the *same* linear layer again (one set of parameters, used
# twice), halves the result while $\sum|\cdot| > 1$ and returns its sum, so $|y| \le 1$. The book
# keeps $\mathbf{R}$ out of training with `requires_grad=False`; NNX trains `nnx.Param`s only, so
# `rand_weight` is a `Constant` (jaxlin's `nnx.Variable` that is not a Param: saved with the model,
# never differentiated). The book's `while` loop is plain Python and needs a concrete truth value,
# which it has when the block is called eagerly (`eager=True`) but not under `jax.jit`; the default
# counts the same halvings with `lax.while_loop` (`halve_until_small`), so the block compiles.


# %%
class FixedHiddenMLP(nnx.Module):
    def __init__(self, features=20, *, eager=False, rngs):
        self.rand_weight = Constant(jax.random.uniform(rngs.params(), (features, features)))
        self.linear = nnx.Linear(features, features, rngs=rngs)
        self.eager = eager

    def __call__(self, X):
        X = self.linear(X)
        X = nnx.relu(X @ self.rand_weight[...] + 1)
        X = self.linear(X)                 # the same layer again: its parameters are shared
        if not self.eager:
            return halve_until_small(X).sum()
        while jnp.abs(X).sum() > 1:        # the book's loop
            X = X / 2
        return X.sum()


fixed_hidden_mlp = run_block("FixedHiddenMLP (rand_weight is a Constant, not a Param)",
                             FixedHiddenMLP(rngs=rngs[3]), X)

# %% [markdown]
# Blocks nest and mix. The book's `NestMLP` holds a Sequential of two Linear-ReLU pairs and a
# last Linear (20 → 64 → 32 → 16); the chimera chains `NestMLP`, a `Linear(16, 20)` and a
# `FixedHiddenMLP` in one Sequential, so it maps X to a scalar. Expect a (2, 16) output from
# `NestMLP`, a scalar from the chimera, and the FixedHiddenMLP's output within $[-1, 1]$.


# %%
class NestMLP(nnx.Module):
    def __init__(self, num_inputs=20, *, rngs):
        self.net = nnx.Sequential(nnx.Linear(num_inputs, 64, rngs=rngs), nnx.relu,
                                  nnx.Linear(64, 32, rngs=rngs), nnx.relu)
        self.linear = nnx.Linear(32, 16, rngs=rngs)

    def __call__(self, X):
        return self.linear(self.net(X))


def chimera(num_inputs=20, *, rngs):
    return nnx.Sequential(NestMLP(num_inputs, rngs=rngs), nnx.Linear(16, 20, rngs=rngs),
                          FixedHiddenMLP(20, rngs=rngs))


nest_mlp = run_block("NestMLP", NestMLP(rngs=rngs[4]), X)
chimera_block = run_block("chimera: Sequential(NestMLP, Linear(16, 20), FixedHiddenMLP)",
                          chimera(rngs=rngs[5]), X)
fixed_out = fixed_hidden_mlp["output"]
print(f"\nFixedHiddenMLP output {float(fixed_out):.6f}: |output| <= 1 is {bool(jnp.abs(fixed_out) <= 1)}")


# %% [markdown]
# ## A Python loop, eagerly and under `jit`
#
# The book's `while X.abs().sum() > 1` is plain Python: fine when the block runs eagerly, refused under
# `jax.jit`, where $\sum|X|$ is a tracer with no concrete truth value. The default (`eager=False`) uses
# `lax.while_loop` and gives the same number; look for the `TracerBoolConversionError` line.


# %%
def eager_versus_jit(key: jax.Array, X: jax.Array, fixed_out: jax.Array) -> dict:
    """The book's Python ``while`` inside FixedHiddenMLP: fine when called eagerly, refused under
    jit, where the exact ``lax.while_loop`` version computes the same number."""
    book = FixedHiddenMLP(eager=True, rngs=nnx.Rngs(key))   # same key: the same weights
    book_out = book(X)
    print(f"\nFixedHiddenMLP with the book's Python loop, called eagerly: {float(book_out):.6f}"
          f" (the lax.while_loop version gives {float(fixed_out):.6f})")
    try:
        jitted(book)(X)
        refused = False
    except jax.errors.TracerBoolConversionError:
        refused = True
        print("under jax.jit the Python loop is refused: `while` needs a concrete bool, "
              "Σ|X| is a tracer (TracerBoolConversionError)")
    return {"book_loop_output": float(book_out), "book_loop_equals_lax": bool(book_out == fixed_out),
            "book_loop_refused_under_jit": refused}


eager = eager_versus_jit(keys[3], X, fixed_out)
record(sequential=sequential, mlp=mlp, my_sequential=my_sequential, fixed_hidden_mlp=fixed_hidden_mlp,
       nest_mlp=nest_mlp, chimera=chimera_block, eager_versus_jit=eager)
