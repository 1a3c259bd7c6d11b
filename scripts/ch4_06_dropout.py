# %% [markdown]
# # 4.6 Dropout
#
# A 784-256-256-10 MLP with dropout 0.2 after the first hidden layer and 0.5 after the second.
# During training each unit is zeroed with probability $p$ and the survivors scaled by $1/(1 - p)$,
# so $E[h'] = h$; evaluation drops nothing. `--impl scratch` uses `mlp` with `dropout_layer`,
# `--impl concise` a Flax NNX module with `nnx.Dropout`. Every step gets a fresh key,
# `fold_in(epoch key, step)`, never a fixed one.
#
# As a script: `python scripts/ch4_06_dropout.py [--impl scratch|concise] [--epochs N] [--out DIR]`; in a notebook the flags take their defaults (or the words of `$JAXLIN_ARGS`).


# %%
import functools

import jax
import optax
from flax import nnx

from jaxlin import init_mlp, mlp, nnx_model, sgd, softmax_cross_entropy
from jaxlin.run.cli import Run, make_parser
from jaxlin.run.experiment import add_training_args, finish_classifier, load_data, train_classifier

DROPOUT1, DROPOUT2 = 0.2, 0.5

parser = make_parser("D2L 4.6 Dropout: a 784-256-256-10 MLP with dropout 0.2 and 0.5, scratch or concise.",
                     epochs=10, lr=0.5, batch_size=256)
parser.add_argument("--impl", choices=("scratch", "concise"), default="scratch",
                    help="dropout_layer from scratch, or Flax NNX Dropout")
add_training_args(parser)
args = parser.parse_args()
run = Run(args, "ch4_06_dropout")
init_key, train_key = jax.random.split(jax.random.key(args.seed))


# %% [markdown]
# ## The data


# %%
data, load_seconds = load_data(args, run)


# %% [markdown]
# ## The model, from scratch (4.6.4) or concise (4.6.5)
#
# Scratch: `mlp(params, X, key=k, dropouts=(0.2, 0.5))` draws its masks from `k` when training.
# Concise: `nnx.Dropout` layers whose random streams `nnx_model` reseeds from the step's key.


# %%
class DropoutMLP(nnx.Module):
    """Linear(784, 256) relu Dropout(0.2) Linear(256, 256) relu Dropout(0.5) Linear(256, 10)."""

    def __init__(self, *, rngs: nnx.Rngs):
        init = nnx.initializers.normal(0.01)
        self.hidden1 = nnx.Linear(784, 256, kernel_init=init, rngs=rngs)
        self.dropout1 = nnx.Dropout(DROPOUT1, rngs=rngs)
        self.hidden2 = nnx.Linear(256, 256, kernel_init=init, rngs=rngs)
        self.dropout2 = nnx.Dropout(DROPOUT2, rngs=rngs)
        self.output = nnx.Linear(256, 10, kernel_init=init, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = self.dropout1(nnx.relu(self.hidden1(x.reshape(x.shape[0], -1))))
        x = self.dropout2(nnx.relu(self.hidden2(x)))
        return self.output(x)


if args.impl == "scratch":
    params = init_mlp(init_key, 784, (256, 256), 10, sigma=0.01)
    net = functools.partial(mlp, dropouts=(DROPOUT1, DROPOUT2))
    updater = functools.partial(sgd, lr=args.lr)
else:
    init, net = nnx_model(lambda rngs: DropoutMLP(rngs=rngs))   # key=k: training, masks from k
    params = init(init_key)
    updater = optax.sgd(args.lr)
loss = softmax_cross_entropy if args.impl == "scratch" else optax.softmax_cross_entropy_with_integer_labels


# %% [markdown]
# ## Training
#
# `stochastic=True`: each step's forward pass gets its own key.


# %%
result = train_classifier(args, run, net, params, loss, updater, data, key=train_key, stochastic=True)


# %% [markdown]
# ## The curves and some predictions
#
# The training accuracy (with dropout on) now lags the test accuracy.


# %%
results = finish_classifier(run, net, result, data, load_seconds=load_seconds,
                            title=f"dropout MLP ({args.impl}), p = {DROPOUT1}, {DROPOUT2}")
