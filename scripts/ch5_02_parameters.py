# %% [markdown]
# # 5.2 Parameter management
#
# How to reach, count, re-initialize and share the parameters of a Flax NNX model. As in the book,
# a parameter is an attribute of the module (`net.layers[2].kernel`, an `nnx.Param`; `[...]` gives
# its array) and can be changed in place, a change local to that Python object. The functional view
# is the params dict `nnx.to_pure_dict(nnx.state(net, nnx.Param))`, a value: `reinit` returns a new
# dict and leaves the model alone. Gradients are not stored on parameters: `nnx.grad` returns a state
# of the same structure.
#
# As a script: `python scripts/ch5_02_parameters.py [--seed S] [--out DIR]`; in a notebook the flags
# take their defaults (or the words of `$JAXLIN_ARGS`).


# %% [markdown]
# The set-up: this section has no settings beyond `--seed`. Its key is split by role, one for
# the input `X` (two rows of four uniform numbers, the book's `torch.rand(size=(2, 4))`), one
# per network (`net`, `rgnet`, the tied MLP) and one for the re-initializations, so each draw
# is the same for the same seed whatever the others do. `setup` opens the run's output folder,
# where `record` keeps the numbers (`results.json`).


# %%
import jax
import jax.numpy as jnp
from flax import nnx

from jaxlin.chapters.ch5_02_parameters import (
    first_dead_layer,
    my_init,
    named_parameters,
    num_parameters,
    reinit,
    reinit_,
    tied_mlp,
    untie,
)
from jaxlin.run import setup
from jaxlin.run.session import record

init = nnx.initializers

(seed,) = setup("ch5_02_parameters", "5.2 Parameter management")
key_X, key_net, key_rg, key_init, key_tied = jax.random.split(jax.random.key(seed), 5)
X = jax.random.uniform(key_X, (2, 4))


# %% [markdown]
# ## The networks
#
# The book's single-hidden-layer MLP, `nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))`
# (4 inputs, 8 hidden units, 1 output), and the nested `block2`: four copies of `block1`
# (Linear(4, 8), ReLU, Linear(8, 4), ReLU) in a Sequential. In NNX each `nnx.Linear` is told its
# input size and draws its weights when it is built, from the `nnx.Rngs` it is given: the key
# is explicit, so the same seed builds the same network. Nothing is printed yet.


# %%
def mlp_4_8_1(rngs: nnx.Rngs) -> nnx.Sequential:
    return nnx.Sequential(nnx.Linear(4, 8, rngs=rngs), nnx.relu, nnx.Linear(8, 1, rngs=rngs))


def block1(rngs: nnx.Rngs) -> nnx.Sequential:
    return nnx.Sequential(nnx.Linear(4, 8, rngs=rngs), nnx.relu, nnx.Linear(8, 4, rngs=rngs), nnx.relu)


def block2(rngs: nnx.Rngs) -> nnx.Sequential:
    return nnx.Sequential(*(block1(rngs) for _ in range(4)))


net = mlp_4_8_1(nnx.Rngs(key_net))


# %% [markdown]
# ## Parameter access (5.2.1)
#
# The book reads `net[2].state_dict()`, `net[2].bias`, its `.data` and its `.grad` (None before
# a backward pass), then every parameter by name with `named_parameters()`. In NNX:
# `nnx.state(net.layers[2], nnx.Param)` is the layer's parameters (a dict once made pure),
# `net.layers[2].bias` an `nnx.Param` and `bias[...]` its array. There is no `.grad`: JAX keeps
# no gradient on a parameter, `nnx.grad` returns one as a state of the same structure. The cell
# prints each of these, every parameter by path with its shape, and the count
# $4 \cdot 8 + 8 + 8 \cdot 1 + 1 = 49$.


