"""6.2 convolutions for images: the chapter's loop ``corr2d``, its scratch ``Conv2D`` layer
and the learned kernel, against the book's values and the library's vectorized ``corr2d``."""
from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import chapter_namespace
from jaxlin.nn import conv

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ch6_02_conv_layer.py"
BOOK_X = jnp.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
BOOK_K = jnp.array([[0.0, 1.0], [2.0, 3.0]])


def run_chapter(path: Path, out: Path, *argv: str) -> dict:
    """The chapter's namespace after running it as ``python <path> --out <out> ARGV``."""
    return chapter_namespace(path.stem, ["--out", str(out), *argv])


@pytest.fixture(scope="module")
def chapter(tmp_path_factory):
    return run_chapter(SCRIPT, tmp_path_factory.mktemp("ch6_02"))


def edge_image():
    return jnp.ones((6, 8)).at[:, 2:6].set(0.0)


@pytest.mark.parametrize("impl", ["chapter", "library"])
def test_corr2d_book_values(chapter, impl):
    corr2d = chapter["corr2d"] if impl == "chapter" else conv.corr2d
    np.testing.assert_array_equal(corr2d(BOOK_X, BOOK_K), [[19.0, 25.0], [37.0, 43.0]])
    Y = corr2d(edge_image(), jnp.array([[1.0, -1.0]]))
    expected = np.zeros((6, 7))
    expected[:, 1], expected[:, 5] = 1.0, -1.0
    np.testing.assert_array_equal(Y, expected)
    np.testing.assert_array_equal(corr2d(edge_image().T, jnp.array([[1.0, -1.0]])), np.zeros((8, 5)))


@pytest.mark.parametrize("x_shape,k_shape", [((5, 6), (2, 3)), ((4, 4), (4, 4)), ((3, 7), (1, 1))])
def test_chapter_corr2d_equals_the_library(chapter, x_shape, k_shape):
    kx, kk = jax.random.split(jax.random.key(x_shape[1]))
    X, K = jax.random.normal(kx, x_shape), jax.random.normal(kk, k_shape)
    np.testing.assert_allclose(chapter["corr2d"](X, K), conv.corr2d(X, K), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("impl", ["chapter", "library"])
def test_corr2d_gradient_in_the_kernel_is_the_window_sums(chapter, impl):
    """d/dK[a, b] of sum(corr2d(X, K)) = the sum of X's slice under K[a, b]."""
    corr2d = chapter["corr2d"] if impl == "chapter" else conv.corr2d
    X = jnp.arange(20.0).reshape(4, 5)
    grad = jax.grad(lambda K: corr2d(X, K).sum())(jnp.ones((2, 3)))
    np.testing.assert_array_equal(grad, [[X[a:a + 3, b:b + 3].sum() for b in range(3)] for a in range(2)])


def test_scratch_conv2d_layer(chapter):
    init_conv2d, conv2d_layer = chapter["init_conv2d"], chapter["conv2d_layer"]
    params = init_conv2d(jax.random.key(0), (1, 2))
    assert set(params) == {"weight", "bias"} and params["weight"].shape == (1, 2)
    assert float(params["bias"]) == 0.0
    assert bool(((params["weight"] >= 0) & (params["weight"] < 1)).all())     # torch.rand's [0, 1)
    np.testing.assert_array_equal(init_conv2d(jax.random.key(0), (1, 2))["weight"], params["weight"])
    assert not np.array_equal(init_conv2d(jax.random.key(1), (1, 2))["weight"], params["weight"])
    X = jax.random.normal(jax.random.key(2), (6, 8))
    shifted = {"weight": params["weight"], "bias": jnp.array(0.5)}
    np.testing.assert_allclose(conv2d_layer(shifted, X), conv.corr2d(X, params["weight"]) + 0.5,
                               rtol=1e-6, atol=1e-6)


def test_learned_kernel_and_losses(chapter):
    """Book 6.2.4: lr 3e-2, 10 epochs. The loss is quadratic in K with Hessian eigenvalues 60 and
    12, so from any start in PyTorch's ±1/√2 range the error after 10 steps is below 0.1."""
    losses, learned = chapter["losses"], chapter["learned"]
    assert list(losses) == [2, 4, 6, 8, 10]
    assert all(later < earlier for earlier, later in zip(losses.values(), list(losses.values())[1:]))
    assert losses[10] < losses[2] / 10
    assert learned.shape == (1, 2)
    np.testing.assert_allclose(learned, [[1.0, -1.0]], atol=0.1)


def test_learning_from_another_seed_also_finds_the_kernel(tmp_path):
    namespace = run_chapter(SCRIPT, tmp_path, "--seed", "3")
    np.testing.assert_allclose(namespace["learned"], [[1.0, -1.0]], atol=0.1)
    assert namespace["losses"][10] < namespace["losses"][2]


def test_convolution_is_correlation_with_the_flipped_kernel(chapter):
    X, K = jax.random.normal(jax.random.key(5), (6, 5)), jax.random.normal(jax.random.key(6), (3, 2))
    true_conv = jax.scipy.signal.convolve2d(X, K, mode="valid")
    np.testing.assert_allclose(true_conv, chapter["corr2d"](X, jnp.flip(K)), rtol=1e-5, atol=1e-5)
    assert not np.allclose(true_conv, chapter["corr2d"](X, K), atol=1e-3)       # unflipped differs
    assert chapter["__jaxlin_run__"].run.results["flip_matches_convolution"] is True
