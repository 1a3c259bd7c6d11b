"""Fashion-MNIST through TFDS: the mock path, the real data, offline sources, bad files."""
from __future__ import annotations

import gzip
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import ROOT, shared_dir
from jaxlin.data import fashion_mnist_sources as fm
from jaxlin.data.fashion_mnist import (
    Batches,
    ChecksumError,
    FashionMNISTNotFound,
    get_fashion_mnist_labels,
    load_data_fashion_mnist,
    load_fashion_mnist_arrays,
)
from jaxlin.run.plot import show_images

FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


@pytest.fixture
def no_sources(monkeypatch, tmp_path):
    """No local folder, no Debian package, no internet: only what a test provides."""
    monkeypatch.delenv(fm.ENV_DIR, raising=False)
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "no-debian-package")
    monkeypatch.setattr(fm, "_internet_reachable", lambda timeout=3.0: False)


def test_loader_on_tfds_mock_data(no_sources, monkeypatch, tmp_path):
    import tensorflow_datasets as tfds
    monkeypatch.setattr(fm, "_internet_reachable", lambda timeout=3.0: True)  # the mock "downloads"
    with tfds.testing.mock_data(num_examples=8):
        data = load_fashion_mnist_arrays(data_dir=tmp_path / "tfds")
        train_iter, test_iter = load_data_fashion_mnist(3, key=jax.random.key(0), data_dir=tmp_path / "tfds")
    assert data.train_images.shape == (8, 28, 28, 1) and data.train_images.dtype == jnp.uint8
    assert data.train_labels.dtype == jnp.int32
    X, y = next(iter(train_iter))
    assert X.shape == (3, 28, 28, 1) and X.dtype == jnp.float32 and float(X.max()) <= 1.0
    assert sum(len(yb) for _, yb in test_iter) == 8          # last partial batch included
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in test_iter]), data.test_labels)


def test_no_source_gives_one_clear_error(no_sources, tmp_path):
    with pytest.raises(FashionMNISTNotFound) as err:
        load_fashion_mnist_arrays(data_dir=tmp_path / "tfds")
    message = str(err.value)
    for way in ("internet", "dataset-fashion-mnist", "--fashion-mnist-dir", fm.ENV_DIR, "TFDS_DATA_DIR"):
        assert way in message
    with pytest.raises(FashionMNISTNotFound, match="is not a folder"):
        load_fashion_mnist_arrays(data_dir=tmp_path / "tfds", fashion_mnist_dir=tmp_path / "missing")


