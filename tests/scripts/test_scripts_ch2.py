"""The chapter 2 scripts: help, results.json, and every value the book states exactly."""
from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import HOUSE_INPUTS, HOUSE_OUTPUTS, LIMITS, main_of
from jaxlin.chapters.ch2_05_autograd import control_flow_f

SCRIPTS = ["ch2_01_ndarray", "ch2_02_data_preprocessing", "ch2_03_linear_algebra",
           "ch2_04_calculus", "ch2_05_autograd"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each script's ``main`` run once: name -> (results returned, output folder)."""
    out = {}
    for name in SCRIPTS:
        folder = tmp_path_factory.mktemp(name)
        out[name] = (main_of(name)(["--out", str(folder), "--seed", "0"]), folder)
    return out


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main_of(name)(["--help"])
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
    results, folder = runs["ch2_05_autograd"]
    assert np.asarray(results["grad"]).tolist() == [0.0, 4.0, 8.0, 12.0]
    assert np.asarray(results["grad_sum"]).tolist() == [1.0] * 4
    assert np.asarray(results["grad_of_sum_x_squared"]).tolist() == [0.0, 2.0, 4.0, 6.0]
    assert np.asarray(results["jacobian"]).tolist() == np.diag([0.0, 2.0, 4.0, 6.0]).tolist()
    assert np.asarray(results["grad_detached"]).tolist() == [0.0, 1.0, 4.0, 9.0]
    assert results["control_flow"]["grad_equals_f_over_a"]
    saved = json.loads((folder / "results.json").read_text())["control_flow"]
    a = jnp.float32(saved["a"])                          # f(a) and f(a)/a recomputed from the saved a
    assert saved["f_a"] == pytest.approx(float(control_flow_f(a)), rel=1e-6)
    assert saved["grad"] == pytest.approx(saved["f_a"] / saved["a"], rel=1e-5)
    assert saved["grad"] == pytest.approx(float(jax.grad(control_flow_f)(a)), rel=1e-6)
    assert results["graph_grads"] == {"x": 4.0, "y": 4.0, "w": 5.0}
    assert results["graph_grads_jax_grad"] == [4.0, 4.0, 5.0]


def test_ch2_05_context_managers(runs):
    """2.5's context managers: a class's __enter__/__exit__, and JAX's own (no torch.no_grad)."""
    results, _ = runs["ch2_05_autograd"]
    assert results["context_manager"] == {"normal": ["enter", "body", "exit"],
                                          "raised": ["enter", "exit after ValueError"]}
    assert np.asarray(results["no_grad_step"]).tolist() == pytest.approx([0.0, -0.1, -0.2, -0.3])
    assert np.asarray(results["stop_gradient_grad"]).tolist() == [0.0] * 4
    disabled = results["disable_jit"]
    assert disabled["jit_error"] == "TracerBoolConversionError"
    assert disabled["eager"] == disabled["f_a"] == results["control_flow"]["f_a"]
    assert results["default_device"] == "cpu"
    assert results["rank_promotion"] == {"allow": [2, 3], "raise": "ValueError"}


def test_ch2_02_prints_where_the_csv_is_after_the_run(tmp_path, capsys):
    """The CSV is written aside while the run works; the printed path is its final place."""
    main_of("ch2_02_data_preprocessing")(["--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert f"# {tmp_path / 'house_tiny.csv'}\n" in out and ".incoming" not in out
    assert (tmp_path / "house_tiny.csv").is_file()
