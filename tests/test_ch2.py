"""Chapter 2 (preliminaries): the library helpers and every value the book states exactly."""
from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import load_script
from jaxlin.chapters.ch2_02_data_preprocessing import (
    fill_numeric_na,
    one_hot,
    split_inputs_outputs,
    to_jax,
    write_house_tiny,
)
from jaxlin.chapters.ch2_04_calculus import numerical_lim, numerical_limits, tangent_line
from jaxlin.chapters.ch2_05_autograd import control_flow_f, graph_forward, graph_grads_vjp

SCRIPTS = ["ch2_01_ndarray", "ch2_02_data_preprocessing", "ch2_03_linear_algebra",
           "ch2_04_calculus", "ch2_05_autograd"]
HOUSE_INPUTS = [[3.0, 1.0, 0.0], [2.0, 0.0, 1.0], [4.0, 0.0, 1.0], [3.0, 0.0, 1.0]]
HOUSE_OUTPUTS = [127500.0, 106000.0, 178100.0, 140000.0]
LIMITS = [2.3, 2.03, 2.003, 2.0003, 2.00003]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each script's ``main`` run once: name -> (results returned, output folder)."""
    out = {}
    for name in SCRIPTS:
        folder = tmp_path_factory.mktemp(name)
        out[name] = (load_script(name).main(["--out", str(folder), "--seed", "0"]), folder)
    return out


# ------------------------------------------------------------------ library

def f(x):
    return 3 * x ** 2 - 4 * x


def test_numerical_limits_approach_the_derivative():
    limits = numerical_limits(f, 1.0, [10.0 ** -i for i in range(1, 6)])
    np.testing.assert_allclose(limits, LIMITS, rtol=0, atol=1e-9)  # (f(1+h) − f(1))/h = 2 + 3h


def test_numerical_lim_rejects_zero_step():
    with pytest.raises(ValueError, match="nonzero"):
        numerical_lim(f, 1.0, 0.0)


@settings(max_examples=25, deadline=None)
@given(a=st.floats(-5, 5), b=st.floats(-5, 5), x0=st.floats(-3, 3))
def test_tangent_line_of_a_quadratic(a, b, x0):
    slope, intercept = tangent_line(lambda x: a * x ** 2 + b * x, x0)
    assert slope == pytest.approx(2 * a * x0 + b, rel=1e-5, abs=1e-4)
    assert intercept == pytest.approx(-a * x0 ** 2, rel=1e-5, abs=1e-4)  # f(x0) − f'(x0)·x0


def test_tangent_line_of_the_book_function():
    assert tangent_line(f, 1.0) == (2.0, -3.0)


def test_graph_forward_and_vjp_gradients():
    forward = graph_forward(2.0, 3.0, 4.0)
    assert (forward["u"], forward["z"]) == (5.0, 20.0)
    grads = {k: float(v) for k, v in graph_grads_vjp(2.0, 3.0, 4.0).items()}
    assert grads == {"x": 4.0, "y": 4.0, "w": 5.0, "u": 4.0}


@pytest.mark.parametrize("a", [0.37, -1.3, 2e-3])
def test_gradient_through_control_flow_is_f_over_a(a):
    a = jnp.float32(a)
    np.testing.assert_allclose(jax.grad(control_flow_f)(a), control_flow_f(a) / a, rtol=1e-5)


def test_control_flow_negative_branch_scales_by_100():
    assert float(jax.grad(control_flow_f)(jnp.float32(-1.0))) == 100 * 1024.0


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


# ------------------------------------------------------------------ scripts

@pytest.mark.parametrize("name", SCRIPTS)
def test_script_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_script(name).main(["--help"])
    assert exit_info.value.code == 0
    assert "--seed" in capsys.readouterr().out


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_writes_results_json(runs, name):
    results, folder = runs[name]
    written = json.loads((folder / "results.json").read_text())
    assert written["script"] == name
    for key in results:
        assert key in written
    for file in written["files"]:
        assert (folder / file).is_file()


