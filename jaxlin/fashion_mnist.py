"""Fashion-MNIST through tensorflow-datasets, offline too (D2L 3.5).

Where the data come from, in order:

1. jaxlin's array cache of an already prepared TFDS copy (no TensorFlow import: ~0.2 s);
2. the prepared TFDS copy in ``data_dir`` (``data_dir=``, else ``$TFDS_DATA_DIR``,
   else ``~/tensorflow_datasets``), read once and cached;
3. TFDS preparing it from a local folder of the four original ``.gz`` files:
   ``fashion_mnist_dir=`` / ``--fashion-mnist-dir``, else ``$JAXLIN_FASHION_MNIST_DIR``,
   else Debian/Ubuntu's ``dataset-fashion-mnist`` package in
   ``/usr/share/datasets/fashion-mnist`` (its re-gzipped files get their original
   gzip header back, so TFDS's checksums pass);
4. TFDS downloading it, when the internet is reachable.

Otherwise :class:`FashionMNISTNotFound` lists these ways to get the data.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import math
import os
import shutil
import socket
import struct
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlparse

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin.io import atomic_path
from jaxlin.plot import plt, savefig
from jaxlin.validate import check_batch_size, check_labels, check_positive_int

NAME = "fashion_mnist"
ENV_DIR = "JAXLIN_FASHION_MNIST_DIR"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
NUM_CLASSES = 10
TEXT_LABELS = ("t-shirt", "trouser", "pullover", "dress", "coat",
               "sandal", "shirt", "sneaker", "bag", "ankle boot")
# The original gzip headers carry these modification times (train files, t10k files).
GZIP_MTIMES = {"train": 1504176606, "t10k": 1504176627}


class FashionMNISTNotFound(FileNotFoundError):
    """No prepared copy, no local source and no internet."""


class ChecksumError(ValueError):
    """A local Fashion-MNIST file does not match TFDS's registered checksum."""


class FashionMNIST(NamedTuple):
    """The whole data set as device arrays: uint8 images (N, 28, 28, 1), int32 labels."""
    train_images: jax.Array
    train_labels: jax.Array
    test_images: jax.Array
    test_labels: jax.Array


# ------------------------------------------------------------------ sources