# %%
def parameter_access(net: nnx.Sequential, X: jax.Array) -> dict:
    """5.2.1: read an nnx.Param by path, iterate over all of them, count them."""
    print("# Parameter access")
    print("net(X) =", net(X).ravel())
    # the book's net[2].state_dict()
    print("net.layers[2] params:", nnx.to_pure_dict(nnx.state(net.layers[2], nnx.Param)))
    bias = net.layers[2].bias
    print(f"net.layers[2].bias is an nnx.{type(bias).__name__}; bias[...] = {bias[...]}")
    grads = nnx.grad(lambda m: m(X).sum())(net)
    print("no .grad on parameters: nnx.grad returns a state of the same structure:",
          jax.tree.structure(grads) == jax.tree.structure(nnx.state(net, nnx.Param)))
    print("layer 0:", *named_parameters(net.layers[0]))
    for path, param in nnx.to_flat_state(nnx.state(net, nnx.Param)):  # iterating over the Params
        print(f"  {path}: {type(param).__name__} {param.shape}")
    count = num_parameters(net)
    print(f"number of parameters: {count} (4*8 + 8 + 8*1 + 1 = {4 * 8 + 8 + 8 * 1 + 1})")
    return {"named_parameters": {p: list(s) for p, s in named_parameters(net)}, "num_parameters": count}


access = parameter_access(net, X)


# %% [markdown]
# ## Collecting parameters from nested blocks (5.2.1.3)
#
# Blocks inside blocks: the paths spell the nesting (`layers/0/layers/1/layers/0/bias` is the first
# Linear of the second `block1`), 4 · 4 + 2 = 18 arrays in all. An output of exactly 0 is no bug:
# when all four ReLUs closing a `block1` are off for an input, each later Linear returns its bias,
# and NNX starts biases at zero (the book's PyTorch ones are nonzero, so it prints a bias there);
# the script says after which block.


# %%
def nested_blocks(rngs: nnx.Rngs, X: jax.Array) -> tuple[dict, list]:
    """5.2.1.3: the parameters of blocks nested in blocks, listed by path, and for each row of X
    the block1 after which it is all zeros (None if never)."""
    print("\n# Parameters of nested blocks")
    rgnet = nnx.Sequential(block2(rngs), nnx.Linear(4, 1, rngs=rngs))
    print("rgnet(X) =", rgnet(X).ravel())
    dead = first_dead_layer(rgnet.layers[0].layers, X)
    where = ", ".join(f"row {r} after rgnet.layers[0].layers[{b}]" for r, b in enumerate(dead) if b is not None)
    if where:                               # why a row prints exactly 0 (the book's prints a bias)
        print(f"  exactly 0 where all 4 ReLUs of a block1 are off ({where}): each later Linear then "
              "returns its bias, and NNX starts biases at 0 (PyTorch's are nonzero: the book prints one)")
    for path, shape in named_parameters(rgnet):
        print(f"  {path}: {shape}")
    print("rgnet.layers[0].layers[1].layers[0].bias =", rgnet.layers[0].layers[1].layers[0].bias[...],
          "(NNX's zeros init; the book's PyTorch bias is uniform)")
    return {p: list(s) for p, s in named_parameters(rgnet)}, dead


nested, rgnet_dead_rows = nested_blocks(nnx.Rngs(key_rg), X)


# %% [markdown]
# ## Built-in initialization (5.2.2.1)
#
# The book writes `init_normal(m)` with `nn.init.normal_(m.weight, mean=0, std=0.01)` and calls
# `net.apply(init_normal)`; likewise the constant 1, then Xavier on `net[0]` and 42 on `net[2]`
# only. In JAX an initializer is a pure function `(key, shape, dtype) -> array`
# (`nnx.initializers.normal(0.01)`), so `reinit_` takes a key for each redraw and writes the new
# arrays into the model's `nnx.Param`s in place, as the book does. Look at `W[:, 0]` after each
# step (the book's `net[0].weight.data[0]`, its first row, since PyTorch stores the transpose);
# an initializer can also be given at construction (`kernel_init=`).


