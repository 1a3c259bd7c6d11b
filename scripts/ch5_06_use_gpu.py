"""D2L 5.6 GPUs: list devices, pick one with try_gpu (the CPU when there is none), place and move data.

JAX puts every array on a device (the default: the first GPU if any, else the
CPU). ``jax.device_put`` moves or commits an array to a device, and a computation
runs on the device its committed inputs share; inputs committed to different
devices are an error rather than an implicit copy. The same script uses the GPU
on a CUDA machine with no change.
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxlin import cpu, flax_model, num_gpus, try_all_gpus, try_gpu
from jaxlin.run.cli import Run, make_parser


def main(argv: list[str] | None = None) -> dict:
    args = make_parser(__doc__.splitlines()[0]).parse_args(argv)
    run = Run(args, __file__)
    key_Y, key_net = jax.random.split(jax.random.key(args.seed))

    print("# Computing devices")
    print("jax.devices() =", jax.devices(), " default backend:", jax.default_backend())
    print("cpu() =", cpu(), " num_gpus() =", num_gpus())
    print("try_gpu() =", try_gpu(), " try_gpu(10) =", try_gpu(10), " try_all_gpus() =", try_all_gpus())

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

    print("\n# Neural networks and devices")
    init, net = flax_model(nn.Sequential([nn.Dense(1)]))
    params = jax.device_put(init(key_net, X), try_gpu())  # the book's net.to(device=try_gpu())
    out = net(params, X)
    print("net(params, X) =", out.ravel(), " on", out.device)
    print("params live on", {leaf.device for leaf in jax.tree.leaves(params)})

    results = {"devices": [str(d) for d in jax.devices()], "num_gpus": num_gpus(),
               "try_gpu": str(try_gpu()), "try_gpu_10": str(try_gpu(10)),
               "try_all_gpus": [str(d) for d in try_all_gpus()],
               "sum_device": str(S.device), "device_put_same_device_no_copy": bool(no_copy),
               "net_output_device": str(out.device),
               "net_output_on_try_gpu": out.device == try_gpu()}
    run.finish(results)
    return results


if __name__ == "__main__":
    main()
