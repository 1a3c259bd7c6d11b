# %% [markdown]
# # 3.3 Concise implementation of linear regression
#
# The experiment of 3.2 again, with library parts where the book takes PyTorch's: a Flax NNX
# `Linear(2, 1)` for `nn.Linear`, `optax.l2_loss` for the loss and `optax.sgd` for
# `torch.optim.SGD`. jaxlin's `nnx_model` splits the module into its parameters (a plain dict)
# and a pure `net(params, X)`, so the same kind of jitted step as in 3.2 trains it, and jaxlin's
# `fit` runs each epoch as one compiled call. Expect the same numbers as 3.2: the loss falls to
# about $5 \cdot 10^{-5}$, and $\mathbf{w}$ and $b$ land within about $10^{-3}$ of the true ones.
#
# As a script: `python scripts/ch3_03_linear_regression_concise.py [--epochs N] [--out DIR]`
# (`--help` lists all flags); in a notebook the defaults hold, or the words of `$JAXLIN_ARGS`.

# %% [markdown]
# The set-up: the section's settings, stated once (each is a flag when this file runs as a
# script), and one key per role — data, initial weights, shuffling — split from one seed, as in
# 3.2. `setup` also opens the run's output folder.

# %%
import jax
import jax.numpy as jnp
import optax
from flax import nnx

import jaxlin
from jaxlin import (
    evaluator,
    fit,
    linreg_closed_form,
    make_train_epoch,
    nnx_model,
    plot_history,
    synthetic_data,
)
from jaxlin.run.session import guard, record, save, setup

num_epochs, lr, batch_size, num_examples, seed = setup(
    "ch3_03_linear_regression_concise", "3.3 Concise implementation of linear regression",
    num_epochs=3, lr=0.03, batch_size=10, num_examples=1000,
    checks=[lambda s: s.batch_size > s.num_examples
            and f"--batch-size {s.batch_size} is larger than --num-examples {s.num_examples}"])
data_key, init_key, shuffle_key = jax.random.split(jax.random.key(seed), 3)

# %% [markdown]
# ## Generating the data set (3.3.1)
#
# The book calls the `synthetic_data` it saved in 3.2 (`d2l.synthetic_data`); ours is
# `jaxlin.synthetic_data`, the same function with its key: $\mathbf{y} = \mathbf{X}\mathbf{w} + b + \epsilon$,
# $\mathbf{w} = [2, -3.4]^\top$, $b = 4.2$, $\epsilon \sim \mathcal{N}(0, 0.01^2)$, labels of shape (n, 1).

# %%
true_w, true_b = jnp.array([2, -3.4]), 4.2
features, labels = synthetic_data(data_key, true_w, true_b, num_examples)

# %% [markdown]
# ## Reading the data set (3.3.2)
#
# The book wraps the arrays in a `TensorDataset` and a `DataLoader`, shuffling when `is_train`.
# JAX has no data loader and no global random state: `load_array` takes the key that shuffles
# (the book's `is_train=True`; without a key the batches come in order, as for a test set) and
# yields the minibatches of 3.2's `data_iter` (`jaxlin.data_iter`). The book's check, `next(iter(data_iter))`, prints
# the first minibatch: a (10, 2) matrix of features and its (10, 1) labels. (`fit` below draws
# its batches itself, from arrays kept on the device, so this iterator is for looking at.)

# %%
def load_array(data_arrays, batch_size, *, key=None):
    features, labels = data_arrays
    if key is None:
        return ((features[i:i + batch_size], labels[i:i + batch_size])
                for i in range(0, len(features), batch_size))
    return jaxlin.data_iter(key, batch_size, features, labels)


data_iter = load_array((features, labels), batch_size, key=jax.random.key(0))
print(next(iter(data_iter)))

# %% [markdown]
# ## Defining the model and initializing its parameters (3.3.3-3.3.4)
#
# PyTorch's `nn.Sequential(nn.Linear(2, 1))` has weights `net[0].weight` and `net[0].bias`,
# reset in place with `normal_(0, 0.01)` and `fill_(0)`. Flax NNX's `nnx.Linear(2, 1)` takes its
# initializers as arguments instead, $\mathcal{N}(0, 0.01^2)$ for the `kernel` (2, 1) and zeros for
# the `bias` (1,), and an `nnx.Rngs` seeded by our key. `nnx_model` turns it into `init(key)`,
# which returns those two arrays as a plain dict, and the pure `net(params, X)`.

# %%
init, net = nnx_model(lambda rngs: nnx.Linear(2, 1, kernel_init=nnx.initializers.normal(0.01),
                                              bias_init=nnx.initializers.zeros, rngs=rngs))
params = init(init_key)
print({name: p.shape for name, p in params.items()})

# %% [markdown]
# ## The loss, the optimizer and training (3.3.5-3.3.7)
#
# jaxlin departs from the book in the loss: PyTorch's `nn.MSELoss` is the mean of $(\hat y - y)^2$,
# while `optax.l2_loss` is $\frac{1}{2}(\hat y - y)^2$ per example, the loss of 3.2 (so the printed
# losses are half the book's). `optax.sgd(lr)` is the optimizer: a pure `(init, update)` pair
# with an explicit state instead of `trainer.step()` mutating the parameters. `make_train_epoch`
# builds the book's loop — per minibatch: loss, gradient, update — compiled as one `lax.scan`
# over the epoch; `epoch.init` pairs the params with the optimizer's state and the shuffle key
# in one train state. `fit` runs the epochs and after each measures the loss over all
# examples (`evaluator`); we print it as the book does (`epoch 1, loss 0.028...`). (`guard` only matters to the script: a NaN loss ends
# the run with exit status 1, Ctrl-C with 130, and `results.json` says which.)

# %%
epoch = make_train_epoch(net, optax.l2_loss, optax.sgd(lr), batch_size)
evaluate = evaluator(net, {"train": (features, labels)}, loss=optax.l2_loss)
with guard():
    state, seconds = fit(epoch, epoch.init(params, shuffle_key), (features, labels),
                         num_epochs=num_epochs, evaluate=evaluate)
for h in state.history:
    print(f"epoch {h['epoch']}, loss {h['train_loss']:f}")

# %% [markdown]
# ## How close did we get?
#
# The book reads `net[0].weight.data` and `net[0].bias.data`; ours are `params["kernel"]` and
# `params["bias"]` of the trained dict in the state that `fit` returned (nothing changed in place). Their
# errors against the generating $\mathbf{w}$ and $b$ are of the order of $10^{-4}$; the closed form
# of 3.1 lands at the same place. The figure is the loss per epoch on a log scale.

# %%
w, b = state.params["kernel"].reshape(true_w.shape), state.params["bias"]
w_error, b_error = true_w - w, true_b - b[0]
print(f"error in estimating w: {w_error}")
print(f"error in estimating b: {b_error}")
closed = linreg_closed_form(features, labels)
print(f"closed form: w = {closed['w'].reshape(-1)}, b = {float(closed['b'][0]):.4f}")
save(plot_history(state.history, keys=("train_loss",), yscale="log", title="loss over all examples"),
     "loss.png")
record(history=state.history, w=w, b=b, w_error=w_error, b_error=float(b_error),
       closed_form={"w": closed["w"].reshape(-1), "b": float(closed["b"][0])}, seconds=seconds)
