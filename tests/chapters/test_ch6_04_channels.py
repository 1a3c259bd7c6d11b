"""6.4 multiple input and output channels: the chapter's three functions against the book's values,
the library's forms and one NHWC ``lax`` convolution."""
from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import chapter_namespace
from jaxlin.nn import conv

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ch6_04_channels.py"
BOOK_X = jnp.array([[[0.0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1.0, 2, 3], [4, 5, 6], [7, 8, 9]]])
BOOK_K = jnp.array([[[0.0, 1], [2, 3]], [[1.0, 2], [3, 4]]])
BOOK_OUT = [[[56.0, 72], [104, 120]], [[76.0, 100], [148, 172]], [[96.0, 128], [192, 224]]]


def run_chapter(path: Path, out: Path, *argv: str) -> dict:
    """The chapter's namespace after running it as ``python <path> --out <out> ARGV``."""
    return chapter_namespace(path.stem, ["--out", str(out), *argv])


@pytest.fixture(scope="module")
def chapter(tmp_path_factory):
    return run_chapter(SCRIPT, tmp_path_factory.mktemp("ch6_04"))


def impl(chapter, name, which):
    return chapter[name] if which == "chapter" else getattr(conv, name)


@pytest.mark.parametrize("which", ["chapter", "library"])
def test_book_values(chapter, which):
    np.testing.assert_array_equal(impl(chapter, "corr2d_multi_in", which)(BOOK_X, BOOK_K),
                                  [[56.0, 72.0], [104.0, 120.0]])
    K3 = jnp.stack((BOOK_K, BOOK_K + 1, BOOK_K + 2), 0)
    assert K3.shape == (3, 2, 2, 2)
    np.testing.assert_array_equal(impl(chapter, "corr2d_multi_in_out", which)(BOOK_X, K3), BOOK_OUT)


@pytest.mark.parametrize("which", ["chapter", "library"])
def test_one_by_one_convolution_is_a_matrix_product(chapter, which):
    kx, kk = jax.random.split(jax.random.key(0))
    X, K = jax.random.normal(kx, (3, 3, 3)), jax.random.normal(kk, (2, 3, 1, 1))
    Y1 = impl(chapter, "corr2d_multi_in_out_1x1", which)(X, K)
    Y2 = impl(chapter, "corr2d_multi_in_out", which)(X, K)
    assert Y1.shape == (2, 3, 3)
    assert float(jnp.abs(Y1 - Y2).max()) < 1e-6
    np.testing.assert_allclose(Y1, jnp.einsum("oi,ihw->ohw", K[:, :, 0, 0], X), rtol=1e-5, atol=1e-6)


def test_chapter_functions_equal_the_library_on_random_input(chapter):
    kx, kk = jax.random.split(jax.random.key(1))
    X, K = jax.random.normal(kx, (4, 6, 5)), jax.random.normal(kk, (3, 4, 3, 2))
    np.testing.assert_allclose(chapter["corr2d_multi_in"](X, K[0]), conv.corr2d_multi_in(X, K[0]),
                               rtol=1e-6, atol=1e-6)
    Y = chapter["corr2d_multi_in_out"](X, K)
    assert Y.shape == (3, 4, 4)
    np.testing.assert_allclose(Y, conv.corr2d_multi_in_out(X, K), rtol=1e-6, atol=1e-6)
    nhwc = conv.conv2d(jnp.transpose(X, (1, 2, 0))[None], jnp.transpose(K, (2, 3, 1, 0)))
    np.testing.assert_allclose(jnp.transpose(nhwc[0], (2, 0, 1)), Y, rtol=1e-5, atol=1e-5)


def test_library_refuses_mismatched_channels():
    with pytest.raises(ValueError, match="channels"):
        conv.corr2d_multi_in(jnp.ones((3, 4, 4)), jnp.ones((2, 2, 2)))


def test_the_chapter_results(chapter):
    results = chapter["__jaxlin_run__"].run.results
    np.testing.assert_array_equal(results["multi_in_out"], BOOK_OUT)
    assert results["lax_matches"] and results["max_diff_1x1"] < 1e-6
