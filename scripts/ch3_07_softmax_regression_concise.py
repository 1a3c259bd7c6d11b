# %% [markdown]
# # 3.7 Concise implementation of softmax regression
#
# The model of 3.6 from library parts: a Flax NNX `Linear(784, 10)` on flattened images returns
# logits $\mathbf{o}$, optax's cross-entropy takes the logits, and `optax.sgd` updates. The same
# `train_ch3` trains it. Expect about the curves of 3.6 (test accuracy ≈ 0.83).
#
# As a script: `python scripts/ch3_07_softmax_regression_concise.py [--epochs N] [--out DIR]`; in a
# notebook the defaults hold (or the words of `$JAXLIN_ARGS`).

# %% [markdown]
# The set-up: the book's settings, each a flag when this file runs as a script.

# %%
import jax
import jax.numpy as jnp
import optax
from flax import nnx

from jaxlin import load_data_fashion_mnist, nnx_model, predict_ch3, train_ch3
from jaxlin.run import setup

num_epochs, lr, batch_size, seed = setup("ch3_07_softmax_regression_concise",
                                         "3.7 Concise softmax regression",
                                         num_epochs=10, lr=0.1, batch_size=256, training=True)

# %% [markdown]
# ## The data
#
# The minibatches of 3.5 and 3.6, reshuffled every epoch from `data_key`.

# %%
init_key, data_key = jax.random.split(jax.random.key(seed))
train_iter, test_iter = load_data_fashion_mnist(batch_size, key=data_key)

# %% [markdown]
# ## Initializing the model parameters (3.7.1)
#
# The book's `nn.Sequential(nn.Flatten(), nn.Linear(784, 10))` with weights $\mathcal{N}(0, 0.01^2)$.
# In Flax NNX a layer is built with its input size and an `nnx.Rngs` that draws its weights.
# `nnx_model` splits the module into the same contract as the scratch models — `init(key)` gives
# the parameters as a pytree, `net(params, X)` the forward pass — so the step, `train_ch3` and the
# evaluation of chapter 3 serve it unchanged.

# %%
class SoftmaxRegression(nnx.Module):
    def __init__(self, num_inputs: int = 784, num_outputs: int = 10, *, rngs: nnx.Rngs):
        self.linear = nnx.Linear(num_inputs, num_outputs, kernel_init=nnx.initializers.normal(0.01),
                                 rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.linear(x.reshape(x.shape[0], -1))


init, net = nnx_model(lambda rngs: SoftmaxRegression(rngs=rngs))
params = init(init_key)

# %% [markdown]
# ## Softmax revisited (3.7.2)
#
# $\exp(o_j)$ overflows for large logits and $\log \hat{y}_y$ of an underflowed probability is
# $-\infty$. Combining the softmax and the log avoids both:
# $-\log \hat{y}_y = \log \sum_k \exp(o_k) - o_y$, computed with the largest $o_k$ subtracted first
# (log-sum-exp). `optax.softmax_cross_entropy_with_integer_labels` does this, and takes the
# logits, as PyTorch's `CrossEntropyLoss` does. On two examples, true class 2 for both: the naive
# form of 3.6 (`exp`, normalize, `-log`) gives 0.408 for the first and $\infty$ for the second
# ($e^{1000}$ overflows, the probability becomes 0), the stable one 0.408 and 2000.

# %%
loss = optax.softmax_cross_entropy_with_integer_labels
o, y = jnp.array([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]]), jnp.array([2, 2])
naive = -jnp.log((jnp.exp(o) / jnp.exp(o).sum(axis=1, keepdims=True))[jnp.arange(2), y])
print(naive, loss(o, y))

# %% [markdown]
# ## Optimization algorithm (3.7.3) and training (3.7.4)
#
# `optax.sgd(lr)` is minibatch SGD on the mean loss, the book's `torch.optim.SGD`. An optax
# optimizer is two pure functions, `init(params)` and `update(grads, state)`; `train_ch3` makes its
# state and carries it, so nothing changes in place. Expect curves like those of 3.6.

# %%
params, history = train_ch3(net, params, train_iter, test_iter, loss, num_epochs, optax.sgd(lr))

# %% [markdown]
# Test images titled with the true over the predicted label, a wrong prediction in red.

# %%
predict_ch3(net, params, test_iter)
