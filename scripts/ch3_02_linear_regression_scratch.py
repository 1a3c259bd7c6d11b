# %% [markdown]
# # 3.2 Linear regression from scratch
#
# Synthetic data $\mathbf{y} = \mathbf{X}\mathbf{w} + b + \epsilon$ with $\mathbf{w} = [2, -3.4]^\top$,
# $b = 4.2$, $\epsilon \sim \mathcal{N}(0, 0.01^2)$; the model `linreg`, the `squared_loss`
# $\frac{1}{2}(\hat y - y)^2$ and the scratch `sgd` (lr 0.03, batch 10), three epochs of one jitted
# train step. The closed-form least-squares solution is printed beside the learned parameters.
#
# As a script: `python scripts/ch3_02_linear_regression_scratch.py [--epochs N] [--lr LR] [--out DIR]`;
# in a notebook the flags take their defaults (or the words of `$JAXLIN_ARGS`).


# %%
import functools
import math
import time

import jax
import jax.numpy as jnp

from jaxlin import (
    DivergenceError,
    Timer,
    data_iter,
    evaluate_loss,
    init_linreg,
    linreg,
    linreg_closed_form,
    make_train_step,
    plot_history,
    savefig,
    sgd,
    squared_loss,
    synthetic_data,
)
from jaxlin.run.cli import Run, make_parser, positive_int
from jaxlin.run.plot import plt

TRUE_W, TRUE_B = (2.0, -3.4), 4.2

parser = make_parser("D2L 3.2 Linear regression from scratch: synthetic data, minibatches, the jitted "
                     "SGD step.", epochs=3, lr=0.03, batch_size=10)
parser.add_argument("--num-examples", type=positive_int, default=1000, help="synthetic examples")
args = parser.parse_args()
if args.batch_size > args.num_examples:
    parser.error(f"--batch-size {args.batch_size} is larger than --num-examples {args.num_examples}")
run = Run(args, "ch3_02_linear_regression_scratch")
data_key, init_key, shuffle_key = jax.random.split(jax.random.key(args.seed), 3)


# %% [markdown]
# ## Generating the data set (3.2.1)
#
# Each row of `features` holds two standard-normal features; the scatter of the second feature
# against the label shows the linear trend with slope $-3.4$.


# %%
true_w = jnp.array(TRUE_W)
features, labels = synthetic_data(data_key, true_w, TRUE_B, args.num_examples)
print("features:", features[0], "\nlabel:", labels[0])
fig, ax = plt.subplots(figsize=(4.5, 3.2))
ax.scatter(features[:, 1], labels[:, 0], s=2)
ax.set(xlabel="second feature x₂", ylabel="label y", title="synthetic data")
savefig(fig, run.path("data.png"))


# %% [markdown]
# ## The model, the loss and the step (3.2.3-3.2.6)
#
# Params $\mathbf{w} \sim \mathcal{N}(0, 0.01^2)$, $b = 0$. `make_train_step` jits gradient and
# update into one function, compiled once ahead of the loop (every batch has one shape).


# %%
params = init_linreg(init_key, 2, sigma=0.01)
step = make_train_step(linreg, squared_loss, functools.partial(sgd, lr=args.lr))
tic = time.perf_counter()
X0, y0 = features[: args.batch_size], labels[: args.batch_size]
step = step.lower(params, (), X0, y0).compile()   # compile once, ahead of the loop
compile_seconds = time.perf_counter() - tic


# %% [markdown]
# ## Training (3.2.7)
#
# `data_iter` shuffles with a new key each epoch; the loss printed after each epoch is over all
# examples and should fall to about $5 \cdot 10^{-5}$ (half the noise variance).


# %%
history, timer = [], Timer()
with run.guard({"history": history}):    # divergence: results.json says so, exit status 1
    for epoch in range(args.epochs):
        timer.start()
        key = jax.random.fold_in(shuffle_key, epoch)
        for X, y in data_iter(key, args.batch_size, features, labels, drop_remainder=True):
            params, _, _ = step(params, (), X, y)
        jax.block_until_ready(params)
        timer.stop()
        train_l = evaluate_loss(linreg, params, (features, labels), squared_loss)  # one sync per epoch
        if not math.isfinite(train_l):
            raise DivergenceError(epoch + 1, history=history)
        print(f"epoch {epoch + 1}, loss {train_l:f}")
        history.append({"epoch": epoch + 1, "train_loss": train_l})


# %% [markdown]
# ## How close did we get?
#
# The errors in $\mathbf{w}$ and $b$ are of the order of the noise; the closed form
# $(\mathbf{X}^\top\mathbf{X})^{-1}\mathbf{X}^\top\mathbf{y}$ lands at the same place. The figure is the
# loss per epoch on a log scale.


# %%
w, b = params["w"].reshape(-1), params["b"]
w_error, b_error = true_w - w, TRUE_B - b[0]
print(f"error in estimating w: {w_error}")
print(f"error in estimating b: {b_error}")
closed = linreg_closed_form(features, labels)
print(f"closed form: w = {closed['w'].reshape(-1)}, b = {float(closed['b'][0]):.4f}")
figure = plot_history(history, run.path("loss.png"), keys=("train_loss",), yscale="log",
                      title="loss over all examples")


# %% [markdown]
# ## Results


# %%
run.finish({"history": history, "w": w, "b": b, "w_error": w_error, "b_error": float(b_error),
            "closed_form": {"w": closed["w"].reshape(-1), "b": float(closed["b"][0])},
            "seconds": {"compile": compile_seconds, "train": timer.sum()}})
results = run.results
