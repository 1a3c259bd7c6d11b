"""D2L 5.5 File I/O: save and load arrays, lists and dicts of arrays, and a model's parameters.

The book pickles with ``torch.save``. Loading a pickle can run arbitrary code, so
jaxlin writes ``.npz`` files (the tree's structure as JSON beside the arrays) and
loads them with ``allow_pickle=False``. Each write goes to a temporary file that is
renamed into place, and loading into a model's parameter tree checks every key
and shape, naming the file, the key and both shapes when they disagree.
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxlin import flax_model, load_pytree, save_pytree
from jaxlin.chapters.ch5_01_model_construction import MLP
from jaxlin.run.cli import Run, make_parser


def trees_equal(a, b) -> bool:
    """Same structure, and every leaf bit-for-bit equal with the same dtype."""
    return (jax.tree.structure(a) == jax.tree.structure(b)
            and all(np.asarray(x).dtype == np.asarray(y).dtype and np.array_equal(x, y)
                    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b))))


def main(argv: list[str] | None = None) -> dict:
    args = make_parser(__doc__.splitlines()[0]).parse_args(argv)
    run = Run(args, __file__)
    key_X, key_net, key_clone, key_other = jax.random.split(jax.random.key(args.seed), 4)

    print("# Loading and saving arrays")
    x = jnp.arange(4)
    x2 = load_pytree(save_pytree(run.path("x-file.npz"), x))
    print("x2 =", x2)
    y = jnp.zeros(4)
    x2, y2 = load_pytree(save_pytree(run.path("x-files.npz"), [x, y]))
    print("(x2, y2) =", x2, y2)
    mydict = {"x": x, "y": y}
    mydict2 = load_pytree(save_pytree(run.path("mydict.npz"), mydict))
    print("mydict2 =", mydict2)
    round_trips = {"array": trees_equal(x, load_pytree(run.path("x-file.npz"))),
                   "list": trees_equal([x, y], load_pytree(run.path("x-files.npz"))),
                   "dict": trees_equal(mydict, mydict2)}

    print("\n# Loading and saving model parameters")
    init, net = flax_model(MLP())
    X = jax.random.normal(key_X, (2, 20))
    params = init(key_net, X)
    Y = net(params, X)
    params_file = save_pytree(run.path("mlp.params.npz"), params)
    # A fresh model has its own (different) parameters; loading replaces them. `like=`
    # gives the structure and shapes the file must match.
    fresh = init(key_clone, X)
    clone_params = load_pytree(params_file, like=fresh)
    Y_clone = net(clone_params, X)
    print("Y_clone == Y:\n", Y_clone == Y)
    round_trips["mlp_params"] = trees_equal(params, clone_params)
    round_trips["mlp_outputs"] = bool((Y_clone == Y).all())
    print("bit-exact round trips:", round_trips)

    print("\n# A file that does not match the model is refused")
    errors = {}
    for name, module in {"MLP(num_hiddens=128)": MLP(num_hiddens=128),
                         "Sequential(Dense(256), relu, Dense(10))":
                             nn.Sequential([nn.Dense(256), nn.relu, nn.Dense(10)])}.items():
        other_init, _ = flax_model(module)
        try:
            load_pytree(params_file, like=other_init(key_other, X))
        except ValueError as err:
            errors[name] = str(err)
            print(f"{name}: ValueError: {err}")

    results = {"round_trips": round_trips, "mismatch_errors": errors}
    run.finish(results)
    return results


if __name__ == "__main__":
    main()