# %%
def builtin_initialization(keys: jax.Array, net: nnx.Sequential) -> dict:
    """5.2.2.1: normal(0.01), constant(1), then Xavier and constant(42) on one layer each, in place."""
    print("\n# Built-in initialization, in place (the NNX way)")
    W0, W2 = net.layers[0].kernel, net.layers[2].kernel
    reinit_(net, keys[0], init.normal(0.01), init.zeros)
    print("normal(0.01): W[:, 0] =", W0[:, 0], " b[0] =", net.layers[0].bias[0])
    checks = {"normal_std": float(W0[...].std()), "bias_zero": bool((net.layers[0].bias[...] == 0).all())}
    reinit_(net, keys[1], init.constant(1), init.zeros)
    print("constant(1):  W[:, 0] =", W0[:, 0], " b[0] =", net.layers[0].bias[0])
    checks["constant_one"] = bool((W0[...] == 1).all())
    reinit_(net, keys[2], init.xavier_uniform(), layers={"layers/0"})
    reinit_(net, keys[3], init.constant(42), layers={"layers/2"})
    print("xavier_uniform on layers/0: W[:, 0] =", W0[:, 0])
    print("constant(42) on layers/2 only: W[:, 0] =", W2[:, 0])
    checks["constant_42_only_layers_2"] = bool((W2[...] == 42).all() and not (W0[...] == 42).any())
    at_construction = nnx.Linear(4, 8, kernel_init=init.normal(0.01), bias_init=init.zeros,
                                 rngs=nnx.Rngs(keys[4])).kernel[...]
    print("or at construction: nnx.Linear(4, 8, kernel_init=normal(0.01)): "
          f"std {float(at_construction.std()):.4f}")
    return checks


keys = jax.random.split(key_init, 8)
builtin = builtin_initialization(keys, net)


# %% [markdown]
# ## The same on the params dict
#
# The pure way: `reinit(key, params, ...)` returns a new dict and mutates nothing, neither the model
# nor the old dict, until `nnx.update(net, new)` writes it back. Both lines should print `True`.


# %%
def pure_reinit(key: jax.Array, net: nnx.Sequential) -> dict:
    """The same on the params dict: ``reinit`` returns a new dict; the module and the old dict keep
    their values until the new dict is written back with ``nnx.update``."""
    print("\n# The pure-pytree way: a new params dict, nothing mutated")
    params = nnx.to_pure_dict(nnx.state(net, nnx.Param))
    before = params["layers"][0]["kernel"]
    normal = reinit(key, params, init.normal(0.01), layers={"layers/0"})
    unchanged = bool((net.layers[0].kernel[...] == before).all()
                     and (params["layers"][0]["kernel"] == before).all())
    print("reinit(key, params, normal(0.01)) leaves the model and params unchanged:", unchanged)
    nnx.update(net, normal)                                  # written back: now the model changes
    written = bool((net.layers[0].kernel[...] == normal["layers"][0]["kernel"]).all())
    print("after nnx.update(net, ...) the model holds the new values:", written)
    return {"pure_reinit_leaves_model": unchanged, "update_writes_back": written}


pure = pure_reinit(keys[7], net)


# %% [markdown]
# ## Custom initialization (5.2.2.2)
#
# The book's `my_init`: $w \sim U(-10, 10)$, then zeroed where $|w| < 5$ (`m.weight.data *=
# m.weight.data.abs() >= 5`), so every weight is 0 or at least 5 in size. Here `my_init` is an
# initializer like the built-in ones, `(key, shape, dtype) -> array`, so it also serves as a
# `kernel_init`. The cell prints each kernel's name and shape as the book's `Init` lines, the
# first two rows, then the book's in-place edits `+= 1` and `[0, 0] = 42` on the first kernel
# (an `nnx.Param` can be written to like the book's `.data`).


# %%
def custom_initialization(keys: jax.Array, net: nnx.Sequential) -> dict:
    """5.2.2.2: my_init on every Linear, then the book's ``+= 1`` and ``[0, 0] = 42``, in place."""
    print("\n# Custom initialization: U(-10, 10), zeroing |w| < 5")
    for path, shape in named_parameters(net):
        if path.endswith("kernel"):
            print("Init", path, shape)
    reinit_(net, keys[5], my_init)
    print("W[:2] =\n", net.layers[0].kernel[:2])
    W2 = net.layers[2].kernel[...]
    net.layers[0].kernel[...] += 1
    net.layers[0].kernel[0, 0] = 42
    print("after += 1 and [0, 0] = 42: W[0] =", net.layers[0].kernel[0])
    at_construction = nnx.Linear(4, 8, kernel_init=my_init, rngs=nnx.Rngs(keys[6])).kernel[...]
    print("nnx.Linear(4, 8, kernel_init=my_init): zero or |w| >= 5 everywhere:",
          bool(((at_construction == 0) | (jnp.abs(at_construction) >= 5)).all()))
    return {"custom_zero_or_large": bool(((W2 == 0) | (jnp.abs(W2) >= 5)).all()),
            "custom_W00": float(net.layers[0].kernel[0, 0])}


