"""D2L 5.4 Custom layers: CenteredLayer without parameters, MyDense with its own weight and bias.

A custom layer is a Linen module: ``self.param(name, initializer, shape)``
declares a parameter, which ``init`` creates from the key and ``apply`` reads
from the params tree passed in; a layer that declares none has an empty tree.
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxlin import CenteredLayer, MyDense, flax_model
from jaxlin.chapters.ch5_02_parameters import named_parameters
from jaxlin.run.cli import Run, make_parser


def main(argv: list[str] | None = None) -> dict:
    args = make_parser(__doc__.splitlines()[0]).parse_args(argv)
    run = Run(args, __file__)
    keys = jax.random.split(jax.random.key(args.seed), 6)

    print("# Layers without parameters")
    layer = CenteredLayer()
    centered_example = layer.apply({}, jnp.array([1.0, 2, 3, 4, 5]))
    print("CenteredLayer()([1, 2, 3, 4, 5]) =", centered_example)
    init, net = flax_model(nn.Sequential([nn.Dense(128), CenteredLayer()]))
    X = jax.random.uniform(keys[0], (4, 8))
    Y = jax.jit(net)(init(keys[1], X), X)
    print("Dense(128) -> CenteredLayer on random X: Y.mean() =", Y.mean())

    print("\n# Layers with parameters")
    init_dense, dense = flax_model(MyDense(units=3, in_units=5))
    dense_params = init_dense(keys[2], jnp.zeros((1, 5)))
    print("MyDense(3, in_units=5) parameters:", *named_parameters(dense_params))
    print("weight =\n", dense_params["weight"])
    out_dense = dense(dense_params, jax.random.uniform(keys[3], (2, 5)))
    print("MyDense(3, 5)(rand(2, 5)) =\n", out_dense)
    init_mine, mine = flax_model(nn.Sequential([MyDense(8, in_units=64), MyDense(1, in_units=8)]))
    X64 = jax.random.uniform(keys[4], (2, 64))
    mine_params = init_mine(keys[5], X64)
    out_mine = jax.jit(mine)(mine_params, X64)
    print("MyDense(8, 64) -> MyDense(1, 8) on rand(2, 64) =", out_mine.ravel())
    print("parameters:", *named_parameters(mine_params))

    results = {"centered_example": centered_example, "centered_mean": float(Y.mean()),
               "my_dense_parameters": {p: list(s) for p, s in named_parameters(dense_params)},
               "my_dense_output": out_dense, "nested_output_shape": list(out_mine.shape),
               "nested_parameters": {p: list(s) for p, s in named_parameters(mine_params)}}
    run.finish(results)
    return results


if __name__ == "__main__":
    main()
