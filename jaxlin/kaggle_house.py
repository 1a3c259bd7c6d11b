"""Predicting house prices on Kaggle (D2L 4.10): the data, its preprocessing and log-RMSE.

The preprocessing is *fitted* once (means, standard deviations, categories, column
list) and kept as data, a :class:`Preprocessing`; :func:`transform` applies it to
any frame with the same feature columns, so the features seen at prediction time
are exactly the training ones.
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd

from jaxlin.flax_adapter import flax_model
from jaxlin.io import atomic_path
from jaxlin.linear import init_linreg, linreg, squared_loss
from jaxlin.loop import FitResult, fit
from jaxlin.model_selection import k_fold
from jaxlin.train import Net

TRAIN_FILE = "kaggle_house_pred_train.csv"
TEST_FILE = "kaggle_house_pred_test.csv"
DATA_DIR_ENV = "JAXLIN_KAGGLE_HOUSE_DIR"
DATA_URL = "http://d2l-data.s3-accelerate.amazonaws.com/"
SHA1 = {TRAIN_FILE: "585e9cc93e70b39160e7921475f9bcd7d31219ce",
        TEST_FILE: "fa19780a7b011d9b009e8bff8e99922a8ee2eb90"}
ID, LABEL = "Id", "SalePrice"

# Kaggle's files write a missing value as "NA"; "None" is a real category (MasVnrType:
# no masonry veneer). pandas >= 2 also reads "None" as missing, which would merge it
# into the NaN indicator and give 330 features instead of the book's 331.
NA_VALUES = ["", "NA", "N/A", "NaN", "nan", "NULL", "null", "#N/A"]


# ------------------------------------------------------------------ files

def find_csvs(train_csv: str | os.PathLike | None = None, test_csv: str | os.PathLike | None = None,
              env: Mapping[str, str] | None = None) -> tuple[Path, Path]:
    """The (train, test) CSV paths: the given ones, else ``$JAXLIN_KAGGLE_HOUSE_DIR/<file>``.

    Raises ``FileNotFoundError`` saying how to provide a file that cannot be found.
    Nothing is downloaded.
    """
    env = os.environ if env is None else env
    folder = env.get(DATA_DIR_ENV)
    paths = []
    for given, name, flag in ((train_csv, TRAIN_FILE, "--train-csv"), (test_csv, TEST_FILE, "--test-csv")):
        if given is not None:
            path = Path(given)
        elif folder:
            path = Path(folder) / name
        else:
            problem = f"no {flag} given and {DATA_DIR_ENV} is not set"
            raise FileNotFoundError(_how_to_provide(name, flag, problem))
        if not path.is_file():
            raise FileNotFoundError(_how_to_provide(name, flag, f"{path} does not exist"))
        paths.append(path)
    return paths[0], paths[1]


def _how_to_provide(name: str, flag: str, problem: str) -> str:
    return (f"cannot find the house-price data ({name}): {problem}. Pass {flag} PATH, or set "
            f"{DATA_DIR_ENV} to a folder holding {TRAIN_FILE} and {TEST_FILE}. D2L's copies are at "
            f"{DATA_URL}{name} (sha1 {SHA1[name]}); the Kaggle competition 'House Prices - Advanced "
            f"Regression Techniques' has the originals.")


def read_house_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Read one of the Kaggle CSVs, with only Kaggle's "NA" (and blanks) as missing values."""
    return pd.read_csv(path, keep_default_na=False, na_values=NA_VALUES)


def _require_columns(df: pd.DataFrame, names: Sequence[str], source: str) -> None:
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise ValueError(f"{source} has no column {', '.join(map(repr, missing))}; its columns are "
                         f"{_short(list(df.columns))}")


def _short(names: Sequence[Any], limit: int = 12) -> str:
    names = [str(n) for n in names]
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return "[" + ", ".join(names[:limit]) + more + "]"


def training_data(df: pd.DataFrame, source: str = "the training CSV") -> tuple[pd.DataFrame, np.ndarray]:
    """Split a training frame into features (no ``Id``, no ``SalePrice``) and labels (n, 1) float32.

    Raises ``ValueError`` if ``SalePrice`` is absent, or not positive and finite
    (its logarithm is the metric).
    """
    _require_columns(df, [LABEL], source)
    labels = pd.to_numeric(df[LABEL], errors="coerce").to_numpy(np.float64)
    bad = ~(np.isfinite(labels) & (labels > 0))
    if bad.any():
        raise ValueError(f"{source}: {LABEL} must be positive and finite; {int(bad.sum())} rows are not "
                         f"(first at row {int(np.argmax(bad))})")
    features = df.drop(columns=[c for c in (ID, LABEL) if c in df.columns])
    return features, labels.astype(np.float32).reshape(-1, 1)


def prediction_data(df: pd.DataFrame, source: str = "the test CSV") -> tuple[pd.DataFrame, np.ndarray]:
    """Split a frame to predict into features and its ``Id`` column (a ``SalePrice`` column is ignored)."""
    _require_columns(df, [ID], source)
    return df.drop(columns=[c for c in (ID, LABEL) if c in df.columns]), df[ID].to_numpy()


