"""2.2 data preprocessing: the tiny house CSV through pandas into arrays."""
from __future__ import annotations

import jax.numpy as jnp
import pandas as pd

from helpers import HOUSE_INPUTS, HOUSE_OUTPUTS
from jaxlin.chapters.ch2_02_data_preprocessing import (
    fill_numeric_na,
    one_hot,
    split_inputs_outputs,
    to_jax,
    write_house_tiny,
)


def test_house_tiny_preprocessing(tmp_path):
    data = pd.read_csv(write_house_tiny(tmp_path / "house_tiny.csv"))
    assert list(data.columns) == ["NumRooms", "Alley", "Price"] and data.isna().sum().sum() == 5
    inputs, outputs = split_inputs_outputs(data)
    filled = fill_numeric_na(inputs)
    assert filled["NumRooms"].tolist() == [3.0, 2.0, 4.0, 3.0]
    assert filled["Alley"].isna().sum() == 3  # categorical NaN left for one_hot
    encoded = one_hot(filled)
    assert list(encoded.columns) == ["NumRooms", "Alley_Pave", "Alley_nan"]
    X, y = to_jax(encoded), to_jax(outputs)
    assert X.dtype == jnp.float32 and X.tolist() == HOUSE_INPUTS and y.tolist() == HOUSE_OUTPUTS


def test_write_house_tiny_leaves_no_temporary_file(tmp_path):
    write_house_tiny(tmp_path / "house_tiny.csv")
    assert [p.name for p in tmp_path.iterdir()] == ["house_tiny.csv"]
