"""D2L 5.2 Parameter management: access, initialize and tie parameters held in a pytree.

The book reaches into a module (``net[2].weight.data``) and mutates it in place.
Here ``params`` is a nested dict returned by ``init``: we read it by path, and
every "assignment" builds a new tree (``reinit``, ``.at[...].set``), leaving the
old one intact. Gradients are not stored on the parameters either: ``jax.grad``
returns a tree with the same structure.
"""
from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxlin import flax_model, my_init, tied_mlp
from jaxlin.chapters.ch5_02_parameters import named_parameters, reinit
from jaxlin.run.cli import Run, make_parser

init = nn.initializers


def block1() -> nn.Sequential:
    return nn.Sequential([nn.Dense(8), nn.relu, nn.Dense(4), nn.relu])


def block2() -> nn.Sequential:
    return nn.Sequential([block1() for _ in range(4)])


def untied_mlp(num_hiddens: int = 8) -> nn.Sequential:
    """``tied_mlp`` with two separate Dense layers where it shares one (for the check)."""
    return nn.Sequential([nn.Dense(num_hiddens), nn.relu, nn.Dense(num_hiddens), nn.relu,
                          nn.Dense(num_hiddens), nn.relu, nn.Dense(1)])


def parameter_access(key: jax.Array, X: jax.Array) -> dict:
    """5.2.1: an MLP's params tree read by path; its gradient is a tree of the same structure."""
    print("# Parameter access")
    init_net, net = flax_model(nn.Sequential([nn.Dense(8), nn.relu, nn.Dense(1)]))
    params = init_net(key, X)
    print("net(params, X) =", net(params, X).ravel())
    print("params['layers_2'] =", params["layers_2"])  # the book's net[2].state_dict()
    print("params['layers_2']['bias'] =", params["layers_2"]["bias"], type(params["layers_2"]["bias"]).__name__)
    grads = jax.grad(lambda p: net(p, X).sum())(params)
    print("no .grad on parameters: jax.grad returns a tree of the same structure:",
          jax.tree.structure(grads) == jax.tree.structure(params))
    print("layer 0:", *named_parameters(params["layers_0"]))
    print("all:    ", *named_parameters(params))
    return params


def nested_blocks(key: jax.Array, X: jax.Array) -> dict:
    """5.2.1.3: the parameters of blocks nested in blocks, listed by path."""
    print("\n# Parameters of nested blocks")
    init_rg, rgnet = flax_model(nn.Sequential([block2(), nn.Dense(1)]))
    rg_params = init_rg(key, X)
    print("rgnet(params, X) =", rgnet(rg_params, X).ravel())
    for path, shape in named_parameters(rg_params):
        print(f"  {path}: {shape}")
    print("rgnet[0][1][0].bias =", rg_params["layers_0"]["layers_1"]["layers_0"]["bias"])
    return rg_params


def builtin_initialization(keys: jax.Array, params: dict) -> tuple[dict, dict, dict]:
    """5.2.2.1: new trees from normal(0.01), constant(1), and Xavier and constant(42) on one layer each."""
    print("\n# Built-in initialization (each call returns a new params tree)")
    normal = reinit(keys[0], params, init.normal(0.01), init.zeros)
    print("normal(0.01): W[:, 0] =", normal["layers_0"]["kernel"][:, 0], " b[0] =", normal["layers_0"]["bias"][0])
    constant = reinit(keys[1], params, init.constant(1), init.zeros)
    print("constant(1):  W[:, 0] =", constant["layers_0"]["kernel"][:, 0], " b[0] =", constant["layers_0"]["bias"][0])
    mixed = reinit(keys[2], params, init.xavier_uniform(), layers={"layers_0"})
    mixed = reinit(keys[3], mixed, init.constant(42), layers={"layers_2"})
    print("xavier_uniform on layers_0: W[:, 0] =", mixed["layers_0"]["kernel"][:, 0])
    print("constant(42) on layers_2 only: W[:, 0] =", mixed["layers_2"]["kernel"][:, 0])
    return normal, constant, mixed


