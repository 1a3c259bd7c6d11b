# %% [markdown]
# # 4.5 Weight decay
#
# $y = 0.05 + \sum_{i=1}^{200} 0.01\,x_i + \epsilon$, $\epsilon \sim \mathcal{N}(0, 0.01^2)$, with only 20
# training examples for 200 inputs: without a penalty the model overfits. Adding
# $\frac{\lambda}{2}\|\mathbf{w}\|^2$ to the loss (eq. 4.5.2) shrinks $\mathbf{w}$ and closes the gap
# between training and test loss. We write the book's from-scratch code — `init_params`,
# `l2_penalty` and its training loop `train(lambd)` — as short pure functions, then its concise
# version (optax's weight decay, the bias not decayed). Expect $\|\mathbf{w}\| \approx 13$ and a test
# loss far above the training loss for λ = 0, and $\|\mathbf{w}\| \approx 0.36$ with the two losses
# close for λ = 3.
#
# As a script: `python scripts/ch4_05_weight_decay.py [--impl scratch|concise] [--penalty l2|l1]`
# (`--help` lists all flags); in a notebook the defaults hold, or the words of `$JAXLIN_ARGS`.

# %% [markdown]
# The set-up: the book's settings (100 epochs, lr 0.003, batches of 5), which implementation runs
# (`--impl`), the penalty (`--penalty l1` adds a comparison the book only mentions) and the λs.
# One key per role: the data, the initial weights, the shuffling.

# %%
import jax
import jax.numpy as jnp
from flax import nnx

import jaxlin
from jaxlin import DivergenceError, data_iter, linreg, nnx_model, sgd, squared_loss, synthetic_data
from jaxlin.chapters.ch4_05_weight_decay import SMALL, plot_runs, plot_weights, summarize, train_scratch_l1
from jaxlin.nn.regularization import sgd_weight_decay
from jaxlin.run.flags import nonnegative_float
from jaxlin.run.session import Flag, guard, record, save, setup

n_train, n_test, num_inputs, true_b = 20, 100, 200, 0.05   # few examples, many inputs: easy to overfit
num_epochs, lr, batch_size, impl, penalty, lambdas, seed = setup(
    "ch4_05_weight_decay", "4.5 Weight decay", num_epochs=100, lr=0.003, batch_size=5,
    impl=Flag("scratch", choices=("scratch", "concise"),
              help="scratch: λ‖w‖²/2 added to the loss; concise: optax masked weight decay"),
    penalty=Flag("l2", choices=("l2", "l1"), help="the norm penalized; l1 also runs L2 at the largest λ"),
    lambdas=Flag([0.0, 3.0], nargs="+", type=nonnegative_float, help="the penalty strengths λ to train with"),
    checks=[lambda s: s.batch_size > n_train
            and f"--batch-size {s.batch_size} is larger than the training set ({n_train} examples)"])
key_data, key_init, key_fit = jax.random.split(jax.random.key(seed), 3)
key_train, key_test = jax.random.split(key_data)

# %% [markdown]
# ## High-dimensional linear regression (4.5.2)
#
# The book calls the `synthetic_data` of 3.2 twice, for 20 training and 100 test examples of the
# same model, $\mathbf{w} = 0.01 \cdot \mathbf{1}$, $b = 0.05$; each call takes its own key here. The book
# wraps them in `load_array`; our loop below reads minibatches with 3.2's `data_iter` instead, and
# evaluates on the whole arrays (20 and 100 rows fit in one call).

# %%
true_w = 0.01 * jnp.ones(num_inputs)
train_data = synthetic_data(key_train, true_w, true_b, n_train)
test_data = synthetic_data(key_test, true_w, true_b, n_test)

# %% [markdown]
# ## Implementation from scratch (4.5.3)
#
# `init_params` draws $\mathbf{w} \sim \mathcal{N}(0, 1)$ of shape (200, 1) and $b = 0$ — the book's
# `torch.normal(0, 1, ...)` with `requires_grad=True`; JAX needs only the key and differentiates
# whatever `jax.grad` is given. `l2_penalty` is $\frac{1}{2}\|\mathbf{w}\|^2 = \frac{1}{2}\sum_i w_i^2$, whose
# gradient is $\mathbf{w}$ itself: with it, every step shrinks the weights by a factor
# $1 - \eta\lambda$ before the data's gradient moves them (hence "weight decay"). The bias is not
# penalized.

# %%
def init_params(key):
    return {"w": jax.random.normal(key, (num_inputs, 1)), "b": jnp.zeros(1)}


def l2_penalty(w):
    return jnp.sum(w ** 2) / 2

# %% [markdown]
# `train(lambd)` is the book's loop: per minibatch the loss plus $\lambda$ times the penalty,
# $\sum_{i \in \mathcal{B}} \big(l_i + \lambda \tfrac{1}{2}\|\mathbf{w}\|^2\big)$, its gradient, and 3.2's `sgd`
# (which divides by the batch size), all in one jitted step. Where the book's `Animator` plots
# every fifth epoch, we keep the losses over all training and test examples after every epoch
# and plot them below. Each epoch's key is split in two and the first half shuffles, as
# `jaxlin.fit` does, so this loop and jaxlin's see the same batches. It prints the book's line,
# the L2 norm of $\mathbf{w}$. (A NaN loss, from too large a `--lr`, raises `DivergenceError`: the
# script ends with exit status 1 and `results.json` says so.)

