# %% [markdown]
# # 6.4 Multiple input and multiple output channels
#
# So far every image had one channel. A colour image has three (red, green, blue), and each
# convolutional layer produces many output channels, one feature map per kernel. This section
# writes the book's three functions: cross-correlation over several input channels, then several
# output channels, then the 1×1 convolution as a matrix product; and it relates the book's
# channel-first arrays to the channels-last layout JAX's convolution uses.
#
# As a script: `python scripts/ch6_04_channels.py [--seed S] [--out DIR]`; in a notebook the flags take
# their defaults (or the words of `$JAXLIN_ARGS`).


# %% [markdown]
# The set-up: no settings beyond `--seed`, whose key is split by role: `x_key` and `k_key`
# draw the random input and kernel of the 1×1-convolution check in 6.4.3 (the book's small
# examples are fixed arrays and need no key). `setup` opens the run's output folder, where
# `record` keeps the numbers (`results.json`).


# %%
import jax
import jax.numpy as jnp

import jaxlin
from jaxlin.run import setup
from jaxlin.run.session import record

(seed,) = setup("ch6_04_channels", "6.4 Multiple input and output channels")
x_key, k_key = jax.random.split(jax.random.key(seed))


# %% [markdown]
# ## Multiple input channels (6.4.1)
#
# With $c_i$ input channels the kernel has one $k_h \times k_w$ slice per channel, shape
# $c_i \times k_h \times k_w$: each channel is cross-correlated with its own slice and the $c_i$
# results are added, giving one 2-D output. Where the book calls its saved `d2l.corr2d`, we call
# the library's `jaxlin.corr2d` (6.2's function, vectorized); Python's `zip` walks the leading,
# channel, axis of both arrays, as in the book. For the book's
# two-channel example the first channel gives 6.2's `[[19, 25], [37, 43]]`, the second
# `[[37, 47], [67, 77]]`, and the sum is `[[56, 72], [104, 120]]`.


# %%
def corr2d_multi_in(X, K):
    return sum(jaxlin.corr2d(x, k) for x, k in zip(X, K))


X = jnp.array([[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
               [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]])
K = jnp.array([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])
Y_multi_in = corr2d_multi_in(X, K)
print("corr2d_multi_in(X, K) =\n", Y_multi_in)


# %% [markdown]
# ## Multiple output channels (6.4.2)
#
# To get $c_o$ output channels we take $c_o$ such kernels, a $c_o \times c_i \times k_h \times k_w$
# tensor, and stack the $c_o$ results along a new leading axis. The book builds three kernels
# `K`, `K + 1`, `K + 2` with `torch.stack`; `jnp.stack` is the same call. The first output channel
# repeats the result above; the other two are `[[76, 100], [148, 172]]` and
# `[[96, 128], [192, 224]]`.


# %%
def corr2d_multi_in_out(X, K):
    return jnp.stack([corr2d_multi_in(X, k) for k in K], 0)


K3 = jnp.stack((K, K + 1, K + 2), 0)
print("K.shape =", K3.shape)
Y_multi_out = corr2d_multi_in_out(X, K3)
print("corr2d_multi_in_out(X, K) =\n", Y_multi_out)


# %% [markdown]
# ## The same sum in JAX's layout
#
# The book's arrays are channel-first: images $(c_i, h, w)$ and kernels $(c_o, c_i, k_h, k_w)$,
# PyTorch's CHW and OIHW. `lax.conv_general_dilated`, behind the library's `jaxlin.conv2d`, is told
# the layout in `dimension_numbers`, and jaxlin (like Flax) uses NHWC images and HWIO kernels:
# a batch axis first, channels last, kernels (height, width, in, out). So the same numbers come
# out of one XLA convolution after moving the axes: `X` to (1, h, w, c_i) and `K` to
# (k_h, k_w, c_i, c_o), and the output back from (1, h', w', c_o) to (c_o, h', w'). Prints `True`.


# %%
X_nhwc = jnp.transpose(X, (1, 2, 0))[None]           # (c_i, h, w) -> (1, h, w, c_i)
K_hwio = jnp.transpose(K3, (2, 3, 1, 0))             # (c_o, c_i, kh, kw) -> (kh, kw, c_i, c_o)
Y_lax = jnp.transpose(jaxlin.conv2d(X_nhwc, K_hwio)[0], (2, 0, 1))
print("X_nhwc.shape =", X_nhwc.shape, " K_hwio.shape =", K_hwio.shape)
lax_matches = bool(jnp.allclose(Y_lax, Y_multi_out))
print("conv2d in NHWC == corr2d_multi_in_out:", lax_matches)


# %% [markdown]
# ## The 1×1 convolutional layer (6.4.3)
#
# A 1×1 kernel sees one pixel, so it finds no spatial pattern; what it does is mix channels. At
# each pixel it maps the $c_i$ input values to $c_o$ outputs with the same $c_o \times c_i$
# weights: a fully connected layer applied pixel by pixel. Hence the book's
# `corr2d_multi_in_out_1x1` flattens the $h \times w$ pixels into columns and does one matrix
# product, $(c_o \times c_i)\,(c_i \times hw)$.


# %%
def corr2d_multi_in_out_1x1(X, K):
    c_i, h, w = X.shape
    c_o = K.shape[0]
    X = X.reshape((c_i, h * w))
    K = K.reshape((c_o, c_i))
    Y = jnp.matmul(K, X)                      # a fully connected layer, pixel by pixel
    return Y.reshape((c_o, h, w))


# %% [markdown]
# The book checks it against `corr2d_multi_in_out` on a random 3×3×3 input and 2×3×1×1 kernel,
# asserting a difference below $10^{-6}$. Where PyTorch draws from a global generator, JAX draws
# from the explicit keys made in the set-up cell. The two functions add the same three products in
# a different order, so float32 rounding can differ in the last bit; the cell prints the largest
# difference (0 or about $10^{-7}$) and `True`. (On a GPU, XLA may run float32 matrix products in
# the lower TF32 precision, and the difference can then exceed $10^{-6}$.)


# %%
X_rand = jax.random.normal(x_key, (3, 3, 3))
K_rand = jax.random.normal(k_key, (2, 3, 1, 1))
Y1 = corr2d_multi_in_out_1x1(X_rand, K_rand)
Y2 = corr2d_multi_in_out(X_rand, K_rand)
max_diff_1x1 = float(jnp.abs(Y1 - Y2).max())
print("Y1.shape =", Y1.shape, f" max |Y1 - Y2| = {max_diff_1x1:.2e}")
print("below 1e-6:", max_diff_1x1 < 1e-6)


# %% [markdown]
# ## Results
#
# What this section found, kept in the run's `results.json` by `record`: the book's
# multi-input example (`[[56, 72], [104, 120]]`), its three-output-channel stack, whether
# `lax.conv_general_dilated` gives the same, and the largest difference between the 1×1
# convolution and its matrix product (below 1e-6).


# %%
record(multi_in=Y_multi_in, multi_in_out=Y_multi_out, lax_matches=lax_matches, max_diff_1x1=max_diff_1x1)
