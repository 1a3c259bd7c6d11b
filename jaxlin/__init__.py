"""jaxlin: a functional JAX companion to Dive into Deep Learning, chapters 2-5.

The book's names are importable from here: ``from jaxlin import sgd, linreg, ...``.
Models follow one contract, ``init(key, ...) -> params`` and ``net(params, X)``;
one jitted train step (:func:`make_train_step`), one compiled epoch
(:func:`make_train_epoch`) and one vectorized evaluation serve them all.
"""
# ch3 linear networks and the training core
from jaxlin.activations import derivative, init_prelu, prelu, relu, sigmoid, tanh
from jaxlin.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from jaxlin.classification import (binary_cross_entropy, entropy, information, kl_divergence,
                                   train_perceptron)
from jaxlin.cli import Run, make_parser
from jaxlin.data import array_batches, data_iter, load_array
from jaxlin.early_stopping import EarlyStopping
from jaxlin.fashion_mnist import (get_fashion_mnist_labels, load_data_fashion_mnist,
                                  load_fashion_mnist_arrays, predict_ch3, show_images)
from jaxlin.flax_adapter import flax_model
from jaxlin.gaussian_noise import normal
from jaxlin.init import xavier_normal, xavier_uniform
from jaxlin.io import load_pytree, save_pytree, write_json
from jaxlin.linear import init_linreg, linreg, linreg_closed_form, squared_loss, synthetic_data
from jaxlin.loop import FitResult, fit, train_ch3, train_epoch_ch3
from jaxlin.mlp import dropout_layer, init_mlp, mlp, mlp_dropout
from jaxlin.model_selection import get_k_fold_data, k_fold
from jaxlin.optim import sgd
from jaxlin.parallel import data_mesh, replicate
from jaxlin.plot import plot, plot_history, savefig, set_axes
from jaxlin.polynomial import poly_features
from jaxlin.preprocessing import standardize
from jaxlin.regularization import l1_penalty, l2_penalty
from jaxlin.softmax import (accuracy, cross_entropy, init_softmax_regression, softmax,
                            softmax_cross_entropy, softmax_regression, softmax_regression_logits)
from jaxlin.sweep import init_sweep, make_sweep
from jaxlin.timer import Timer
from jaxlin.train import (DivergenceError, epoch_indices, evaluate_accuracy, evaluate_loss,
                          init_opt_state, make_indexed_step, make_train_epoch, make_train_step)

# ch2 preliminaries and ch5 deep-learning computation
from jaxlin.blocks import (CenteredLayer, FixedHiddenMLP, MyDense, MySequential, NestMLP, chimera,
                           my_init, tied_mlp)
from jaxlin.calculus import numerical_lim
from jaxlin.devices import cpu, num_gpus, try_all_gpus, try_gpu

__version__ = "0.1.0"
