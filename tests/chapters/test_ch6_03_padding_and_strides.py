"""6.3 padding and stride: the output-shape formula against ``conv2d``'s shapes, padding as a
frame of zeros, stride as subsampling, and the chapter's four shapes."""
from __future__ import annotations

import itertools
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import chapter_namespace
from jaxlin.nn import conv

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ch6_03_padding_and_strides.py"
BOOK_SHAPES = [(8, 8), (8, 8), (4, 4), (2, 2)]


def run_chapter(path: Path, out: Path, *argv: str) -> dict:
    """The chapter's namespace after running it as ``python <path> --out <out> ARGV``."""
    return chapter_namespace(path.stem, ["--out", str(out), *argv])


@pytest.fixture(scope="module")
def chapter(tmp_path_factory):
    return run_chapter(SCRIPT, tmp_path_factory.mktemp("ch6_03"))


def test_conv_output_size_book_cases():
    assert conv.conv_output_size(8, 3, 1) == 8
    assert (conv.conv_output_size(8, 5, 2), conv.conv_output_size(8, 3, 1)) == (8, 8)
    assert conv.conv_output_size(8, 3, 1, 2) == 4
    assert (conv.conv_output_size(8, 3, 0, 3), conv.conv_output_size(8, 5, 1, 4)) == (2, 2)
    with pytest.raises(ValueError, match="stride"):
        conv.conv_output_size(8, 3, 1, 0)


def test_conv_output_size_is_the_shape_conv2d_gives():
    X = jnp.ones((1, 7, 7, 1))
    for k, p, s in itertools.product(range(1, 6), range(3), range(1, 4)):
        Y = conv.conv2d(X, jnp.ones((k, k, 1, 1)), padding=p, stride=s)
        assert Y.shape[1] == conv.conv_output_size(7, k, p, s), (k, p, s)


def test_padding_is_a_frame_of_zeros_and_stride_subsamples():
    """conv2d(pad p, stride s) == corr2d of the zero-padded image, every s-th row and column."""
    X = jax.random.randint(jax.random.key(0), (7, 8), -4, 5).astype(jnp.float32)
    K = jax.random.randint(jax.random.key(1), (3, 2), -3, 4).astype(jnp.float32)
    for (ph, pw), (sh, sw) in [((1, 1), (1, 1)), ((2, 0), (1, 1)), ((0, 1), (3, 4)), ((1, 2), (2, 3))]:
        Y = conv.conv2d(X[None, :, :, None], K[:, :, None, None], padding=(ph, pw), stride=(sh, sw))
        expected = conv.corr2d(jnp.pad(X, ((ph, ph), (pw, pw))), K)[::sh, ::sw]
        np.testing.assert_array_equal(Y[0, :, :, 0], expected)


def test_comp_conv2d_adds_batch_first_and_channel_last(chapter):
    seen = []

    def layer(X4):
        seen.append(X4.shape)
        return X4[:, 1:, :2, :] * 2.0

    X = jnp.arange(20.0).reshape(4, 5)
    np.testing.assert_array_equal(chapter["comp_conv2d"](layer, X), X[1:, :2] * 2.0)
    assert seen == [(1, 4, 5, 1)]


def test_the_chapter_shapes(chapter):
    results = chapter["__jaxlin_run__"].run.results
    assert [tuple(s) for s in results["formula_shapes"]] == BOOK_SHAPES
    assert [tuple(s) for s in results["conv2d_shapes"]] == BOOK_SHAPES
    assert [tuple(s) for s in results["flax_shapes"]] == BOOK_SHAPES
    assert chapter["conv_odd"].kernel.shape == (3, 5, 1, 1)
