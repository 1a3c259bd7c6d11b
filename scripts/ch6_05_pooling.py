# %% [markdown]
# # 6.5 Pooling
#
# A convolution's output follows its input pixel by pixel, yet often we care only whether a feature
# is present *near* some place, and later layers should summarize ever larger regions. A pooling
# layer slides a window over its input like a convolution, but has no kernel: it returns the
# maximum (max pooling) or the mean (average pooling) of each window. It has no parameters, it
# makes the output less sensitive to small shifts, and with a stride it shrinks the image.
#
# As a script: `python scripts/ch6_05_pooling.py [--out DIR]`; in a notebook the flags take their
# defaults (or the words of `$JAXLIN_ARGS`).


# %% [markdown]
# The set-up: nothing to set, as every example here is a fixed array (`arange`), the same
# whatever the seed, so the settings `setup` returns go unused. It still opens the run's
# output folder, where `record` keeps the pooled arrays (`results.json`).


# %%
import jax.numpy as jnp
from flax import nnx
from jax import lax

import jaxlin
from jaxlin.run import setup
from jaxlin.run.session import record

setup("ch6_05_pooling", "6.5 Pooling")


# %% [markdown]
# ## Maximum pooling and average pooling (6.5.1)
#
# For a $p_h \times p_w$ window at position $(i, j)$, max pooling outputs
# $\max_{0 \le a < p_h,\, 0 \le b < p_w} [\mathbf{X}]_{i+a,j+b}$ and average pooling the mean of
# the same entries. The book's `pool2d` is 6.2's `corr2d` loop with the multiply-and-sum replaced
# by `.max()` or `.mean()`; as there, JAX arrays are immutable, so each entry is written with
# `Y.at[i, j].set(...)`, which returns a new array. On the book's 3×3 input with a 2×2 window,
# max pooling gives `[[4, 5], [7, 8]]` and average pooling `[[2, 3], [5, 6]]`.


# %%
def pool2d(X, pool_size, mode="max"):
    p_h, p_w = pool_size
    Y = jnp.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            if mode == "max":
                Y = Y.at[i, j].set(X[i:i + p_h, j:j + p_w].max())
            elif mode == "avg":
                Y = Y.at[i, j].set(X[i:i + p_h, j:j + p_w].mean())
    return Y


X = jnp.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
Y_max, Y_avg = pool2d(X, (2, 2)), pool2d(X, (2, 2), "avg")
print("pool2d(X, (2, 2)) =\n", Y_max)
print("pool2d(X, (2, 2), 'avg') =\n", Y_avg)


# %% [markdown]
# The library's `jaxlin.pool2d` stacks the $p_h p_w$ shifted slices of `X` and reduces over them
# at once (no loop over outputs); it gives the same numbers: the cell prints `True True`.


# %%
print("jaxlin.pool2d == pool2d, max and avg:", bool((jaxlin.pool2d(X, (2, 2)) == Y_max).all()),
      bool((jaxlin.pool2d(X, (2, 2), "avg") == Y_avg).all()))


# %% [markdown]
# ## Padding and stride (6.5.2)
#
# The book now switches to the built-in layer, `nn.MaxPool2d`, on a 4×4 image with values 0 to 15,
# reshaped to PyTorch's NCHW, (1, 1, 4, 4). Flax's `nnx.max_pool(inputs, window_shape, strides,
# padding)` is a plain function, channels last, so the image is (1, 4, 4, 1). One difference
# matters: PyTorch's stride defaults to the window size, **Flax's stride defaults to 1**, so we
# pass it. With a 3×3 window and stride 3 only one window fits, and the maximum of the top-left
# 3×3 block is `[[10]]`.


# %%
X16 = jnp.arange(16, dtype=jnp.float32).reshape((1, 4, 4, 1))
print("X[0, :, :, 0] =\n", X16[0, :, :, 0])
Y_window_3 = nnx.max_pool(X16, (3, 3), strides=(3, 3))
print("max_pool(X, (3, 3), strides=(3, 3)) =", Y_window_3[0, :, :, 0])