def test_ch2_01_ndarray_values(runs):
    results, _ = runs["ch2_01_ndarray"]
    assert np.asarray(results["broadcast"]).tolist() == [[0, 1], [1, 2], [2, 3]]
    assert float(results["sum"]) == 66.0
    assert results["concat_axis0_shape"] == [6, 4] and results["concat_axis1_shape"] == [3, 8]
    assert np.asarray(results["elementwise"]["x ** y"]).tolist() == [1.0, 4.0, 16.0, 64.0]
    assert np.asarray(results["elementwise"]["x / y"]).tolist() == [0.5, 1.0, 2.0, 4.0]
    assert np.asarray(results["equal"]).tolist()[0] == [False, True, False, True]
    assert np.asarray(results["updated"]).tolist() == [[12.0] * 4, [12.0] * 4, [8.0, 9.0, 10.0, 11.0]]
    assert float(results["unchanged_after_update"]) == 6.0  # .at[].set returned a new array
    assert results["donation"]["input_deleted"]
    assert results["item"] == 3.5 and results["int"] == 3


def test_ch2_02_preprocessing_values(runs):
    results, folder = runs["ch2_02_data_preprocessing"]
    assert results["inputs"] == HOUSE_INPUTS and results["outputs"] == HOUSE_OUTPUTS
    assert (folder / "house_tiny.csv").is_file()


def test_ch2_03_norms_and_reductions(runs):
    results, _ = runs["ch2_03_linear_algebra"]
    assert (results["l2_norm"], results["l1_norm"], results["frobenius_norm"]) == (5.0, 7.0, 6.0)
    assert float(results["A_sum"]) == 190.0 and float(results["mean"]) == 9.5
    assert np.asarray(results["sum_axis0"]).tolist() == [40.0, 45.0, 50.0, 55.0]
    assert np.asarray(results["sum_axis1"]).tolist() == [6.0, 22.0, 38.0, 54.0, 70.0]
    np.testing.assert_allclose(results["row_sums_after_normalizing"], np.ones(5), rtol=1e-6)
    assert np.asarray(results["cumsum_axis0"])[-1].tolist() == [40.0, 45.0, 50.0, 55.0]
    assert float(results["dot"]) == 6.0
    assert np.asarray(results["matvec"]).tolist() == [14.0, 38.0, 62.0, 86.0, 110.0]
    assert np.asarray(results["matmul"]).tolist() == [[s] * 3 for s in (6.0, 22.0, 38.0, 54.0, 70.0)]
    assert results["symmetric"] is True


def test_ch2_04_limits_and_plot(runs):
    results, folder = runs["ch2_04_calculus"]
    np.testing.assert_allclose(results["limits"], LIMITS, rtol=0, atol=1e-9)
    assert results["tangent"] == {"slope": 2.0, "intercept": -3.0}
    png = folder / "tangent.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_ch2_05_autograd_values(runs):
    results, _ = runs["ch2_05_autograd"]
    assert np.asarray(results["grad"]).tolist() == [0.0, 4.0, 8.0, 12.0]
    assert np.asarray(results["grad_sum"]).tolist() == [1.0] * 4
    assert np.asarray(results["grad_of_sum_x_squared"]).tolist() == [0.0, 2.0, 4.0, 6.0]
    assert np.asarray(results["jacobian"]).tolist() == np.diag([0.0, 2.0, 4.0, 6.0]).tolist()
    assert np.asarray(results["grad_detached"]).tolist() == [0.0, 1.0, 4.0, 9.0]
    assert results["control_flow"]["grad_equals_f_over_a"]
    assert results["graph_grads"] == {"x": 4.0, "y": 4.0, "w": 5.0}
    assert results["graph_grads_jax_grad"] == [4.0, 4.0, 5.0]
