# %% [markdown]
# # 6.2 Convolutions for images
#
# Section 6.1 argued for a layer whose weights are shared across positions and look only at a
# small window. Here we build it: the two-dimensional cross-correlation `corr2d`, a convolutional
# layer on top of it, a hand-made kernel that finds vertical edges, and then the same kernel
# *learned* from an input and its edge map by gradient descent.
#
# As a script: `python scripts/ch6_02_conv_layer.py [--epochs N] [--lr LR] [--seed S] [--out DIR]`;
# in a notebook the flags take their defaults (or the words of `$JAXLIN_ARGS`).


# %% [markdown]
# The set-up: the section's two training settings, stated once, the book's 10 epochs and
# learning rate 0.03 for learning the edge kernel in 6.2.4 (`--epochs`, `--lr` as a script).
# One key from `--seed`, split by role: `init_key` draws the layer of 6.2.2, `learn_key` the
# starting kernel of 6.2.4. `setup` opens the run's output folder, where `save` puts the figure
# and `record` the numbers (`results.json`).


# %%
import jax
import jax.numpy as jnp
import jax.scipy.signal

import jaxlin
from jaxlin.plots.figures import plt
from jaxlin.run import setup
from jaxlin.run.session import record, save

num_epochs, lr, seed = setup("ch6_02_conv_layer", "6.2 Convolutions for images", num_epochs=10, lr=3e-2)
init_key, learn_key = jax.random.split(jax.random.key(seed))


# %% [markdown]
# ## The cross-correlation operation (6.2.1)
#
# A kernel $\mathbf{K}$ of shape $k_h \times k_w$ slides over the input $\mathbf{X}$
# ($n_h \times n_w$); at each position the overlapping entries are multiplied and summed:
#
# $$[\mathbf{Y}]_{i,j} = \sum_{a=0}^{k_h-1} \sum_{b=0}^{k_w-1} [\mathbf{K}]_{a,b}\,[\mathbf{X}]_{i+a,\,j+b}.$$
#
# The kernel fits in $(n_h - k_h + 1) \times (n_w - k_w + 1)$ positions, which is the shape of
# $\mathbf{Y}$. The book fills a zero tensor entry by entry, `Y[i, j] = ...`. A JAX array cannot be
# written into: arrays are immutable values, so that `jit`, `grad` and `vmap` may trace a function
# without worrying about who else sees the array. `Y.at[i, j].set(v)` instead returns a *new*
# array with that one entry changed (under `jit` XLA turns it back into an in-place update). The
# loop below is the book's, line for line; it is slow (one small array per entry), which is
# fine for 3×3 inputs. For the input of the book's example it must print
# `[[19, 25], [37, 43]]`: e.g. $0\cdot0 + 1\cdot1 + 3\cdot2 + 4\cdot3 = 19$.


# %%
def corr2d(X, K):
    """2-D cross-correlation, the book's double loop."""
    h, w = K.shape
    Y = jnp.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y = Y.at[i, j].set((X[i:i + h, j:j + w] * K).sum())
    return Y


X = jnp.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
K = jnp.array([[0.0, 1.0], [2.0, 3.0]])
Y_example = corr2d(X, K)
print("corr2d(X, K) =\n", Y_example)


# %% [markdown]
# The library keeps a vectorized form, `jaxlin.corr2d` (in `jaxlin/nn/conv.py`): instead of a
# loop over the $(n_h - k_h + 1)(n_w - k_w + 1)$ outputs it loops over the $k_h k_w$ kernel
# entries, adding `K[a, b]` times a shifted slice of `X` each time, so it is a handful of
# whole-array operations that `jit` compiles into one. Same definition, same numbers: the cell prints `True`.


# %%
print("the library's corr2d gives the same:", bool((jaxlin.corr2d(X, K) == Y_example).all()))


