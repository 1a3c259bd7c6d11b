"""Where Fashion-MNIST comes from: offline folders, Debian's gzip headers, bad files, no source."""
from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from conftest import ROOT, shared_dir
from jaxlin.data import fashion_mnist_sources as fm
from jaxlin.data.fashion_mnist import ChecksumError, FashionMNISTNotFound, load_fashion_mnist_arrays

FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


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


def test_env_folder_that_does_not_exist_is_reported_and_skipped(no_sources, monkeypatch, tmp_path):
    monkeypatch.setenv(fm.ENV_DIR, str(tmp_path / "nowhere"))
    with pytest.warns(UserWarning, match="is not a folder"), pytest.raises(FashionMNISTNotFound):
        load_fashion_mnist_arrays(data_dir=tmp_path / "tfds")


def test_product_code_does_not_refer_to_shared():
    """The test data folder ``../shared`` is the tests' business: no module (in any layer) or
    script names it."""
    paths = sorted((ROOT / "jaxlin").rglob("*.py")) + sorted((ROOT / "scripts").glob("*.py"))
    assert len(paths) > 40
    for path in paths:
        assert "shared/" not in path.read_text(), path