custom = custom_initialization(keys, net)


# %% [markdown]
# ## Tied parameters (5.2.3)
#
# One `nnx.Linear(8, 8)` used at two places is one object: the state keeps it once, an edit through
# one place shows at the other, and its gradient is the sum over both uses,
# $\partial L / \partial W = \sum_{\text{uses}} \partial L / \partial W_{\text{use}}$. The book states
# the sum; here we check it. `untie` copies the network with the same values in both places as
# two independent layers; `nnx.grad` of $L = \sum \text{net}(X)$ on the tied network, against the
# sum of the untied copy's gradients at its layers 2 and 4, differs only by float rounding.


# %%
def tied_gradient_difference(tied: nnx.Sequential, X: jax.Array) -> float:
    """Max |difference| between the shared layer's gradient and the sum of the gradients of its
    two uses, computed on an untied copy of the network holding the same values in both places."""
    def loss(m: nnx.Module) -> jax.Array:
        return m(X).sum()

    g_tied = nnx.to_pure_dict(nnx.grad(loss)(tied))["layers"][2]
    g_untied = nnx.to_pure_dict(nnx.grad(loss)(untie(tied)))["layers"]
    summed = jax.tree.map(jnp.add, g_untied[2], g_untied[4])
    return max(float(jnp.abs(a - b).max()) for a, b in zip(jax.tree.leaves(g_tied), jax.tree.leaves(summed)))


# %% [markdown]
# The book's `shared` layer: `tied_mlp` builds Linear(4, 8), ReLU, the shared Linear(8, 8),
# ReLU, the same layer again, ReLU, Linear(8, 1). The cell prints `True` for
# `tied.layers[2] is tied.layers[4]`, the three layers the state holds, the edited entry equal
# at both places (the book's `net[2].weight.data[0, 0] = 100`), the count
# $(4 \cdot 8 + 8) + (8 \cdot 8 + 8) + (8 + 1) = 121$ and `True` for the gradient sum.


# %%
def tied_parameters(rngs: nnx.Rngs, X: jax.Array) -> dict:
    """5.2.3: one nnx.Linear used at two places is one object, kept once in the state; its gradient
    sums both uses."""
    print("\n# Tied parameters: one nnx.Linear(8, 8) used at two places")
    tied = tied_mlp(rngs=rngs)
    same = tied.layers[2] is tied.layers[4]
    print("tied.layers[2] is tied.layers[4]:", same)
    layers = sorted({path.rsplit("/", 1)[0] for path, _ in named_parameters(tied)})
    print("layers in nnx.state(tied, nnx.Param):", layers, "(the graph keeps the shared one once)")
    tied.layers[2].kernel[0, 0] = 100                       # the book's net[2].weight.data[0, 0] = 100
    print("after layers[2].kernel[0, 0] = 100, layers[4].kernel[0] == layers[2].kernel[0]:",
          tied.layers[4].kernel[0] == tied.layers[2].kernel[0])
    count = num_parameters(tied)
    print(f"number of parameters: {count} "
          f"((4*8 + 8) + (8*8 + 8) + (8 + 1) = {(4 * 8 + 8) + (8 * 8 + 8) + 9})")
    max_diff = tied_gradient_difference(tied, X)
    tied_ok = max_diff <= 1e-6
    print(f"grad of the shared layer == sum over its two uses: {tied_ok} (max difference {max_diff:.2e})")
    return {"same_object": same, "layers": layers, "num_parameters": count,
            "grad_is_sum_of_uses": tied_ok, "max_diff": max_diff}


tied = tied_parameters(nnx.Rngs(key_tied), X)


# %% [markdown]
# ## Results
#
# What this section found, kept in the run's `results.json` by `record`: the parameters by
# path and their count (49), the 18 nested arrays of `rgnet` and where its rows die, the
# initialization checks (std near 0.01, zero biases, the constants 1 and 42, `my_init`'s zero
# or large weights, the pure `reinit` leaving the model alone) and the tied network's checks.


# %%
record(**access, nested_parameters=nested, rgnet_dead_rows=rgnet_dead_rows, init=builtin | pure | custom,
       tied=tied)
