"""The chapter 3 scripts (3.1 to 3.5): the book's results, files and determinism."""
from __future__ import annotations

import json
import math
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers import (
    REGRESSIONS,
    SMALL,
    TRUE_W,
    assert_loops_added_ones,
    main_of,
    read_results,
    record_figures,
    record_vectorization_loops,
    without_timings,
)
from jaxlin.data.fashion_mnist import get_fashion_mnist_labels


@pytest.mark.parametrize("name", ["ch3_02_linear_regression_scratch", "ch3_03_linear_regression_concise"])
def test_linear_regression_scripts_meet_the_book(name, tmp_path, monkeypatch):
    figures = record_figures(monkeypatch)
    results = main_of(name)(["--out", str(tmp_path)])
    assert results["history"][-1]["train_loss"] < 1e-4
    assert [h["epoch"] for h in results["history"]] == [1, 2, 3]
    assert np.all(np.abs(results["w_error"]) < 0.01) and abs(results["b_error"]) < 0.01
    np.testing.assert_allclose(results["closed_form"]["w"], TRUE_W, atol=0.01)
    assert (tmp_path / "results.json").is_file()
    assert (tmp_path / "loss.png").is_file()
    loss = next(f for f in figures if f["file"] == "loss.png")
    assert loss["ylabels"] == ["loss"] and loss["xticks"] == [[1, 2, 3]]      # whole epochs only


def results_with_figures(folder):
    """results.json, after checking that the files it lists are exactly the PNGs written."""
    results = json.loads((folder / "results.json").read_text())
    pngs = list(folder.glob("*.png"))
    assert pngs and all(p.stat().st_size > 0 for p in pngs)
    assert sorted(results["files"]) == sorted(p.name for p in pngs)
    return results


def test_ch3_01_script(tmp_path, monkeypatch, capsys):
    seen = record_vectorization_loops(monkeypatch)       # the loops' results, checked here
    figures = record_figures(monkeypatch)
    returned = main_of("ch3_01_linear_regression")(
        ["--out", str(tmp_path), "--jax-loop-steps", "20", "--repeats", "3", "--num-examples", "200"])
    results = results_with_figures(tmp_path)
    assert set(results["files"]) == {"vectorization.png", "normal.png", "squared_loss_vs_nll.png"}
    v = results["vectorization"]
    assert v["extrapolated"] and v["loops_agree_with_add"] and v["seconds"]["jit_compile"] > 0
    assert v["n"] == 10000 and v["jax_loop_steps"] == 20
    assert_loops_added_ones(seen, 10000, 20)
    assert returned["vectorization"]["speedups"] == v["speedups"]
    timings = [x for x in capsys.readouterr().out.splitlines() if x.startswith(("Python loop", "d = "))]
    assert len(timings) == 5 and not any("sec" in x or "0.0000" in x for x in timings)
    assert all(re.search(r"\d+(\.\d+)? (s|ms|µs|ns)\b", x) for x in timings)   # e.g. "19.8 µs"
    assert all(not f["legend_covers"] for f in figures)      # the likelihood's and the normals' legends
    for integral in results["normal_integrals"].values():
        assert integral == pytest.approx(1.0, abs=1e-3)
    ml = results["max_likelihood"]
    assert ml["per_example_max_abs_diff"] < 1e-5
    assert all(c["rel_diff"] < 1e-5 for c in ml["check"].values())
    for s in ("0.25", "0.5", "1.0"):
        p = ml["profile"][f"sigma={s}"]
        assert p["loss_argmin"] == p["nll_argmin"] == 100
        assert p["slope"] == pytest.approx(p["expected_slope"], rel=1e-3)


