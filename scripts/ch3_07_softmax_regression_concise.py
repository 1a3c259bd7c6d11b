"""D2L 3.7 Concise softmax regression with Flax NNX and Optax on Fashion-MNIST.

A Flax NNX ``Linear(784, 10)`` on flattened images (weights N(0, 0.01²), bias 0)
returns logits; the loss is optax's softmax cross-entropy with integer labels
(log-sum-exp, eq. 3.7.2) and the optimizer ``optax.sgd``. ``nnx_model`` splits the
module into a pure ``net(params, X)`` and its params, so the same jitted train step
and evaluation as the scratch version train it.
"""
from __future__ import annotations

import jax
import optax
from flax import nnx

from jaxlin import nnx_model
from jaxlin.run.cli import Run, make_parser
from jaxlin.run.experiment import add_training_args, finish_classifier, load_data, train_classifier


class SoftmaxRegression(nnx.Module):
    """Flatten, then one fully connected layer of ``num_outputs`` logits."""

    def __init__(self, num_inputs: int = 784, num_outputs: int = 10, *, rngs: nnx.Rngs):
        self.linear = nnx.Linear(num_inputs, num_outputs, kernel_init=nnx.initializers.normal(0.01),
                                 rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.linear(x.reshape(x.shape[0], -1))


def main(argv: list[str] | None = None) -> dict:
    parser = make_parser(__doc__.splitlines()[0], epochs=10, lr=0.1, batch_size=256)
    add_training_args(parser)
    args = parser.parse_args(argv)
    run = Run(args, __file__)
    init_key, train_key = jax.random.split(jax.random.key(args.seed))
    data, load_seconds = load_data(args, run)
    init, net = nnx_model(lambda rngs: SoftmaxRegression(rngs=rngs))
    params = init(init_key)
    loss = optax.softmax_cross_entropy_with_integer_labels     # log-sum-exp, eq. 3.7.2
    result = train_classifier(args, run, net, params, loss, optax.sgd(args.lr), data, key=train_key)
    return finish_classifier(run, net, result, data, load_seconds=load_seconds,
                             title="softmax regression (concise)")


if __name__ == "__main__":
    main()