def test_corrupt_file_is_named_and_nothing_half_prepared(no_sources, tmp_path):
    source = shared_dir("fashion-mnist")
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in FILES:
        shutil.copy(source / name, broken / name)
    data = (broken / "train-labels-idx1-ubyte.gz").read_bytes()
    (broken / "train-labels-idx1-ubyte.gz").write_bytes(data[: len(data) // 2])   # truncated
    data_dir = tmp_path / "tfds"
    with pytest.raises(ChecksumError, match="train-labels-idx1-ubyte.gz.*checksum mismatch"):
        load_fashion_mnist_arrays(data_dir=data_dir, fashion_mnist_dir=broken)
    assert not (data_dir / "fashion_mnist").exists()
    assert not list((data_dir / "downloads" / "manual").iterdir())     # temporary folder removed


def _debian_form(original: bytes) -> bytes:
    """What Debian ships: the same deflate stream behind a header without the file name."""
    assert original[3] == 0x08                                  # FNAME flag set upstream
    end = original.index(b"\x00", 10) + 1                       # end of the file name
    return original[:3] + b"\x00" + b"\x00\x00\x00\x00" + original[8:10] + original[end:]


def test_restore_gzip_header_gives_the_original_bytes(tmp_path):
    source = shared_dir("fashion-mnist")
    for name in FILES:
        original = (source / name).read_bytes()
        debian = _debian_form(original)
        assert gzip.decompress(debian) == gzip.decompress(original)
        assert fm.restore_gzip_header(debian, name) == original


@pytest.mark.data
def test_prepare_offline_from_a_debian_style_folder(no_sources, monkeypatch, tmp_path):
    source = shared_dir("fashion-mnist")
    debian = tmp_path / "usr-share-datasets-fashion-mnist"
    debian.mkdir()
    for name in FILES:
        (debian / name).write_bytes(_debian_form((source / name).read_bytes()))
    monkeypatch.setattr(fm, "DEBIAN_DIR", debian)                # found automatically
    data = load_fashion_mnist_arrays(data_dir=tmp_path / "tfds")
    assert data.train_images.shape == (60000, 28, 28, 1) and data.test_images.shape == (10000, 28, 28, 1)
    assert abs(float(data.train_images.mean()) / 255 - 0.28604) < 1e-4
    cached = load_fashion_mnist_arrays(data_dir=tmp_path / "tfds")   # second load: the cache
    np.testing.assert_array_equal(cached.test_labels, data.test_labels)


@pytest.mark.data
def test_real_data_statistics(fashion_mnist):
    d = fashion_mnist
    assert d.train_images.shape == (60000, 28, 28, 1) and d.test_images.shape == (10000, 28, 28, 1)
    assert d.train_images.dtype == jnp.uint8 and d.train_labels.dtype == jnp.int32
    assert np.bincount(np.asarray(d.train_labels), minlength=10).tolist() == [6000] * 10
    assert np.bincount(np.asarray(d.test_labels), minlength=10).tolist() == [1000] * 10
    assert abs(float(d.train_images.mean(dtype=jnp.float32)) / 255 - 0.28604) < 1e-4
    assert abs(float((d.train_images / 255.0).std()) - 0.35302) < 1e-4
    assert abs(float(d.test_images.mean(dtype=jnp.float32)) / 255 - 0.28685) < 1e-4


@pytest.mark.data
def test_batches_cover_the_test_set_once_and_reshuffle(fashion_mnist):
    d = fashion_mnist
    test = Batches(d.test_images, d.test_labels, 256)
    labels = np.concatenate([np.asarray(y) for _, y in test])
    assert len(labels) == 10000 and len(test) == 40
    np.testing.assert_array_equal(labels, d.test_labels)
    train = Batches(d.train_images[:1000], d.train_labels[:1000], 100, key=jax.random.key(0))
    first, second = (np.concatenate([np.asarray(y) for _, y in train]) for _ in range(2))
    assert not np.array_equal(first, second)                     # new order every epoch
    assert sorted(first.tolist()) == sorted(np.asarray(d.train_labels[:1000]).tolist())
    X, _ = next(iter(Batches(d.train_images[:8], d.train_labels[:8], 4, resize=64)))
    assert X.shape == (4, 64, 64, 1)


def test_batches_reject_bad_input():
    images, labels = jnp.zeros((10, 28, 28, 1), jnp.uint8), jnp.zeros(10, jnp.int32)
    with pytest.raises(ValueError, match="larger than the data set"):
        Batches(images, labels, 11)
    with pytest.raises(ValueError, match=r"\(N, height, width, 1\)"):
        Batches(jnp.zeros((10, 28, 28)), labels, 2)
    with pytest.raises(ValueError, match="differ in length"):
        Batches(images, labels[:5], 2)


def test_text_labels_and_show_images(tmp_path):
    assert get_fashion_mnist_labels([0, 9, 5]) == ["t-shirt", "ankle boot", "sandal"]
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        get_fashion_mnist_labels([10])
    show_images(np.zeros((4, 28, 28, 1), np.uint8), 2, 2, titles=list("abcd"), path=tmp_path / "g.png")
    assert (tmp_path / "g.png").stat().st_size > 0


def test_product_code_does_not_refer_to_shared():
    for path in list((ROOT / "jaxlin").glob("*.py")) + list((ROOT / "scripts").glob("*.py")):
        assert "shared/" not in path.read_text(), path


def test_env_folder_that_does_not_exist_is_reported_and_skipped(no_sources, monkeypatch, tmp_path):
    monkeypatch.setenv(fm.ENV_DIR, str(tmp_path / "nowhere"))
    with pytest.warns(UserWarning, match="is not a folder"), pytest.raises(FashionMNISTNotFound):
        load_fashion_mnist_arrays(data_dir=tmp_path / "tfds")
