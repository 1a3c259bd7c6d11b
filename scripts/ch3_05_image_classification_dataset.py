"""D2L 3.5 The image classification data set: Fashion-MNIST through TFDS.

Prints the sizes of the splits, the shape and dtype of one batch (also resized to
64x64), draws the first 18 training images with their text labels, and times
reading one epoch of minibatches and loading all 70,000 images (after the first
preparation the arrays come from jaxlin's cache beside TFDS's copy, no TensorFlow).
"""
from __future__ import annotations

import jax

from jaxlin import (
    Timer,
    get_fashion_mnist_labels,
    load_data_fashion_mnist,
    load_fashion_mnist_arrays,
    show_images,
)
from jaxlin.data.fashion_mnist import FashionMNISTNotFound
from jaxlin.run.cli import Run, make_parser
from jaxlin.run.experiment import add_data_args


def main(argv: list[str] | None = None) -> dict:
    parser = make_parser(__doc__.splitlines()[0], batch_size=256)
    add_data_args(parser)
    args = parser.parse_args(argv)
    run = Run(args, __file__)
    key = jax.random.key(args.seed)
    where = {"data_dir": args.data_dir, "fashion_mnist_dir": args.fashion_mnist_dir}

    timer = Timer()
    try:
        data = load_fashion_mnist_arrays(**where)   # prepares TFDS's copy on the first run
    except FashionMNISTNotFound as err:
        raise SystemExit(f"error: {err}") from None
    jax.block_until_ready(data)
    first_load = timer.stop()
    timer.start()
    data = load_fashion_mnist_arrays(**where)
    jax.block_until_ready(data)
    load_seconds = timer.stop()
    print(f"training examples: {len(data.train_images)}, test examples: {len(data.test_images)}")
    print(f"one image: shape {tuple(data.train_images.shape[1:])}, dtype {data.train_images.dtype}")
    print(f"loading all {len(data.train_images) + len(data.test_images)} images: {load_seconds:.2f} sec "
          f"(this run's first load, preparation included if it happened: {first_load:.2f} sec)")

    labels = get_fashion_mnist_labels(data.train_labels[:18])
    show_images(data.train_images[:18], 2, 9, titles=labels, path=run.path("images.png"))

    shapes = {}
    for resize in (None, 64):
        train_iter, _ = load_data_fashion_mnist(args.batch_size, resize=resize, key=key, **where)
        X, y = next(iter(train_iter))
        print(f"resize={resize}: X {tuple(X.shape)} {X.dtype}, y {tuple(y.shape)} {y.dtype}")
        shapes[str(resize)] = {"X": list(X.shape), "X_dtype": str(X.dtype), "y": list(y.shape),
                               "y_dtype": str(y.dtype)}

    train_iter, test_iter = load_data_fashion_mnist(args.batch_size, key=key, **where)
    timer.start()
    for X, y in train_iter:
        continue
    jax.block_until_ready(X)
    epoch_seconds = timer.stop()
    print(f"reading one epoch of {len(train_iter)} batches: {epoch_seconds:.2f} sec")

    results = {"num_train": len(data.train_images), "num_test": len(data.test_images),
               "batch_shapes": shapes, "first_labels": labels,
               "num_train_batches": len(train_iter), "num_test_batches": len(test_iter),
               "seconds": {"load_all": load_seconds, "first_load": first_load,
                           "read_epoch": epoch_seconds}}
    run.finish(results)
    return run.results


if __name__ == "__main__":
    main()