# ------------------------------------------------------------------ preprocessing

@dataclass(frozen=True)
class Preprocessing:
    """The fitted preprocessing as plain data (JSON-able with ``dataclasses.asdict``).

    ``columns``: the raw feature columns, in order; ``mean``/``std``: the numeric
    columns' statistics; ``categories``: each categorical column's sorted values.
    """
    columns: tuple[str, ...]
    mean: dict[str, float]
    std: dict[str, float]
    categories: dict[str, tuple[str, ...]]

    @property
    def feature_names(self) -> list[str]:
        """The output columns, in ``pd.get_dummies(..., dummy_na=True)``'s order and names."""
        names = list(self.mean)
        for column, values in self.categories.items():
            names += [f"{column}_{v}" for v in values] + [f"{column}_nan"]
        return names

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Preprocessing:
        return cls(tuple(d["columns"]), dict(d["mean"]), dict(d["std"]),
                   {k: tuple(v) for k, v in d["categories"].items()})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_columns(expected: Sequence[str], found: Iterable[str], source: str) -> None:
    """Raise ``ValueError`` naming the missing and the unexpected columns if the sets differ."""
    found = list(found)
    missing = [c for c in expected if c not in set(found)]
    extra = [c for c in found if c not in set(expected)]
    if missing or extra:
        raise ValueError(f"{source} does not have the training feature set: missing columns "
                         f"{_short(missing) if missing else 'none'}, unexpected columns "
                         f"{_short(extra) if extra else 'none'}")


def fit_preprocessing(*frames: pd.DataFrame) -> Preprocessing:
    """Fit D2L's preprocessing over all ``frames`` stacked (the book uses train + test features).

    Numeric columns: x ← (x − μ) / σ with μ, σ over every row (σ with ddof 1, as
    pandas; a constant column keeps σ = 1). Every other column is categorical.
    All frames must share the first one's columns.
    """
    if not frames:
        raise ValueError("fit_preprocessing needs at least one frame")
    for i, frame in enumerate(frames[1:], start=2):
        check_columns(list(frames[0].columns), frame.columns, f"frame {i}")
    columns = list(frames[0].columns)
    stacked = pd.concat([f[columns] for f in frames], ignore_index=True)
    numeric = list(stacked.select_dtypes(include="number").columns)
    mean = stacked[numeric].mean()
    std = stacked[numeric].std().replace(0.0, 1.0).fillna(1.0)
    categories = {c: tuple(sorted(str(v) for v in stacked[c].dropna().unique()))
                  for c in columns if c not in set(numeric)}
    return Preprocessing(tuple(columns), {c: float(mean[c]) for c in numeric},
                         {c: float(std[c]) for c in numeric}, categories)


def transform(prep: Preprocessing, features: pd.DataFrame, source: str = "features") -> np.ndarray:
    """Apply the fitted preprocessing: a float32 array (n, len(prep.feature_names)).

    Numeric: (x − μ) / σ, then NaN → 0 (the mean). Categorical: one-hot over the
    fitted values plus a NaN indicator; a value unseen when fitting counts as missing.
    Raises ``ValueError`` naming the columns if the feature set is not the fitted one,
    or if a numeric column holds text.
    """
    check_columns(prep.columns, features.columns, source)
    numeric = list(prep.mean)
    not_numeric = [c for c in numeric if not pd.api.types.is_numeric_dtype(features[c])
                   and features[c].notna().any()]
    if not_numeric:
        raise ValueError(f"{source}: columns {_short(not_numeric)} were numeric when fitting but hold text")
    x = features[numeric].to_numpy(np.float64)
    mean = np.array([prep.mean[c] for c in numeric]).reshape(1, -1)
    std = np.array([prep.std[c] for c in numeric]).reshape(1, -1)
    blocks = [np.nan_to_num((x - mean) / std, nan=0.0)]
    for column, values in prep.categories.items():
        text = features[column].astype("string")   # NaN stays missing
        codes = pd.Categorical(text, categories=list(values)).codes  # -1: missing or unseen
        blocks.append(np.eye(len(values) + 1)[codes])                # row -1 is the NaN indicator
    return np.concatenate(blocks, axis=1).astype(np.float32)


class HouseData(NamedTuple):
    """The loaded competition: raw frames, the fitted preprocessing and the arrays it gives."""
    train: pd.DataFrame
    test: pd.DataFrame
    preprocessing: Preprocessing
    train_features: np.ndarray   # (n_train, d) float32
    train_labels: np.ndarray     # (n_train, 1) float32 prices
    test_features: np.ndarray    # (n_test, d) float32
    test_ids: np.ndarray         # (n_test,)


