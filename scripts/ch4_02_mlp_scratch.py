"""D2L 4.2 A multilayer perceptron from scratch on Fashion-MNIST.

784-256-10 with ReLU, weights N(0, 0.01²) and zero biases, the stable
``softmax_cross_entropy`` on the logits and the scratch ``sgd``; trained by the
same jitted step and compiled epoch as softmax regression.
"""
from __future__ import annotations

import functools

import jax

from jaxlin import init_mlp, mlp, sgd, softmax_cross_entropy
from jaxlin.run.cli import Run, make_parser, positive_int
from jaxlin.run.experiment import add_training_args, finish_classifier, load_data, train_classifier


def main(argv: list[str] | None = None) -> dict:
    parser = make_parser(__doc__.splitlines()[0], epochs=10, lr=0.1, batch_size=256)
    parser.add_argument("--num-hiddens", type=positive_int, default=256, help="hidden units")
    add_training_args(parser)
    args = parser.parse_args(argv)
    run = Run(args, __file__)
    init_key, train_key = jax.random.split(jax.random.key(args.seed))
    data, load_seconds = load_data(args, run)
    params = init_mlp(init_key, 784, args.num_hiddens, 10, sigma=0.01)
    updater = functools.partial(sgd, lr=args.lr)
    result = train_classifier(args, run, mlp, params, softmax_cross_entropy, updater, data, key=train_key)
    return finish_classifier(run, mlp, result, data, load_seconds=load_seconds,
                             title=f"MLP 784-{args.num_hiddens}-10 (scratch)")


if __name__ == "__main__":
    main()
