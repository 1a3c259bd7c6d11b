"""D2L 4.3 A concise multilayer perceptron with Flax NNX and Optax on Fashion-MNIST.

A Flax NNX module, ``Linear(784, 256)`` -> relu -> ``Linear(256, 10)`` (weights
N(0, 0.01²)), optax's softmax cross-entropy with integer labels and ``optax.sgd``,
trained by the same jitted step as the scratch MLP: ``nnx_model`` splits the module
into a pure ``net(params, X)`` and its params.
"""
from __future__ import annotations

import jax
import optax
from flax import nnx

from jaxlin import nnx_model
from jaxlin.run.cli import Run, make_parser
from jaxlin.run.experiment import add_training_args, finish_classifier, load_data, train_classifier


class MLP(nnx.Module):
    """Flatten -> Linear(784, 256) -> relu -> Linear(256, 10), weights N(0, 0.01²)."""

    def __init__(self, num_inputs: int = 784, num_hiddens: int = 256, num_outputs: int = 10, *,
                 rngs: nnx.Rngs):
        init = nnx.initializers.normal(0.01)
        self.hidden = nnx.Linear(num_inputs, num_hiddens, kernel_init=init, rngs=rngs)
        self.output = nnx.Linear(num_hiddens, num_outputs, kernel_init=init, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.output(nnx.relu(self.hidden(x.reshape(x.shape[0], -1))))


def main(argv: list[str] | None = None) -> dict:
    parser = make_parser(__doc__.splitlines()[0], epochs=10, lr=0.1, batch_size=256)
    add_training_args(parser)
    args = parser.parse_args(argv)
    run = Run(args, __file__)
    init_key, train_key = jax.random.split(jax.random.key(args.seed))
    data, load_seconds = load_data(args, run)
    init, net = nnx_model(lambda rngs: MLP(rngs=rngs))
    params = init(init_key)
    loss = optax.softmax_cross_entropy_with_integer_labels
    result = train_classifier(args, run, net, params, loss, optax.sgd(args.lr), data, key=train_key)
    return finish_classifier(run, net, result, data, load_seconds=load_seconds,
                             title="MLP 784-256-10 (concise)")


if __name__ == "__main__":
    main()