# %% [markdown]
# Padding and stride work as for convolutions (6.3): with one row and column of padding on every
# side and stride 2, $\lfloor (4 - 3 + 2 + 2)/2 \rfloor = 2$, a 2×2 output, `[[5, 7], [13, 15]]`.
# Flax takes padding as one `(low, high)` pair per spatial axis; it pads with $-\infty$ for max
# pooling, so padded cells never win the maximum. A rectangular 2×3 window with stride (2, 3) and
# padding (0, 1), as in the book, gives the same 2×2 array.


# %%
Y_pad_stride = nnx.max_pool(X16, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
print("max_pool(X, (3, 3), strides=(2, 2), padding 1) =\n", Y_pad_stride[0, :, :, 0])
Y_rect = nnx.max_pool(X16, (2, 3), strides=(2, 3), padding=((0, 0), (1, 1)))
print("max_pool(X, (2, 3), strides=(2, 3), padding (0, 1)) =\n", Y_rect[0, :, :, 0])


# %% [markdown]
# Underneath, `nnx.max_pool` is one call of XLA's `lax.reduce_window`, which any reduction fits:
# an initial value ($-\infty$ for max, 0 for a sum), the reducing function, and window, strides
# and padding given for every axis of the array, batch and channel included (size 1 there). The
# same 3×3, stride 2, padding 1 pooling is printed once more.


# %%
Y_reduce_window = lax.reduce_window(X16, -jnp.inf, lax.max, (1, 3, 3, 1), (1, 2, 2, 1),
                                    ((0, 0), (1, 1), (1, 1), (0, 0)))
print("lax.reduce_window(...) =\n", Y_reduce_window[0, :, :, 0])


# %% [markdown]
# ## Multiple channels (6.5.3)
#
# Pooling works on each channel separately, so the number of output channels equals the number of
# input channels (a convolution sums over the input channels instead). The book concatenates `X`
# and `X + 1` along PyTorch's channel axis 1; in NHWC the channel axis is the last one. The cell
# prints the result per channel, as the book shows it: `[[5, 7], [13, 15]]` and
# `[[6, 8], [14, 16]]`.


# %%
X2 = jnp.concatenate((X16, X16 + 1), axis=3)
print("X2.shape =", X2.shape)
Y_channels = nnx.max_pool(X2, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
print("per channel:\n", jnp.moveaxis(Y_channels[0], -1, 0))


# %% [markdown]
# `nnx.avg_pool` takes the same arguments; with padding it counts the padded zeros in the mean
# (`count_include_pad=True`, PyTorch's default too). The library's NHWC `jaxlin.max_pool2d` and
# `jaxlin.avg_pool2d` (stride = window, no padding: the form LeNet in 6.6 uses) give 2×2 pooling of
# the 4×4 image, `[[5, 7], [13, 15]]` and `[[2.5, 4.5], [10.5, 12.5]]`, equal to Flax's.


# %%
Y_max_2, Y_avg_2 = jaxlin.max_pool2d(X16, 2), jaxlin.avg_pool2d(X16, 2)
print("max_pool2d(X, 2) =\n", Y_max_2[0, :, :, 0], "\navg_pool2d(X, 2) =\n", Y_avg_2[0, :, :, 0])
print("same as nnx:", bool((Y_max_2 == nnx.max_pool(X16, (2, 2), strides=(2, 2))).all()),
      bool(jnp.allclose(Y_avg_2, nnx.avg_pool(X16, (2, 2), strides=(2, 2)))))


# %% [markdown]
# ## Results
#
# What this section found, kept in the run's `results.json` by `record`: the book's max and
# average pools of the 3×3 example (`[[4, 5], [7, 8]]`, `[[2, 3], [5, 6]]`), the padded and
# strided pools of the 4×4 example, both channels of the two-channel input, and the library's
# `max_pool2d` and `avg_pool2d` of the 4×4 example.


# %%
record(max=Y_max, avg=Y_avg, window_3=Y_window_3[0, :, :, 0], padding_stride=Y_pad_stride[0, :, :, 0],
       rectangular=Y_rect[0, :, :, 0], reduce_window=Y_reduce_window[0, :, :, 0],
       channels=jnp.moveaxis(Y_channels[0], -1, 0), max_pool2d=Y_max_2[0, :, :, 0],
       avg_pool2d=Y_avg_2[0, :, :, 0])
