"""The chapter 5 scripts: help, results.json and their results."""
from __future__ import annotations

import contextlib
import io
import json
import re

import pytest

from helpers import main_of
from jaxlin.train.devices import try_gpu

SCRIPTS = ["ch5_01_model_construction", "ch5_02_parameters", "ch5_03_deferred_init",
           "ch5_04_custom_layer", "ch5_05_read_write", "ch5_06_use_gpu"]


PRINTED: dict[str, str] = {}                 # what each script of the `runs` fixture printed


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = {}
    for name in SCRIPTS:
        folder = tmp_path_factory.mktemp(name)
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            out[name] = (main_of(name)(["--out", str(folder)]), folder)
        PRINTED[name] = printed.getvalue()
    return out


@pytest.mark.parametrize("name", SCRIPTS)
def test_scripts_print_no_object_address(runs, name):
    """No ``<... object at 0x7f...>`` (5.3 once printed Linen's module repr)."""
    assert not re.search(r" at 0x[0-9a-f]+", PRINTED[name])


def test_ch5_02_says_why_an_rgnet_row_is_zero(runs):
    dead = runs["ch5_02_parameters"][0]["rgnet_dead_rows"]
    line = next(x for x in PRINTED["ch5_02_parameters"].splitlines() if x.startswith("rgnet(X) ="))
    values = [float(v) for v in line.split("[")[1].split("]")[0].split()]
    assert [v == 0 for v in values] == [d is not None for d in dead]     # zero exactly where dead
    if any(d is not None for d in dead):
        assert "NNX starts biases at 0" in PRINTED["ch5_02_parameters"]


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main_of(name)(["--help"])
    assert exit_info.value.code == 0 and "--out" in capsys.readouterr().out


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_writes_results_json(runs, name):
    results, folder = runs[name]
    written = json.loads((folder / "results.json").read_text())
    assert written["script"] == name and set(results) <= set(written)
    for file in written["files"]:
        assert (folder / file).exists()         # 5.5's Orbax checkpoint is a directory


def test_ch5_01_blocks(runs):
    r1 = runs["ch5_01_model_construction"][0]
    assert r1["mlp"]["output_shape"] == [2, 10] and r1["nest_mlp"]["output_shape"] == [2, 16]
    assert r1["fixed_hidden_mlp"]["output_shape"] == [] and r1["chimera"]["output_shape"] == []
    assert abs(float(r1["fixed_hidden_mlp"]["output"])) <= 1
    assert r1["fixed_hidden_mlp"]["constants"] == {"rand_weight": [20, 20]}
    assert "rand_weight" not in r1["fixed_hidden_mlp"]["params"]
    assert r1["mlp"]["params"] == {"hidden/bias": [256], "hidden/kernel": [20, 256],
                                   "out/bias": [10], "out/kernel": [256, 10]}
    assert all(r1[name]["jit_matches_eager"] for name in ("sequential", "mlp", "my_sequential",
                                                          "fixed_hidden_mlp", "nest_mlp", "chimera"))
    eager = r1["eager_versus_jit"]
    assert eager["book_loop_equals_lax"] and eager["book_loop_refused_under_jit"]


def test_ch5_02_parameters(runs):
    r2 = runs["ch5_02_parameters"][0]
    assert r2["num_parameters"] == 4 * 8 + 8 + 8 * 1 + 1 and len(r2["nested_parameters"]) == 4 * 4 + 2
    tied = r2["tied"]
    assert tied["grad_is_sum_of_uses"] and tied["same_object"] and tied["layers"] == ["layers/0", "layers/2", "layers/6"]
    assert tied["num_parameters"] == (4 * 8 + 8) + (8 * 8 + 8) + (8 + 1)
    checks = r2["init"]
    assert 0.005 < checks["normal_std"] < 0.02 and checks["bias_zero"] and checks["constant_one"]
    assert checks["constant_42_only_layers_2"] and checks["custom_zero_or_large"] and checks["custom_W00"] == 42
    assert checks["pure_reinit_leaves_model"] and checks["update_writes_back"]


def test_ch5_03_to_05(runs):
    r3 = runs["ch5_03_deferred_init"][0]
    assert r3["shapes"]["params/layers_0/kernel"] == [20, 256] and r3["abstract_matches_init"]
    assert r3["shapes_for_30_inputs"]["params/layers_0/kernel"] == [30, 256]
    assert r3["nnx_shapes"]["layers/0/kernel"] == [20, 256] and r3["nnx_abstract_matches_init"]
    assert "in_features" in r3["nnx_needs_in_features"] and r3["same_shapes"]
    r4 = runs["ch5_04_custom_layer"][0]
    assert abs(r4["centered_mean"]) < 1e-6 and r4["nested_output_shape"] == [2, 1]
    assert r4["centered_parameters"] == 0 and r4["my_dense_parameters"] == {"bias": [3], "weight": [5, 3]}
    r5, folder5 = runs["ch5_05_read_write"]
    assert all(r5["round_trips"].values()) and len(r5["round_trips"]) == 5
    assert len(r5["mismatch_errors"]) == 2 and all("mlp.params" in m for m in r5["mismatch_errors"].values())
    assert {p.name for p in folder5.iterdir()} == {"x-file.npy", "x-files.npz", "mydict.npz", "mlp.params",
                                                   "results.json"}
    assert (folder5 / "mlp.params").is_dir()


def test_ch5_05_rerun_into_the_same_folder(runs):
    _, folder = runs["ch5_05_read_write"]
    again = main_of("ch5_05_read_write")(["--out", str(folder)])   # Orbax overwrites: force=True
    assert all(again["round_trips"].values())


def test_ch5_06_use_gpu(runs):
    r6 = runs["ch5_06_use_gpu"][0]
    assert r6["net_output_on_try_gpu"] and r6["try_gpu_10"] == str(try_gpu(10))