# %% [markdown]
# ## Convolutional layers (6.2.2)
#
# A convolutional layer cross-correlates its input with a kernel and adds a scalar bias; both are
# its parameters. The book writes a `Conv2D` module holding `weight = torch.rand(kernel_size)` and
# `bias = torch.zeros(1)`. Our bias is a true scalar, shape `()`: JAX (and this project's tests,
# which forbid implicit rank promotion) would rather not broadcast a shape-(1,) array against a
# 2-D one. In JAX's functional form the layer is two functions: `init_conv2d`
# draws the parameters from an explicit PRNG key (the same key always gives the same kernel) and
# returns them as a dict, and `conv2d_layer(params, X)` is the pure forward pass. Nothing is
# stored in an object; training code passes the dict around, and `jax.grad` differentiates
# `conv2d_layer` with respect to it. Applied to a 6×8 input, a 1×2 kernel gives a 6×7 output.


# %%
def init_conv2d(key, kernel_size):
    """The book's Conv2D parameters: a uniform [0, 1) kernel and a zero bias."""
    return {"weight": jax.random.uniform(key, kernel_size), "bias": jnp.zeros(())}


def conv2d_layer(params, X):
    return corr2d(X, params["weight"]) + params["bias"]


layer_params = init_conv2d(init_key, (1, 2))
print("weight:", layer_params["weight"], "bias:", layer_params["bias"])
print("conv2d_layer(params, ones(6, 8)).shape =", conv2d_layer(layer_params, jnp.ones((6, 8))).shape)


# %% [markdown]
# ## Object edge detection in images (6.2.3)
#
# The book's image is 6×8: white (1) everywhere except a black (0) band in columns 2 to 5. The
# kernel $\mathbf{K} = [1, -1]$ computes $[\mathbf{X}]_{i,j} - [\mathbf{X}]_{i,j+1}$, which is 0
# wherever two neighbours agree. So the 6×7 output is 1 in column 1 (white to black), $-1$ in
# column 5 (black to white) and 0 elsewhere. The book builds the image with `X[:, 2:6] = 0`;
# in JAX that is `.at[:, 2:6].set(0)` on a fresh array.


# %%
X_edges = jnp.ones((6, 8)).at[:, 2:6].set(0.0)
K_edges = jnp.array([[1.0, -1.0]])
Y_edges = corr2d(X_edges, K_edges)
print("X =\n", X_edges)
print("Y = corr2d(X, K) =\n", Y_edges)


# %% [markdown]
# The kernel only sees horizontal neighbours, so it detects only vertical edges. On the transposed
# image the edges are horizontal, and the output is all zeros (8×5 of them).


# %%
Y_transposed = corr2d(X_edges.T, K_edges)
print("corr2d(X.T, K) =\n", Y_transposed)


# %% [markdown]
# The arrays as images (white 1, gray 0, black $-1$): the band's left edge lights up and its right
# edge goes dark; the transposed image, whose band is horizontal, leaves the kernel blind.


# %%
fig, axes = plt.subplots(1, 4, figsize=(11, 2.8))
for ax, img, title in zip(axes, [X_edges, Y_edges, X_edges.T, Y_transposed],
                          ["X (6×8)", "corr2d(X, K) (6×7)", "X.T (8×6)", "corr2d(X.T, K) (8×5)"]):
    ax.imshow(img, cmap="gray", vmin=-1, vmax=1)
    ax.set(title=title, xticks=range(img.shape[1]), yticks=range(img.shape[0]))
save(fig, "edge_detection.png")


# %% [markdown]
# ## Learning a kernel (6.2.4)
#
# Now forget $\mathbf{K}$ and ask whether it can be recovered from the pair $(\mathbf{X},
# \mathbf{Y})$. The book uses the built-in `nn.Conv2d(1, 1, kernel_size=(1, 2), bias=False)`,
# which wants 4-D input: PyTorch's NCHW layout, (batch, channel, height, width), so `X` becomes
# (1, 1, 6, 8). JAX's convolution, `lax.conv_general_dilated` (wrapped by the library's
# `jaxlin.conv2d`, and used by Flax too), is channels-last: images NHWC (1, 6, 8, 1) and kernels
# HWIO, (height, width, in, out) = (1, 2, 1, 1). The kernel starts as PyTorch's default draws it,
# uniform in $\pm 1/\sqrt{\text{fan-in}} = \pm 1/\sqrt 2$.
#
# The loss is the squared error summed over the 42 outputs,
# $\ell(\mathbf{K}) = \sum_{i,j} ([\mathbf{X} \star \mathbf{K}]_{i,j} - [\mathbf{Y}]_{i,j})^2$,
# and each epoch is one step of plain gradient descent, $\mathbf{K} \leftarrow \mathbf{K} -
# \eta\,\nabla_{\mathbf{K}}\ell$ with $\eta = 0.03$. Where the book calls `l.sum().backward()`
# and reads `weight.grad`, `jax.grad(loss)` *is* the gradient function; the update builds a new
# kernel rather than writing into `weight.data`. The loss printed every 2 epochs should fall
# steadily (towards 0), like the book's.


