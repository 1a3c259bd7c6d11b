"""D2L 4.10 Predicting house prices on Kaggle: the models, their training, K-fold and log-RMSE;
the chapter's loader (a CSV that cannot be read is a usage error) and its figures.

The data and their preprocessing are in :mod:`jaxlin.data.kaggle_house`.
"""
from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd
from flax import nnx

from jaxlin.data.io import atomic_path
from jaxlin.data.kaggle_house import ID, LABEL, HouseData, find_csvs, load_house_data
from jaxlin.data.model_selection import k_fold
from jaxlin.nn.linear import init_linreg, linreg
from jaxlin.nn.losses import squared_loss
from jaxlin.nn.nnx_adapter import nnx_model
from jaxlin.plots.figures import plot
from jaxlin.run.session import usage_error
from jaxlin.train.epoch import TrainEpoch, make_train_epoch
from jaxlin.train.evaluate import evaluator
from jaxlin.train.fit import Fitted, fit
from jaxlin.train.step import Net

# ------------------------------------------------------------------ settings and data

# Adam's learning rate and the weight decay of each model: the book's for the linear one;
# the MLP's, which trains on log prices, chosen by its 5-fold validation log-RMSE.
DEFAULTS = {"linear": (5.0, 0.0), "mlp": (0.001, 3e-3)}


def hyperparameters(model: str, lr: float | None, weight_decay: float | None) -> tuple[float, float]:
    """The learning rate and weight decay: those given, else the model's :data:`DEFAULTS`."""
    default_lr, default_decay = DEFAULTS[model]
    return (default_lr if lr is None else lr), (default_decay if weight_decay is None else weight_decay)