def default_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """TFDS's data directory: the argument, else ``$TFDS_DATA_DIR``, else ``~/tensorflow_datasets``."""
    return Path(data_dir or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets").expanduser()


@functools.lru_cache(maxsize=1)
def _url_infos() -> dict[str, Any]:
    """TFDS's registered files for ``fashion_mnist``: file name -> (url, size, sha256)."""
    import tensorflow_datasets as tfds
    infos = tfds.builder_cls(NAME).url_infos
    return {info.filename: (url, info.size, info.checksum) for url, info in infos.items()}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def restore_gzip_header(data: bytes, filename: str) -> bytes:
    """Give a re-gzipped file (Debian's, no file name in its header) its original header back.

    Original header: ``1f 8b 08 08`` + 4-byte little-endian mtime + ``00 03`` + the
    uncompressed file's name + ``00``, followed by the same deflate stream that starts
    at byte 10 of the re-gzipped file.
    """
    if len(data) < 18 or data[:3] != b"\x1f\x8b\x08":
        raise ChecksumError(f"{filename} is not a gzip file")
    mtime = GZIP_MTIMES["train" if filename.startswith("train") else "t10k"]
    name = filename.removesuffix(".gz").encode()
    return (b"\x1f\x8b\x08\x08" + struct.pack("<I", mtime) + b"\x00\x03" + name
            + b"\x00" + data[10:])


def find_source(fashion_mnist_dir: str | os.PathLike | None = None) -> Path | None:
    """The local folder to prepare from: the argument, ``$JAXLIN_FASHION_MNIST_DIR``, or Debian's.

    A folder passed as an argument must exist; an environment variable naming a
    missing folder is reported and skipped; Debian's is used only if present.
    """
    if fashion_mnist_dir is not None:
        folder = Path(fashion_mnist_dir).expanduser()
        if not folder.is_dir():
            raise FashionMNISTNotFound(f"fashion_mnist_dir={folder} is not a folder")
        return folder
    env = os.environ.get(ENV_DIR)
    if env:
        folder = Path(env).expanduser()
        if folder.is_dir():
            return folder
        warnings.warn(f"{ENV_DIR}={env} is not a folder; looking for other sources", stacklevel=2)
    return DEBIAN_DIR if DEBIAN_DIR.is_dir() else None


@contextlib.contextmanager
def manual_dir(source: Path, work_dir: Path) -> Iterator[Path]:
    """A folder of the four files exactly as TFDS registers them, checked before TFDS sees them.

    Files already byte-identical are linked; re-gzipped ones (Debian) get their
    header restored. A missing file or a checksum mismatch raises an error naming
    the file, and the temporary folder is always removed.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="jaxlin-fashion-mnist-", dir=work_dir))
    try:
        for filename, (_, size, checksum) in _url_infos().items():
            path = source / filename
            if not path.is_file():
                raise FashionMNISTNotFound(f"{path} is missing: a Fashion-MNIST folder needs "
                                           f"{', '.join(sorted(_url_infos()))}")
            data = path.read_bytes()
            if _sha256(data) != checksum:
                restored = restore_gzip_header(data, filename) if data[3:4] == b"\x00" else data
                if _sha256(restored) != checksum:
                    raise ChecksumError(
                        f"{path}: checksum mismatch (sha256 {_sha256(data)}, expected {checksum}, "
                        f"{len(data)} bytes, expected {size}): the file is corrupt or truncated; "
                        f"replace it with the original")
                data = restored
            (folder / filename).write_bytes(data)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _internet_reachable(timeout: float = 3.0) -> bool:
    """A quick TCP connect to the download host (TFDS itself retries for minutes offline)."""
    url = next(iter(_url_infos().values()))[0]
    host = urlparse(url).hostname
    try:
        with socket.create_connection((host, 80), timeout=timeout):
            return True
    except OSError:
        return False


def not_found_message(data_dir: Path) -> str:
    return (f"Fashion-MNIST is not prepared in {data_dir} and cannot be downloaded (no internet).\n"
            "Get it in one of these ways:\n"
            "  1. connect to the internet once: TFDS downloads and prepares it;\n"
            "  2. install Debian/Ubuntu's package: apt-get install dataset-fashion-mnist "
            f"(found automatically in {DEBIAN_DIR});\n"
            "  3. put the four original files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,\n"
            "     t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) in a folder and pass it as\n"
            f"     --fashion-mnist-dir DIR or set {ENV_DIR}=DIR;\n"
            "  4. point --data-dir / TFDS_DATA_DIR at a folder where TFDS already prepared fashion_mnist.")


def prepare(data_dir: Path, fashion_mnist_dir: str | os.PathLike | None = None) -> None:
    """Make sure TFDS has ``fashion_mnist`` prepared in ``data_dir`` (offline when possible)."""
    import tensorflow_datasets as tfds
    builder = tfds.builder(NAME, data_dir=str(data_dir))
    if builder.is_prepared():
        return
    source = find_source(fashion_mnist_dir)
    if source is not None:
        with manual_dir(source, data_dir / "downloads" / "manual") as folder:
            config = tfds.download.DownloadConfig(manual_dir=str(folder))
            builder.download_and_prepare(download_config=config)
        return
    if not _internet_reachable():
        raise FashionMNISTNotFound(not_found_message(data_dir))
    builder.download_and_prepare()


# ------------------------------------------------------------------ arrays

def _cache_path(data_dir: Path) -> Path | None:
    """jaxlin's array cache, valid only beside a prepared TFDS copy (keyed by its version)."""
    versions = sorted(p.parent.name for p in (data_dir / NAME).glob("*/dataset_info.json"))
    return data_dir / "jaxlin-cache" / f"{NAME}-{versions[-1]}.npz" if versions else None


def _read_cache(path: Path | None) -> dict[str, np.ndarray] | None:
    if path is None or not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in ("train_images", "train_labels", "test_images", "test_labels")}
    except (OSError, ValueError, KeyError):
        return None   # a damaged cache is rebuilt from TFDS
    return arrays


def _read_tfds(data_dir: Path) -> dict[str, np.ndarray]:
    import tensorflow_datasets as tfds
    builder = tfds.builder(NAME, data_dir=str(data_dir))
    arrays = {}
    for split in ("train", "test"):
        ds = builder.as_dataset(split=split, as_supervised=True, shuffle_files=False)
        images, labels = zip(*tfds.as_numpy(ds.batch(10_000)))
        arrays[f"{split}_images"] = np.concatenate(images).astype(np.uint8)
        arrays[f"{split}_labels"] = np.concatenate(labels).astype(np.int32)
    return arrays


