"""jaxlin: a functional JAX companion to Dive into Deep Learning, chapters 2-5.

The book's names are importable from here: ``from jaxlin import sgd, linreg, ...``.
"""
from jaxlin.cli import Run, make_parser
from jaxlin.data import array_batches, data_iter, load_array
from jaxlin.flax_adapter import flax_model
from jaxlin.io import load_pytree, save_pytree, write_json
from jaxlin.mlp import dropout_layer, init_mlp, mlp, mlp_dropout, relu
from jaxlin.linear import init_linreg, linreg, linreg_closed_form, squared_loss, synthetic_data
from jaxlin.optim import sgd
from jaxlin.plot import plot, plot_history, savefig, set_axes
from jaxlin.softmax import (accuracy, cross_entropy, init_softmax_regression, softmax,
                            softmax_cross_entropy, softmax_regression, softmax_regression_logits)
from jaxlin.timer import Timer
from jaxlin.train import (DivergenceError, epoch_indices, evaluate_accuracy, evaluate_loss,
                          init_opt_state, make_train_epoch, make_train_step)

__version__ = "0.1.0"
