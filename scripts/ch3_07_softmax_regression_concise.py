# %% [markdown]
# # 3.7 Concise implementation of softmax regression
#
# A Flax NNX `Linear(784, 10)` on flattened images returns logits $\mathbf{o}$; the loss is optax's
# softmax cross-entropy with integer labels, computed stably as
# $\log \sum_j e^{o_j} - o_y$ (log-sum-exp, eq. 3.7.2) instead of $-\log \mathrm{softmax}(\mathbf{o})_y$,
# and the optimizer `optax.sgd`. Same jitted step and evaluation as the scratch version; expect
# about the same curves (test accuracy ≈ 0.83).
#
# As a script: `python scripts/ch3_07_softmax_regression_concise.py [--epochs N] [--out DIR]`; in a
# notebook the flags take their defaults (or the words of `$JAXLIN_ARGS`).


# %%
import jax
import optax
from flax import nnx

from jaxlin import nnx_model
from jaxlin.run.cli import Run, make_parser
from jaxlin.run.experiment import add_training_args, finish_classifier, load_data, train_classifier

parser = make_parser("D2L 3.7 Concise softmax regression with Flax NNX and Optax on Fashion-MNIST.",
                     epochs=10, lr=0.1, batch_size=256)
add_training_args(parser)
args = parser.parse_args()
run = Run(args, "ch3_07_softmax_regression_concise")
init_key, train_key = jax.random.split(jax.random.key(args.seed))


# %% [markdown]
# ## The data


# %%
data, load_seconds = load_data(args, run)


# %% [markdown]
# ## The model (3.7.1)
#
# Flatten, then one fully connected layer; weights $\mathcal{N}(0, 0.01^2)$, bias 0.


# %%
class SoftmaxRegression(nnx.Module):
    """Flatten, then one fully connected layer of ``num_outputs`` logits."""

    def __init__(self, num_inputs: int = 784, num_outputs: int = 10, *, rngs: nnx.Rngs):
        self.linear = nnx.Linear(num_inputs, num_outputs, kernel_init=nnx.initializers.normal(0.01),
                                 rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.linear(x.reshape(x.shape[0], -1))


init, net = nnx_model(lambda rngs: SoftmaxRegression(rngs=rngs))
params = init(init_key)
loss = optax.softmax_cross_entropy_with_integer_labels     # log-sum-exp, eq. 3.7.2


# %% [markdown]
# ## Training (3.7.3-3.7.4)
#
# The test accuracy after every epoch.


# %%
result = train_classifier(args, run, net, params, loss, optax.sgd(args.lr), data, key=train_key)


# %% [markdown]
# ## The curves and some predictions
#
# The book's three curves, then test images titled true over predicted label.


# %%
results = finish_classifier(run, net, result, data, load_seconds=load_seconds,
                            title="softmax regression (concise)")
