"""Where Fashion-MNIST comes from: offline folders, Debian's gzip headers, bad files, no source."""
from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, shared_dir
from jaxlin.data import fashion_mnist as fmd
from jaxlin.data import fashion_mnist_sources as fm
from jaxlin.data.fashion_mnist import (
    ChecksumError,
    DamagedData,
    FashionMNISTNotFound,
    load_fashion_mnist_arrays,
)

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


def test_debians_folder_is_found_when_nothing_else_is_given(no_sources, monkeypatch, tmp_path):
    """(Preparing from Debian's re-gzipped files runs end to end in the first-preparation test.)"""
    assert fm.find_source() is None
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path)
    assert fm.find_source() == tmp_path
    (tmp_path / "given").mkdir()
    assert fm.find_source(tmp_path / "given") == tmp_path / "given"     # a folder given comes first


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


@pytest.mark.data
def test_a_first_preparation_prints_one_line_and_clears_what_a_killed_one_left(tmp_path):
    """A fresh TFDS data dir, with the litter of a preparation killed by kill -9 in it: our one
    line (no TFDS bars, no "Downloading", no absl or oneDNN lines), the litter and TFDS's
    decompressed copies gone, and the arrays cached."""
    source = tmp_path / "debian-form"                 # Debian's re-gzipped files: headers restored
    source.mkdir()
    for name in FILES:
        (source / name).write_bytes(_debian_form((shared_dir("fashion-mnist") / name).read_bytes()))
    data_dir = tmp_path / "tfds"
    litter = [data_dir / "downloads" / "manual" / "jaxlin-fashion-mnist-k1ll3d" / FILES[0],
              data_dir / "fashion_mnist" / "incomplete.Q9X2" / "fashion_mnist-train.tfrecord",
              data_dir / "jaxlin-cache" / ".fashion_mnist-3.0.1.npz.k1ll3d.tmp"]
    for path in litter:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * 1000)
    code = ("from jaxlin.data.fashion_mnist import load_fashion_mnist_arrays; d = load_fashion_mnist_arrays(); "
            "print(d.train_images.shape, round(float(d.train_images.mean()) / 255, 4))")
    env = dict(os.environ, TFDS_DATA_DIR=str(data_dir), JAXLIN_FASHION_MNIST_DIR=str(source))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = (proc.stdout + proc.stderr).splitlines()
    assert len(lines) <= 3 and proc.stdout == "(60000, 28, 28, 1) 0.286\n", lines
    assert not any("Downloading" in line or "\x1b" in line for line in lines)
    assert "preparing Fashion-MNIST once" in proc.stderr and str(source) in proc.stderr
    assert not any(p.exists() or p.parent.exists() for p in litter[:2]) and not litter[2].exists()
    assert not list((data_dir / "downloads" / "extracted").glob("GZIP.*"))
    assert list((data_dir / "jaxlin-cache").glob("*.npz"))


@pytest.fixture
def prepared_copy(fashion_mnist, tmp_path):
    """A copy of the prepared TFDS folder (no jaxlin cache yet) in a data dir of its own."""
    data_dir = tmp_path / "tfds"
    shutil.copytree(fm.default_data_dir() / fm.NAME, data_dir / fm.NAME)
    return data_dir


@pytest.mark.parametrize("damage", ["truncated", "byte-flipped", "wrong shape"])
def test_a_damaged_array_cache_is_noticed(damage, tmp_path, capsys):
    rng = np.random.default_rng(0)
    arrays = {f"{split}_images": rng.integers(0, 256, (n, 28, 28, 1), dtype=np.uint8)
              for split, n in (("train", 300), ("test", 100))}
    arrays |= {f"{split}_labels": (np.arange(n) % 10).astype(np.int32) for split, n in (("train", 300), ("test", 100))}
    cache = tmp_path / "jaxlin-cache" / "fashion_mnist-3.0.1.npz"
    fmd._write_cache(cache, arrays)
    assert fmd._read_cache(cache)["test_labels"].tolist() == arrays["test_labels"].tolist()
    data = bytearray(cache.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "byte-flipped":
        data[len(data) // 3] ^= 0xFF                       # inside the training images: CRC-32
    else:
        fmd._write_cache(cache, arrays | {"test_images": arrays["test_images"][:, :27]})
        data = bytearray(cache.read_bytes())
    cache.write_bytes(bytes(data))
    assert fmd._read_cache(cache) is None
    assert f"{cache} is damaged" in capsys.readouterr().err


def test_a_cache_that_cannot_be_written_is_skipped_with_a_note(tmp_path, capsys):
    (tmp_path / "jaxlin-cache").write_text("a file where the cache folder would be")
    fmd._write_cache(tmp_path / "jaxlin-cache" / "fashion_mnist-3.0.1.npz", {"x": np.zeros(3)})
    assert "cannot write jaxlin's array cache" in capsys.readouterr().err


@pytest.mark.data
def test_a_damaged_cache_is_rebuilt_from_tfds(prepared_copy, capsys):
    shutil.copytree(fm.default_data_dir() / "jaxlin-cache", prepared_copy / "jaxlin-cache")  # the session's
    first = load_fashion_mnist_arrays(data_dir=prepared_copy)
    cache, = (prepared_copy / "jaxlin-cache").glob("*.npz")
    cache.write_bytes(cache.read_bytes()[:1000])
    again = load_fashion_mnist_arrays(data_dir=prepared_copy)
    assert f"{cache} is damaged" in capsys.readouterr().err
    np.testing.assert_array_equal(again.train_images, first.train_images)
    load_fashion_mnist_arrays(data_dir=prepared_copy)
    assert "damaged" not in capsys.readouterr().err        # rebuilt: the third load reads it


@pytest.mark.data
def test_damaged_tfds_records_name_the_folder_and_the_fix(prepared_copy):
    record, = (prepared_copy / fm.NAME).glob("*/fashion_mnist-test.tfrecord-*")
    data = bytearray(record.read_bytes())
    data[5000:5010] = b"\xff" * 10
    record.write_bytes(bytes(data))
    with pytest.raises(DamagedData, match=rf"test records in {record.parent} are damaged .*delete "
                                          rf"{record.parent} and run again"):
        load_fashion_mnist_arrays(data_dir=prepared_copy)


def test_a_data_dir_that_is_a_file_or_a_missing_source_folder_is_refused(tmp_path, fashion_mnist):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(FashionMNISTNotFound, match="is a file, not a folder"):
        load_fashion_mnist_arrays(data_dir=tmp_path / "file")
    with pytest.raises(FashionMNISTNotFound, match="nonexistent is not a folder"):   # even when prepared
        load_fashion_mnist_arrays(fashion_mnist_dir=tmp_path / "nonexistent")
