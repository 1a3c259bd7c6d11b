# %% [markdown]
# # 5.6 GPUs
#
# JAX puts every array on a device: by default the first GPU if there is one, else the CPU.
# `jax.device_put` moves or commits an array to a device, and a computation runs on the device
# its committed inputs share; inputs committed to different devices are an error, not an implicit
# copy. `try_gpu()` falls back to the CPU, so this notebook runs unchanged on either.
#
# As a script: `python scripts/ch5_06_use_gpu.py [--out DIR]`; in a notebook the flags take their defaults (or the words of `$JAXLIN_ARGS`).


# %% [markdown]
# The set-up: no settings beyond `--seed`, whose key is split by role: `key_Y` draws the random
# `Y` of 5.6.2, `key_net` the linear layer of 5.6.3. `setup` opens the run's output folder,
# where `record` keeps which devices the arrays ended on (`results.json`).


# %%
import jax
import jax.numpy as jnp
from flax import nnx

from jaxlin import cpu, nnx_model, num_gpus, try_all_gpus, try_gpu
from jaxlin.run import setup
from jaxlin.run.session import record

(seed,) = setup("ch5_06_use_gpu", "5.6 GPUs")
key_Y, key_net = jax.random.split(jax.random.key(seed))


# %% [markdown]
# ## Computing devices (5.6.1)
#
# The book lists devices with `torch.device('cpu')`, `torch.device('cuda')` and
# `torch.cuda.device_count()`; JAX's `jax.devices()` lists what the default backend has (GPUs
# when there are any, else the CPU) and `jax.default_backend()` names it. The book's helpers,
# `cpu()`, `num_gpus()`, `try_gpu(i)` (GPU `i` if it exists, else the CPU) and `try_all_gpus()`,
# work the same here. `try_gpu(10)` asks for a GPU that does not exist, so it falls back to the
# CPU; on a machine without a GPU every line names the CPU (`cpu:0`) and `try_all_gpus()` is
# `[CpuDevice(id=0)]`.


# %%
print("# Computing devices")
print("jax.devices() =", jax.devices(), " default backend:", jax.default_backend())
print("cpu() =", cpu(), " num_gpus() =", num_gpus())
print("try_gpu() =", try_gpu(), " try_gpu(10) =", try_gpu(10), " try_all_gpus() =", try_all_gpus())


# %% [markdown]
# ## Tensors and GPUs (5.6.2)
#
# The book reads `x.device`, creates `X` on a GPU with `torch.ones(2, 3, device=try_gpu())`,
# copies it with `X.cuda(1)` and adds `Y + Z` on the device both live on. JAX has the same
# `.device`, the same `device=` argument, and `jax.device_put(X, device)` for the copy. Where
# PyTorch raises when two tensors are on different GPUs, JAX raises too for arrays *committed*
# to different devices (an array made without a device is uncommitted and follows the other).
# The book's `Z.cuda(1) is Z` becomes: `device_put` to the device an array is already on makes
# no copy, so the two share one buffer (the last line prints `True`).


# %%
print("\n# Arrays and devices")
x = jnp.array([1, 2, 3])
print("x.device =", x.device)
X = jnp.ones((2, 3), device=try_gpu())  # created directly on the chosen device
print("X =\n", X, " on", X.device)
Y = jax.device_put(jax.random.uniform(key_Y, (2, 3)), try_gpu(1))
print("Y =\n", Y, " on", Y.device)
Z = jax.device_put(X, try_gpu(1))  # the book's X.cuda(1): a copy on Y's device
print("Z = device_put(X, try_gpu(1)) on", Z.device)
S = Y + Z  # both committed to the same device: computed there
print("Y + Z =\n", S, " on", S.device)
same = jax.device_put(Z, try_gpu(1))  # the book's `Z.cuda(1) is Z`: already there, so no copy
no_copy = same.unsafe_buffer_pointer() == Z.unsafe_buffer_pointer()
print("device_put(Z, try_gpu(1)) shares Z's buffer (no copy):", no_copy)


# %% [markdown]
# ## Neural networks and GPUs (5.6.3)
#
# The book moves a model with `net.to(device=try_gpu())`. In JAX the model is a pure function and
# its parameters a pytree of arrays, so moving the model is `jax.device_put(params, try_gpu())`,
# which places every leaf. The forward pass `net(params, X)` then runs on the device its inputs
# are committed to (`X` was made there in 5.6.2): the cell prints the output, of shape (2,), and
# the one device that holds the output and every parameter.


# %%
print("\n# Neural networks and devices")
init, net = nnx_model(lambda rngs: nnx.Linear(X.shape[1], 1, rngs=rngs))
params = jax.device_put(init(key_net), try_gpu())  # the book's net.to(device=try_gpu())
out = net(params, X)
print("net(params, X) =", out.ravel(), " on", out.device)
print("params live on", {leaf.device for leaf in jax.tree.leaves(params)})


# %% [markdown]
# ## Results
#
# What this section found, kept in the run's `results.json` by `record`: the devices, what the
# book's helpers returned, the device of `Y + Z`, whether `device_put` to an array's own device
# made no copy (`True`) and whether the network's output landed on `try_gpu()` (`True`).


# %%
record(devices=[str(d) for d in jax.devices()], num_gpus=num_gpus(), try_gpu=str(try_gpu()),
       try_gpu_10=str(try_gpu(10)), try_all_gpus=[str(d) for d in try_all_gpus()],
       sum_device=str(S.device), device_put_same_device_no_copy=bool(no_copy),
       net_output_device=str(out.device), net_output_on_try_gpu=out.device == try_gpu())
