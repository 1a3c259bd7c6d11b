"""Tabular data with pandas (D2L 2.2): read a CSV, fill missing values, one-hot encode, convert to JAX."""
from __future__ import annotations

import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from jaxlin.data.io import write_text

HOUSE_TINY_CSV = """NumRooms,Alley,Price
NA,Pave,127500
2,NA,106000
4,NA,178100
NA,NA,140000
"""


def write_house_tiny(path: str | os.PathLike) -> Path:
    """Write the book's four-row ``house_tiny.csv`` (NumRooms, Alley, Price) atomically."""
    return write_text(path, HOUSE_TINY_CSV)


def split_inputs_outputs(data: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Inputs are every column but the last; the output is the last column."""
    return data.iloc[:, :-1], data.iloc[:, -1]


def fill_numeric_na(df: pd.DataFrame) -> pd.DataFrame:
    """Replace NaN in each numeric column by that column's mean (imputation); others untouched."""
    return df.fillna(df.mean(numeric_only=True))


def one_hot(df: pd.DataFrame) -> pd.DataFrame:
    """One-hot encode the categorical columns, NaN as a category of its own (``<col>_nan``)."""
    return pd.get_dummies(df, dummy_na=True, dtype=np.float32)


def to_jax(frame: pd.DataFrame | pd.Series) -> jax.Array:
    """A numeric DataFrame or Series as a float32 JAX array."""
    return jnp.asarray(frame.to_numpy(dtype=np.float32))
