# %% [markdown]
# # 6.3 Padding and stride
#
# A $k_h \times k_w$ kernel on an $n_h \times n_w$ input fits in
# $(n_h - k_h + 1) \times (n_w - k_w + 1)$ positions, so every layer shrinks the image a little and
# the pixels on the border are used less than those in the middle. *Padding* adds a frame of zeros
# to keep the size; *stride* moves the kernel several pixels at a time to shrink the size on
# purpose. This section checks the book's shape formula on four layers applied to an 8×8 input.
#
# As a script: `python scripts/ch6_03_padding_and_strides.py [--seed S] [--out DIR]`; in a notebook the
# flags take their defaults (or the words of `$JAXLIN_ARGS`).


# %% [markdown]
# The set-up: no settings beyond `--seed`, whose key is split by role: `data_key` draws the
# 8×8 input, the four `layer_keys` the kernels of the convolutions (their values do not
# change a shape, but every draw in JAX takes a key). `setup` opens the run's output folder,
# where `record` keeps the shapes (`results.json`).


# %%
import jax
import jax.numpy as jnp
from flax import nnx

import jaxlin
from jaxlin.run import setup
from jaxlin.run.session import record

(seed,) = setup("ch6_03_padding_and_strides", "6.3 Padding and stride")
data_key, *layer_keys = jax.random.split(jax.random.key(seed), 5)


# %% [markdown]
# ## The output shape
#
# With $p_h$ rows of padding in all (top plus bottom), $p_w$ columns (left plus right) and strides
# $s_h, s_w$, the output has
#
# $$\left\lfloor \frac{n_h - k_h + p_h + s_h}{s_h} \right\rfloor \times
# \left\lfloor \frac{n_w - k_w + p_w + s_w}{s_w} \right\rfloor$$
#
# entries. With stride 1 this is $n - k + p + 1$, so $p = k - 1$ keeps the size; for odd $k$ that is
# $(k - 1)/2$ on each side, which is why CNNs like odd kernels. `jaxlin.conv_output_size(n, k,
# padding, stride)` computes one factor, taking `padding` per side as PyTorch's `padding=` does
# (so $p = 2 \cdot$ `padding`).
#
# The book's helper `comp_conv2d` reshapes the 8×8 input to PyTorch's NCHW layout,
# `(1, 1) + X.shape`: a batch of one image with one channel, applies the layer and drops the two
# axes again. JAX's convolutions (`lax.conv_general_dilated`, Flax's `nnx.Conv`) use NHWC, batch
# first and channels *last*, so our helper adds the axes as `X[None, :, :, None]` and reads the
# output back as `Y[0, :, :, 0]`.


# %%
def comp_conv2d(conv_layer, X):
    """Apply a layer to one single-channel image: (h, w) -> (1, h, w, 1) -> (h', w')."""
    Y = conv_layer(X[None, :, :, None])
    return Y[0, :, :, 0]


X = jax.random.uniform(data_key, (8, 8))
print("X.shape =", X.shape)


# %% [markdown]
# ## Padding (6.3.1)
#
# The book builds `nn.Conv2d(1, 1, kernel_size=3, padding=1)`; the Flax NNX layer is
# `nnx.Conv(1, 1, kernel_size=(3, 3), padding=1, rngs=...)`. Two differences to know. Flax needs
# the parameters' PRNG key up front (`nnx.Rngs`), with no hidden global seed. And Flax reads an
# integer `kernel_size=3` as a one-dimensional kernel (it would convolve along one axis only),
# so a square 2-D kernel is written `(3, 3)`. Padding 1 on every side of a 3×3 kernel keeps
# 8×8; so does a 5×3 kernel with padding 2 rows and 1 column per side. Both print `(8, 8)`.


# %%
conv_3 = nnx.Conv(1, 1, kernel_size=(3, 3), padding=1, rngs=nnx.Rngs(layer_keys[0]))
shape_pad_1 = comp_conv2d(conv_3, X).shape
print("kernel 3x3, padding 1:", shape_pad_1)
conv_5x3 = nnx.Conv(1, 1, kernel_size=(5, 3), padding=(2, 1), rngs=nnx.Rngs(layer_keys[1]))
shape_pad_2_1 = comp_conv2d(conv_5x3, X).shape
print("kernel 5x3, padding (2, 1):", shape_pad_2_1)


