"""jaxlin: a functional JAX companion to Dive into Deep Learning, chapters 2-6.

The book's functions and the nn/data/train names a user calls are importable from here
(``from jaxlin import sgd, linreg, train_ch3, ...``); everything else from its layer,
lowest first: ``jaxlin.nn`` (models, losses, updaters) and ``jaxlin.data`` (data sets,
the shuffle) → ``jaxlin.train`` (step, epoch, evaluation, fit) → ``jaxlin.run`` (a
chapter's set-up, flags, checkpoints, plots) and ``jaxlin.bench``. What one book section
alone uses lives in its module of ``jaxlin.chapters`` and is imported from there, never
from here. Models follow one contract, ``init(key, ...) -> params`` and
``net(params, X)``; one train step (:func:`train_step`) serves them all. Each name is
imported on first use.
"""
from jaxlin._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    # jaxlin.nn.activations
    "derivative": "jaxlin.nn.activations", "init_prelu": "jaxlin.nn.activations",
    "prelu": "jaxlin.nn.activations", "relu": "jaxlin.nn.activations",
    "sigmoid": "jaxlin.nn.activations", "tanh": "jaxlin.nn.activations",
    # jaxlin.nn.conv
    "avg_pool2d": "jaxlin.nn.conv", "conv2d": "jaxlin.nn.conv", "conv_output_size": "jaxlin.nn.conv",
    "corr2d": "jaxlin.nn.conv", "corr2d_multi_in": "jaxlin.nn.conv",
    "corr2d_multi_in_out": "jaxlin.nn.conv", "corr2d_multi_in_out_1x1": "jaxlin.nn.conv",
    "max_pool2d": "jaxlin.nn.conv", "pool2d": "jaxlin.nn.conv",
    # jaxlin.nn.lenet
    "init_lenet": "jaxlin.nn.lenet", "lenet": "jaxlin.nn.lenet",
    # jaxlin.nn.flax_adapter
    "flax_model": "jaxlin.nn.flax_adapter",
    # jaxlin.nn.nnx_adapter
    "nnx_model": "jaxlin.nn.nnx_adapter",
    # jaxlin.nn.init
    "xavier_normal": "jaxlin.nn.init", "xavier_uniform": "jaxlin.nn.init",
    # jaxlin.nn.linear
    "init_linreg": "jaxlin.nn.linear", "linreg": "jaxlin.nn.linear",
    "linreg_closed_form": "jaxlin.nn.linear",
    # jaxlin.nn.losses
    "accuracy": "jaxlin.nn.losses", "binary_cross_entropy": "jaxlin.nn.losses",
    "binary_cross_entropy_logits": "jaxlin.nn.losses", "cross_entropy": "jaxlin.nn.losses",
    "softmax_cross_entropy": "jaxlin.nn.losses", "squared_loss": "jaxlin.nn.losses",
    # jaxlin.nn.mlp
    "dropout_layer": "jaxlin.nn.mlp", "init_mlp": "jaxlin.nn.mlp", "mlp": "jaxlin.nn.mlp",
    "mlp_dropout": "jaxlin.nn.mlp",
    # jaxlin.nn.regularization
    "l1_penalty": "jaxlin.nn.regularization", "l2_penalty": "jaxlin.nn.regularization",
    # jaxlin.nn.softmax
    "init_softmax_regression": "jaxlin.nn.softmax", "softmax": "jaxlin.nn.softmax",
    "softmax_regression": "jaxlin.nn.softmax", "softmax_regression_logits": "jaxlin.nn.softmax",
    # jaxlin.nn.updaters
    "as_transformation": "jaxlin.nn.updaters", "init_opt_state": "jaxlin.nn.updaters",
    "sgd": "jaxlin.nn.updaters",
    # jaxlin.train.devices
    "cpu": "jaxlin.train.devices", "num_gpus": "jaxlin.train.devices",
    "try_all_gpus": "jaxlin.train.devices", "try_gpu": "jaxlin.train.devices",
    # jaxlin.train.early_stopping
    "EarlyStopping": "jaxlin.train.early_stopping",
    # jaxlin.train.epoch
    "epoch_indices": "jaxlin.data.shuffle", "TrainEpoch": "jaxlin.train.epoch",
    "make_train_epoch": "jaxlin.train.epoch", "train_epoch_ch3": "jaxlin.train.epoch",
    # jaxlin.train.evaluate
    "evaluate_accuracy": "jaxlin.train.evaluate", "evaluate_loss": "jaxlin.train.evaluate",
    "evaluate_sums": "jaxlin.train.evaluate", "evaluator": "jaxlin.train.evaluate",
    # jaxlin.train.fit
    "DivergenceError": "jaxlin.train.fit", "fit": "jaxlin.train.fit", "Fitted": "jaxlin.train.fit",
    # jaxlin.train.state
    "TrainState": "jaxlin.train.state",
    # jaxlin.train.parallel
    "data_mesh": "jaxlin.train.parallel", "replicate": "jaxlin.train.parallel",
    # jaxlin.train.step
    "make_train_step": "jaxlin.train.step", "train_step": "jaxlin.train.step",
    # jaxlin.train.sweep
    "init_sweep": "jaxlin.train.sweep", "make_sweep": "jaxlin.train.sweep",
    # jaxlin.train.timer
    "Timer": "jaxlin.train.timer",
    # jaxlin.data.fashion_mnist
    "get_fashion_mnist_labels": "jaxlin.data.fashion_mnist",
    "load_data_fashion_mnist": "jaxlin.run.d2l",
    "load_fashion_mnist_arrays": "jaxlin.data.fashion_mnist",
    "to_float": "jaxlin.data.fashion_mnist",
    # jaxlin.data.io
    "load_pytree": "jaxlin.data.io", "save_pytree": "jaxlin.data.io", "write_json": "jaxlin.data.io",
    # jaxlin.data.model_selection
    "get_k_fold_data": "jaxlin.data.model_selection", "k_fold": "jaxlin.data.model_selection",
    # jaxlin.data.preprocessing
    "standardize": "jaxlin.data.preprocessing",
    # jaxlin.data.synthetic
    "array_batches": "jaxlin.data.synthetic", "data_iter": "jaxlin.data.synthetic",
    "load_array": "jaxlin.data.synthetic", "synthetic_data": "jaxlin.data.synthetic",
    # jaxlin.plots.animator
    "Animator": "jaxlin.plots.animator",
    # jaxlin.run.d2l
    "predict_ch3": "jaxlin.run.d2l", "train_ch3": "jaxlin.run.d2l", "train_ch6": "jaxlin.run.d2l",
    # jaxlin.run.checkpoint
    "latest_checkpoint": "jaxlin.run.checkpoint", "load_checkpoint": "jaxlin.run.checkpoint",
    "save_checkpoint": "jaxlin.run.checkpoint",
    # jaxlin.plots.figures
    "plot": "jaxlin.plots.figures", "plot_history": "jaxlin.plots.figures", "savefig": "jaxlin.plots.figures",
    "set_axes": "jaxlin.plots.figures", "show_images": "jaxlin.plots.figures",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
