"""Predicting house prices on Kaggle (D2L 4.10): the CSV files and their preprocessing.

The preprocessing is *fitted* once (means, standard deviations, categories, column
list) and kept as data, a :class:`Preprocessing`; :func:`transform` applies it to
any frame with the same feature columns, so the features seen at prediction time
are exactly the training ones.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from jaxlin.data.csv_checks import (
    FLOAT32_MAX,
    check_columns,
    check_float32_range,
    check_numeric_columns,
    same_features,
    short,
)

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
                         f"{short(list(df.columns))}")


def training_data(df: pd.DataFrame, source: str = "the training CSV") -> tuple[pd.DataFrame, np.ndarray]:
    """Split a training frame into features (no ``Id``, no ``SalePrice``) and labels (n, 1) float32.

    Raises ``ValueError`` if ``SalePrice`` is absent, or not positive and finite in
    float32 (its logarithm is the metric).
    """
    _require_columns(df, [LABEL], source)
    labels = pd.to_numeric(df[LABEL], errors="coerce").to_numpy(np.float64)
    bad = ~(np.isfinite(labels) & (labels > 0) & (labels <= FLOAT32_MAX))
    if bad.any():
        first = int(np.argmax(bad))
        raise ValueError(f"{source}: {LABEL} must be positive and finite in float32; {int(bad.sum())} rows "
                         f"are not (first at row {first}, line {first + 2}: {df[LABEL].iloc[first]})")
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
    categories = {c: tuple(sorted({str(v) for v in stacked[c].dropna().unique()}))
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
        raise ValueError(f"{source}: columns {short(not_numeric)} were numeric when fitting but hold text")
    x = features[numeric].to_numpy(np.float64)
    mean = np.array([prep.mean[c] for c in numeric]).reshape(1, -1)
    std = np.array([prep.std[c] for c in numeric]).reshape(1, -1)
    blocks = [np.nan_to_num((x - mean) / std, nan=0.0)]
    for column, values in prep.categories.items():
        text = features[column].astype("string")   # NaN stays missing
        seen = text.where(text.isin(list(values)))  # a value unseen when fitting: missing
        codes = pd.Categorical(seen, categories=list(values)).codes  # -1: missing
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

    Raises ``ValueError`` naming the file (and column, line, value) when one has no rows,
    the training CSV has no ``SalePrice``, the test CSV no ``Id``, the two feature sets
    differ, a column of numbers holds text (see :mod:`jaxlin.data.csv_checks`), or a
    number lies beyond float32's range.
    """
    train_df, test_df = read_house_csv(train_csv), read_house_csv(test_csv)
    for df, source in ((train_df, train_csv), (test_df, test_csv)):
        if len(df) == 0:
            raise ValueError(f"{source} has a header but no rows")
    features, labels = training_data(train_df, str(train_csv))
    test_features, ids = prediction_data(test_df, str(test_csv))
    same_features(features, test_features, str(train_csv), str(test_csv))
    frames = {str(train_csv): features, str(test_csv): test_features[features.columns]}
    check_numeric_columns(frames)
    check_float32_range(frames)
    prep = fit_preprocessing(features, test_features)
    return HouseData(train_df, test_df, prep, transform(prep, features, str(train_csv)), labels,
                     transform(prep, test_features, str(test_csv)), ids)


__all__ = [
    "DATA_DIR_ENV",
    "HouseData",
    "Preprocessing",
    "check_columns",
    "check_numeric_columns",
    "find_csvs",
    "fit_preprocessing",
    "load_house_data",
    "prediction_data",
    "read_house_csv",
    "same_features",
    "training_data",
    "transform",
]