def load_house_data(train_csv: str | os.PathLike, test_csv: str | os.PathLike) -> HouseData:
    """Read both CSVs and preprocess them as the book does (fitted over train + test features).

    Raises ``ValueError`` naming the columns when the training CSV has no
    ``SalePrice``, the test CSV no ``Id``, or the two feature sets differ.
    """
    train_df, test_df = read_house_csv(train_csv), read_house_csv(test_csv)
    features, labels = training_data(train_df, str(train_csv))
    test_features, ids = prediction_data(test_df, str(test_csv))
    check_columns(list(features.columns), test_features.columns, str(test_csv))
    prep = fit_preprocessing(features, test_features)
    return HouseData(train_df, test_df, prep, transform(prep, features, str(train_csv)), labels,
                     transform(prep, test_features, str(test_csv)), ids)


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


class HouseMLP(nn.Module):
    """An MLP on log prices: ReLU hidden layers, then one output ``o = log ŷ``."""
    hidden: tuple[int, ...] = (64,)

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for width in self.hidden:
            x = nn.relu(nn.Dense(width)(x))
        return nn.Dense(1, name="output")(x)


def mlp_model(hidden: Sequence[int] = (64,)) -> HouseModel:
    """:class:`HouseMLP` adapted by :func:`jaxlin.flax_model`, trained on log prices.

    The output bias starts at the mean training target, so training starts from the
    best constant predictor instead of spending its first epochs moving the bias to ~12.
    """
    flax_init, net = flax_model(HouseMLP(tuple(hidden)))

    def init(key: jax.Array, X: jax.Array, t: jax.Array) -> Any:
        params = flax_init(key, X[:1])
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


def train(model: HouseModel, train_features: jax.Array, train_labels: jax.Array,
          valid: tuple[jax.Array, jax.Array] | None = None, *, num_epochs: int, learning_rate: float,
          weight_decay: float, batch_size: int, key: jax.Array, progress: bool = False) -> FitResult:
    """The book's ``train``: fresh params, Adam on the squared loss, log-RMSE after each epoch.

    Returns :func:`jaxlin.loop.fit`'s result whose ``history`` records ``epoch``,
    ``train_log_rmse`` and (with ``valid`` = (features, prices)) ``valid_log_rmse``,
    each over every example of its set.
    """
    init_key, fit_key = jax.random.split(key)
    evals = {"train": (train_features, targets(model, train_labels))}
    params = model.init(init_key, *evals["train"])
    if valid is not None:
        evals["valid"] = (valid[0], targets(model, valid[1]))
    result = fit(model.net, params, squared_loss, adam(learning_rate, weight_decay), evals["train"],
                 num_epochs=num_epochs, batch_size=batch_size, key=fit_key, evals=evals,
                 eval_loss=log_space_squared_error if model.log_target else squared_log_error,
                 progress=progress, lr=learning_rate)
    history = [{"epoch": r["epoch"]} | {f"{name}_log_rmse": math.sqrt(r[f"{name}_loss"]) for name in evals}
               for r in result.history]
    return replace(result, history=history)


def k_fold_log_rmse(model: HouseModel, k: int, X: jax.Array, y: jax.Array, *, key: jax.Array,
                    **hyper: Any) -> list[FitResult]:
    """K-fold cross-validation (the book's ``k_fold``): one :func:`train` per fold, fold i validating.

    Fold i trains with ``fold_in(key, i)``; ``hyper`` goes to :func:`train`. The book's
    averages are :func:`average_log_rmse` of the returned results.
    """
    return [train(model, X_train, y_train, (X_valid, y_valid), key=jax.random.fold_in(key, i), **hyper)
            for i, (X_train, y_train, X_valid, y_valid) in enumerate(k_fold(k, X, y))]


def average_log_rmse(results: Sequence[FitResult]) -> dict[str, float]:
    """The mean over folds of each final log-RMSE: ``{"train_log_rmse": ..., "valid_log_rmse": ...}``."""
    names = [n for n in results[0].history[-1] if n != "epoch"]
    return {n: sum(r.history[-1][n] for r in results) / len(results) for n in names}


def train_and_pred(model: HouseModel, train_features: jax.Array, train_labels: jax.Array,
                   test_features: jax.Array, *, key: jax.Array, **hyper: Any
                   ) -> tuple[FitResult, np.ndarray]:
    """Train on all the training data, then predict the test prices (the book's ``train_and_pred``).

    Returns the fit result and the prices as a NumPy (n,) array; writing the
    submission is :func:`write_submission`'s job.
    """
    result = train(model, train_features, train_labels, key=key, **hyper)
    prices = np.asarray(jax.device_get(predict_prices(model, result.params, test_features))).reshape(-1)
    return result, prices


__all__ = [
    "DATA_DIR_ENV", "HouseData", "HouseMLP", "HouseModel", "Preprocessing", "adam",
    "average_log_rmse", "check_columns", "find_csvs", "fit_preprocessing", "k_fold_log_rmse",
    "linear_model", "load_house_data", "log_rmse", "log_space_squared_error", "mlp_model",
    "predict_prices", "prediction_data", "read_house_csv", "squared_log_error", "targets", "train",
    "train_and_pred", "training_data", "transform", "write_submission",
]