# %%
def train(lambd):
    params = init_params(key_init)
    net, loss = linreg, squared_loss

    @jax.jit
    def step(params, X, y):
        l = lambda params: (loss(net(params, X), y) + lambd * l2_penalty(params["w"])).sum()
        return sgd(params, jax.grad(l)(params), lr, len(y))

    evaluate = jax.jit(lambda params, X, y: loss(net(params, X), y).mean())
    history = []
    for epoch in range(num_epochs):
        shuffle_key, _ = jax.random.split(jax.random.fold_in(key_fit, epoch))
        for X, y in data_iter(shuffle_key, batch_size, *train_data):
            params = step(params, X, y)
        losses = {"epoch": epoch + 1, "train_loss": float(evaluate(params, *train_data)),
                  "test_loss": float(evaluate(params, *test_data))}
        if not jnp.isfinite(losses["train_loss"]):
            raise DivergenceError(epoch + 1, history=history)
        history.append(losses)
    print("L2 norm of w:", float(jnp.linalg.norm(params["w"])))
    return params, history

# %% [markdown]
# ## The concise implementation (4.5.4)
#
# The book gives PyTorch's `SGD` a `weight_decay` for the weight only (a parameter group without
# it for the bias). In optax the decay is a transformation chained before SGD,
# $g \leftarrow g + \lambda \mathbf{w}$ (`optax.add_decayed_weights`), with a mask that leaves the bias
# alone: jaxlin's `sgd_weight_decay`. The model is a Flax NNX `Linear(200, 1)` with
# $\mathcal{N}(0, 1)$ weights, trained by `jaxlin.fit` (each epoch one compiled `lax.scan` made by
# `jaxlin.make_train_epoch`, the same batches as above); the loss itself carries no penalty. It
# gives the same numbers as the scratch version up to float rounding.

# %%
def train_concise(wd, method="l2"):
    init, net = nnx_model(lambda rngs: nnx.Linear(num_inputs, 1, kernel_init=nnx.initializers.normal(1.0),
                                                  rngs=rngs))
    epoch = jaxlin.make_train_epoch(net, squared_loss, sgd_weight_decay(lr, wd, method), batch_size)
    losses = jaxlin.evaluator(net, {"train": train_data, "test": test_data}, loss=squared_loss)
    state, _ = jaxlin.fit(epoch, epoch.init(init(key_init), key_fit), train_data, num_epochs=num_epochs,
                          evaluate=losses)
    print("L2 norm of w:", float(jnp.linalg.norm(state.params["kernel"])))
    return state.params, list(state.history)

# %% [markdown]
# ## Training with and without the penalty (4.5.3.1-4.5.3.2, 4.5.4)
#
# The book's two calls, `train(lambd=0)` and `train(lambd=3)` (or `train_concise(0)` and
# `train_concise(3)` with `--impl concise`). With `--penalty l1` each λ trains with $\lambda\|\mathbf{w}\|_1$,
# then, at the largest λ, a proximal (soft-threshold) step and L2 for comparison; the scratch L1
# runs are in `jaxlin.chapters.ch4_05_weight_decay`. After each run, one line: the norms of
# $\mathbf{w}$, how many weights are (near) zero, $b$ and the final losses. λ = 0 should leave
# $\|\mathbf{w}\| \approx 13$ and a test loss thousands of times the training loss; λ = 3 shrinks
# $\|\mathbf{w}\|$ to about 0.36 and the test loss to about 0.13.

# %%
def train_run(method, lambd):
    if impl == "concise":
        return train_concise(lambd, method)
    if method == "l2":
        return train(lambd)
    return train_scratch_l1(method, lambd, train_data, test_data, lr=lr, batch_size=batch_size,
                            num_epochs=num_epochs, key_init=key_init, key_fit=key_fit)


configs = [(penalty, lambd) for lambd in lambdas]
if penalty == "l1":
    configs += [("l1-proximal", max(lambdas)), ("l2", max(lambdas))]
runs = {}
with guard():
    for method, lambd in configs:
        name = f"{method.upper()} λ={lambd:g}"
        runs[name] = summarize(name, method, lambd, *train_run(method, lambd))

# %% [markdown]
# ## The figures
#
# The losses per epoch for each λ on a log scale (λ = 0: the training loss falls towards 0 while
# the test loss stays high; λ = 3: the two stay close), then the learned weights sorted by size:
# L2 shrinks them all evenly, L1 sets many to (near) zero.

# %%
title = f"weight decay ({impl}): d = {num_inputs}, {n_train} training examples"
save(plot_runs(runs, title), f"weight_decay_{impl}_{penalty}.png")
save(plot_weights(runs), f"weights_{impl}_{penalty}.png")
record(impl=impl, penalty=penalty, true_w=0.01, true_b=true_b, small_threshold=SMALL, runs=runs)
