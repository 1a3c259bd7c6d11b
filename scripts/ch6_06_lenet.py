# %% [markdown]
# # 6.6 Convolutional neural networks (LeNet)
#
# LeNet-5 (LeCun et al., 1998) was the first convolutional network trained end to end with
# backpropagation that saw wide use, reading handwritten digits on bank cheques. The book rebuilds
# it for Fashion-MNIST: a *convolutional encoder* of two blocks, each a 5×5 convolution, a sigmoid
# and a 2×2 average pooling of stride 2, then a *dense block* of three fully connected layers
# 120 → 84 → 10. The book trains it with lr 0.9, batch 256, 10 epochs and prints
# loss 0.469, train acc 0.823, test acc 0.779; expect numbers close to those (the test checks
# test acc ≥ 0.75 at these settings).
#
# As a script: `python scripts/ch6_06_lenet.py [--impl scratch|concise] [--epochs N] [--lr LR] [--out DIR]`
# (`--help` lists all flags); in a notebook the flags take their defaults, or the words of `$JAXLIN_ARGS`.

# %% [markdown]
# The set-up: the book's settings (lr 0.9, batches of 256, 10 epochs), each a flag when this file
# runs as a script, and `--impl` to train the scratch net or the NNX one.

# %%
import jax
import jax.numpy as jnp
from flax import nnx
from jax import lax

from jaxlin import load_data_fashion_mnist, nnx_model, predict_ch3, train_ch6, try_gpu, xavier_uniform
from jaxlin.run import Flag, setup

num_epochs, lr, batch_size, impl, seed = setup(
    "ch6_06_lenet", "6.6 LeNet", num_epochs=10, lr=0.9, batch_size=256,
    impl=Flag("scratch", choices=("scratch", "concise"), help="pure functions over a params dict, or Flax NNX layers"),
    training=True)

# %% [markdown]
# ## The data (3.5)
#
# The 70,000 Fashion-MNIST images stay on the device as uint8 arrays of shape (n, 28, 28, 1):
# *batch, height, width, channel*. That is the layout JAX's convolutions and Flax use (NHWC,
# "channels last"); PyTorch, and so the book, writes (n, 1, 28, 28), channels first. Both say the
# same thing; XLA picks its own memory layout either way. `data_key` reshuffles the training
# batches every epoch, `init_key` draws the weights.

# %%
init_key, data_key = jax.random.split(jax.random.key(seed))
train_iter, test_iter = load_data_fashion_mnist(batch_size, key=data_key)
X, y = next(iter(test_iter))
print("a batch of images:", X.shape, X.dtype)

# %% [markdown]
# ## LeNet from scratch (6.6.1)
#
# The params are a plain dict: kernels `K1` (5, 5, 1, 6) and `K2` (5, 5, 6, 16), written
# (height, width, in channels, out channels) — "HWIO", the kernel layout that goes with NHWC —
# then dense weights `W3` (400, 120), `W4` (120, 84), `W5` (84, 10) and a bias for each layer.
# The book initializes every weight with Xavier's uniform rule (4.8.2),
# $W \sim U\left(-\sqrt{6/(n_\mathrm{in} + n_\mathrm{out})}, \sqrt{6/(n_\mathrm{in} + n_\mathrm{out})}\right)$,
# where a kernel's fans count every input it reads: $n_\mathrm{in} = 5 \cdot 5 \cdot c_\mathrm{in}$,
# $n_\mathrm{out} = 5 \cdot 5 \cdot c_\mathrm{out}$ (PyTorch's `xavier_uniform_` counts the same).
# Biases start at zero. One key per weight, split from the one key we are given.

# %%
SHAPES = {"K1": (5, 5, 1, 6), "K2": (5, 5, 6, 16), "W3": (400, 120), "W4": (120, 84), "W5": (84, 10)}


def init_lenet(key):
    params = {}
    for k, (name, shape) in zip(jax.random.split(key, len(SHAPES)), SHAPES.items()):
        params[name] = xavier_uniform(k, shape)
        params["b" + name[1:]] = jnp.zeros(shape[-1])
    return params


# %% [markdown]
# The forward pass is a pure function of the params and a batch. `lax.conv_general_dilated` is
# XLA's convolution (a cross-correlation, as in 6.2): `padding=((2, 2), (2, 2))` keeps the first
# block's 28×28; `dimension_numbers` names the layouts. Average pooling sums each 2×2 window with
# `lax.reduce_window` and divides by 4. After the encoder, (n, 5, 5, 16) flattens to 400 features.
# Each bias is reshaped to the rank of what it is added to, `(1, 1, 1, 6)` against (n, 28, 28, 6):
# the broadcast is then written, not implied (jaxlin's tests run with JAX's
# `jax_numpy_rank_promotion="raise"`, which turns an implied one into an error).

# %%
def conv(X, K, padding=0):
    return lax.conv_general_dilated(X, K, (1, 1), [(padding, padding)] * 2,
                                    dimension_numbers=("NHWC", "HWIO", "NHWC"))


