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


# %%
import pandas as pd

from jaxlin.chapters.ch2_02_data_preprocessing import (
    fill_numeric_na,
    one_hot,
    split_inputs_outputs,
    to_jax,
    write_house_tiny,
)
from jaxlin.run.cli import Run, make_parser

parser = make_parser("D2L 2.2 Data preprocessing: read a CSV with pandas, impute and one-hot "
                     "encode, convert to JAX.")
args = parser.parse_args()
run = Run(args, "ch2_02_data_preprocessing")


# %% [markdown]
# ## Reading the data set (2.2.1)
#
# The book's `house_tiny.csv`, written into the run folder and read back.


# %%
data_file = write_house_tiny(run.path("house_tiny.csv"))
data = pd.read_csv(data_file)
print(f"# {run.final_path('house_tiny.csv')}\n{data}")


# %% [markdown]
# ## Handling missing data (2.2.2)
#
# Inputs are the first two columns, the output the price. `NumRooms`' NaN becomes the column
# mean; `Alley` becomes two 0/1 columns, `Alley_Pave` and `Alley_nan`.


# %%
inputs, outputs = split_inputs_outputs(data)
inputs = fill_numeric_na(inputs)
print("\n# NumRooms NaN replaced by the column mean\n", inputs, sep="")
inputs = one_hot(inputs)
print("\n# Alley one-hot encoded, NaN as its own category\n", inputs, sep="")


# %% [markdown]
# ## Conversion to the tensor format (2.2.3)
#
# The numeric table as JAX arrays `X` (4, 3) and `y` (4,).


# %%
X, y = to_jax(inputs), to_jax(outputs)
print("\n# As JAX arrays\nX =\n", X, "\ny =", y)


# %% [markdown]
# ## Results


# %%
results = {"columns": list(inputs.columns), "inputs": X.tolist(), "outputs": y.tolist()}
run.finish(results)
