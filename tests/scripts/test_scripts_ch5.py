"""The chapter 5 scripts: help, results.json and their results."""
from __future__ import annotations

import json

import pytest

from conftest import load_script
from jaxlin.chapters.ch5_06_use_gpu import try_gpu

SCRIPTS = ["ch5_01_model_construction", "ch5_02_parameters", "ch5_03_deferred_init",
           "ch5_04_custom_layer", "ch5_05_read_write", "ch5_06_use_gpu"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = {}
    for name in SCRIPTS:
        folder = tmp_path_factory.mktemp(name)
        out[name] = (load_script(name).main(["--out", str(folder)]), folder)
    return out


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_script(name).main(["--help"])
    assert exit_info.value.code == 0 and "--out" in capsys.readouterr().out


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_writes_results_json(runs, name):
    results, folder = runs[name]
    written = json.loads((folder / "results.json").read_text())
    assert written["script"] == name and set(results) <= set(written)
    for file in written["files"]:
        assert (folder / file).is_file()


def test_ch5_scripts_results(runs):
    r1 = runs["ch5_01_model_construction"][0]
    assert r1["mlp"]["output_shape"] == [2, 10] and r1["nest_mlp"]["output_shape"] == [2, 16]
    assert r1["fixed_hidden_mlp"]["output_shape"] == [] and r1["chimera"]["output_shape"] == []
    assert "constants/rand_weight" in r1["fixed_hidden_mlp"]["variables"]
    r2 = runs["ch5_02_parameters"][0]
    assert r2["tied"]["grad_is_sum_of_uses"] and r2["tied"]["layers"] == ["layers_0", "layers_2", "layers_6"]
    assert r2["init"]["constant_one"] and r2["init"]["constant_42_only_layers_2"] and r2["init"]["custom_W00"] == 42
    assert r2["init"]["custom_zero_or_large"] and r2["init"]["bias_zero"]
    r3 = runs["ch5_03_deferred_init"][0]
    assert r3["shapes"]["params/layers_0/kernel"] == [20, 256] and r3["abstract_matches_init"]
    assert r3["shapes_for_30_inputs"]["params/layers_0/kernel"] == [30, 256]
    r4 = runs["ch5_04_custom_layer"][0]
    assert abs(r4["centered_mean"]) < 1e-6 and r4["nested_output_shape"] == [2, 1]
    r5, folder5 = runs["ch5_05_read_write"]
    assert all(r5["round_trips"].values()) and len(r5["round_trips"]) == 5
    assert len(r5["mismatch_errors"]) == 2 and all("mlp.params.npz" in m for m in r5["mismatch_errors"].values())
    assert {p.name for p in folder5.glob("*.npz")} == {"x-file.npz", "x-files.npz", "mydict.npz", "mlp.params.npz"}
    r6 = runs["ch5_06_use_gpu"][0]
    assert r6["net_output_on_try_gpu"] and r6["try_gpu_10"] == str(try_gpu(10))
