# %% [markdown]
# # 4.3 Concise implementation of multilayer perceptrons
#
# The MLP of 4.2 as a Flax NNX module: `Linear(784, 256)` → ReLU → `Linear(256, 10)` (weights
# $\mathcal{N}(0, 0.01^2)$), optax's softmax cross-entropy with integer labels and `optax.sgd`.
# `nnx_model` splits the module into a pure `net(params, X)` and its params, so the same jitted
# step trains it; the curves should match the scratch version's.
#
# As a script: `python scripts/ch4_03_mlp_concise.py [--epochs N] [--out DIR]`; in a notebook the flags take their defaults (or the words of `$JAXLIN_ARGS`).


# %%
import jax
import optax
from flax import nnx

from jaxlin import nnx_model
from jaxlin.run.cli import Run, make_parser
from jaxlin.run.experiment import add_training_args, finish_classifier, load_data, train_classifier

parser = make_parser("D2L 4.3 A concise multilayer perceptron with Flax NNX and Optax on Fashion-MNIST.",
                     epochs=10, lr=0.1, batch_size=256)
add_training_args(parser)
args = parser.parse_args()
run = Run(args, "ch4_03_mlp_concise")
init_key, train_key = jax.random.split(jax.random.key(args.seed))


# %% [markdown]
# ## The data


# %%
data, load_seconds = load_data(args, run)


# %% [markdown]
# ## The model (4.3.1)


# %%
class MLP(nnx.Module):
    """Flatten -> Linear(784, 256) -> relu -> Linear(256, 10), weights N(0, 0.01²)."""

    def __init__(self, num_inputs: int = 784, num_hiddens: int = 256, num_outputs: int = 10, *,
                 rngs: nnx.Rngs):
        init = nnx.initializers.normal(0.01)
        self.hidden = nnx.Linear(num_inputs, num_hiddens, kernel_init=init, rngs=rngs)
        self.output = nnx.Linear(num_hiddens, num_outputs, kernel_init=init, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.output(nnx.relu(self.hidden(x.reshape(x.shape[0], -1))))


init, net = nnx_model(lambda rngs: MLP(rngs=rngs))
params = init(init_key)
loss = optax.softmax_cross_entropy_with_integer_labels


# %% [markdown]
# ## Training


# %%
result = train_classifier(args, run, net, params, loss, optax.sgd(args.lr), data, key=train_key)


# %% [markdown]
# ## The curves and some predictions


# %%
results = finish_classifier(run, net, result, data, load_seconds=load_seconds,
                            title="MLP 784-256-10 (concise)")
