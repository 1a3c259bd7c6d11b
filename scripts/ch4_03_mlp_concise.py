"""D2L 4.3 A concise multilayer perceptron with Flax and Optax on Fashion-MNIST.

Flax ``Dense(256)`` -> relu -> ``Dense(10)`` (weights N(0, 0.01²)), the stable
softmax cross-entropy and ``optax.sgd``, trained by the same jitted step as the
scratch MLP through the ``(init, net)`` adapter.
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from jaxlin import flax_model, softmax_cross_entropy
from jaxlin.run.cli import Run, make_parser
from jaxlin.run.experiment import add_training_args, finish_classifier, load_data, train_classifier


class MLP(nn.Module):
    """Flatten -> Dense(num_hiddens) -> relu -> Dense(num_outputs)."""
    num_hiddens: int = 256
    num_outputs: int = 10

    @nn.compact
    def __call__(self, x):
        init = nn.initializers.normal(0.01)
        x = x.reshape(x.shape[0], -1)
        x = nn.relu(nn.Dense(self.num_hiddens, kernel_init=init)(x))
        return nn.Dense(self.num_outputs, kernel_init=init)(x)


def main(argv: list[str] | None = None) -> dict:
    parser = make_parser(__doc__.splitlines()[0], epochs=10, lr=0.1, batch_size=256)
    add_training_args(parser)
    args = parser.parse_args(argv)
    run = Run(args, __file__)
    init_key, train_key = jax.random.split(jax.random.key(args.seed))
    data, load_seconds = load_data(args, run)
    init, net = flax_model(MLP())
    params = init(init_key, jnp.zeros((1, 28, 28, 1)))
    result = train_classifier(args, run, net, params, softmax_cross_entropy, optax.sgd(args.lr), data,
                              key=train_key)
    return finish_classifier(run, net, result, data, load_seconds=load_seconds,
                             title="MLP 784-256-10 (concise)")


if __name__ == "__main__":
    main()
