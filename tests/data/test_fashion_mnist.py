"""Fashion-MNIST as arrays and minibatches: the TFDS mock, the real data, ``to_float``, ``Batches``."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxlin.data import fashion_mnist_sources as fm
from jaxlin.data.fashion_mnist import (
    Batches,
    get_fashion_mnist_labels,
    load_data_fashion_mnist,
    load_fashion_mnist_arrays,
    resize_images,
    to_float,
)


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


def test_text_labels():
    assert get_fashion_mnist_labels([0, 9, 5]) == ["t-shirt", "ankle boot", "sandal"]
    # all ten, in the order of the official Fashion-MNIST classes (zalandoresearch/fashion-mnist:
    # T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot)
    assert get_fashion_mnist_labels(range(10)) == [
        "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"]
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        get_fashion_mnist_labels([10])


def test_to_float_maps_0_255_onto_0_1():
    """0 → 0.0 and 255 → 1.0 exactly; every other i → i/255 to within one float32 ulp (XLA
    multiplies by the float32 1/255 instead of dividing, so 51 may come out 0.20000002)."""
    out = np.asarray(to_float(jnp.array([0, 51, 102, 255], jnp.uint8)))
    assert out.dtype == np.float32
    assert out[0] == 0.0 and out[3] == 1.0
    np.testing.assert_array_max_ulp(out, np.array([0.0, 0.2, 0.4, 1.0], np.float32), maxulp=1)
    np.testing.assert_array_max_ulp(to_float(jnp.arange(256, dtype=jnp.uint8)),
                                    np.arange(256, dtype=np.float32) / np.float32(255), maxulp=1)


@pytest.mark.data
def test_to_float_gives_the_books_pixel_statistics(fashion_mnist):
    """Mean and standard deviation of the [0, 1] pixels, as torchvision's ToTensor gives them."""
    for images, mean, std in ((fashion_mnist.train_images, 0.28604, 0.35302),
                              (fashion_mnist.test_images, 0.28685, 0.35244)):
        X = to_float(images)
        assert X.dtype == jnp.float32 and float(X.min()) == 0.0 and float(X.max()) == 1.0
        assert float(X.mean()) == pytest.approx(mean, abs=1e-4)
        assert float(X.std()) == pytest.approx(std, abs=1e-4)


@pytest.mark.data
def test_load_data_fashion_mnist_gives_the_real_training_and_test_sets(fashion_mnist):
    """Train: all 60,000 examples once per epoch, shuffled; test: the 10,000 in their order."""
    d = fashion_mnist
    train_iter, test_iter = load_data_fashion_mnist(256, key=jax.random.key(1))
    assert len(train_iter) == 235 and len(test_iter) == 40
    X, y = next(iter(test_iter))
    assert X.dtype == jnp.float32 and y.dtype == jnp.int32
    np.testing.assert_array_equal(X, to_float(d.test_images[:256]))
    np.testing.assert_array_equal(y, d.test_labels[:256])
    assert sum(len(y) for _, y in test_iter) == 10000
    n, counts, pixels, first = 0, np.zeros(10, np.int64), 0, None
    for X, y in train_iter:
        y = np.asarray(y)
        first = y if first is None else first
        n, counts = n + len(y), counts + np.bincount(y, minlength=10)
        pixels += int(np.rint(np.asarray(X, np.float64) * 255).sum())    # back to the uint8 values
    assert n == 60000 and counts.tolist() == [6000] * 10
    assert pixels == int(np.asarray(d.train_images, np.int64).sum())    # a permutation of the training set
    assert not np.array_equal(first, np.asarray(d.train_labels[:256]))  # shuffled


def test_resize_is_bilinear():
    """2x2 → 4x4 by hand (half-pixel centres, as the book's ``Resize``): output pixel i samples
    input coordinate (i + 0.5)/2 − 0.5 = −0.25, 0.25, 0.75, 1.25, clamped at the edges, so a
    row 0, 1 becomes 0, 0.25, 0.75, 1 (nearest would give 0, 0, 1, 1); image[i, j] = c[j] + 2 c[i]."""
    image = jnp.array([[0.0, 1.0], [2.0, 3.0]]).reshape(1, 2, 2, 1)
    c = np.array([0.0, 0.25, 0.75, 1.0])
    expected = (c[None, :] + 2 * c[:, None]).reshape(1, 4, 4, 1)
    np.testing.assert_allclose(resize_images(image, 4), expected, atol=1e-6)
    pixels = jnp.array([[0, 255], [255, 255]], jnp.uint8).reshape(1, 2, 2, 1)   # through the batches
    X, _ = next(iter(Batches(jnp.concatenate([pixels] * 2), jnp.zeros(2, jnp.int32), 2, resize=4)))
    ramp = 1 - (1 - c[:, None]) * (1 - c[None, :])       # bilinear between corners 0, 1, 1, 1
    np.testing.assert_allclose(X[0, :, :, 0], ramp, atol=1e-6)
