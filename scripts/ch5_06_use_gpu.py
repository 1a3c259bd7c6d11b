# %% [markdown]
# # 5.6 GPUs
#
# JAX puts every array on a device: by default the first GPU if there is one, else the CPU.
# `jax.device_put` moves or commits an array to a device, and a computation runs on the device
# its committed inputs share; inputs committed to different devices are an error, not an implicit
# copy. `try_gpu()` falls back to the CPU, so this notebook runs unchanged on either.
#
# As a script: `python scripts/ch5_06_use_gpu.py [--out DIR]`; in a notebook the flags take their defaults (or the words of `$JAXLIN_ARGS`).


# %%
import jax
import jax.numpy as jnp
from flax import nnx

from jaxlin import cpu, nnx_model, num_gpus, try_all_gpus, try_gpu
from jaxlin.run.cli import Run, make_parser

parser = make_parser("D2L 5.6 GPUs: list devices, pick one with try_gpu (the CPU when there is none), "
                     "place and move data.")
args = parser.parse_args()
run = Run(args, "ch5_06_use_gpu")
key_Y, key_net = jax.random.split(jax.random.key(args.seed))


# %% [markdown]
# ## Computing devices (5.6.1)
#
# The devices JAX sees, and the book's helpers: `try_gpu(10)` asks for a GPU that does not exist.


# %%
print("# Computing devices")
print("jax.devices() =", jax.devices(), " default backend:", jax.default_backend())
print("cpu() =", cpu(), " num_gpus() =", num_gpus())
print("try_gpu() =", try_gpu(), " try_gpu(10) =", try_gpu(10), " try_all_gpus() =", try_all_gpus())


# %% [markdown]
# ## Tensors and GPUs (5.6.2)
#
# An array's `.device`; arrays created on or copied to a device; a sum of two arrays on one
# device runs there. `device_put` to the device an array is already on makes no copy.


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
# Params placed on a device with `device_put`; the forward pass runs where they and the input live.


# %%
print("\n# Neural networks and devices")
init, net = nnx_model(lambda rngs: nnx.Linear(X.shape[1], 1, rngs=rngs))
params = jax.device_put(init(key_net), try_gpu())  # the book's net.to(device=try_gpu())
out = net(params, X)
print("net(params, X) =", out.ravel(), " on", out.device)
print("params live on", {leaf.device for leaf in jax.tree.leaves(params)})


# %% [markdown]
# ## Results


# %%
results = {"devices": [str(d) for d in jax.devices()], "num_gpus": num_gpus(),
           "try_gpu": str(try_gpu()), "try_gpu_10": str(try_gpu(10)),
           "try_all_gpus": [str(d) for d in try_all_gpus()],
           "sum_device": str(S.device), "device_put_same_device_no_copy": bool(no_copy),
           "net_output_device": str(out.device),
           "net_output_on_try_gpu": out.device == try_gpu()}
run.finish(results)
