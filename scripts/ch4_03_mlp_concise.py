# %% [markdown]
# # 4.3 Concise implementation of multilayer perceptrons
#
# The MLP of 4.2 from library parts: two Flax NNX `Linear` layers with a ReLU between them, optax's
# stable cross-entropy and `optax.sgd`, trained by the same `train_ch3`. Expect the curves of 4.2
# (test accuracy ≈ 0.85).
#
# As a script: `python scripts/ch4_03_mlp_concise.py [--epochs N] [--out DIR]`; in a notebook the
# defaults hold (or the words of `$JAXLIN_ARGS`).

# %% [markdown]
# The set-up: the book's settings, each a flag when this file runs as a script.

# %%
import jax
import optax
from flax import nnx

from jaxlin import load_data_fashion_mnist, nnx_model, predict_ch3, train_ch3
from jaxlin.run import setup

num_epochs, lr, batch_size, seed = setup("ch4_03_mlp_concise", "4.3 A concise multilayer perceptron",
                                         num_epochs=10, lr=0.1, batch_size=256, training=True)

# %% [markdown]
# ## The data
#
# The same Fashion-MNIST minibatches as in 4.2, reshuffled every epoch from `data_key`.

# %%
init_key, data_key = jax.random.split(jax.random.key(seed))
train_iter, test_iter = load_data_fashion_mnist(batch_size, key=data_key)

# %% [markdown]
# ## The model (4.3.1)
#
# The book's `nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))`,
# weights $\mathcal{N}(0, 0.01^2)$. An NNX module states each layer's input size (no deferred
# shapes) and draws its weights from the `nnx.Rngs` it is given; `nnx_model` turns it into the
# `init(key)` / `net(params, X)` pair every jaxlin model has, so `train_ch3` of chapter 3 trains
# it as it trained the scratch MLP.

# %%
class MLP(nnx.Module):
    def __init__(self, num_inputs: int = 784, num_hiddens: int = 256, num_outputs: int = 10, *,
                 rngs: nnx.Rngs):
        init = nnx.initializers.normal(0.01)
        self.hidden = nnx.Linear(num_inputs, num_hiddens, kernel_init=init, rngs=rngs)
        self.output = nnx.Linear(num_hiddens, num_outputs, kernel_init=init, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.output(nnx.relu(self.hidden(x.reshape(x.shape[0], -1))))


init, net = nnx_model(lambda rngs: MLP(rngs=rngs))
params = init(init_key)
print(jax.tree.map(jax.numpy.shape, params))

# %% [markdown]
# ## Training (4.3.1)
#
# The loss on logits (`optax.softmax_cross_entropy_with_integer_labels`, the book's
# `CrossEntropyLoss`) and `optax.sgd(lr)` (the book's `torch.optim.SGD`); then chapter 3's
# `train_ch3`, unchanged. The numbers differ from 4.2's only by the initial weights (NNX draws
# them from its own key streams).

# %%
loss = optax.softmax_cross_entropy_with_integer_labels
params, history = train_ch3(net, params, train_iter, test_iter, loss, num_epochs, optax.sgd(lr))

# %% [markdown]
# Test images titled with the true over the predicted label, a wrong prediction in red.

# %%
predict_ch3(net, params, test_iter)
