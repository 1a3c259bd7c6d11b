"""D2L 5.3 Deferred initialization: layers declared without input sizes get their shapes from the data.

A Flax ``nn.Dense(256)`` names only its output size. The module object holds no
arrays at all; ``init(key, X)`` traces the network on ``X`` and creates each
kernel as (in_features, out_features) from the shapes it meets. ``jax.eval_shape``
runs that trace abstractly: the shapes, with no parameter computed and no data.
"""
from __future__ import annotations

import flax.linen as nn
import jax

from jaxlin.chapters.ch5_02_parameters import infer_shapes, named_parameters
from jaxlin.run.cli import Run, make_parser


def main(argv: list[str] | None = None) -> dict:
    args = make_parser(__doc__.splitlines()[0]).parse_args(argv)
    run = Run(args, __file__)
    key_X, key_net = jax.random.split(jax.random.key(args.seed))

    net = nn.Sequential([nn.Dense(256), nn.relu, nn.Dense(10)])
    print("# The network, declared without input sizes\n", net, sep="")
    try:
        net.variables
    except ValueError as err:  # an unbound module has no variables to show
        print(f"\nparameters before init: none (net.variables raises: {err})")

    print("\n# jax.eval_shape of init on an abstract (2, 20) input: shapes only")
    abstract = infer_shapes(net, key_net, (2, 20))  # jax.eval_shape(net.init, key, ShapeDtypeStruct)
    for path, leaf in jax.tree_util.tree_flatten_with_path(abstract)[0]:
        print(f"  {jax.tree_util.keystr(path)}: {leaf}")

    print("\n# init on real data X of shape (2, 20)")
    X = jax.random.uniform(key_X, (2, 20))
    params = net.init(key_net, X)
    shapes = {path: list(shape) for path, shape in named_parameters(params)}
    for path, shape in shapes.items():
        print(f"  {path}: {tuple(shape)}")
    print("output shape:", net.apply(params, X).shape)

    print("\n# The same declaration on (2, 30) inputs infers a different first kernel")
    shapes_30 = {path: list(shape) for path, shape in named_parameters(infer_shapes(net, key_net, (2, 30)))}
    print("  params/layers_0/kernel:", tuple(shapes_30["params/layers_0/kernel"]))

    results = {"shapes": shapes, "abstract_matches_init": shapes == {
                   p: list(s) for p, s in named_parameters(abstract)},
               "shapes_for_30_inputs": shapes_30}
    run.finish(results)
    return results


if __name__ == "__main__":
    main()
