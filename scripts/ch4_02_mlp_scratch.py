# %% [markdown]
# # 4.2 Implementation of multilayer perceptrons from scratch
#
# 784-256-10 on Fashion-MNIST: $\mathbf{H} = \mathrm{ReLU}(\mathbf{X}\mathbf{W}_1 + \mathbf{b}_1)$,
# $\mathbf{O} = \mathbf{H}\mathbf{W}_2 + \mathbf{b}_2$, weights $\mathcal{N}(0, 0.01^2)$, zero biases; the stable
# `softmax_cross_entropy` on the logits and the scratch `sgd`, trained by the same jitted step and
# compiled epoch as softmax regression. Expect a test accuracy of about 0.85 after 10 epochs.
#
# As a script: `python scripts/ch4_02_mlp_scratch.py [--epochs N] [--num-hiddens H] [--out DIR]`; in a notebook the flags take their defaults (or the words of `$JAXLIN_ARGS`).


# %%
import functools

import jax

from jaxlin import init_mlp, mlp, sgd, softmax_cross_entropy
from jaxlin.run.cli import Run, make_parser, positive_int
from jaxlin.run.experiment import add_training_args, finish_classifier, load_data, train_classifier

parser = make_parser("D2L 4.2 A multilayer perceptron from scratch on Fashion-MNIST.", epochs=10, lr=0.1,
                     batch_size=256)
parser.add_argument("--num-hiddens", type=positive_int, default=256, help="hidden units")
add_training_args(parser)
args = parser.parse_args()
run = Run(args, "ch4_02_mlp_scratch")
init_key, train_key = jax.random.split(jax.random.key(args.seed))


# %% [markdown]
# ## The data


# %%
data, load_seconds = load_data(args, run)


# %% [markdown]
# ## Model parameters and the model (4.2.1-4.2.3)
#
# `init_mlp` gives `W1` (784, 256), `b1`, `W2` (256, 10), `b2`; `mlp(params, X)` flattens the
# images and returns logits.


# %%
params = init_mlp(init_key, 784, args.num_hiddens, 10, sigma=0.01)
updater = functools.partial(sgd, lr=args.lr)


# %% [markdown]
# ## Training (4.2.4)
#
# The test accuracy after every epoch.


# %%
result = train_classifier(args, run, mlp, params, softmax_cross_entropy, updater, data, key=train_key)


# %% [markdown]
# ## The curves and some predictions
#
# The three curves (above the softmax regression's), then test images titled true over predicted.


# %%
results = finish_classifier(run, mlp, result, data, load_seconds=load_seconds,
                            title=f"MLP 784-{args.num_hiddens}-10 (scratch)")
