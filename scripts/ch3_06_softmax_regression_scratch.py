"""D2L 3.6 Softmax regression from scratch on Fashion-MNIST.

The model is ``softmax(XW + b)`` on flattened 28x28 images with W ~ N(0, 0.01²),
the loss the book's ``cross_entropy`` (−log ŷ_y) and the updater the scratch
``sgd``. Training runs through jaxlin's one jitted train step; by default an
epoch is one compiled call over the device-resident images (``--loop book`` for
the book's per-minibatch loop, same batch order and result).
"""
from __future__ import annotations

import functools

import jax

from jaxlin import cross_entropy, init_softmax_regression, sgd, softmax_regression
from jaxlin.run.cli import Run, make_parser
from jaxlin.run.experiment import add_training_args, finish_classifier, load_data, train_classifier


def main(argv: list[str] | None = None) -> dict:
    parser = make_parser(__doc__.splitlines()[0], epochs=10, lr=0.1, batch_size=256)
    add_training_args(parser)
    args = parser.parse_args(argv)
    run = Run(args, __file__)
    init_key, train_key = jax.random.split(jax.random.key(args.seed))
    data, load_seconds = load_data(args, run)
    params = init_softmax_regression(init_key, 784, 10, sigma=0.01)
    updater = functools.partial(sgd, lr=args.lr)
    result = train_classifier(args, run, softmax_regression, params, cross_entropy, updater, data,
                              key=train_key)
    return finish_classifier(run, softmax_regression, result, data, load_seconds=load_seconds,
                             title="softmax regression (scratch)")


if __name__ == "__main__":
    main()
