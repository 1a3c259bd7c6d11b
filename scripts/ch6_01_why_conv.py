# %% [markdown]
# # 6.1 From fully connected layers to convolutions
#
# The MLPs of chapter 4 flattened each image into a vector, so nothing in the model knew that
# neighbouring pixels belong together, and the weights grow with the square of the image size.
# This section derives the convolutional layer from two properties a vision model should have,
# *translation invariance* and *locality*, and checks each step on small arrays: how the
# parameter count shrinks, that a dense layer with those constraints *is* a cross-correlation,
# and that shifting the input of a convolution shifts its output (while a dense layer does not).
#
# As a script: `python scripts/ch6_01_why_conv.py [--seed S] [--out DIR]`; in a notebook the flags
# take their defaults (or the words of `$JAXLIN_ARGS`).


# %% [markdown]
# The set-up: this section has no settings of its own beyond `--seed`, which `setup` turns into
# one key; `jax.random.split` gives one key per role (the random image, the kernel, the free
# dense layer), so each draw is independent of the others and the same for the same seed.
# `setup` also opens the run's output folder, where `save` puts the figure and `record` the
# numbers (`results.json`).


# %%
import jax
import jax.numpy as jnp

import jaxlin
from jaxlin.plots.figures import plt
from jaxlin.run import setup
from jaxlin.run.session import record, save

(seed,) = setup("ch6_01_why_conv", "6.1 From fully connected layers to convolutions")
image_key, kernel_key, dense_key = jax.random.split(jax.random.key(seed), 3)


# %% [markdown]
# ## Why fully connected layers do not scale (6.1, 6.1.2)
#
# The book's example: a one-megapixel photo ($10^6$ inputs) into a single hidden layer of 1000 units
# already needs $10^6 \times 10^3 = 10^9$ weights. Keeping the hidden representation as large as
# the image, $\mathbf{H}$ of shape $1000 \times 1000$ from $\mathbf{X}$ of the same shape, the weights
# become a fourth-order tensor $\mathsf{W}$, one weight per (output pixel, input pixel) pair:
#
# $$[\mathbf{H}]_{i,j} = [\mathbf{U}]_{i,j} + \sum_k \sum_l [\mathsf{W}]_{i,j,k,l} [\mathbf{X}]_{k,l}
# = [\mathbf{U}]_{i,j} + \sum_a \sum_b [\mathsf{V}]_{i,j,a,b} [\mathbf{X}]_{i+a,j+b},$$
#
# where the second form just re-indexes the input by its offset $(a, b) = (k - i, l - j)$ from the
# output pixel. That is $10^{12}$ weights. **Translation invariance** says that a pattern means the
# same wherever it appears, so $\mathsf{V}$ and $\mathbf{U}$ may not depend on $(i, j)$:
#
# $$[\mathbf{H}]_{i,j} = u + \sum_a \sum_b [\mathbf{V}]_{a,b} [\mathbf{X}]_{i+a,j+b}.$$
#
# The offsets still range over about $2000 \times 2000$ values: $4 \times 10^6$ weights.
# **Locality** says that to decide what is at $(i, j)$ we need only look near it, so
# $[\mathbf{V}]_{a,b} = 0$ for $|a| > \Delta$ or $|b| > \Delta$:
#
# $$[\mathbf{H}]_{i,j} = u + \sum_{a=-\Delta}^{\Delta} \sum_{b=-\Delta}^{\Delta} [\mathbf{V}]_{a,b}
# [\mathbf{X}]_{i+a,j+b}.$$
#
# With $\Delta = 10$ that is $(2\Delta + 1)^2 = 441$ weights (the book rounds it to $4\Delta^2$),
# whatever the size of the image. The cell prints the four counts.


# %%
n = 1000                                      # a 1000 x 1000 image: one megapixel
delta = 10
param_counts = {
    "dense, 10^6 pixels -> 1000 hidden units": n * n * 1000,
    "dense, 1000x1000 -> 1000x1000 (4-index W)": (n * n) ** 2,
    "translation invariant V (all offsets)": (2 * n - 1) ** 2,
    f"local V, |a|, |b| <= {delta}": (2 * delta + 1) ** 2,
}
for name, count in param_counts.items():
    print(f"{name:45s} {count:>16,d} weights")


# %% [markdown]
# ## Tied weights are a cross-correlation (6.1.2)
#
# The derivation can be run backwards on a small example. Take a 3×3 kernel $\mathbf{V}$ (here
# indexed $0..2$, the book's $-\Delta..\Delta$ shifted by one) and build the full 4-index weight
# tensor of a dense layer from it, $[\mathsf{W}]_{i,j,k,l} = [\mathbf{V}]_{k-i,\,l-j}$ when the
# offset lies inside the kernel and 0 otherwise. The dense layer is then one `jnp.einsum` over
# the input pixels $(k, l)$. Its output equals `jaxlin.corr2d(X, V)`, the cross-correlation that 6.2
# writes out. The images and kernels here hold small integers, so every sum is exact in float32
# and the comparisons can ask for equality, not closeness: the cell prints `True`.


