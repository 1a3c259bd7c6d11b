"""The chapter 4 scripts: MLP, polynomial fits, weight decay, stability, distribution shift, Kaggle."""
from __future__ import annotations

import json
import re

import jax
import numpy as np
import pandas as pd
import pytest

from helpers import SMALL, exit_code, main_of, record_figures
from jaxlin.chapters import ch4_04_underfit_overfit as ch4_04  # the 4.4 script's helpers
from jaxlin.chapters.ch4_04_underfit_overfit import polynomial_data
from jaxlin.data.kaggle_house import DATA_DIR_ENV, LABEL, TEST_FILE, TRAIN_FILE


def results_with_figures(out):
    """results.json, after checking that it lists files and that each is a PNG written."""
    results = json.loads((out / "results.json").read_text())
    assert results["files"] and all((out / f).is_file() and f.endswith(".png") for f in results["files"])
    return results


def test_mlp_script(tmp_path):
    results = main_of("ch4_01_mlp")(["--out", str(tmp_path), "--quiet"])
    assert results_with_figures(tmp_path)["files"] == ["activations.png"]
    relu_row = results["probes"]["relu"]
    assert relu_row["df"] == [0.0, 0.0, 0.0, 1.0, 1.0]
    assert results["probes"]["sigmoid"]["df"][2] == pytest.approx(0.25)
    assert results["probes"]["prelu"]["df"][0] == pytest.approx(0.25)


def test_polynomial_book_settings(tmp_path, monkeypatch, capsys):
    """The book's settings (400/400/1500 epochs, lr 0.01, batch 10); seed 1 (see the report:
    at seed 0 the training x spread is narrow and the x³ coefficient is 0.79 off after 400 epochs)."""
    figures = record_figures(monkeypatch)
    results = main_of("ch4_04_underfit_overfit")(
        ["--out", str(tmp_path), "--folds", "0", "--quiet"])          # the default seed, 1
    saved = results_with_figures(tmp_path)
    assert set(saved["files"]) == {"polynomial_fits.png", "early_stopping.png"}
    fits = results["fits"]
    assert [fits[n]["epochs"] for n in ("normal", "underfitting", "overfitting")] == [400, 400, 1500]
    np.testing.assert_allclose(fits["normal"]["weights"], [5.0, 1.2, -3.4, 5.6], atol=0.1)
    assert fits["underfitting"]["train_loss"] >= 10 * fits["normal"]["train_loss"]
    assert fits["overfitting"]["test_loss"] > fits["overfitting"]["train_loss"]
    assert len(fits["overfitting"]["history"]) == 1500
    assert {"epoch", "train_loss", "test_loss"} <= set(fits["normal"]["history"][0])
    es = results["early_stopping"]
    valid = [r["valid_loss"] for r in es["history"]]
    assert es["best_epoch"] == int(np.argmin(valid)) + 1
    assert es["stopped_epoch"] is None or es["stopped_epoch"] == len(valid)
    # early stopping tests worse than the full run here, and the script says why
    assert es["best_test_loss"] > fits["overfitting"]["test_loss"]
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("  why worse:"))
    assert "best validation epoch of a noisy, small-data run" in line and "before the model fits" in line
    assert "outside the training x range" in line and es["why_worse"] in line
    stopping = next(f for f in figures if f["file"] == "early_stopping.png")
    assert not stopping["legend_covers"]
    assert all(float(t).is_integer() for ticks in stopping["xticks"] for t in ticks)


def test_polynomial_cross_validation():
    features, labels = polynomial_data(jax.random.key(0), ch4_04.TRUE_W, 40)
    losses = ch4_04.cross_validate(features, labels, 4, 4, 20, lr=0.01, batch_size=10,
                                   key_init=jax.random.key(1), key_fit=jax.random.key(2))
    assert len(losses) == 4 and all(np.isfinite(losses))


