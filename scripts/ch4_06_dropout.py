"""D2L 4.6 Dropout: a 784-256-256-10 MLP with dropout 0.2 and 0.5, scratch or concise.

``--impl scratch`` uses ``mlp`` with ``dropout_layer`` (mask / (1 − p)); ``--impl concise`` uses
Flax ``Dropout`` with the rng passed explicitly. Every training step gets a fresh
key, ``fold_in(epoch key, step)``, never a fixed one; evaluation drops nothing.
"""
from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from jaxlin import flax_model, init_mlp, mlp, sgd, softmax_cross_entropy
from jaxlin.run.cli import Run, make_parser
from jaxlin.run.experiment import add_training_args, finish_classifier, load_data, train_classifier

DROPOUT1, DROPOUT2 = 0.2, 0.5


class DropoutMLP(nn.Module):
    """Dense(256) relu Dropout(0.2) Dense(256) relu Dropout(0.5) Dense(10)."""
    num_hiddens1: int = 256
    num_hiddens2: int = 256
    num_outputs: int = 10

    @nn.compact
    def __call__(self, x, train: bool = False):
        init = nn.initializers.normal(0.01)
        x = x.reshape(x.shape[0], -1)
        x = nn.relu(nn.Dense(self.num_hiddens1, kernel_init=init)(x))
        x = nn.Dropout(DROPOUT1, deterministic=not train)(x)
        x = nn.relu(nn.Dense(self.num_hiddens2, kernel_init=init)(x))
        x = nn.Dropout(DROPOUT2, deterministic=not train)(x)
        return nn.Dense(self.num_outputs, kernel_init=init)(x)


def main(argv: list[str] | None = None) -> dict:
    parser = make_parser(__doc__.splitlines()[0], epochs=10, lr=0.5, batch_size=256)
    parser.add_argument("--impl", choices=("scratch", "concise"), default="scratch",
                        help="dropout_layer from scratch, or Flax Dropout")
    add_training_args(parser)
    args = parser.parse_args(argv)
    run = Run(args, __file__)
    init_key, train_key = jax.random.split(jax.random.key(args.seed))
    data, load_seconds = load_data(args, run)
    if args.impl == "scratch":
        params = init_mlp(init_key, 784, (256, 256), 10, sigma=0.01)
        net = functools.partial(mlp, dropouts=(DROPOUT1, DROPOUT2))
        updater = functools.partial(sgd, lr=args.lr)
    else:
        init, net = flax_model(DropoutMLP())
        params = init(init_key, jnp.zeros((1, 28, 28, 1)))
        updater = optax.sgd(args.lr)
    result = train_classifier(args, run, net, params, softmax_cross_entropy, updater, data,
                              key=train_key, stochastic=True)
    return finish_classifier(run, net, result, data, load_seconds=load_seconds,
                             title=f"dropout MLP ({args.impl}), p = {DROPOUT1}, {DROPOUT2}")


if __name__ == "__main__":
    main()
