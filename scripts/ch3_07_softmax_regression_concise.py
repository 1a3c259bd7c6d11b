"""D2L 3.7 Concise softmax regression with Flax and Optax on Fashion-MNIST.

A Flax ``Dense(10)`` on flattened images (weights N(0, 0.01²), bias 0) returns
logits; the loss is the stable ``softmax_cross_entropy`` (log-sum-exp, 3.7.2)
and the optimizer ``optax.sgd``. The Flax module is adapted to jaxlin's
``(init, net)`` form, so the same jitted train step and evaluation as the
scratch version train it.
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from jaxlin import flax_model, softmax_cross_entropy
from jaxlin.run.cli import Run, make_parser
from jaxlin.run.experiment import add_training_args, finish_classifier, load_data, train_classifier


class SoftmaxRegression(nn.Module):
    """Flatten, then one fully connected layer of ``num_outputs`` logits."""
    num_outputs: int = 10

    @nn.compact
    def __call__(self, x):
        x = x.reshape(x.shape[0], -1)
        return nn.Dense(self.num_outputs, kernel_init=nn.initializers.normal(0.01))(x)


def main(argv: list[str] | None = None) -> dict:
    parser = make_parser(__doc__.splitlines()[0], epochs=10, lr=0.1, batch_size=256)
    add_training_args(parser)
    args = parser.parse_args(argv)
    run = Run(args, __file__)
    init_key, train_key = jax.random.split(jax.random.key(args.seed))
    data, load_seconds = load_data(args, run)
    init, net = flax_model(SoftmaxRegression())
    params = init(init_key, jnp.zeros((1, 28, 28, 1)))
    result = train_classifier(args, run, net, params, softmax_cross_entropy, optax.sgd(args.lr), data,
                              key=train_key)
    return finish_classifier(run, net, result, data, load_seconds=load_seconds,
                             title="softmax regression (concise)")


if __name__ == "__main__":
    main()
