# %% [markdown]
# # 5.3 Deferred initialization
#
# The book's lazy layers name only their output size and learn their input size from the first
# batch. Flax Linen works that way: `nn.Dense(256)` holds no arrays, and `init(key, X)` traces the
# network on `X` to create each kernel as (in_features, out_features). Flax NNX makes its arrays
# when a module is built, so `nnx.Linear` must be told `in_features` (taken from the data in
# Python, if need be). In both, `jax.eval_shape` runs `init` abstractly: every shape, nothing computed.
#
# As a script: `python scripts/ch5_03_deferred_init.py [--seed S] [--out DIR]`; in a notebook the
# flags take their defaults (or the words of `$JAXLIN_ARGS`).


# %% [markdown]
# The set-up: no settings beyond `--seed`, whose key is split by role: `key_X` draws the book's
# input `X` (two examples of 20 features, `torch.rand(2, 20)`), `key_net` initializes the
# networks. `setup` opens the run's output folder, where `record` keeps the shapes
# (`results.json`).


# %%
import flax.linen as nn
import jax
from flax import nnx

from jaxlin import nnx_model
from jaxlin.chapters.ch5_02_parameters import named_parameters
from jaxlin.chapters.ch5_03_deferred_init import abstract_params, infer_shapes
from jaxlin.run import setup
from jaxlin.run.session import record

(seed,) = setup("ch5_03_deferred_init", "5.3 Deferred initialization")
key_X, key_net = jax.random.split(jax.random.key(seed))
X = jax.random.uniform(key_X, (2, 20))


# %% [markdown]
# ## Instantiating a network (5.3.1): Linen defers
#
# Before `init` the Linen network has no parameters at all. Its shapes come from an input: an abstract
# (2, 20) one through `jax.eval_shape`, or real data; the first kernel is (20, 256), and the same
# declaration on 30 features gives (30, 256).


# %%
def linen_deferred(key: jax.Array, X: jax.Array) -> dict:
    """Linen: the shapes come from the data at ``init`` (or from an abstract input)."""
    net = nn.Sequential([nn.Dense(256), nn.relu, nn.Dense(10)])
    print("# Linen: nn.Sequential([nn.Dense(256), nn.relu, nn.Dense(10)]), no input sizes")
    try:
        _ = net.variables
    except ValueError as err:  # an unbound module has no variables to show
        print(f"\nparameters before init: none (net.variables raises: {err})")

    print("\n# Linen: jax.eval_shape of init on an abstract (2, 20) input: shapes only")
    abstract = infer_shapes(net, key, X.shape)  # jax.eval_shape(net.init, key, ShapeDtypeStruct)
    for path, leaf in jax.tree_util.tree_flatten_with_path(abstract)[0]:
        print(f"  {jax.tree_util.keystr(path)}: {leaf}")

    print(f"\n# Linen: init on real data X of shape {X.shape}")
    shapes = {path: list(shape) for path, shape in named_parameters(net.init(key, X))}
    for path, shape in shapes.items():
        print(f"  {path}: {tuple(shape)}")
    shapes_30 = {path: list(shape) for path, shape in named_parameters(infer_shapes(net, key, (2, 30)))}
    print("the same declaration on (2, 30) inputs: params/layers_0/kernel",
          tuple(shapes_30["params/layers_0/kernel"]))
    return {"shapes": shapes, "shapes_for_30_inputs": shapes_30,
            "abstract_matches_init": shapes == {p: list(s) for p, s in named_parameters(abstract)}}


linen = linen_deferred(key_net, X)


# %% [markdown]
# ## NNX declares its sizes
#
# `nnx.Linear` without `in_features` is a `TypeError`: there is nothing to defer, its arrays are made
# at once. Reading the size off the data (`X.shape[-1]`) gives the same network, and `jax.eval_shape`
# of the functional `init(key)` lists its shapes before anything is computed.


# %%
def mlp(num_inputs: int, rngs: nnx.Rngs) -> nnx.Sequential:
    return nnx.Sequential(nnx.Linear(num_inputs, 256, rngs=rngs), nnx.relu, nnx.Linear(256, 10, rngs=rngs))


def nnx_explicit(key: jax.Array, X: jax.Array) -> dict:
    """NNX: no deferral; the input size is an argument, so shapes are known before any data."""
    print("\n# NNX: nnx.Linear must be told its input size")
    try:
        nnx.Linear(out_features=256, rngs=nnx.Rngs(0))
        error = ""
    except TypeError as err:  # its arrays are made now, so there is nothing to defer
        error = str(err)
        print(f"nnx.Linear(out_features=256, rngs=...) raises TypeError: {error}")
    init, net = nnx_model(lambda rngs: mlp(X.shape[-1], rngs))   # in_features taken from the data
    print("\n# NNX: jax.eval_shape of the functional init(key): shapes, nothing computed")
    abstract = abstract_params(init, key)
    for path, leaf in jax.tree_util.tree_flatten_with_path(abstract)[0]:
        print(f"  {jax.tree_util.keystr(path)}: {leaf}")
    shapes = {path: list(shape) for path, shape in named_parameters(abstract)}
    params = init(key)
    print("net(params, X) output shape:", net(params, X).shape)
    return {"nnx_shapes": shapes, "nnx_needs_in_features": error,
            "nnx_abstract_matches_init": shapes == {p: list(s) for p, s in named_parameters(params)}}


explicit = nnx_explicit(key_net, X)


# %% [markdown]
# ## The same shapes either way
#
# Linen's inferred `params/layers_i/...` and NNX's declared `layers/i/...` kernels and biases agree for
# both Linear layers ($i = 0, 2$): deferral changes when the sizes are known, not what they are.


# %%
same = all(linen["shapes"][f"params/layers_{i}/{name}"] == explicit["nnx_shapes"][f"layers/{i}/{name}"]
           for i in (0, 2) for name in ("kernel", "bias"))
print("\nLinen's inferred shapes equal NNX's declared ones:", same)


# %% [markdown]
# ## Results
#
# What this section found, kept in the run's `results.json` by `record`: Linen's shapes inferred
# from a (2, 20) input (first kernel (20, 256)) and from 30 features ((30, 256)), NNX's declared
# shapes and its `TypeError` without `in_features`, whether each abstract `eval_shape` matches
# the real `init`, and whether the two libraries' shapes agree (`True`).


# %%
record(**linen, **explicit, same_shapes=same)
