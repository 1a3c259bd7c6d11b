"""D2L 2.2 Data preprocessing: read a CSV with pandas, impute and one-hot encode, convert to JAX.

pandas does the tabular work on the host; only the final all-numeric table
becomes a JAX array (float32, JAX's default precision, where the book gets float64).
"""
from __future__ import annotations

import pandas as pd

from jaxlin.chapters.ch2_02_data_preprocessing import (
    fill_numeric_na,
    one_hot,
    split_inputs_outputs,
    to_jax,
    write_house_tiny,
)
from jaxlin.run.cli import Run, make_parser


def main(argv: list[str] | None = None) -> dict:
    args = make_parser(__doc__.splitlines()[0]).parse_args(argv)
    run = Run(args, __file__)

    data_file = write_house_tiny(run.path("house_tiny.csv"))
    data = pd.read_csv(data_file)
    print(f"# {data_file}\n{data}")

    inputs, outputs = split_inputs_outputs(data)
    inputs = fill_numeric_na(inputs)
    print("\n# NumRooms NaN replaced by the column mean\n", inputs, sep="")
    inputs = one_hot(inputs)
    print("\n# Alley one-hot encoded, NaN as its own category\n", inputs, sep="")

    X, y = to_jax(inputs), to_jax(outputs)
    print("\n# As JAX arrays\nX =\n", X, "\ny =", y)

    results = {"columns": list(inputs.columns), "inputs": X.tolist(), "outputs": y.tolist()}
    run.finish(results)
    return results


if __name__ == "__main__":
    main()