def check_arrays(arrays: dict[str, np.ndarray]) -> None:
    """Images (N, 28, 28, 1) uint8 with N labels in [0, 10), for both splits."""
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.dtype != np.uint8 or images.shape[1:] != (28, 28, 1) or len(images) != len(labels):
            raise ValueError(f"unexpected Fashion-MNIST {split} arrays: images {images.shape} "
                             f"{images.dtype}, labels {labels.shape}")
        check_labels(labels, NUM_CLASSES, f"{split} labels")


def load_fashion_mnist_arrays(*, data_dir: str | os.PathLike | None = None,
                              fashion_mnist_dir: str | os.PathLike | None = None) -> FashionMNIST:
    """The whole data set as device arrays (uint8 images, int32 labels): 60,000 train, 10,000 test.

    The first call prepares TFDS's copy (offline from a local folder if needed) and
    caches the decoded arrays beside it; later calls read the cache in well under a second.
    """
    data_dir = default_data_dir(data_dir)
    arrays = _read_cache(_cache_path(data_dir))
    if arrays is None:
        prepare(data_dir, fashion_mnist_dir)
        arrays = _read_tfds(data_dir)
        check_arrays(arrays)
        cache = _cache_path(data_dir)
        if cache is not None:
            with atomic_path(cache) as tmp, open(tmp, "wb") as f:
                np.savez(f, **arrays)
    check_arrays(arrays)
    return FashionMNIST(*(jnp.asarray(arrays[k]) for k in FashionMNIST._fields))


# ------------------------------------------------------------------ batches

def to_float(images: jax.Array) -> jax.Array:
    """uint8 pixels -> float32 in [0, 1] (the book's ``ToTensor``)."""
    return images.astype(jnp.float32) / 255.0


def check_images(images: jax.Array, name: str = "images") -> None:
    """Raise ``ValueError`` unless ``images`` has shape (N, H, W, 1)."""
    if images.ndim != 4 or images.shape[-1] != 1:
        raise ValueError(f"{name} must have shape (N, height, width, 1), got {tuple(images.shape)}")


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

    With a ``key`` the order is a permutation from ``fold_in(key, epoch)``, new every
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
            jax.random.permutation(jax.random.fold_in(self.key, k), n))
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


# ------------------------------------------------------------------ pictures

def get_fashion_mnist_labels(labels: Sequence[int] | jax.Array) -> list[str]:
    """Text labels of Fashion-MNIST class indices."""
    labels = np.asarray(labels).reshape(-1)
    check_labels(labels, NUM_CLASSES, "labels")
    return [TEXT_LABELS[int(i)] for i in labels]


def show_images(imgs: Any, num_rows: int, num_cols: int, titles: Sequence[str] | None = None,
                scale: float = 1.5, path: str | os.PathLike | None = None) -> Any:
    """A grid of images (the book's ``show_images``); saved as PNG when ``path`` is given."""
    imgs = np.asarray(imgs)
    if imgs.ndim == 4 and imgs.shape[-1] == 1:
        imgs = imgs[..., 0]
    fig, axes = plt.subplots(num_rows, num_cols, figsize=(num_cols * scale, num_rows * scale), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(imgs):
            ax.imshow(imgs[i], cmap="gray_r" if imgs.dtype == np.uint8 else "gray")
            if titles is not None and i < len(titles):
                ax.set_title(titles[i], fontsize=8)
    if path is not None:
        savefig(fig, path)
    return axes


def predict_ch3(net: Any, params: Any, images: jax.Array, labels: jax.Array, n: int = 8,
                path: str | os.PathLike | None = None) -> list[tuple[str, str]]:
    """The book's ``predict_ch3``: the first ``n`` images titled "true\\npredicted".

    ``images`` are uint8 (N, 28, 28, 1); returns the (true, predicted) text labels.
    """
    images, labels = images[:n], labels[:n]
    preds = jnp.argmax(net(params, to_float(images)), axis=1)
    trues, predicted = get_fashion_mnist_labels(labels), get_fashion_mnist_labels(preds)
    titles = [f"{t}\n{p}" for t, p in zip(trues, predicted)]
    show_images(images, 1, n, titles=titles, scale=1.6, path=path)
    return list(zip(trues, predicted))
