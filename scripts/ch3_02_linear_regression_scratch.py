# %% [markdown]
# # 3.2 Linear regression from scratch
#
# Linear regression with nothing but arrays and `jax.grad`: we generate a synthetic data set,
# read it in minibatches, write the model `linreg`, the `squared_loss`
# $\frac{1}{2}(\hat y - y)^2$ and the minibatch `sgd` updater, and train for three epochs. Every
# function is short and pure: the parameters are a dict of arrays passed in and returned, never
# changed in place, and every random draw takes an explicit key. Expect the loss over all
# examples to fall to about $5 \cdot 10^{-5}$ (half the noise variance) and the learned
# $\mathbf{w}$ and $b$ to sit within about $10^{-3}$ of the true ones.
#
# As a script: `python scripts/ch3_02_linear_regression_scratch.py [--epochs N] [--lr LR] [--out DIR]`
# (`--help` lists all flags); in a notebook the defaults hold, or the words of `$JAXLIN_ARGS`.

# %% [markdown]
# The set-up: the section's settings, stated once (each is a flag when this file runs as a
# script), and one key per role — the data, the initial weights, the shuffling — split from
# one seed, since JAX has no global random state. `setup` also opens the run's output folder.

# %%
import jax
import jax.numpy as jnp

from jaxlin import DivergenceError, linreg_closed_form, plot_history
from jaxlin.data.shuffle import shuffle
from jaxlin.plots.figures import plt
from jaxlin.run.session import guard, record, save, setup

num_epochs, lr, batch_size, num_examples, seed = setup(
    "ch3_02_linear_regression_scratch", "3.2 Linear regression from scratch",
    num_epochs=3, lr=0.03, batch_size=10, num_examples=1000,
    checks=[lambda s: s.batch_size > s.num_examples
            and f"--batch-size {s.batch_size} is larger than --num-examples {s.num_examples}"])
data_key, init_key, shuffle_key = jax.random.split(jax.random.key(seed), 3)

# %% [markdown]
# ## Generating the data set (3.2.1)
#
# The book draws $\mathbf{X} \sim \mathcal{N}(0, 1)$ of shape (1000, 2) and the labels
# $\mathbf{y} = \mathbf{X}\mathbf{w} + b + \epsilon$ with $\mathbf{w} = [2, -3.4]^\top$, $b = 4.2$ and noise
# $\epsilon \sim \mathcal{N}(0, 0.01^2)$. `torch.normal` reads a global generator; here the key is an
# argument, split in two so that features and noise are independent draws. The labels come back
# as a column, shape (n, 1), as in the book. It prints the first example; the scatter of the
# second feature against the label shows the linear trend with slope $-3.4$.

# %%
def synthetic_data(key, w, b, num_examples):
    key_X, key_noise = jax.random.split(key)
    X = jax.random.normal(key_X, (num_examples, len(w)))
    y = X @ w + b
    y = y + 0.01 * jax.random.normal(key_noise, y.shape)
    return X, y.reshape((-1, 1))


true_w, true_b = jnp.array([2, -3.4]), 4.2
features, labels = synthetic_data(data_key, true_w, true_b, num_examples)
print("features:", features[0], "\nlabel:", labels[0])
fig, ax = plt.subplots(figsize=(4.5, 3.2))
ax.scatter(features[:, 1], labels[:, 0], s=2)
ax.set(xlabel="second feature x₂", ylabel="label y", title="synthetic data")
save(fig, "data.png")

# %% [markdown]
# ## Reading the data set (3.2.2)
#
# `data_iter` shuffles the indices and yields the examples `batch_size` at a time. The book
# shuffles a Python list with `random.shuffle`; JAX's shuffle is a function of a key, so each
# epoch passes a new one (`jax.random.fold_in(shuffle_key, epoch)`) and the same seed replays the
# same batches. We use jaxlin's `shuffle` (a uniformly random permutation, as
# `jax.random.permutation`, computed by sorting on the device) so that this loop and jaxlin's own
# training see the same batches. Like the book's, this `data_iter` covers every example: a last,
# smaller batch comes out as it is (there is none for 1000 examples in batches of 10; a jitted step
# compiles once more for its shape). jaxlin's `data_iter(..., drop_remainder=True)` departs from the
# book there: it skips that batch, so every batch has one shape and the step compiles once. The
# book's demonstration prints the first minibatch: a (10, 2) matrix of features and (10, 1) labels.

