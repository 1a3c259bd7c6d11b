"""6.5 pooling: the chapter's loop ``pool2d`` against the book's values and the library's
``pool2d``, and Flax's / XLA's pooling with padding, stride and two channels."""
from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import chapter_namespace
from jaxlin.nn import conv

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ch6_05_pooling.py"
BOOK_X = jnp.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])


def run_chapter(path: Path, out: Path, *argv: str) -> dict:
    """The chapter's namespace after running it as ``python <path> --out <out> ARGV``."""
    return chapter_namespace(path.stem, ["--out", str(out), *argv])


@pytest.fixture(scope="module")
def chapter(tmp_path_factory):
    return run_chapter(SCRIPT, tmp_path_factory.mktemp("ch6_05"))


@pytest.mark.parametrize("which", ["chapter", "library"])
def test_book_values(chapter, which):
    pool2d = chapter["pool2d"] if which == "chapter" else conv.pool2d
    np.testing.assert_array_equal(pool2d(BOOK_X, (2, 2)), [[4.0, 5.0], [7.0, 8.0]])
    np.testing.assert_array_equal(pool2d(BOOK_X, (2, 2), "avg"), [[2.0, 3.0], [5.0, 6.0]])


@pytest.mark.parametrize("pool_size", [(2, 2), (1, 3), (3, 2), (4, 5)])
def test_chapter_pool2d_equals_the_library(chapter, pool_size):
    X = jax.random.normal(jax.random.key(sum(pool_size)), (4, 6))
    for mode in ("max", "avg"):
        Y = chapter["pool2d"](X, pool_size, mode)
        assert Y.shape == (4 - pool_size[0] + 1, 6 - pool_size[1] + 1)
        np.testing.assert_allclose(Y, conv.pool2d(X, pool_size, mode), rtol=1e-6, atol=1e-6)


def test_library_pool2d_refuses_an_unknown_mode():
    with pytest.raises(ValueError, match="mode"):
        conv.pool2d(BOOK_X, (2, 2), "min")


def test_nhwc_pooling_is_the_scratch_pooling_at_stride_window():
    X = jax.random.normal(jax.random.key(4), (1, 6, 8, 1))
    image = X[0, :, :, 0]
    np.testing.assert_array_equal(conv.max_pool2d(X, 2)[0, :, :, 0], conv.pool2d(image, (2, 2))[::2, ::2])
    np.testing.assert_allclose(conv.avg_pool2d(X, 2)[0, :, :, 0], conv.pool2d(image, (2, 2), "avg")[::2, ::2],
                               rtol=1e-6, atol=1e-6)


def test_max_pooling_padding_never_wins_on_negative_input():
    """Max pooling pads with -inf, not 0: on all-negative input no output is 0."""
    X = -1.0 - jnp.arange(16.0).reshape(1, 4, 4, 1)
    Y = jax.lax.reduce_window(X, -jnp.inf, jax.lax.max, (1, 3, 3, 1), (1, 2, 2, 1),
                              ((0, 0), (1, 1), (1, 1), (0, 0)))
    np.testing.assert_array_equal(Y[0, :, :, 0], [[-1.0, -2.0], [-5.0, -6.0]])


def test_the_chapter_results(chapter):
    results = chapter["__jaxlin_run__"].run.results
    np.testing.assert_array_equal(results["window_3"], [[10.0]])
    for key in ("padding_stride", "rectangular", "reduce_window", "max_pool2d"):
        np.testing.assert_array_equal(results[key], [[5.0, 7.0], [13.0, 15.0]])
    np.testing.assert_array_equal(results["channels"],
                                  [[[5.0, 7.0], [13.0, 15.0]], [[6.0, 8.0], [14.0, 16.0]]])
    np.testing.assert_allclose(results["avg_pool2d"], [[2.5, 4.5], [10.5, 12.5]])
