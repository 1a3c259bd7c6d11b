# %% [markdown]
# # 3.3 Concise implementation of linear regression
#
# The experiment of 3.2 with library parts: a Flax NNX `Linear(2, 1)` (weights
# $\mathcal{N}(0, 0.01^2)$, bias 0), the squared loss $\frac{1}{2}(\hat y - y)^2$ as `optax.l2_loss` and
# `optax.sgd(0.03)`. `nnx_model` splits the module into a pure `net(params, X)` and its params, so
# the same jitted step trains it; `fit` runs each epoch as one compiled call.
#
# As a script: `python scripts/ch3_03_linear_regression_concise.py [--epochs N] [--out DIR]`; in a
# notebook the flags take their defaults (or the words of `$JAXLIN_ARGS`).


# %%
import jax
import jax.numpy as jnp
import optax
from flax import nnx

from jaxlin import fit, linreg_closed_form, nnx_model, plot_history, synthetic_data
from jaxlin.run.cli import Run, make_parser, positive_int

TRUE_W, TRUE_B = (2.0, -3.4), 4.2

parser = make_parser("D2L 3.3 Concise linear regression with Flax NNX and Optax.", epochs=3, lr=0.03,
                     batch_size=10)
parser.add_argument("--num-examples", type=positive_int, default=1000, help="synthetic examples")
args = parser.parse_args()
if args.batch_size > args.num_examples:
    parser.error(f"--batch-size {args.batch_size} is larger than --num-examples {args.num_examples}")
run = Run(args, "ch3_03_linear_regression_concise")
data_key, init_key, shuffle_key = jax.random.split(jax.random.key(args.seed), 3)


# %% [markdown]
# ## Generating the data set (3.3.1)
#
# The same synthetic data as 3.2.


# %%
true_w = jnp.array(TRUE_W)
features, labels = synthetic_data(data_key, true_w, TRUE_B, args.num_examples)


# %% [markdown]
# ## Defining the model (3.3.3-3.3.4)
#
# `nnx.Linear` holds its params as `kernel` (2, 1) and `bias` (1,); `init(key)` returns them
# as a plain dict, `net(params, X)` is the forward pass.


# %%
init, net = nnx_model(lambda rngs: nnx.Linear(2, 1, kernel_init=nnx.initializers.normal(0.01),
                                              bias_init=nnx.initializers.zeros, rngs=rngs))
params = init(init_key)


# %% [markdown]
# ## Training (3.3.5-3.3.7)
#
# `fit` with `optax.l2_loss` and `optax.sgd`: the loss over all examples after each epoch.


# %%
with run.guard():                      # divergence: results.json says so, exit status 1
    result = fit(net, params, optax.l2_loss, optax.sgd(args.lr), (features, labels),
                 num_epochs=args.epochs, batch_size=args.batch_size, key=shuffle_key,
                 evals={"train": (features, labels)}, eval_loss=optax.l2_loss)
for record in result.history:
    print(f"epoch {record['epoch']}, loss {record['train_loss']:f}")


# %% [markdown]
# ## How close did we get?
#
# The learned `kernel` and `bias` against the true $\mathbf{w}$, $b$ and the closed form; the loss per epoch.


# %%
w, b = result.params["kernel"].reshape(-1), result.params["bias"]
w_error, b_error = true_w - w, TRUE_B - b[0]
print(f"error in estimating w: {w_error}")
print(f"error in estimating b: {b_error}")
closed = linreg_closed_form(features, labels)
print(f"closed form: w = {closed['w'].reshape(-1)}, b = {float(closed['b'][0]):.4f}")
figure = plot_history(result.history, run.path("loss.png"), keys=("train_loss",), yscale="log",
                      title="loss over all examples")


# %% [markdown]
# ## Results


# %%
run.finish({"history": result.history, "w": w, "b": b, "w_error": w_error, "b_error": float(b_error),
            "closed_form": {"w": closed["w"].reshape(-1), "b": float(closed["b"][0])},
            "seconds": result.seconds})
results = run.results
