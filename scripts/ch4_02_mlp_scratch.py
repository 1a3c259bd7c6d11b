# %% [markdown]
# # 4.2 Implementation of multilayer perceptrons from scratch
#
# Softmax regression (3.6) with one hidden layer of 256 ReLU units between the pixels and the
# ten outputs: $\mathbf{H} = \mathrm{ReLU}(\mathbf{X}\mathbf{W}_1 + \mathbf{b}_1)$,
# $\mathbf{O} = \mathbf{H}\mathbf{W}_2 + \mathbf{b}_2$. We write the parameters, `relu` and the model;
# the loss, the updater and `train_ch3` are those of chapter 3. Expect a test accuracy of about
# 0.85 after 10 epochs, above softmax regression's 0.83.
#
# As a script: `python scripts/ch4_02_mlp_scratch.py [--epochs N] [--num-hiddens H] [--out DIR]`
# (`--help` lists all flags); in a notebook the defaults hold, or the words of `$JAXLIN_ARGS`.

# %% [markdown]
# The set-up: the book's settings (10 epochs, learning rate 0.1, batches of 256, 256 hidden
# units), each a flag when this file runs as a script.

# %%
import functools

import jax
import jax.numpy as jnp

from jaxlin import load_data_fashion_mnist, predict_ch3, sgd, softmax_cross_entropy, train_ch3
from jaxlin.run import setup

num_epochs, lr, batch_size, num_hiddens, seed = setup(
    "ch4_02_mlp_scratch", "4.2 A multilayer perceptron from scratch",
    num_epochs=10, lr=0.1, batch_size=256, num_hiddens=256, training=True)

# %% [markdown]
# ## The data
#
# The same Fashion-MNIST minibatches as in 3.6: `data_key` fixes the shuffle of every epoch,
# `init_key` the weights, split from one seed so that a run is reproducible bit for bit.

# %%
init_key, data_key = jax.random.split(jax.random.key(seed))
train_iter, test_iter = load_data_fashion_mnist(batch_size, key=data_key)

# %% [markdown]
# ## Initializing the model parameters (4.2.1)
#
# Two layers, four arrays: $\mathbf{W}_1$ (784, 256) and $\mathbf{W}_2$ (256, 10) drawn from
# $\mathcal{N}(0, 0.01^2)$, zero biases. Each weight matrix gets its own key: JAX's random numbers
# come from keys we split, never from a global generator, so the same seed draws the same net.

# %%
num_inputs, num_outputs = 784, 10
k1, k2 = jax.random.split(init_key)
params = {"W1": 0.01 * jax.random.normal(k1, (num_inputs, num_hiddens)), "b1": jnp.zeros(num_hiddens),
          "W2": 0.01 * jax.random.normal(k2, (num_hiddens, num_outputs)), "b2": jnp.zeros(num_outputs)}

# %% [markdown]
# ## The activation function (4.2.2)
#
# $\mathrm{ReLU}(x) = \max(x, 0)$, elementwise. The book writes `torch.max(X, torch.zeros_like(X))`.
# We write it with `jnp.where`: its gradient from `jax.grad` is 1 where $x > 0$ and 0 elsewhere,
# the book's choice at $x = 0$ (4.1.2.1), whereas `jnp.maximum(X, 0)` splits the tie and gives ½.

# %%
def relu(X):
    return jnp.where(X > 0, X, 0.0)


print(relu(jnp.array([-2.0, -0.5, 0.0, 0.5, 2.0])))

# %% [markdown]
# ## The model (4.2.3)
#
# Flatten each image to 784 pixels, then the two layers. The model returns the logits
# $\mathbf{O}$, without the softmax: the loss below takes logits. As in 3.6 the parameters are an
# argument, so one `jax.grad` gives the gradient of all four arrays.

# %%
def net(params, X):
    X = X.reshape(-1, num_inputs)
    H = relu(X @ params["W1"] + params["b1"].reshape(1, -1))
    return H @ params["W2"] + params["b2"].reshape(1, -1)

# %% [markdown]
# ## The loss function (4.2.4)
#
# The book uses PyTorch's `CrossEntropyLoss`, which takes logits and computes the softmax and
# the log together, stably (3.7.2): jaxlin's `softmax_cross_entropy`,
# $l = \log\sum_k \exp o_k - o_y$, finite for logits of any size. The updater is chapter 3's `sgd`.

# %%
loss = softmax_cross_entropy
updater = functools.partial(sgd, lr=lr)

# %% [markdown]
# ## Training (4.2.5)
#
# Chapter 3's `train_ch3`, unchanged: the loss and the training and test accuracy after each
# epoch, drawn as they come. In jaxlin one epoch is one compiled `lax.scan` over the
# device-resident images (`--loop book`: one jitted step per minibatch, the same batches and
# numbers). Expect the loss to fall below softmax regression's and the test accuracy to reach
# about 0.85 — the hidden layer buys about two points.

# %%
params, history = train_ch3(net, params, train_iter, test_iter, loss, num_epochs, updater)

# %% [markdown]
# ## Prediction
#
# As in 3.6: test images titled with the true label over the predicted one, a wrong one in red.

# %%
predict_ch3(net, params, test_iter)