def load_data(train_csv: str | None, test_csv: str | None, *, k: int | None = None,
              batch_size: int | None = None) -> tuple[HouseData, tuple[Path, Path], float]:
    """4.10.3-4.10.4: find, read and preprocess both CSVs (None: those in
    ``$JAXLIN_KAGGLE_HOUSE_DIR``); returns the data, the two paths and the seconds it took.

    A file that cannot be found or read, or that holds the wrong columns, is a usage error
    (:func:`~jaxlin.run.session.usage_error`: one line naming it, exit status 2); so is a
    training set too small for ``k`` folds of minibatches of ``batch_size``."""
    tic = time.perf_counter()
    try:
        csvs = find_csvs(train_csv, test_csv)
        data = load_house_data(*csvs)
    except FileNotFoundError as err:
        usage_error(str(err))
    except ValueError as err:           # unreadable (e.g. not UTF-8 text) or the wrong columns
        named = any(str(path) in str(err) for path in csvs)
        usage_error(str(err) if named else f"cannot read --train-csv {csvs[0]} or --test-csv {csvs[1]} "
                                           f"as the house-price CSVs: {err}")
    n = len(data.train_labels)
    if k is not None and batch_size is not None and (k - 1) * (n // k) < batch_size:
        usage_error(f"--k {k} on the {n} examples of {csvs[0]} trains each fold on {(k - 1) * (n // k)} "
                    f"examples, fewer than --batch-size {batch_size}: use fewer folds, a smaller "
                    f"--batch-size or more data")
    return data, csvs, time.perf_counter() - tic


# ------------------------------------------------------------------ metric

def squared_log_error(y_hat: jax.Array, y: jax.Array) -> jax.Array:
    """Elementwise (log max(ŷ, 1) − log y)²: its mean is log-RMSE² (prices below 1 count as 1)."""
    return (jnp.log(jnp.clip(y_hat, 1.0, None)) - jnp.log(y.reshape(y_hat.shape))) ** 2


def log_space_squared_error(log_y_hat: jax.Array, log_y: jax.Array) -> jax.Array:
    """:func:`squared_log_error` for a model that predicts log prices: (max(log ŷ, 0) − log y)²."""
    return (jnp.maximum(log_y_hat, 0.0) - log_y.reshape(log_y_hat.shape)) ** 2


def log_rmse(y_hat: jax.Array, y: jax.Array) -> jax.Array:
    """The competition's metric (eq. 4.10.1): sqrt((1/n) Σ (log max(ŷᵢ, 1) − log yᵢ)²)."""
    return jnp.sqrt(squared_log_error(y_hat, y).mean())


# ------------------------------------------------------------------ submission

def write_submission(path: str | os.PathLike, ids: np.ndarray, prices: np.ndarray) -> Path:
    """Write Kaggle's ``Id,SalePrice`` CSV atomically; prices must be finite and positive."""
    prices = np.asarray(prices, np.float64).reshape(-1)
    if len(ids) != len(prices):
        raise ValueError(f"got {len(ids)} ids but {len(prices)} predicted prices")
    bad = ~(np.isfinite(prices) & (prices > 0))
    if bad.any():
        raise ValueError(f"{int(bad.sum())} predicted prices are not positive and finite "
                         f"(first for Id {ids[int(np.argmax(bad))]}); the model diverged or underflowed")
    path = Path(path)
    with atomic_path(path) as tmp:
        pd.DataFrame({ID: ids, LABEL: prices}).to_csv(tmp, index=False)
    return path


# ------------------------------------------------------------------ models and training

class HouseModel(NamedTuple):
    """A regressor for 4.10: ``init(key, X, t) -> params`` and ``net(params, X)`` as in the core.

    ``init`` sees the training features and targets (deferred initialisation from
    data). ``log_target``: the net predicts log prices and is trained on t = log y
    (ŷ = exp(net)); otherwise it predicts prices and t = y, as the book's linear model.
    """
    init: Callable[[jax.Array, jax.Array, jax.Array], Any]
    net: Net
    log_target: bool = False


def linear_model() -> HouseModel:
    """The book's model: ŷ = Xw + b on prices, w ~ N(0, 0.01²), b = 0."""
    def init(key: jax.Array, X: jax.Array, t: jax.Array) -> Any:
        return init_linreg(key, X.shape[1])

    return HouseModel(init, linreg, log_target=False)


class HouseMLP(nnx.Module):
    """An MLP on log prices: ReLU hidden layers, then one output ``o = log ŷ``."""

    def __init__(self, num_inputs: int, hidden: Sequence[int] = (64,), *, rngs: nnx.Rngs):
        sizes = [num_inputs, *hidden]
        self.hidden = nnx.List([nnx.Linear(n_in, n_out, rngs=rngs) for n_in, n_out in zip(sizes, sizes[1:])])
        self.output = nnx.Linear(sizes[-1], 1, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        for layer in self.hidden:
            x = nnx.relu(layer(x))
        return self.output(x)


def mlp_model(num_inputs: int, hidden: Sequence[int] = (64,)) -> HouseModel:
    """:class:`HouseMLP` adapted by :func:`jaxlin.nnx_model`, trained on log prices.

    The output bias starts at the mean training target, so training starts from the
    best constant predictor instead of spending its first epochs moving the bias to ~12.
    """
    nnx_init, net = nnx_model(lambda rngs: HouseMLP(num_inputs, tuple(hidden), rngs=rngs))

    def init(key: jax.Array, X: jax.Array, t: jax.Array) -> Any:
        params = nnx_init(key)
        bias = jnp.full_like(params["output"]["bias"], t.mean())
        return params | {"output": params["output"] | {"bias": bias}}

    return HouseModel(init, net, log_target=True)


def targets(model: HouseModel, y: jax.Array) -> jax.Array:
    """What ``model`` is trained on: log y for a log-target model, else y."""
    return jnp.log(y) if model.log_target else y


def predict_prices(model: HouseModel, params: Any, X: jax.Array) -> jax.Array:
    """Predicted prices ŷ (n, 1): exp(net) for a log-target model, else net."""
    out = model.net(params, X)
    return jnp.exp(out) if model.log_target else out


def adam(learning_rate: float, weight_decay: float = 0.0) -> optax.GradientTransformation:
    """PyTorch's ``Adam(lr, weight_decay)``: the L2 term wd·θ is added to the gradient before Adam."""
    if weight_decay == 0:
        return optax.adam(learning_rate)
    return optax.chain(optax.add_decayed_weights(weight_decay), optax.adam(learning_rate))


def train_epoch(model: HouseModel, *, learning_rate: float, weight_decay: float, batch_size: int,
                **unused: Any) -> TrainEpoch:
    """The compiled epoch :func:`train` runs: Adam on the squared loss of the model's targets."""
    return make_train_epoch(model.net, squared_loss, adam(learning_rate, weight_decay), batch_size)


def train(model: HouseModel, train_features: jax.Array, train_labels: jax.Array,
          valid: tuple[jax.Array, jax.Array] | None = None, *, num_epochs: int, learning_rate: float,
          weight_decay: float, batch_size: int, key: jax.Array, epoch: TrainEpoch | None = None
          ) -> Fitted:
    """The book's ``train``: fresh params, Adam on the squared loss, log-RMSE after each epoch.

    Returns ``fit``'s result; the state's ``history`` records ``epoch``, ``train_log_rmse`` and (with
    ``valid`` = (features, prices)) ``valid_log_rmse``, each over every example of its set.
    ``epoch`` (:func:`train_epoch`) reuses a compiled epoch across calls.
    """
    init_key, fit_key = jax.random.split(key)
    evals = {"train": (train_features, targets(model, train_labels))}
    params = model.init(init_key, *evals["train"])
    if valid is not None:
        evals["valid"] = (valid[0], targets(model, valid[1]))
    epoch = epoch or train_epoch(model, learning_rate=learning_rate, weight_decay=weight_decay,
                                 batch_size=batch_size)
    evaluate = evaluator(model.net, evals, loss=log_space_squared_error if model.log_target else squared_log_error)
    state, seconds = fit(epoch, epoch.init(params, fit_key), evals["train"], num_epochs=num_epochs,
                         evaluate=evaluate)
    history = tuple({"epoch": r["epoch"]} | {f"{name}_log_rmse": math.sqrt(r[f"{name}_loss"]) for name in evals}
                    for r in state.history)
    return Fitted(state._replace(history=history), seconds)


def k_fold_log_rmse(model: HouseModel, k: int, X: jax.Array, y: jax.Array, *, key: jax.Array,
                    **hyper: Any) -> list[Fitted]:
    """K-fold cross-validation (the book's ``k_fold``): one :func:`train` per fold, fold i validating.

    Fold i trains with ``fold_in(key, i)``; ``hyper`` goes to :func:`train`. The book's
    averages are :func:`average_log_rmse` of the returned results.
    """
    epoch = train_epoch(model, **hyper)                  # one compiled epoch serves every fold
    return [train(model, X_train, y_train, (X_valid, y_valid), key=jax.random.fold_in(key, i),
                  epoch=epoch, **hyper)
            for i, (X_train, y_train, X_valid, y_valid) in enumerate(k_fold(k, X, y))]


def average_log_rmse(results: Sequence[Fitted]) -> dict[str, float]:
    """The mean over folds of each final log-RMSE: ``{"train_log_rmse": ..., "valid_log_rmse": ...}``."""
    names = [n for n in results[0].state.history[-1] if n != "epoch"]
    return {n: sum(r.state.history[-1][n] for r in results) / len(results) for n in names}


def train_and_pred(model: HouseModel, train_features: jax.Array, train_labels: jax.Array,
                   test_features: jax.Array, *, key: jax.Array, **hyper: Any
                   ) -> tuple[Fitted, np.ndarray]:
    """Train on all the training data, then predict the test prices (the book's ``train_and_pred``).

    Returns ``fit``'s result and the prices as a NumPy (n,) array; writing the
    submission is :func:`write_submission`'s job.
    """
    result = train(model, train_features, train_labels, key=key, **hyper)
    prices = np.asarray(jax.device_get(predict_prices(model, result.state.params, test_features))).reshape(-1)
    return result, prices


# ------------------------------------------------------------------ figures

def curve(history: Sequence[dict[str, float]], name: str) -> np.ndarray:
    """One metric over the epochs, as an array (``plot`` reads a list as several curves)."""
    return np.array([h[name] for h in history])


def plot_log_rmse(history: Sequence[dict[str, float]], names: Sequence[str], title: str,
                  num_epochs: int) -> Any:
    """The log-RMSE of ``names`` ("train", "valid") per epoch of one fit, on a log scale (a
    legend when there are several)."""
    curves = [curve(history, f"{name}_log_rmse") for name in names]
    return plot(curve(history, "epoch"), curves if len(curves) > 1 else curves[0], xlabel="epoch",
                ylabel="log rmse", xlim=[1, max(num_epochs, 2)], legend=list(names) if len(names) > 1 else None,
                yscale="log", title=title)


__all__ = [
    "DEFAULTS", "HouseMLP", "HouseModel", "adam", "average_log_rmse", "curve", "hyperparameters",
    "k_fold_log_rmse", "linear_model", "load_data", "log_rmse", "log_space_squared_error", "mlp_model",
    "plot_log_rmse", "predict_prices", "squared_log_error", "targets", "train", "train_and_pred",
    "train_epoch", "write_submission",
]
