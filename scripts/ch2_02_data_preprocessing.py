# %% [markdown]
# # 2.2 Data preprocessing
#
# A tiny CSV of houses (rooms, alley, price) read with pandas: missing room counts replaced
# by the column mean, the categorical alley one-hot encoded (a missing value its own
# category), then the all-numeric table converted to JAX arrays. pandas does the tabular work
# on the host; JAX gets float32 (its default), where the book gets float64.
#
# As a script: `python scripts/ch2_02_data_preprocessing.py [--out DIR]`; in a notebook the
# flags take their defaults (or the words of `$JAXLIN_ARGS`).


# %% [markdown]
# The set-up: this section has no settings (`--seed` exists but nothing here is random).
# `setup` opens the run's output folder: the CSV the book writes to `../data/house_tiny.csv`
# goes there (`out_path`), and `record` keeps the table's columns and values in `results.json`.


# %%
import pandas as pd

from jaxlin.chapters.ch2_02_data_preprocessing import (
    fill_numeric_na,
    one_hot,
    split_inputs_outputs,
    to_jax,
    write_house_tiny,
)
from jaxlin.run import setup
from jaxlin.run.session import final_path, out_path, record

setup("ch2_02_data_preprocessing", "2.2 Data preprocessing")


# %% [markdown]
# ## Reading the data set (2.2.1)
#
# The book writes four rows of houses (`NumRooms`, `Alley`, `Price`, with `NA` for the missing
# values) to `house_tiny.csv` and reads it back with `pd.read_csv`. Nothing here is JAX yet:
# pandas does the tabular work on the host. `write_house_tiny` writes the book's rows to the
# file `out_path` names (in the run's folder; without a run, the working folder). The cell
# prints where the file will be and the table, with `NaN` where the CSV has `NA`.


# %%
data_file = write_house_tiny(out_path("house_tiny.csv"))
data = pd.read_csv(data_file)
print(f"# {final_path('house_tiny.csv')}\n{data}")


# %% [markdown]
# ## Handling missing data (2.2.2)
#
# The book splits the table with `iloc` (inputs: the first two columns, output: the price),
# replaces `NumRooms`' `NaN` by the column mean (`inputs.fillna(inputs.mean())`, numeric
# columns only) and one-hot encodes `Alley` with `pd.get_dummies(inputs, dummy_na=True)`: two
# 0/1 columns, `Alley_Pave` and `Alley_nan`. The helpers are those one-liners, named. Expect
# `NumRooms` 3.0, 2.0, 4.0, 3.0, then the two 0/1 columns.


# %%
inputs, outputs = split_inputs_outputs(data)
inputs = fill_numeric_na(inputs)
print("\n# NumRooms NaN replaced by the column mean\n", inputs, sep="")
inputs = one_hot(inputs)
print("\n# Alley one-hot encoded, NaN as its own category\n", inputs, sep="")


# %% [markdown]
# ## Conversion to the tensor format (2.2.3)
#
# The book converts the all-numeric table with `torch.tensor(inputs.to_numpy(dtype=float))`,
# float64. `to_jax` does `jnp.asarray` of the NumPy values: JAX's default is float32 (64-bit
# needs `jax_enable_x64`), which is what a model will want anyway. Expect `X` of shape (4, 3)
# with rows like `[3. 1. 0.]` and `y = [127500. 106000. 178100. 140000.]`.


# %%
X, y = to_jax(inputs), to_jax(outputs)
print("\n# As JAX arrays\nX =\n", X, "\ny =", y)


# %% [markdown]
# ## Results
#
# What this section found, kept in the run's `results.json` by `record`: the columns after
# encoding (`NumRooms`, `Alley_Pave`, `Alley_nan`), the inputs `X` and the outputs `y` as lists.


# %%
record(columns=list(inputs.columns), inputs=X.tolist(), outputs=y.tolist())