@pytest.mark.parametrize("argv, says", [
    (["--patience", "0"], "--patience"), (["--min-delta", "-1"], "--min-delta"),
    (["--folds", "1"], "--folds must be 0 (skip cross-validation) or at least 2"), (["--folds", "-2"], "--folds"),
    (["--lr", "-1"], "--lr"),
])
def test_polynomial_bad_input_exits_2_naming_the_flag(argv, says, tmp_path, capsys):
    assert exit_code(main_of("ch4_04_underfit_overfit"), ["--out", str(tmp_path), *argv]) == 2
    assert says in capsys.readouterr().err and not (tmp_path / "results.json").exists()


@pytest.mark.parametrize("impl", ["scratch", "concise"])
def test_weight_decay_book_settings(tmp_path, impl, monkeypatch):
    figures = record_figures(monkeypatch)
    results = main_of("ch4_05_weight_decay")(["--out", str(tmp_path), "--impl", impl, "--quiet"])
    results_with_figures(tmp_path)
    assert len(figures) == 2 and all(not f["legend_covers"] for f in figures)   # the weights' legend too
    curves = next(f for f in figures if f["file"].startswith("weight_decay_"))
    assert all(float(t).is_integer() and t % 5 == 0 for ticks in curves["xticks"] for t in ticks)
    runs = results["runs"]
    free, decayed = runs["L2 λ=0"], runs["L2 λ=3"]
    assert decayed["test_loss"] < free["test_loss"] and decayed["w_norm"] < free["w_norm"]
    assert len(decayed["history"]) == 100 and free["w_norm"] > 5 and decayed["w_norm"] < 1


def test_weight_decay_l1(tmp_path):
    results = main_of("ch4_05_weight_decay")(
        ["--out", str(tmp_path), "--penalty", "l1", "--lambdas", "3", "--impl", "concise", "--quiet"])
    runs = results["runs"]
    assert set(runs) == {"L1 λ=3", "L1-PROXIMAL λ=3", "L2 λ=3"}
    assert runs["L1 λ=3"]["num_small"] > runs["L2 λ=3"]["num_small"]
    assert runs["L1-PROXIMAL λ=3"]["num_small"] > 100 > runs["L2 λ=3"]["num_small"]
    assert runs["L1 λ=3"]["w_l1"] < runs["L2 λ=3"]["w_l1"]


def test_weight_decay_bad_input(tmp_path):
    main = main_of("ch4_05_weight_decay")
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path), "--impl", "sklearn"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:              # a usage error, before the run opens
        main(["--out", str(tmp_path), "--lambdas", "-3"])
    assert exit_info.value.code == 2 and not (tmp_path / "results.json").exists()


def test_numerical_stability_script(tmp_path):
    results = main_of("ch4_08_numerical_stability_and_init")(["--out", str(tmp_path), "--quiet"])
    assert set(results_with_figures(tmp_path)["files"]) == {
        "sigmoid_gradient.png", "activation_variance.png", "relu_init.png", "standardization.png"}
    assert results["sigmoid_grad"]["0"] == pytest.approx(0.25) and results["sigmoid_grad"]["8"] < 1e-3
    assert np.abs(np.asarray(results["matrix_product"]["product"])).max() > 1e15
    linear = results["activation_statistics"]["linear"]
    for name in ("Xavier uniform", "Xavier normal"):
        assert 0.5 < linear[name]["variance"][-1] < 2.0
    assert linear["N(0, 1)"]["variance"][-1] > 1e20 and linear["N(0, 0.01²)"]["variance"][-1] < 1e-10
    std, raw = results["standardization"]["standardized"], results["standardization"]["raw"]
    assert std["condition_number"] < 2 < 1e4 < raw["condition_number"]
    assert std["final_loss"] < 0.01 < 1.0 < raw["final_loss"]
    np.testing.assert_allclose(results["standardized_w_in_raw_units"], [10.0, 1.0, 0.01], rtol=0.02)
    # He init keeps the activations' scale through 10 ReLU layers; Xavier loses 1/√2 a layer,
    # N(0, 0.01²) at width 256 loses √(256·10⁻⁴/2) ≈ 0.113 a layer (4.8.2, Var[w] = 2/n_in)
    relu = results["relu_init"]
    assert 0.7 < relu["He normal"]["ratio_last_to_first"] < 1.4
    assert relu["He normal"]["factor_per_layer"] == pytest.approx(1.0, abs=0.05)
    assert relu["He normal"]["rms_last"] == pytest.approx(1.0, abs=0.3)      # E[h²] stays E[x²] = 1
    assert relu["Xavier normal"]["factor_per_layer"] == pytest.approx(2 ** -0.5, abs=0.03)
    assert relu["N(0, 0.01²)"]["factor_per_layer"] == pytest.approx((256 * 1e-4 / 2) ** 0.5, abs=0.01)
    norm = results["normalization"]
    np.testing.assert_allclose(norm["min_max"], [[0, 0], [1 / 3, 0.01], [2 / 3, 0.02], [1, 1]], atol=1e-6)
    A = np.asarray(norm["input"])
    np.testing.assert_allclose(norm["standardized"], (A - A.mean(0)) / A.std(0), rtol=1e-5)