def avg_pool(X):
    return lax.reduce_window(X, 0.0, lax.add, (1, 2, 2, 1), (1, 2, 2, 1), "VALID") / 4


def lenet(params, X):
    X = X.reshape(-1, 28, 28, 1)
    H = avg_pool(jax.nn.sigmoid(conv(X, params["K1"], padding=2) + params["b1"].reshape(1, 1, 1, -1)))
    H = avg_pool(jax.nn.sigmoid(conv(H, params["K2"]) + params["b2"].reshape(1, 1, 1, -1)))
    H = H.reshape(H.shape[0], -1)
    H = jax.nn.sigmoid(H @ params["W3"] + params["b3"].reshape(1, -1))
    H = jax.nn.sigmoid(H @ params["W4"] + params["b4"].reshape(1, -1))
    return H @ params["W5"] + params["b5"].reshape(1, -1)


# %% [markdown]
# ## The same net in Flax NNX
#
# The book's concise form is an `nn.Sequential`. Flax NNX has one too: `nnx.Conv(1, 6, (5, 5),
# padding=2)` is `nn.Conv2d(1, 6, kernel_size=5, padding=2)` on NHWC inputs, and plain functions
# (the sigmoid, the pooling, a flatten) sit in the sequence beside the layers. NNX needs each
# layer's input size up front (`in_features`, `in_channels`): 5.3's deferred initialization is
# what Linen and PyTorch's lazy layers do instead. `nnx_model` splits the module into a pure
# `net(params, X)` and its params, so the very same jitted step trains it.

# %%
def avg_pool2(x):
    return nnx.avg_pool(x, (2, 2), strides=(2, 2))


def flatten(x):
    return x.reshape(x.shape[0], -1)


def make_lenet(rngs):
    xavier = nnx.initializers.xavier_uniform()
    conv1 = nnx.Conv(1, 6, (5, 5), padding=2, kernel_init=xavier, rngs=rngs)
    conv2 = nnx.Conv(6, 16, (5, 5), padding="VALID", kernel_init=xavier, rngs=rngs)
    return nnx.Sequential(conv1, nnx.sigmoid, avg_pool2, conv2, nnx.sigmoid, avg_pool2, flatten,
                          nnx.Linear(400, 120, kernel_init=xavier, rngs=rngs), nnx.sigmoid,
                          nnx.Linear(120, 84, kernel_init=xavier, rngs=rngs), nnx.sigmoid,
                          nnx.Linear(84, 10, kernel_init=xavier, rngs=rngs))


# %% [markdown]
# ## Each layer's output shape (6.6.1)
#
# The book passes one 28×28 image through the layers and prints each output's shape. Here the
# shapes read (batch, height, width, channels) where the book's read (batch, channels, height,
# width): 28×28×6 after the first convolution, 14×14×6 after pooling, 10×10×16, 5×5×16, then 400,
# 120, 84 and the 10 class scores.

# %%
X = jnp.zeros((1, 28, 28, 1))
for layer in make_lenet(nnx.Rngs(0)).layers:
    X = layer(X)
    print(f"{getattr(layer, '__name__', type(layer).__name__):>10} output shape: {X.shape}")

# %% [markdown]
# ## Training (6.6.2)
#
# The book's `train_ch6(net, train_iter, test_iter, num_epochs, lr, device)` is `train_ch3` on a
# device, with the cross-entropy and minibatch SGD: jaxlin's takes the params too, puts them on
# `try_gpu()` — a GPU when JAX sees one, else the CPU — and the batches follow them there (JAX runs
# an operation where its inputs live). No other line changes between CPU and GPU.

# %%
print("training on", try_gpu())

# %% [markdown]
# As in the other Fashion-MNIST chapters, an epoch is one compiled `lax.scan` over the
# device-resident images (`--loop book`: one jitted step per minibatch, the same batches and
# numbers). On XLA:CPU a convolution inside a `lax.scan` is far slower than the same convolution
# alone (jax-ml/jax#12868), so on the CPU jaxlin's compiled epoch rewrites every stride-1
# convolution of the net into one matrix product and each 2×2 pooling into a reshape and a sum,
# the same numbers (`jaxlin/train/rewrites.py`, measured in the benchmark); the cells above stay as
# the book writes them. Expect the training accuracy to sit near 0.1 for the first epoch or two
# (sigmoids learn slowly from Xavier's small weights) before it climbs, and to end near the
# book's loss 0.469, train acc 0.823, test acc 0.779.

# %%
if impl == "scratch":
    net, params = lenet, init_lenet(init_key)
else:
    init, net = nnx_model(make_lenet)
    params = init(init_key)
params, history = train_ch6(net, params, train_iter, test_iter, num_epochs, lr)

# %% [markdown]
# ## Predictions
#
# Test images titled with the true label over the predicted one. LeNet's sigmoids and average
# pooling are what 1998 had; chapter 7's networks (ReLU, max pooling, batch normalization) push
# the test accuracy past 0.9.

# %%
predict_ch3(net, params, test_iter)
