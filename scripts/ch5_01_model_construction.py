"""D2L 5.1 Layers and blocks: an MLP block, a hand-written Sequential, FixedHiddenMLP, NestMLP, a chimera.

A Flax module is a description; ``model.init(key, X)`` returns its variables (a
pytree: ``{"params": ...}``, plus ``{"constants": ...}`` for FixedHiddenMLP's fixed
random weight) and ``model.apply(variables, X)`` is a pure function of them, so
every block below runs under ``jax.jit`` unchanged.
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxlin import FixedHiddenMLP, MySequential, NestMLP, chimera
from jaxlin.chapters.ch5_01_model_construction import MLP
from jaxlin.chapters.ch5_02_parameters import named_parameters
from jaxlin.run.cli import Run, make_parser


def run_block(name: str, model: nn.Module, key: jax.Array, X: jax.Array) -> dict:
    """Init ``model`` on ``X``, apply it under jit, print and return the output and parameter shapes."""
    variables = model.init(key, X)
    Y = jax.jit(model.apply)(variables, X)
    print(f"\n# {name}\noutput shape {Y.shape}:\n{Y}")
    for path, shape in named_parameters(variables):
        print(f"  {path}: {shape}")
    return {"output": Y, "output_shape": list(Y.shape),
            "variables": {path: list(shape) for path, shape in named_parameters(variables)}}


def main(argv: list[str] | None = None) -> dict:
    args = make_parser(__doc__.splitlines()[0]).parse_args(argv)
    run = Run(args, __file__)
    key_X, key_net = jax.random.split(jax.random.key(args.seed))
    X = jax.random.uniform(key_X, (2, 20))  # the book's torch.rand(2, 20)

    keys = jax.random.split(key_net, 6)
    results = {
        "sequential": run_block("nn.Sequential(Dense(256), relu, Dense(10))",
                                nn.Sequential([nn.Dense(256), nn.relu, nn.Dense(10)]), keys[0], X),
        "mlp": run_block("MLP", MLP(), keys[1], X),
        "my_sequential": run_block("MySequential(Dense(256), relu, Dense(10))",
                                   MySequential([nn.Dense(256), nn.relu, nn.Dense(10)]), keys[2], X),
        "fixed_hidden_mlp": run_block("FixedHiddenMLP (rand_weight is a constant, not a param)",
                                      FixedHiddenMLP(), keys[3], X),
        "nest_mlp": run_block("NestMLP", NestMLP(), keys[4], X),
        "chimera": run_block("chimera: Sequential(NestMLP, Dense(20), FixedHiddenMLP)", chimera(), keys[5], X),
    }
    # The book's `while X.abs().sum() > 1: X /= 2` depends on a traced value, so under jit
    # it is a lax.while_loop; the result obeys the loop's exit condition:
    fixed_out = results["fixed_hidden_mlp"]["output"]
    print(f"\nFixedHiddenMLP output {float(fixed_out):.6f}: |output| <= 1 is {bool(jnp.abs(fixed_out) <= 1)}")
    run.finish(results)
    return results


if __name__ == "__main__":
    main()