@pytest.fixture(scope="module")
def kaggle_runs(house_dir, tmp_path_factory):
    """Both models at the book's settings (k = 5, 100 epochs, batch 64)."""
    main = main_of("ch4_10_kaggle_house_price")
    data = ["--train-csv", str(house_dir / TRAIN_FILE), "--test-csv", str(house_dir / TEST_FILE), "--quiet"]
    out = {m: tmp_path_factory.mktemp(m) for m in ("linear", "mlp")}
    return {m: (main([*data, "--model", m, "--out", str(out[m])]), out[m]) for m in out}


def test_kaggle_linear_model_reaches_the_books_error(kaggle_runs):
    results, out = kaggle_runs["linear"]
    assert results["hyperparameters"] == {"k": 5, "lr": 5.0, "weight_decay": 0.0, "num_epochs": 100,
                                          "batch_size": 64}
    assert results["data"]["num_features"] == 331
    assert len(results["folds"]) == 5 and len(results["folds"][0]["history"]) == 100
    average = results["average"]
    assert 0.10 <= average["valid_log_rmse"] <= 0.20          # the book's ≈ 0.17 (its square: ≈ 0.03)
    assert 0.10 <= average["train_log_rmse"] <= 0.20
    for name in ("train_log_rmse", "valid_log_rmse"):         # the mean of the folds' last epochs
        assert average[name] == pytest.approx(np.mean([f[name] for f in results["folds"]]), rel=1e-9)
        assert all(f[name] == f["history"][-1][name] for f in results["folds"])
    saved = json.loads((out / "results.json").read_text())
    assert saved["average"] == results["average"]
    for name in ("kfold_fold1.png", "train_all.png", "submission.csv", "preprocessing.json"):
        assert (out / name).is_file() and name in saved["files"]


def test_kaggle_mlp_beats_the_linear_model(kaggle_runs):
    linear, mlp = kaggle_runs["linear"][0], kaggle_runs["mlp"][0]
    assert 0.08 <= mlp["average"]["valid_log_rmse"] < linear["average"]["valid_log_rmse"]
    assert mlp["average"]["valid_log_rmse"] == pytest.approx(
        np.mean([f["valid_log_rmse"] for f in mlp["folds"]]), rel=1e-9)


@pytest.mark.parametrize("model", ["linear", "mlp"])
def test_kaggle_submission(kaggle_runs, house, model):
    submission = pd.read_csv(kaggle_runs[model][1] / "submission.csv")
    assert list(submission.columns) == ["Id", "SalePrice"] and len(submission) == 1459
    np.testing.assert_array_equal(submission["Id"], house.test_ids)
    prices = submission["SalePrice"].to_numpy()
    assert np.isfinite(prices).all() and (prices > 0).all()


