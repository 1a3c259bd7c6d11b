# %% [markdown]
# # 3.6 Softmax regression from scratch
#
# Fashion-MNIST's 28×28 images, flattened to 784 features, go through one linear layer and a
# softmax: $\hat{\mathbf{y}} = \mathrm{softmax}(\mathbf{x}\mathbf{W} + \mathbf{b})$, with
# $\mathbf{W} \sim \mathcal{N}(0, 0.01^2)$ and $\mathbf{b} = 0$. The loss is the book's cross-entropy
# $-\log \hat{y}_y$, the updater minibatch SGD. Expect a test accuracy of about 0.83 after 10 epochs.
#
# As a script: `python scripts/ch3_06_softmax_regression_scratch.py [--epochs N] [--lr LR] [--out DIR]`
# (`--help` lists all flags); in a notebook the flags take their defaults, or the words of `$JAXLIN_ARGS`.

# %%
import functools

import jax

from jaxlin import cross_entropy, init_softmax_regression, sgd, softmax_regression
from jaxlin.run.cli import Run, make_parser
from jaxlin.run.experiment import add_training_args, finish_classifier, load_data, train_classifier

parser = make_parser("D2L 3.6 Softmax regression from scratch on Fashion-MNIST.", epochs=10, lr=0.1,
                     batch_size=256)
add_training_args(parser)
args = parser.parse_args()
run = Run(args, "ch3_06_softmax_regression_scratch")
init_key, train_key = jax.random.split(jax.random.key(args.seed))

# %% [markdown]
# ## The data (3.5)
#
# All 70,000 images as device arrays (uint8); minibatches are gathered and scaled to [0, 1]
# (`to_float`) inside the compiled epoch.

# %%
data, load_seconds = load_data(args, run)

# %% [markdown]
# ## The model, the loss and the updater (3.6.1-3.6.5)
#
# `init_softmax_regression` gives the params `{"W": (784, 10), "b": (10,)}`; `softmax_regression(params, X)`
# the class probabilities; `cross_entropy(y_hat, y)` picks $-\log \hat{y}_y$ per example; `sgd` is
# $\theta \leftarrow \theta - \eta \nabla_\theta \ell$ on the minibatch's mean loss.

# %%
params = init_softmax_regression(init_key, 784, 10, sigma=0.01)
updater = functools.partial(sgd, lr=args.lr)

# %% [markdown]
# ## Training (3.6.6)
#
# One jitted train step (gradient and update in one XLA call); by default an epoch is one compiled
# `lax.scan` over the device-resident images (`--loop book`: the book's loop, one step per minibatch,
# same batches and result). After every epoch: the training loss and accuracy and the test accuracy.

# %%
result = train_classifier(args, run, softmax_regression, params, cross_entropy, updater, data,
                          key=train_key)

# %% [markdown]
# ## The curves and some predictions (3.6.7)
#
# The first figure has the book's three curves: training loss falling, training and test accuracy
# rising together (no overfitting for a linear model). The second shows test images titled with
# the true label over the predicted one.

# %%
results = finish_classifier(run, softmax_regression, result, data, load_seconds=load_seconds,
                            title="softmax regression (scratch)")
