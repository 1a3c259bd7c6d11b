# %% [markdown]
# # 3.6 Softmax regression from scratch
#
# Fashion-MNIST's 28×28 images, flattened to 784 features, go through one linear layer and a
# softmax: $\hat{\mathbf{y}} = \mathrm{softmax}(\mathbf{x}\mathbf{W} + \mathbf{b})$. We write every piece
# the book writes — `softmax`, the model `net`, `cross_entropy`, `accuracy`, `evaluate_accuracy`,
# `train_epoch_ch3`, `train_ch3` — as short pure functions: the parameters are a dict of arrays
# passed in and returned, never changed in place, as JAX requires. Expect a test accuracy of
# about 0.83 after 10 epochs.
#
# As a script: `python scripts/ch3_06_softmax_regression_scratch.py [--epochs N] [--lr LR] [--out DIR]`
# (`--help` lists all flags); in a notebook the defaults hold, or the words of `$JAXLIN_ARGS`.

# %% [markdown]
# The set-up: the section's settings, stated once (each is a flag when this file runs as a
# script). `setup` also opens the run's output folder, where `train_ch3` will put the curves and
# `results.json`.

# %%
import functools

import jax
import jax.numpy as jnp

import jaxlin
from jaxlin import Animator, load_data_fashion_mnist, sgd
from jaxlin.run import setup

num_epochs, lr, batch_size, seed = setup("ch3_06_softmax_regression_scratch", "3.6 Softmax regression from scratch",
                                         num_epochs=10, lr=0.1, batch_size=256, training=True)

# %% [markdown]
# ## The data (3.5)
#
# The book's `load_data_fashion_mnist(batch_size)`. JAX has no global random state, so the
# shuffle takes a key: `data_key` reshuffles the training batches every epoch, `init_key` draws
# the weights. Each batch is `(X, y)`: float32 images (256, 28, 28, 1) in [0, 1] — JAX puts the
# channel last, where PyTorch's tensors have it first — and int32 labels.

# %%
init_key, data_key = jax.random.split(jax.random.key(seed))
train_iter, test_iter = load_data_fashion_mnist(batch_size, key=data_key)
X, y = next(iter(test_iter))
print(X.shape, X.dtype, y.shape, y.dtype)

# %% [markdown]
# ## Initializing the model parameters (3.6.1)
#
# Each image becomes a vector of 784 pixels; ten classes give $\mathbf{W}$ of shape (784, 10),
# drawn from $\mathcal{N}(0, 0.01^2)$, and $\mathbf{b} = 0$. Where the book marks its tensors
# `requires_grad=True`, JAX needs nothing: `jax.grad` differentiates with respect to whatever
# the function takes.

# %%
num_inputs, num_outputs = 784, 10
params = {"W": 0.01 * jax.random.normal(init_key, (num_inputs, num_outputs)),
          "b": jnp.zeros(num_outputs)}

# %% [markdown]
# ## Defining the softmax operation (3.6.2)
#
# $\mathrm{softmax}(\mathbf{X})_{ij} = \exp(\mathbf{X}_{ij}) / \sum_k \exp(\mathbf{X}_{ik})$, row by row:
# exponentiate, sum each row (`keepdims=True` keeps the (n, 1) shape that divides every entry of
# its row), divide. The book's check: a random (2, 5) matrix becomes rows of non-negative
# numbers that sum to 1. (Large entries overflow `exp`; section 3.7 fixes that.)

# %%
def softmax(X):
    X_exp = jnp.exp(X)
    partition = X_exp.sum(axis=1, keepdims=True)
    return X_exp / partition


X_prob = softmax(jax.random.normal(jax.random.key(1), (2, 5)))
print(X_prob, X_prob.sum(axis=1))

# %% [markdown]
# ## Defining the model (3.6.3)
#
# $\hat{\mathbf{y}} = \mathrm{softmax}(\mathbf{X}\mathbf{W} + \mathbf{b})$ on flattened images. The model is a
# function of the parameters and the data, `net(params, X)`: the book's closure over global
# `W` and `b` becomes an argument, which is what lets `jax.grad` and `jax.jit` work on it.
# (`b.reshape(1, -1)` spells out the broadcast of the bias over the rows.)

# %%
def net(params, X):
    W, b = params["W"], params["b"]
    return softmax(X.reshape(-1, W.shape[0]) @ W + b.reshape(1, -1))

# %% [markdown]
# ## Defining the loss function (3.6.4)
#
# The cross-entropy $l = -\log \hat{y}_y$ picks, in each row of $\hat{\mathbf{y}}$, the probability of
# the true class: `y_hat[jnp.arange(n), y]`, the book's fancy indexing. Its toy example: two
# examples, three classes, true classes 0 and 2. (JAX clamps an index out of range instead of
# raising; the library's `jaxlin.cross_entropy` returns NaN for such a label.)