def test_shift_weighting_lowers_the_target_error(tmp_path, monkeypatch):
    figures = record_figures(monkeypatch)
    main = main_of("ch4_09_environment_and_distribution_shift")
    results = main(["--out", str(tmp_path), "--quiet"])
    assert results["weighted_target_error"] < results["unweighted_target_error"]
    assert results["weighted_target_error"] < 0.2 < 0.4 < results["unweighted_target_error"]
    assert results["domain_classifier"]["mean_abs_log_ratio_error"] < 0.3   # h ≈ the true log p/q
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["errors"] == results["errors"]
    for name in ("target_error.png", "domains.png"):
        assert (tmp_path / name).is_file() and name in saved["files"]
    assert {f["file"] for f in figures} == {"target_error.png", "domains.png"}
    assert all(not f["legend_covers"] for f in figures)          # the domains' legend beside the panels
    # label shift (4.9.3.2): q(y) estimated from C q̂ = μ(ŷ) without target labels
    label = results["label_shift"]
    np.testing.assert_allclose(label["q_hat"], label["q_target"], atol=0.03)
    np.testing.assert_allclose(label["q_target"], [0.1, 0.3, 0.6])
    np.testing.assert_allclose(label["beta"], np.asarray(label["q_hat"]) / np.asarray(label["p_source"]), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(label["confusion_matrix"]).sum(axis=0), 1.0, rtol=1e-5)
    accuracy = label["target_accuracy"]
    assert accuracy["corrected"] > accuracy["source classifier"] + 0.02


@pytest.mark.parametrize("name", ["ch4_02_mlp_scratch", "ch4_09_environment_and_distribution_shift",
                                  "ch4_10_kaggle_house_price"])
def test_scripts_have_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main_of(name)(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--seed" in out
    options = re.split(r"\n  (?=-)", out.split("options:")[1])
    twice = [o.split()[0] for o in options if " ".join(o.split()).count("default") > 1]
    assert not twice                       # each default said once



def test_kaggle_script_exits_2_on_a_csv_without_label(house, house_dir, tmp_path, capsys):
    bad = tmp_path / "no_label.csv"
    house.train.drop(columns=[LABEL]).to_csv(bad, index=False)
    main = main_of("ch4_10_kaggle_house_price")
    with pytest.raises(SystemExit) as exit_info:
        main(["--train-csv", str(bad), "--test-csv", str(house_dir / TEST_FILE),
                     "--out", str(tmp_path / "run")])
    assert exit_info.value.code == 2 and "SalePrice" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_kaggle_script_without_data_says_how_to_provide_it(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main_of("ch4_10_kaggle_house_price")(["--out", str(tmp_path / "run")])
    assert exit_info.value.code == 2 and DATA_DIR_ENV in capsys.readouterr().err


@pytest.mark.parametrize("content, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe binary", "train.csv"),
    (b"Id,LotArea\n1,8450\n", "SalePrice"),
], ids=["binary", "no-label-column"])
def test_unreadable_or_mismatched_csv_exits_2_naming_the_file(content, message, tmp_path, capsys):
    bad = tmp_path / "train.csv"
    bad.write_bytes(content)
    test_csv = tmp_path / "test.csv"
    test_csv.write_text("Id,LotArea\n2,9600\n")
    code = exit_code(main_of("ch4_10_kaggle_house_price"),
                     ["--train-csv", str(bad), "--test-csv", str(test_csv), "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_kaggle_prints_and_records_where_the_submission_is_after_the_run(house_dir, tmp_path, capsys):
    data = ["--train-csv", str(house_dir / TRAIN_FILE), "--test-csv", str(house_dir / TEST_FILE)]
    results = main_of("ch4_10_kaggle_house_price")([*data, *SMALL["ch4_10_kaggle_house_price"], "--quiet",
                                                    "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'submission.csv'} (1459 predictions)" in out and ".incoming" not in out
    assert results["submission"] == str(tmp_path / "submission.csv") and (tmp_path / "submission.csv").is_file()