# %%
def tied_dense_weights(V, in_shape):
    """The 4-index W of a dense layer that uses kernel V at every output position."""
    (kh, kw), (h, w) = V.shape, in_shape
    i, j, k, m = jnp.meshgrid(*(jnp.arange(s) for s in (h - kh + 1, w - kw + 1, h, w)), indexing="ij")
    a, b = k - i, m - j
    inside = (a >= 0) & (a < kh) & (b >= 0) & (b < kw)
    return jnp.where(inside, V[a.clip(0, kh - 1), b.clip(0, kw - 1)], 0.0)


X = jax.random.randint(image_key, (6, 8), 0, 10).astype(jnp.float32)
V = jax.random.randint(kernel_key, (3, 3), -3, 4).astype(jnp.float32)
W = tied_dense_weights(V, X.shape)
H_dense = jnp.einsum("ijkl,kl->ij", W, X)
print(f"W.shape = {W.shape}: {W.size} weights of a dense layer, all copies of V's {V.size} or 0")
tied_equals_corr = bool((H_dense == jaxlin.corr2d(X, V)).all())
print("tied dense layer == corr2d(X, V):", tied_equals_corr)


# %% [markdown]
# ## Shifting the input shifts the output
#
# Translation invariance of the *weights* makes the layer translation *equivariant*: move the
# object one pixel to the right and its features move one pixel to the right too. We shift `X`
# with `jnp.roll` (the column pushed out on the right comes back on the left), and cross-correlate
# with the kernel wrapped around the border the same way, by padding `X` circularly with
# `jnp.pad(..., mode="wrap")`. Then the property holds exactly at every position:
# `corr(shift(X)) == shift(corr(X))`. A dense layer with independent random weights, $10 \times 10
# \times 10 \times 10$ here, has no such property: the largest difference is far from 0.


# %%
def corr2d_circular(X, V):
    """Cross-correlation of X with V, wrapping around the borders (output shape = X's)."""
    return jaxlin.corr2d(jnp.pad(X, ((0, V.shape[0] - 1), (0, V.shape[1] - 1)), mode="wrap"), V)


def shift(X):
    return jnp.roll(X, 1, axis=1)


X_big = jax.random.randint(image_key, (10, 10), 0, 10).astype(jnp.float32)
conv_equivariant = bool((corr2d_circular(shift(X_big), V) == shift(corr2d_circular(X_big, V))).all())
W_free = jax.random.normal(dense_key, (10, 10, 10, 10))


def dense(X):
    return jnp.einsum("ijkl,kl->ij", W_free, X)


dense_gap = float(jnp.abs(dense(shift(X_big)) - shift(dense(X_big))).max())
print("convolution: corr(shift(X)) == shift(corr(X)):", conv_equivariant)
print(f"dense layer: max |dense(shift(X)) - shift(dense(X))| = {dense_gap:.2f}")


# %% [markdown]
# The same in pictures, on an image easier to follow than noise (an "L" of ones on zeros): the
# input, the input shifted by one pixel, and the two feature maps of the kernel `V`; the second
# map is the first moved one column to the right.


# %%
L_shape = jnp.zeros((10, 10)).at[2:8, 2:4].set(1.0).at[6:8, 2:7].set(1.0)
fig, axes = plt.subplots(1, 4, figsize=(10, 2.8))
panels = [L_shape, shift(L_shape), corr2d_circular(L_shape, V), corr2d_circular(shift(L_shape), V)]
for ax, img, title in zip(axes, panels, ["X", "shift(X)", "corr(X, V)", "corr(shift(X), V)"]):
    ax.imshow(img, cmap="viridis")
    ax.set(title=title, xticks=[], yticks=[])
save(fig, "equivariance.png")


# %% [markdown]
# ## Channels (6.1.4)
#
# Real images have three colour channels, and a hidden layer should keep many feature maps
# ("channels") rather than one. So the input becomes a third-order tensor $[\mathsf{X}]_{i,j,c}$,
# the hidden representation $[\mathsf{H}]_{i,j,d}$, and the kernel gains two indices, one per
# input channel $c$ and one per output channel $d$:
#
# $$[\mathsf{H}]_{i,j,d} = \sum_{a=-\Delta}^{\Delta} \sum_{b=-\Delta}^{\Delta} \sum_c
# [\mathsf{V}]_{a,b,c,d} [\mathsf{X}]_{i+a,j+b,c}.$$
#
# This index order, (height, width, in channel, out channel) for the kernel and channels last
# for the images, is exactly the HWIO/NHWC layout JAX's `lax.conv_general_dilated` and Flax use;
# PyTorch (and the book's code) put channels first. Section 6.4 computes this sum. The parameter
# count becomes $(2\Delta + 1)^2 \, c_i \, c_o$; for RGB in, 64 channels out and $\Delta = 1$:


# %%
c_in, c_out = 3, 64
print(f"a 3x3 kernel from {c_in} to {c_out} channels: {3 * 3 * c_in * c_out:,d} weights "
      f"(+ {c_out} biases)")


# %% [markdown]
# ## Results
#
# What this section found, kept in the run's `results.json` by `record`: the four parameter
# counts, whether the tied dense layer equals `corr2d` (`True`), whether the circular
# cross-correlation commutes with the shift (`True`) and the free dense layer's largest
# difference (well above 0).


# %%
record(param_counts=param_counts, tied_dense_equals_corr2d=tied_equals_corr,
       conv_equivariant=conv_equivariant, dense_equivariance_gap=dense_gap)
