"""Fashion-MNIST as arrays and minibatches (D2L 3.5): the real 60,000/10,000 images through TFDS.

The first call prepares TFDS's copy (:mod:`jaxlin.data.fashion_mnist_sources`: offline from
a local folder when needed) and caches the decoded arrays beside it, so later calls
read them in well under a second without importing TensorFlow.
"""
from __future__ import annotations

import functools
import math
import os
import sys
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin.checks import check_batch_size, check_image_arrays, check_images, check_labels, check_positive_int
from jaxlin.data.fashion_mnist_sources import (
    NAME,
    ChecksumError,
    DamagedData,
    FashionMNISTNotFound,
    default_data_dir,
    find_source,
    prepare,
    quiet_libraries,
)
from jaxlin.data.io import atomic_path
from jaxlin.data.shuffle import shuffle

NUM_CLASSES = 10
TEXT_LABELS = ("t-shirt", "trouser", "pullover", "dress", "coat",
               "sandal", "shirt", "sneaker", "bag", "ankle boot")


class FashionMNIST(NamedTuple):
    """The whole data set as device arrays: uint8 images (N, 28, 28, 1), int32 labels."""
    train_images: jax.Array
    train_labels: jax.Array
    test_images: jax.Array
    test_labels: jax.Array


def _cache_path(data_dir: Path) -> Path | None:
    """jaxlin's array cache, valid only beside a prepared TFDS copy (keyed by its version)."""
    versions = sorted(p.parent.name for p in (data_dir / NAME).glob("*/dataset_info.json"))
    return data_dir / "jaxlin-cache" / f"{NAME}-{versions[-1]}.npz" if versions else None


def _read_cache(path: Path | None) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None when there is no cache or it is damaged (then it is rebuilt).

    Reading every member whole makes ``zipfile`` verify its CRC-32: a flipped byte or a
    truncated file is caught here, and the arrays are checked for shape, dtype and labels.
    """
    if path is None or not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in FashionMNIST._fields}
        check_image_arrays(arrays, NUM_CLASSES, (28, 28, 1), "Fashion-MNIST")
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        print(f"note: {path} is damaged ({err}); rebuilding it from TFDS's copy", file=sys.stderr)
        return None
    return arrays


def _write_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write the cache; one that cannot be written (read-only folder, full disk) is skipped."""
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)
    except OSError as err:
        print(f"note: cannot write jaxlin's array cache {path} ({err.strerror or err}); the next run "
              f"reads TFDS's copy again (a few seconds more)", file=sys.stderr)


def _read_tfds(data_dir: Path) -> dict[str, np.ndarray]:
    """Decode TFDS's prepared records; a damaged record names the folder and how to re-prepare."""
    with quiet_libraries(data_dir / "jaxlin-prepare.log"):
        import tensorflow as tf
        import tensorflow_datasets as tfds
        builder = tfds.builder(NAME, data_dir=str(data_dir))
        arrays = {}
        for split in ("train", "test"):
            ds = builder.as_dataset(split=split, as_supervised=True, shuffle_files=False)
            try:
                images, labels = zip(*tfds.as_numpy(ds.batch(10_000)))
            except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as err:
                folder = Path(builder.data_dir)
                raise DamagedData(f"TFDS's prepared {split} records in {folder} are damaged "
                                  f"({err.message.splitlines()[0][:120]}): delete {folder} and run "
                                  f"again to prepare it anew") from None
            arrays[f"{split}_images"] = np.concatenate(images).astype(np.uint8)
            arrays[f"{split}_labels"] = np.concatenate(labels).astype(np.int32)
    return arrays