def test_ch3_04_script(tmp_path, monkeypatch):
    figures = record_figures(monkeypatch)
    main_of("ch3_04_softmax_regression")(["--out", str(tmp_path)])
    results = results_with_figures(tmp_path)
    assert all(not f["legend_covers"] for f in figures)
    height, width = plt.imread(tmp_path / "decision_boundaries.png").shape[:2]
    assert width <= 700 and height <= 500                      # compact: 6 × 4.4 in at 110 dpi
    assert set(results["files"]) == {"entropy.png", "decision_boundaries.png", "training.png"}
    np.testing.assert_allclose(results["softmax"]["probabilities"], [0.659, 0.242, 0.099], atol=5e-4)
    assert results["softmax"]["keeps_order"]
    logits, probabilities = (np.asarray(results["softmax"][k]) for k in ("logits", "probabilities"))
    np.testing.assert_array_equal(logits, [2.0, 1.0, 0.1])
    np.testing.assert_array_equal(np.argsort(probabilities), np.argsort(logits))    # the order, recomputed
    np.testing.assert_allclose(probabilities, np.exp(logits) / np.exp(logits).sum(), rtol=1e-5)
    assert results["likelihood"]["likelihood"] == pytest.approx(0.336, rel=1e-6)
    assert results["likelihood"]["cross_entropy_sum"] == pytest.approx(-math.log(0.336), rel=1e-5)
    assert results["entropy"]["H_p_bits"] == pytest.approx(1.5, rel=1e-6)
    assert all(c["H_pq_bits"] >= 1.5 - 1e-6 for c in results["entropy"]["cross"].values())
    assert results["grad_max_abs_diff"] < 1e-6
    c = results["classification"]
    assert c["accuracy"]["perceptron"]["train"] == 1.0 and c["perceptron"]["converged_epoch"] is not None
    assert c["accuracy"]["least_squares"]["test"] < c["accuracy"]["logistic"]["test"]
    assert c["saturated_start"]["accuracy"]["logistic"]["train"] >= 0.99
    assert c["saturated_start"]["accuracy"]["squared"]["train"] < 0.6


@pytest.mark.parametrize("name", REGRESSIONS[:2])
def test_regression_scripts_are_deterministic(name, tmp_path):
    main = main_of(name)
    for i, seed in enumerate(["3", "3", "4"]):
        main([*SMALL[name], "--seed", seed, "--out", str(tmp_path / str(i)), "--quiet"])
    a, b, c = (without_timings(read_results(tmp_path / str(i))) for i in range(3))
    assert a == b and a != c


def test_data_flags_say_their_default_once(capsys):
    """--data-dir and --fashion-mnist-dir (add_data_args): what their None default means, said once
    (never argparse's "(default: None)")."""
    with pytest.raises(SystemExit):
        main_of("ch3_05_image_classification_dataset")(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    for flag in ("--data-dir DATA_DIR", "--fashion-mnist-dir FASHION_MNIST_DIR"):
        text = out.split(flag)[-1].split(" --")[0]
        assert text.count("default") == 1 and "(default: $" in text and "None" not in text, text


@pytest.mark.parametrize("name, switch", [("bench_jit_vs_eager", "--no-rewrites"),
                                          ("sweep_softmax_lr", "--no-wide-weights"),
                                          ("ch3_06_softmax_regression_scratch", "--quiet")])
def test_switches_say_no_default(name, switch, capsys):
    """On or off is the switch itself: "--no-rewrites ... (default: True)" read as if it were on."""
    with pytest.raises(SystemExit):
        main_of(name)(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    text = out.split(f"[{switch}]")[-1].split(f" {switch} ")[1].split(" --")[0]
    assert text and "default" not in text, text
    assert "(default: 0)" in out.split(" --seed SEED ")[1].split(" --")[0]   # other options still say theirs


@pytest.mark.data
def test_ch3_05_image_classification_dataset_script(fashion_mnist, tmp_path):
    results = main_of("ch3_05_image_classification_dataset")(
        ["--out", str(tmp_path), "--batch-size", "1000", "--quiet"])
    saved = results_with_figures(tmp_path)
    assert saved["status"] == "finished" and saved["files"] == ["images.png"]
    png = tmp_path / "images.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert saved["num_train"] == 60000 and saved["num_test"] == 10000
    assert saved["num_train_batches"] == 60 and saved["num_test_batches"] == 10
    assert saved["first_labels"] == get_fashion_mnist_labels(fashion_mnist.train_labels[:18])
    assert saved["batch_shapes"] == {
        "None": {"X": [1000, 28, 28, 1], "X_dtype": "float32", "y": [1000], "y_dtype": "int32"},
        "64": {"X": [1000, 64, 64, 1], "X_dtype": "float32", "y": [1000], "y_dtype": "int32"}}
    assert all(s >= 0 for s in saved["seconds"].values()) and saved["seconds"]["read_epoch"] > 0
    assert results["num_train_batches"] == saved["num_train_batches"]
