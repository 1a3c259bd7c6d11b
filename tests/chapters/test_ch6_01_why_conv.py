"""6.1 from fully connected layers to convolutions: the chapter's tied dense weights are a
cross-correlation, its circular cross-correlation is translation-equivariant, a free dense
layer is not, and the library's ``corr2d`` is the textbook sum."""
from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import chapter_namespace
from jaxlin.nn import conv

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ch6_01_why_conv.py"


def run_chapter(path: Path, out: Path, *argv: str) -> dict:
    """The chapter's namespace after running it as ``python <path> --out <out> ARGV``."""
    return chapter_namespace(path.stem, ["--out", str(out), *argv])


@pytest.fixture(scope="module")
def chapter(tmp_path_factory):
    return run_chapter(SCRIPT, tmp_path_factory.mktemp("ch6_01"))


def small_ints(key, shape, low=-4, high=5):
    """Integer-valued float32 arrays: every sum below is exact, so comparisons are equalities."""
    return jax.random.randint(key, shape, low, high).astype(jnp.float32)


def naive_corr2d(X, K):
    X, K = np.asarray(X, np.float64), np.asarray(K, np.float64)
    (h, w), (kh, kw) = X.shape, K.shape
    return np.array([[np.sum(X[i:i + kh, j:j + kw] * K) for j in range(w - kw + 1)]
                     for i in range(h - kh + 1)])


@pytest.mark.parametrize("x_shape,k_shape", [((6, 8), (3, 3)), ((5, 5), (1, 2)), ((4, 7), (4, 2)),
                                             ((3, 3), (3, 3))])
def test_library_corr2d_is_the_textbook_sum(x_shape, k_shape):
    kx, kk = jax.random.split(jax.random.key(sum(x_shape) + 10 * sum(k_shape)))
    X, K = small_ints(kx, x_shape), small_ints(kk, k_shape)
    np.testing.assert_array_equal(conv.corr2d(X, K), naive_corr2d(X, K))


def test_library_corr2d_refuses_a_kernel_larger_than_the_input():
    with pytest.raises(ValueError, match="larger than the input"):
        conv.corr2d(jnp.ones((2, 5)), jnp.ones((3, 1)))


@pytest.mark.parametrize("x_shape,k_shape", [((6, 8), (3, 3)), ((5, 7), (2, 4)), ((4, 4), (1, 1))])
def test_tied_dense_weights_are_a_cross_correlation(chapter, x_shape, k_shape):
    kx, kk = jax.random.split(jax.random.key(7))
    X, V = small_ints(kx, x_shape), small_ints(kk, k_shape)
    W = chapter["tied_dense_weights"](V, X.shape)
    out_h, out_w = x_shape[0] - k_shape[0] + 1, x_shape[1] - k_shape[1] + 1
    assert W.shape == (out_h, out_w, *x_shape)
    np.testing.assert_array_equal(jnp.einsum("ijkl,kl->ij", W, X), conv.corr2d(X, V))
    # the last output pixel weighs the input's bottom-right window by V and everything else by 0
    last = W[-1, -1]
    np.testing.assert_array_equal(last[-k_shape[0]:, -k_shape[1]:], V)
    assert int((last != 0).sum()) == int((V != 0).sum())


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("steps", [1, 3])
def test_circular_correlation_is_translation_equivariant(chapter, axis, steps):
    corr = chapter["corr2d_circular"]
    kx, kk = jax.random.split(jax.random.key(3))
    X, V = small_ints(kx, (7, 9)), small_ints(kk, (3, 2))
    Y = corr(X, V)
    assert Y.shape == X.shape
    np.testing.assert_array_equal(corr(jnp.roll(X, steps, axis=axis), V), jnp.roll(Y, steps, axis=axis))


def test_the_chapter_shift_moves_one_column_right(chapter):
    X = jnp.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(chapter["shift"](X)[:, 1:], X[:, :-1])
    np.testing.assert_array_equal(chapter["shift"](X)[:, 0], X[:, -1])


def test_the_chapter_results(chapter):
    results = chapter["__jaxlin_run__"].run.results
    assert results["tied_dense_equals_corr2d"] and results["conv_equivariant"]
    assert results["dense_equivariance_gap"] > 1.0            # a free dense layer is not equivariant
    assert list(results["param_counts"].values()) == [10 ** 9, 10 ** 12, 1999 ** 2, 21 ** 2]
