# %% [markdown]
# # 4.6 Dropout
#
# A 784-256-256-10 MLP with dropout 0.2 after the first hidden layer and 0.5 after the second.
# During training each hidden unit is zeroed with probability $p$ and the survivors scaled by
# $1/(1 - p)$, so that $E[h'] = h$ (eq. 4.6.1); evaluation drops nothing. We write `dropout_layer`
# and the net from scratch (4.6.4), then the concise Flax NNX version (4.6.5); `--impl` picks which
# one trains. Expect a test accuracy of about 0.85, and a training accuracy (measured with dropout
# on) below it.
#
# As a script: `python scripts/ch4_06_dropout.py [--impl scratch|concise] [--epochs N] [--out DIR]`;
# in a notebook the defaults hold (or the words of `$JAXLIN_ARGS`).

# %% [markdown]
# The set-up: the book's settings (10 epochs, learning rate 0.5, batches of 256, dropout 0.2 and
# 0.5), each a flag when this file runs as a script.

# %%
import functools

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from jaxlin import load_data_fashion_mnist, nnx_model, predict_ch3, relu, sgd, softmax_cross_entropy, train_ch3
from jaxlin.run import Flag, setup

num_epochs, lr, batch_size, dropout1, dropout2, impl, seed = setup(
    "ch4_06_dropout", "4.6 Dropout", num_epochs=10, lr=0.5, batch_size=256,
    dropout1=Flag(0.2, type=float, help="dropout after the first hidden layer"),
    dropout2=Flag(0.5, type=float, help="dropout after the second hidden layer"),
    impl=Flag("scratch", choices=("scratch", "concise"), help="dropout_layer from scratch, or nnx.Dropout"),
    training=True, checks=[lambda s: not (0 <= s.dropout1 < 1 and 0 <= s.dropout2 < 1)
                           and "--dropout1 and --dropout2 must lie in [0, 1)"])

# %% [markdown]
# ## Implementation from scratch (4.6.4)
#
# The book draws its mask from PyTorch's global generator (`torch.rand(X.shape) > dropout`); in
# JAX the mask comes from a key we pass, `jax.random.bernoulli(key, 1 - p)`: True (kept) with
# probability $1 - p$. A new key each step gives a new mask; the same key, the same mask.
# $p = 1$ drops everything and $p = 0$ nothing, as in the book.

# %%
def dropout_layer(X, dropout, *, key):
    assert 0 <= dropout <= 1
    if dropout == 1:
        return jnp.zeros_like(X)
    if dropout == 0:
        return X
    mask = jax.random.bernoulli(key, 1 - dropout, X.shape)
    return jnp.where(mask, X / (1.0 - dropout), 0)

# %% [markdown]
# The book's test on a (2, 8) matrix: $p = 0$ returns it unchanged, $p = 0.5$ zeroes about half of
# the entries and doubles the rest, $p = 1$ returns zeros.

# %%
X = jnp.arange(16, dtype=jnp.float32).reshape(2, 8)
for p in (0.0, 0.5, 1.0):
    print(f"p = {p}:\n{dropout_layer(X, p, key=jax.random.key(1))}")

# %% [markdown]
# ## Model parameters and the model
#
# Three layers, $\mathcal{N}(0, 0.01^2)$ weights and zero biases. The book's `Net` has an
# `is_training` flag; here the key is the flag: `net(params, X, key=k)` trains (dropout on, one
# key per layer, `fold_in(k, layer)`), `net(params, X)` evaluates (no dropout). `train_ch3` sees
# the `key` parameter and gives every step its own key.

# %%
def init_params(key, sizes=(784, 256, 256, 10)):
    params = {}
    for i, (k, n_in, n_out) in enumerate(zip(jax.random.split(key, 3), sizes[:-1], sizes[1:]), start=1):
        params[f"W{i}"] = 0.01 * jax.random.normal(k, (n_in, n_out))
        params[f"b{i}"] = jnp.zeros(n_out)
    return params


def net(params, X, *, key=None):
    H = X.reshape(-1, 784)
    for i, p in ((1, dropout1), (2, dropout2)):
        H = relu(H @ params[f"W{i}"] + params[f"b{i}"].reshape(1, -1))
        if key is not None:                 # training: this layer's own mask
            H = dropout_layer(H, p, key=jax.random.fold_in(key, i))
    return H @ params["W3"] + params["b3"].reshape(1, -1)

# %% [markdown]
# ## Concise implementation (4.6.5)
#
# `nnx.Dropout(p)` after each hidden layer. NNX draws its masks from the module's own random
# stream; `nnx_model` reseeds that stream from the step's key while training and switches dropout
# off (`model.eval()`) for evaluation — the book's `net.train()` / `net.eval()`.

# %%
class DropoutMLP(nnx.Module):
    def __init__(self, *, rngs: nnx.Rngs):
        init = nnx.initializers.normal(0.01)
        self.hidden1 = nnx.Linear(784, 256, kernel_init=init, rngs=rngs)
        self.dropout1 = nnx.Dropout(dropout1, rngs=rngs)
        self.hidden2 = nnx.Linear(256, 256, kernel_init=init, rngs=rngs)
        self.dropout2 = nnx.Dropout(dropout2, rngs=rngs)
        self.output = nnx.Linear(256, 10, kernel_init=init, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = self.dropout1(nnx.relu(self.hidden1(x.reshape(x.shape[0], -1))))
        return self.output(self.dropout2(nnx.relu(self.hidden2(x))))

# %% [markdown]
# ## Training and testing (4.6.4-4.6.5)
#
# The data of 3.5, then chapter 3's `train_ch3`. The scratch net trains with the book's `sgd` and
# the stable cross-entropy on logits, the concise one with `optax.sgd` and optax's loss: the same
# math. Dropout makes the training accuracy, measured with masks on, lag the test accuracy.

# %%
init_key, data_key = jax.random.split(jax.random.key(seed))
train_iter, test_iter = load_data_fashion_mnist(batch_size, key=data_key)
if impl == "scratch":
    params, loss, updater = init_params(init_key), softmax_cross_entropy, functools.partial(sgd, lr=lr)
else:
    init, net = nnx_model(lambda rngs: DropoutMLP(rngs=rngs))
    params, loss, updater = init(init_key), optax.softmax_cross_entropy_with_integer_labels, optax.sgd(lr)
params, history = train_ch3(net, params, train_iter, test_iter, loss, num_epochs, updater)

# %% [markdown]
# Test images titled with the true over the predicted label (no dropout at prediction).

# %%
predict_ch3(net, params, test_iter)