# %%
def data_iter(key, batch_size, features, labels):
    num_examples = len(features)
    indices = shuffle(key, num_examples)
    for i in range(0, num_examples, batch_size):
        batch_indices = indices[i: min(i + batch_size, num_examples)]
        yield features[batch_indices], labels[batch_indices]


for X, y in data_iter(jax.random.key(0), batch_size, features, labels):
    print(X, "\n", y)
    break

# %% [markdown]
# ## Initializing the model parameters (3.2.3)
#
# $\mathbf{w} \sim \mathcal{N}(0, 0.01^2)$ of shape (2, 1) and $b = 0$. The book marks them
# `requires_grad=True` so that autograd tracks them; JAX needs no such mark — `jax.grad`
# differentiates a function with respect to its argument, here the dict `params`.

# %%
params = {"w": 0.01 * jax.random.normal(init_key, (2, 1)), "b": jnp.zeros(1)}

# %% [markdown]
# ## The model, the loss and the updater (3.2.4-3.2.6)
#
# The model is $\hat{\mathbf{y}} = \mathbf{X}\mathbf{w} + b$, $b$ added to every row (`reshape(1, -1)` spells
# that broadcast out: jaxlin's tests make JAX refuse an implicit (n, 1) + (1,)); the
# loss of each example is $l = \frac{1}{2}(\hat y - y)^2$ (`y` reshaped to `y_hat`'s shape, as the book
# does). The book's `sgd` updates the tensors in place inside `torch.no_grad()`; in JAX the
# updater is a pure function that returns new parameters,
# $\theta \leftarrow \theta - \frac{\eta}{|\mathcal{B}|} \nabla_\theta \sum_{i \in \mathcal{B}} l_i$, leaf by
# leaf of the pytree (`jax.tree.map`), and nothing needs zeroing afterwards: `jax.grad` returns
# fresh gradients each call instead of accumulating them in `.grad`.

# %%
def linreg(params, X):
    return X @ params["w"] + params["b"].reshape(1, -1)


def squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, grads, lr, batch_size):
    return jax.tree.map(lambda p, g: p - lr * g / batch_size, params, grads)

# %% [markdown]
# ## Training (3.2.7)
#
# One step is the book's inner loop body: the summed minibatch loss, its gradient, the update.
# `jax.jit` compiles `step` once (every batch has the same shape) and each later call runs the
# compiled code. The step divides by the batch's own length, which is `batch_size` for every full
# batch (the book divides by `batch_size` even for a smaller last one). After each epoch the loss
# over all examples is printed, like the book's `epoch 1, loss 0.028...`: it should fall to
# about $5 \cdot 10^{-5}$. (`guard` only matters to the script: a NaN loss, from too large a `--lr`,
# ends the run with exit status 1 and says so in `results.json`.)

# %%
net, loss = linreg, squared_loss


@jax.jit
def step(params, X, y):
    grads = jax.grad(lambda params: loss(net(params, X), y).sum())(params)
    return sgd(params, grads, lr, len(y))


history = []
with guard():
    for epoch in range(num_epochs):
        for X, y in data_iter(jax.random.fold_in(shuffle_key, epoch), batch_size, features, labels):
            params = step(params, X, y)
        train_l = float(loss(net(params, features), labels).mean())
        if not jnp.isfinite(train_l):
            raise DivergenceError(epoch + 1, history=history)
        print(f"epoch {epoch + 1}, loss {train_l:f}")
        history.append({"epoch": epoch + 1, "train_loss": train_l})

# %% [markdown]
# ## How close did we get?
#
# The book compares the learned parameters with the ones that generated the data: both errors
# should be of the order of $10^{-4}$ to $10^{-3}$. Beside them, the closed form
# $(\mathbf{X}^\top\mathbf{X})^{-1}\mathbf{X}^\top\mathbf{y}$ of 3.1 (solved by least squares) lands at the
# same place. The figure is the loss per epoch on a log scale.

# %%
w, b = params["w"].reshape(true_w.shape), params["b"]
w_error, b_error = true_w - w, true_b - b[0]
print(f"error in estimating w: {w_error}")
print(f"error in estimating b: {b_error}")
closed = linreg_closed_form(features, labels)
print(f"closed form: w = {closed['w'].reshape(-1)}, b = {float(closed['b'][0]):.4f}")
save(plot_history(history, keys=("train_loss",), yscale="log", title="loss over all examples"), "loss.png")
record(history=history, w=w, b=b, w_error=w_error, b_error=float(b_error),
       closed_form={"w": closed["w"].reshape(-1), "b": float(closed["b"][0])})