# %% [markdown]
# ## Stride (6.3.2)
#
# With stride 2 in both directions the 3×3, padding 1 layer halves the image:
# $\lfloor (8 - 3 + 2 + 2)/2 \rfloor = 4$, so `(4, 4)`. The book's last, deliberately odd layer
# has a 3×5 kernel, padding (0, 1) and stride (3, 4): $\lfloor (8 - 3 + 0 + 3)/3 \rfloor = 2$
# rows and $\lfloor (8 - 5 + 2 + 4)/4 \rfloor = 2$ columns, so `(2, 2)`. `nnx.Conv`'s
# `strides=` is the book's `stride=`.


# %%
conv_s2 = nnx.Conv(1, 1, kernel_size=(3, 3), padding=1, strides=2, rngs=nnx.Rngs(layer_keys[2]))
shape_stride_2 = comp_conv2d(conv_s2, X).shape
print("kernel 3x3, padding 1, stride 2:", shape_stride_2)
conv_odd = nnx.Conv(1, 1, kernel_size=(3, 5), padding=(0, 1), strides=(3, 4), rngs=nnx.Rngs(layer_keys[3]))
shape_odd = comp_conv2d(conv_odd, X).shape
print("kernel 3x5, padding (0, 1), stride (3, 4):", shape_odd)


# %% [markdown]
# The pitfall of the integer kernel size, shown: `kernel_size=3` makes a kernel of shape
# (3, 1, 1), one spatial axis, and the layer treats our height axis as one more batch axis.
# With stride 2 it halves only the width, and prints `(8, 4)` where the 2-D layer gave `(4, 4)`.


# %%
conv_1d = nnx.Conv(1, 1, kernel_size=3, padding=1, strides=2, rngs=nnx.Rngs(layer_keys[2]))
print("kernel_size=3: kernel shape", conv_1d.kernel.shape, "output", comp_conv2d(conv_1d, X).shape)


# %% [markdown]
# ## The formula, the functional layer and Flax agree
#
# For each of the four layers: the formula from `jaxlin.conv_output_size`, the shape of the library's
# pure `jaxlin.conv2d(X, K, padding=, stride=)` (one `lax.conv_general_dilated` on an NHWC batch
# with an HWIO kernel (k_h, k_w, c_in, c_out), here of ones) and the shape `nnx.Conv` gave above.
# Each line should show the same pair three times.


# %%
layers = [((3, 3), (1, 1), (1, 1), shape_pad_1), ((5, 3), (2, 1), (1, 1), shape_pad_2_1),
          ((3, 3), (1, 1), (2, 2), shape_stride_2), ((3, 5), (0, 1), (3, 4), shape_odd)]
formula_shapes, conv2d_shapes = [], []
for kernel, padding, stride, flax_shape in layers:
    formula = tuple(jaxlin.conv_output_size(8, k, p, s) for k, p, s in zip(kernel, padding, stride))
    K = jnp.ones((*kernel, 1, 1))
    functional = comp_conv2d(lambda X4: jaxlin.conv2d(X4, K, padding=padding, stride=stride), X).shape
    formula_shapes.append(formula)
    conv2d_shapes.append(functional)
    print(f"kernel {kernel}, padding {padding}, stride {stride}: formula {formula}, "
          f"conv2d {functional}, nnx.Conv {flax_shape}")


# %% [markdown]
# ## Results
#
# What this section found, kept in the run's `results.json` by `record`: the four output
# shapes, (8, 8), (8, 8), (4, 4) and (2, 2), as the formula gives them, as `conv2d` computes
# them and as `nnx.Conv` does.


# %%
record(formula_shapes=formula_shapes, conv2d_shapes=conv2d_shapes,
       flax_shapes=[shape_pad_1, shape_pad_2_1, shape_stride_2, shape_odd])