def custom_initialization(keys: jax.Array, params: dict, X: jax.Array) -> dict:
    """5.2.2.2: the book's my_init on every kernel, then ``+= 1`` and ``[0, 0] = 42`` as new arrays."""
    print("\n# Custom initialization: U(-10, 10), zeroing |w| < 5")
    for path, shape in named_parameters(params):
        if path.endswith("kernel"):
            print("Init", path, shape)
    custom = reinit(keys[4], params, my_init)
    print("W[:2] =\n", custom["layers_0"]["kernel"][:2])
    # The book's `weight.data[:] += 1; weight.data[0, 0] = 42`, as new arrays:
    W = custom["layers_0"]["kernel"]
    W = (W + 1).at[0, 0].set(42)
    custom = {**custom, "layers_0": {**custom["layers_0"], "kernel": W}}
    print("after +1 and [0, 0] = 42: W[0] =", custom["layers_0"]["kernel"][0])
    # The same initializer at construction time, the usual Flax idiom:
    at_construction = nn.Dense(8, kernel_init=my_init).init(keys[5], X)["params"]["kernel"]
    print("nn.Dense(8, kernel_init=my_init): zero or |w| >= 5 everywhere:",
          bool(((at_construction == 0) | (jnp.abs(at_construction) >= 5)).all()))
    return custom


def initialization_checks(normal: dict, constant: dict, mixed: dict, custom: dict) -> dict:
    """What each initialization should have produced, as numbers and booleans for results.json."""
    return {
        "normal_std": float(normal["layers_0"]["kernel"].std()),
        "constant_one": bool((constant["layers_0"]["kernel"] == 1).all()),
        "bias_zero": bool((normal["layers_0"]["bias"] == 0).all()),
        "constant_42_only_layers_2": bool((mixed["layers_2"]["kernel"] == 42).all()
                                          and not (mixed["layers_0"]["kernel"] == 42).any()),
        "custom_zero_or_large": bool(((custom["layers_2"]["kernel"] == 0)
                                      | (jnp.abs(custom["layers_2"]["kernel"]) >= 5)).all()),
        "custom_W00": float(custom["layers_0"]["kernel"][0, 0]),
    }


def tied_gradient_difference(tied: Callable, tied_params: dict, X: jax.Array) -> float:
    """Max |difference| between the shared layer's gradient and the sum of the gradients of its
    two uses, computed on an untied copy of the network holding the same values in both places."""
    grad_tied = jax.grad(lambda p: tied(p, X).sum())(tied_params)["layers_2"]
    _, untied = flax_model(untied_mlp())
    untied_params = {"layers_0": tied_params["layers_0"], "layers_2": tied_params["layers_2"],
                     "layers_4": tied_params["layers_2"], "layers_6": tied_params["layers_6"]}
    grad_untied = jax.grad(lambda p: untied(p, X).sum())(untied_params)
    summed = jax.tree.map(jnp.add, grad_untied["layers_2"], grad_untied["layers_4"])
    return max(float(jnp.abs(a - b).max()) for a, b in zip(jax.tree.leaves(grad_tied), jax.tree.leaves(summed)))


def tied_parameters(key: jax.Array, X: jax.Array) -> dict:
    """5.2.3: one Dense(8) used at two places is one entry in the tree; its gradient sums both uses."""
    print("\n# Tied parameters: one Dense(8) used at two places")
    init_tied, tied = flax_model(tied_mlp())
    tied_params = init_tied(key, X)
    print("layers:", sorted(tied_params), "(layers_4 is layers_2: one entry in the tree)")
    # The book's `net[2].weight.data[0, 0] = 100` changes both uses: there is only one array.
    changed = {**tied_params, "layers_2": {**tied_params["layers_2"],
                                           "kernel": tied_params["layers_2"]["kernel"].at[0, 0].set(100)}}
    print("after setting W[0, 0] = 100 the output changes:", bool((tied(changed, X) != tied(tied_params, X)).any()))
    max_diff = tied_gradient_difference(tied, tied_params, X)
    tied_ok = max_diff <= 1e-6
    print(f"grad of the shared layer == sum over its two uses: {tied_ok} (max difference {max_diff:.2e})")
    return {"layers": sorted(tied_params), "grad_is_sum_of_uses": tied_ok, "max_diff": max_diff}


def main(argv: list[str] | None = None) -> dict:
    args = make_parser(__doc__.splitlines()[0]).parse_args(argv)
    run = Run(args, __file__)
    key_X, key_net, key_rg, key_init, key_tied = jax.random.split(jax.random.key(args.seed), 5)
    X = jax.random.uniform(key_X, (2, 4))

    params = parameter_access(key_net, X)
    results: dict = {"named_parameters": {p: list(s) for p, s in named_parameters(params)}}
    rg_params = nested_blocks(key_rg, X)
    results["nested_parameters"] = {p: list(s) for p, s in named_parameters(rg_params)}
    keys = jax.random.split(key_init, 6)
    normal, constant, mixed = builtin_initialization(keys, params)
    custom = custom_initialization(keys, params, X)
    results["init"] = initialization_checks(normal, constant, mixed, custom)
    results["tied"] = tied_parameters(key_tied, X)
    run.finish(results)
    return results


if __name__ == "__main__":
    main()
