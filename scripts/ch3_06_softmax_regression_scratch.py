"""D2L 3.6 Softmax regression from scratch on Fashion-MNIST.

The model is ``softmax(XW + b)`` on flattened 28x28 images with W ~ N(0, 0.01²),
the loss the book's ``cross_entropy`` (−log ŷ_y) and the updater the scratch
``sgd``. Training runs through jaxlin's one jitted train step; by default an
epoch is one compiled call over the device-resident images (``--loop book`` for
the book's per-minibatch loop, same batch order and result).
"""
from __future__ import annotations

import functools

from jaxlin import cross_entropy, init_softmax_regression, sgd, softmax_regression
from jaxlin.cli import Run, make_parser
from jaxlin.experiment import add_training_args, run_classifier


def main(argv: list[str] | None = None) -> dict:
    parser = make_parser(__doc__.splitlines()[0], epochs=10, lr=0.1, batch_size=256)
    add_training_args(parser)
    args = parser.parse_args(argv)
    run = Run(args, __file__)
    return run_classifier(
        args, run,
        init=lambda key: init_softmax_regression(key, 784, 10, sigma=0.01),
        net=softmax_regression, loss=cross_entropy,
        updater=functools.partial(sgd, lr=args.lr),
        title="softmax regression (scratch)")


if __name__ == "__main__":
    main()
