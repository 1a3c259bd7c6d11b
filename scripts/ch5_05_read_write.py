# %% [markdown]
# # 5.5 File I/O
#
# Saving and loading, the JAX way. Arrays use NumPy's own formats, the counterpart of the book's
# `torch.save` / `torch.load`: `jnp.save` / `jnp.load` for one array, `np.savez` for a list or a dict
# of them (read back without pickle). A model's parameters, the dict
# `nnx.to_pure_dict(nnx.state(net, nnx.Param))`, go to an Orbax checkpoint directory; loaded into a
# fresh model with `nnx.update`, they reproduce its outputs bit for bit, and a checkpoint that does
# not fit the model is refused with one line.
#
# As a script: `python scripts/ch5_05_read_write.py [--seed S] [--out DIR]`; in a notebook the flags
# take their defaults (or the words of `$JAXLIN_ARGS`). The files go to the run's output folder.


# %% [markdown]
# The set-up: no settings beyond `--seed`, whose key is split by role: `key_X` draws the input,
# `key_net` the MLP to save and `key_clone` the fresh MLP that loads its parameters (other
# values until it does). `setup` opens the run's output folder: `out_path(name)` is where the
# section writes its files (the book writes them to the working folder), and `record` keeps
# the round trips (`results.json`).


# %%
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxlin.chapters.ch5_01_model_construction import MLP
from jaxlin.chapters.ch5_05_read_write import load_params, save_params
from jaxlin.run import setup
from jaxlin.run.session import out_path, record

(seed,) = setup("ch5_05_read_write", "5.5 File I/O")
key_X, key_net, key_clone = jax.random.split(jax.random.key(seed), 3)


# %% [markdown]
# ## Helpers
#
# `load_npz` reads every array of an `.npz` file by name; `same` is the round-trip test: the same
# tree structure and every leaf bit-for-bit equal, dtype included; `abstract_params_of` gives the
# shapes and dtypes Orbax restores into, traced with `nnx.eval_shape` (no array computed).


# %%
def load_npz(path) -> dict[str, jax.Array]:
    """The arrays of an ``.npz`` file by name (``arr_0``, ``arr_1``, … for a list)."""
    with jnp.load(path) as arrays:   # an NpzFile; allow_pickle is False by default
        return {name: jnp.asarray(arrays[name]) for name in arrays.files}


def same(a, b) -> bool:
    """Same structure, and every leaf bit-for-bit equal with the same dtype."""
    return (jax.tree.structure(a) == jax.tree.structure(b)
            and all(np.asarray(x).dtype == np.asarray(y).dtype and np.array_equal(x, y)
                    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b))))


def abstract_params_of(make) -> dict:
    """The Param dict of the model ``make()`` builds, as ``jax.ShapeDtypeStruct``s: the target
    Orbax restores into, traced with ``nnx.eval_shape`` (no array computed)."""
    return nnx.to_pure_dict(nnx.state(nnx.eval_shape(make), nnx.Param))


# %% [markdown]
# ## Loading and saving arrays (5.5.1)
#
# The book's `torch.save(x, 'x-file')` and `torch.load('x-file')` are `jnp.save` and `jnp.load`
# here: one array to `x-file.npy`. A list of two goes to `x-files.npz` (NumPy names them `arr_0`,
# `arr_1`), a dict to `mydict.npz` (named by its keys); both are read back without pickle. The
# cell prints `x2 = [0 1 2 3]`, then `(x2, y2)` with `y2` four zeros, then the dict; `same`
# compares each with what was written.


# %%
print("# Loading and saving arrays")
x = jnp.arange(4)
jnp.save(out_path("x-file.npy"), x)
x2 = jnp.load(out_path("x-file.npy"))
print("x2 =", x2)
round_trips = {"array": same(x, x2)}
y = jnp.zeros(4)
np.savez(out_path("x-files.npz"), x, y)
x2, y2 = load_npz(out_path("x-files.npz")).values()
print("(x2, y2) =", x2, y2)
round_trips["list"] = same([x, y], [x2, y2])
mydict = {"x": x, "y": y}
np.savez(out_path("mydict.npz"), **mydict)
mydict2 = load_npz(out_path("mydict.npz"))
print("mydict2 =", mydict2)
round_trips["dict"] = same(mydict, mydict2)


# %% [markdown]
# ## Loading and saving model parameters (5.5.2)
#
# The book saves `net.state_dict()` with `torch.save(..., 'mlp.params')`, builds a `clone =
# MLP()` and loads it with `clone.load_state_dict(torch.load('mlp.params'))`. In JAX the
# parameters are a pytree of arrays, which Orbax writes as a checkpoint *directory*,
# `mlp.params/`; restoring needs the tree's structure, shapes and dtypes up front (Orbax reads
# each array straight into its place), given here as the abstract params of a fresh MLP. A
# second MLP, built from another key, gets them through `nnx.update` (the book's
# `load_state_dict`). Then $\mathrm{clone}(\mathbf{X}) = \mathrm{net}(\mathbf{X})$ exactly: expect a
# table of `True`, and five `True` round trips.


# %%
print("\n# Loading and saving model parameters (Orbax)")
net = MLP(rngs=nnx.Rngs(key_net))
X = jax.random.normal(key_X, (2, 20))
Y = net(X)
params = nnx.to_pure_dict(nnx.state(net, nnx.Param))
# Orbax refuses to overwrite a checkpoint; this run's folder is ours to replace.
checkpoint = save_params(out_path("mlp.params"), params, force=True)
print(f"saved {checkpoint.name}/: an Orbax checkpoint directory")
clone = MLP(rngs=nnx.Rngs(key_clone))           # a fresh model, with other values
restored = load_params(checkpoint, like=abstract_params_of(lambda: MLP(rngs=nnx.Rngs(0))))
nnx.update(clone, restored)                     # the book's clone.load_state_dict(...)
Y_clone = clone(X)
print("Y_clone == Y:\n", Y_clone == Y)
round_trips["mlp_params"] = same(params, nnx.to_pure_dict(nnx.state(clone, nnx.Param)))
round_trips["mlp_outputs"] = bool((Y_clone == Y).all())
print("bit-exact round trips:", round_trips)


# %% [markdown]
# ## A checkpoint that does not fit
#
# Restoring into a model of another shape (128 hidden units) or another structure (`nnx.Sequential`,
# whose paths are `layers/0/...`, not `hidden/...`) is refused before any array is read, with a
# `ValueError` naming the checkpoint and the first difference.


# %%
print("\n# A checkpoint that does not fit the model is refused")
errors = {}
others = {"MLP(num_hiddens=128)": lambda: MLP(num_hiddens=128, rngs=nnx.Rngs(0)),
          "nnx.Sequential(Linear(20, 256), relu, Linear(256, 10))": lambda: nnx.Sequential(
              nnx.Linear(20, 256, rngs=nnx.Rngs(0)), nnx.relu, nnx.Linear(256, 10, rngs=nnx.Rngs(0)))}
for name, make in others.items():
    try:
        load_params(checkpoint, like=abstract_params_of(make))
    except ValueError as err:
        errors[name] = str(err)
        print(f"{name}: ValueError: {err}")


# %% [markdown]
# ## Results
#
# What this section found, kept in the run's `results.json` by `record`: the five round trips
# (array, list, dict, the MLP's params and its outputs), each `True`, and the two one-line
# errors of the checkpoints that do not fit, each naming `mlp.params`.


# %%
record(round_trips=round_trips, mismatch_errors=errors)