def load_fashion_mnist_arrays(*, data_dir: str | os.PathLike | None = None,
                              fashion_mnist_dir: str | os.PathLike | None = None,
                              train_part: tuple[int, int] = (0, 1)) -> FashionMNIST:
    """The whole data set as device arrays (uint8 images, int32 labels): 60,000 train, 10,000 test.

    The first call prepares TFDS's copy (offline from a local folder if needed) and
    caches the decoded arrays beside it; later calls read the cache in well under a second.
    ``train_part=(i, k)`` keeps part ``i`` of ``k`` equal parts of the training set, rows
    [i·N/k, (i+1)·N/k): what process ``i`` of a ``k``-process run holds.
    """
    data_dir = default_data_dir(data_dir)
    if data_dir.exists() and not data_dir.is_dir():
        raise FashionMNISTNotFound(f"data_dir={data_dir} is a file, not a folder")
    if fashion_mnist_dir is not None:
        find_source(fashion_mnist_dir)          # a folder given must exist, prepared copy or not
    arrays = _read_cache(_cache_path(data_dir))     # checked as it is read
    if arrays is None:
        prepare(data_dir, fashion_mnist_dir)
        arrays = _read_tfds(data_dir)
        check_image_arrays(arrays, NUM_CLASSES, (28, 28, 1), "Fashion-MNIST")
        if (cache := _cache_path(data_dir)) is not None:
            _write_cache(cache, arrays)
    i, k = train_part
    rows = slice(i * len(arrays["train_labels"]) // k, (i + 1) * len(arrays["train_labels"]) // k)
    return FashionMNIST(*(jnp.asarray(arrays[f][rows] if f.startswith("train") else arrays[f])
                          for f in FashionMNIST._fields))


def to_float(images: jax.Array) -> jax.Array:
    """uint8 pixels -> float32 in [0, 1] (the book's ``ToTensor``)."""
    return images.astype(jnp.float32) / 255.0


def resize_images(images: jax.Array, size: int) -> jax.Array:
    """Bilinear resize of a float batch (N, H, W, 1) to (N, size, size, 1) (the book's ``Resize``)."""
    size = check_positive_int(size, "resize")
    return jax.image.resize(images, (images.shape[0], size, size, images.shape[3]), "bilinear")


@functools.partial(jax.jit, static_argnums=3)
def _fetch(images: jax.Array, labels: jax.Array, idx: jax.Array, resize: int | None
           ) -> tuple[jax.Array, jax.Array]:
    """Gather, scale and resize one minibatch in one dispatch."""
    X = to_float(images[idx])
    return (X if resize is None else resize_images(X, resize)), labels[idx]


class Batches:
    """Minibatches ``(X, y)`` over device arrays: float32 images in [0, 1] and int32 labels.

    With a ``key`` the order is the epoch's shuffle of ``fold_in(key, epoch)``, new every
    epoch (``iter`` advances the epoch; ``epoch(k)`` gives epoch k's order directly);
    without one it is the stored order. Every example appears exactly once per
    epoch; the last batch may be smaller, as with the book's DataLoader.
    """

    def __init__(self, images: jax.Array, labels: jax.Array, batch_size: int, *,
                 key: jax.Array | None = None, resize: int | None = None):
        check_images(images)
        if len(images) != len(labels):
            raise ValueError(f"images and labels differ in length: {len(images)} vs {len(labels)}")
        self.batch_size = check_batch_size(batch_size, len(images))
        self.images, self.labels, self.key = images, labels, key
        self.resize = None if resize is None else check_positive_int(resize, "resize")
        self._epoch = 0

    def __len__(self) -> int:
        return math.ceil(len(self.images) / self.batch_size)

    def epoch(self, k: int) -> Iterator[tuple[jax.Array, jax.Array]]:
        n = len(self.images)
        order = np.arange(n) if self.key is None else np.asarray(
            shuffle(jax.random.fold_in(self.key, k), n))
        for i in range(0, n, self.batch_size):
            yield _fetch(self.images, self.labels, order[i:i + self.batch_size], self.resize)

    def __iter__(self) -> Iterator[tuple[jax.Array, jax.Array]]:
        self._epoch += 1
        return self.epoch(self._epoch - 1)


def load_data_fashion_mnist(batch_size: int, resize: int | None = None, *, key: jax.Array,
                            data_dir: str | os.PathLike | None = None,
                            fashion_mnist_dir: str | os.PathLike | None = None
                            ) -> tuple[Batches, Batches]:
    """The book's ``load_data_fashion_mnist``: ``(train_iter, test_iter)``.

    Training batches are reshuffled every epoch from ``key``; test batches come in
    order and cover all 10,000 images exactly once.
    """
    data = load_fashion_mnist_arrays(data_dir=data_dir, fashion_mnist_dir=fashion_mnist_dir)
    return (Batches(data.train_images, data.train_labels, batch_size, key=key, resize=resize),
            Batches(data.test_images, data.test_labels, batch_size, resize=resize))



def get_fashion_mnist_labels(labels: Sequence[int] | jax.Array) -> list[str]:
    """Text labels of Fashion-MNIST class indices."""
    labels = np.asarray(labels).reshape(-1)
    check_labels(labels, NUM_CLASSES, "labels")
    return [TEXT_LABELS[int(i)] for i in labels]


__all__ = [
    "NUM_CLASSES",
    "TEXT_LABELS",
    "Batches",
    "ChecksumError",
    "DamagedData",
    "FashionMNIST",
    "FashionMNISTNotFound",
    "get_fashion_mnist_labels",
    "load_data_fashion_mnist",
    "load_fashion_mnist_arrays",
    "to_float",
]