# %%
def cross_entropy(y_hat, y):
    return -jnp.log(y_hat[jnp.arange(y_hat.shape[0]), y])


y_toy = jnp.array([0, 2])
y_hat_toy = jnp.array([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
print(y_hat_toy[jnp.array([0, 1]), y_toy], cross_entropy(y_hat_toy, y_toy))

# %% [markdown]
# ## Classification accuracy (3.6.5)
#
# `accuracy` counts the rows whose largest probability is the true class (the book divides by
# the number of examples afterwards). The toy prediction gets one of two right: 0.5.
# `evaluate_accuracy` sums the correct predictions over every batch of a data set, the last
# partial one included, and divides by N once. Untrained, the model is near chance (0.1 for ten
# classes; the weights drawn from seed 0 give 0.06).

# %%
def accuracy(y_hat, y):
    return (y_hat.argmax(axis=1) == y).sum()


def evaluate_accuracy(net, params, data_iter):
    correct, n = 0, 0
    for X, y in data_iter:
        correct, n = correct + accuracy(net(params, X), y), n + y.shape[0]
    return float(correct / n)


print(accuracy(y_hat_toy, y_toy) / len(y_toy), evaluate_accuracy(net, params, test_iter))

# %% [markdown]
# ## Training (3.6.6)
#
# The book's `updater` mutates `W` and `b`; here one jitted step returns new parameters:
# `jax.value_and_grad` gives the minibatch's summed loss and its gradient, and `sgd` (written in
# 3.2) steps $\theta \leftarrow \theta - \frac{\eta}{|\mathcal{B}|}\nabla_\theta \sum_{i \in \mathcal{B}} l_i$.
# `jax.jit` compiles the step once; every batch of the same shape reuses it. The epoch keeps the
# sums on the device (adding device scalars does not wait for the step) and reads them once.

# %%
def make_step(net, loss, updater):
    @jax.jit
    def step(params, X, y):
        def total_loss(params):
            y_hat = net(params, X)
            return loss(y_hat, y).sum(), y_hat
        (l, y_hat), grads = jax.value_and_grad(total_loss, has_aux=True)(params)
        return updater(params, grads, batch_size=y.shape[0]), l, accuracy(y_hat, y)
    return step


def train_epoch_ch3(step, params, train_iter):
    loss_sum, correct, n = 0.0, 0.0, 0
    for X, y in train_iter:
        params, l, c = step(params, X, y)
        loss_sum, correct, n = loss_sum + l, correct + c, n + y.shape[0]
    return params, float(loss_sum / n), float(correct / n)

# %% [markdown]
# `train_ch3` runs the epochs: after each, the test accuracy, and the book's `Animator` draws
# the three curves, updated in place in a notebook. It returns the trained parameters (JAX
# changes nothing in place) and one record per epoch.

# %%
def train_ch3(net, params, train_iter, test_iter, loss, num_epochs, updater):
    step = make_step(net, loss, updater)
    animator = Animator(xlabel="epoch", xlim=(1, num_epochs), ylim=(0.3, 0.9),
                        legend=("train loss", "train acc", "test acc"))
    history = []
    for epoch in range(1, num_epochs + 1):
        params, train_loss, train_acc = train_epoch_ch3(step, params, train_iter)
        test_acc = evaluate_accuracy(net, params, test_iter)
        animator.add(epoch, (train_loss, train_acc, test_acc))
        history.append({"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc,
                        "test_acc": test_acc})
    animator.close()
    return params, history

# %% [markdown]
# One epoch of our own step and loop, to see them work: the loss falls from $\log 10 \approx 2.3$
# and the training accuracy climbs far above chance.

# %%
updater = functools.partial(sgd, lr=lr)
_, train_loss, train_acc = train_epoch_ch3(make_step(net, cross_entropy, updater), params, train_iter)
print(f"one epoch: loss {train_loss:.3f}, train acc {train_acc:.3f}")

# %% [markdown]
# D2L saves the functions it writes into its `d2l` package (`#@save`) and later sections call
# them from there; jaxlin's `train_ch3` is this one (the tests train both from the same
# parameters over the same batches and compare). Called from jaxlin, the same call trains the
# whole epoch as one compiled `lax.scan` over device-resident images (the same math, much
# faster; `--loop book` runs the loop above), and as a script it also saves a checkpoint every
# epoch (`--checkpoint-dir`, `--resume`), keeps the last finished epoch on Ctrl-C, and writes
# the curves, predictions and `results.json`. It starts again from the untrained `params`.

# %%
params, history = jaxlin.train_ch3(net, params, train_iter, test_iter, cross_entropy, num_epochs, updater)

# %% [markdown]
# ## Prediction (3.6.7)
#
# Test images titled with the true label over the predicted one; a wrong prediction in red.

# %%
jaxlin.predict_ch3(net, params, test_iter)