# %%
X4 = X_edges.reshape(1, 6, 8, 1)
Y4 = Y_edges.reshape(1, 6, 7, 1)
bound = 1 / jnp.sqrt(2.0)
kernel = jax.random.uniform(learn_key, (1, 2, 1, 1), minval=-bound, maxval=bound)


def loss(kernel):
    return ((jaxlin.conv2d(X4, kernel) - Y4) ** 2).sum()


losses = {}
for epoch in range(1, num_epochs + 1):
    loss_value = loss(kernel)
    kernel = kernel - lr * jax.grad(loss)(kernel)
    if epoch % 2 == 0:
        losses[epoch] = float(loss_value)
        print(f"epoch {epoch}, loss {losses[epoch]:.3f}")


# %% [markdown]
# After 10 epochs the learned kernel is close to the $[1, -1]$ we used to make $\mathbf{Y}$
# (the book gets about `[[1.0010, -0.9739]]`; a different starting kernel gives slightly different
# digits).


# %%
learned = kernel.reshape(1, 2)
print("learned kernel:", learned)


# %% [markdown]
# ## Cross-correlation and convolution (6.2.5)
#
# What deep learning calls a convolution is, strictly, a cross-correlation. The convolution of
# signal processing (6.1.3) indexes the kernel backwards, $\sum_{a,b} [\mathbf{K}]_{a,b}
# [\mathbf{X}]_{i-a,j-b}$, which is cross-correlation with the kernel flipped both vertically and
# horizontally. For a layer that *learns* its kernel the difference does not matter: whichever
# operation it uses, training finds the kernel that works for it, and the one learned for a true
# convolution is the flip of the one learned for cross-correlation; the outputs are the same.
# Numerically: `jax.scipy.signal.convolve2d` (a true convolution, `mode="valid"`) equals our
# `corr2d` with `jnp.flip(K)`, which flips both axes; and `correlate2d` equals `corr2d` itself.
# Both lines print `True`.


# %%
K_random = jax.random.normal(jax.random.key(1), (2, 3))
X_random = jax.random.normal(jax.random.key(2), (5, 6))
true_conv = jax.scipy.signal.convolve2d(X_random, K_random, mode="valid")
flip_matches = bool(jnp.allclose(true_conv, corr2d(X_random, jnp.flip(K_random)), atol=1e-5))
print("convolve2d(X, K) == corr2d(X, flip(K)):", flip_matches)
print("correlate2d(X, K) == corr2d(X, K):",
      bool(jnp.allclose(jax.scipy.signal.correlate2d(X_random, K_random, mode="valid"),
                        corr2d(X_random, K_random), atol=1e-5)))


# %% [markdown]
# ## Feature map and receptive field (6.2.6)
#
# The output of a convolutional layer is called a *feature map*: a learned representation of the
# input, laid out in space. The *receptive field* of an output element is the set of input
# elements, in all earlier layers, that can affect it. With 2×2 kernels, each element of the
# first layer's output sees a 2×2 patch of the input; each element of a second 2×2 layer on top
# sees 2×2 of those, i.e. a 3×3 patch of the input. Stacking layers widens the receptive field,
# which is how deep networks see large structures with small kernels. No code: the next
# section's shape formula makes the arithmetic exact.


# %% [markdown]
# ## Results
#
# What this section found, kept in the run's `results.json` by `record`: the book's 2×2
# `corr2d` example (`[[19, 25], [37, 43]]`), the edge map and its transpose's all-zero map,
# the losses every second epoch, the learned kernel (close to `[1, -1]`) and whether the true
# convolution equals the flipped cross-correlation (`True`).


# %%
record(corr2d_example=Y_example, edges=Y_edges, edges_transposed=Y_transposed, losses=losses,
       learned_kernel=learned, flip_matches_convolution=flip_matches)
