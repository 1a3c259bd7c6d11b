"""Convolutions and pooling (6.2-6.5): the book's values, and the NHWC layers against the
channel-first demonstrations they generalize."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxlin.nn.conv import (
    avg_pool2d,
    conv2d,
    conv_output_size,
    corr2d,
    corr2d_multi_in,
    corr2d_multi_in_out,
    corr2d_multi_in_out_1x1,
    max_pool2d,
    pool2d,
)

X3 = jnp.arange(9.0).reshape(3, 3)


def test_corr2d_gives_the_books_values():
    assert corr2d(X3, jnp.array([[0.0, 1.0], [2.0, 3.0]])).tolist() == [[19, 25], [37, 43]]


def test_corr2d_finds_the_books_edges():
    X = jnp.ones((6, 8)).at[:, 2:6].set(0)
    Y = corr2d(X, jnp.array([[1.0, -1.0]]))
    want = np.zeros((6, 7))
    want[:, 1], want[:, 5] = 1, -1
    np.testing.assert_array_equal(Y, want)
    np.testing.assert_array_equal(corr2d(X.T, jnp.array([[1.0, -1.0]])), np.zeros((8, 5)))


def test_corr2d_refuses_a_kernel_larger_than_the_input():
    with pytest.raises(ValueError, match="larger than the input"):
        corr2d(jnp.ones((2, 2)), jnp.ones((3, 1)))


def test_several_channels_give_the_books_values():
    X = jnp.stack([X3, X3 + 1])
    K = jnp.array([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])
    assert corr2d_multi_in(X, K).tolist() == [[56, 72], [104, 120]]
    out = corr2d_multi_in_out(X, jnp.stack([K, K + 1, K + 2]))
    assert out.tolist() == [[[56, 72], [104, 120]], [[76, 100], [148, 172]], [[96, 128], [192, 224]]]


def test_a_1x1_convolution_is_a_matrix_product():
    kx, kk = jax.random.split(jax.random.key(0))
    X, K = jax.random.normal(kx, (3, 3, 3)), jax.random.normal(kk, (2, 3, 1, 1))
    np.testing.assert_allclose(corr2d_multi_in_out_1x1(X, K), corr2d_multi_in_out(X, K), atol=1e-6)


def test_pool2d_gives_the_books_values():
    assert pool2d(X3, (2, 2)).tolist() == [[4, 5], [7, 8]]
    assert pool2d(X3, (2, 2), "avg").tolist() == [[2, 3], [5, 6]]
    with pytest.raises(ValueError, match="mode"):
        pool2d(X3, (2, 2), "sum")


@pytest.mark.parametrize("padding,stride", [(0, 1), (1, 1), (2, 1), (1, 2), (0, 3)])
def test_conv2d_is_corr2d_per_channel_pair_and_has_the_formula_shape(padding, stride):
    """The NHWC layer against the channel-first demonstration: pad, cross-correlate each
    (input, output) channel pair, sum the inputs, take every stride-th position."""
    kx, kk = jax.random.split(jax.random.key(1))
    X, K = jax.random.normal(kx, (2, 8, 7, 3)), jax.random.normal(kk, (3, 2, 3, 4))
    Y = conv2d(X, K, padding=padding, stride=stride)
    assert Y.shape == (2, conv_output_size(8, 3, padding, stride), conv_output_size(7, 2, padding, stride), 4)
    for n in range(2):
        x = jnp.pad(X[n], ((padding, padding), (padding, padding), (0, 0))).transpose(2, 0, 1)
        want = corr2d_multi_in_out(x, K.transpose(3, 2, 0, 1))[:, ::stride, ::stride]
        np.testing.assert_allclose(Y[n].transpose(2, 0, 1), want, rtol=1e-5, atol=1e-5)


def test_the_books_shape_checks():
    X = jnp.zeros((1, 8, 8, 1))
    assert conv2d(X, jnp.zeros((3, 3, 1, 1)), padding=1).shape[1:3] == (8, 8)
    assert conv2d(X, jnp.zeros((5, 3, 1, 1)), padding=(2, 1)).shape[1:3] == (8, 8)
    assert conv2d(X, jnp.zeros((3, 3, 1, 1)), padding=1, stride=2).shape[1:3] == (4, 4)
    assert conv2d(X, jnp.zeros((3, 5, 1, 1)), padding=(0, 1), stride=(3, 4)).shape[1:3] == (2, 2)


def test_nhwc_pooling_is_pool2d_with_a_stride():
    X = jax.random.normal(jax.random.key(2), (2, 6, 4, 3))
    for pooled, mode in ((max_pool2d(X), "max"), (avg_pool2d(X), "avg")):
        assert pooled.shape == (2, 3, 2, 3)
        for n in range(2):
            for c in range(3):
                np.testing.assert_allclose(pooled[n, :, :, c], pool2d(X[n, :, :, c], (2, 2), mode)[::2, ::2],
                                           rtol=1e-6)
