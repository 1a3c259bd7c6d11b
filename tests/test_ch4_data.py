"""Chapter 4 with data: distribution-shift correction (4.9) and Kaggle house prices (4.10)."""
from __future__ import annotations

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd
import pytest

from conftest import load_script, shared_dir
from jaxlin.chapters.ch4_09_environment_and_distribution_shift import (
    decision_boundary,
    domain_data,
    effective_sample_size,
    gaussian_log_density_ratio,
    importance_weights,
    log_importance_weights,
    logistic_regression,
    parabola_labels,
    sample_inputs,
    weighted_error,
    weighted_logistic_loss,
    with_weights,
)
from jaxlin.chapters.ch4_10_kaggle_house_price import (
    adam,
    linear_model,
    log_rmse,
    log_space_squared_error,
    mlp_model,
    predict_prices,
    squared_log_error,
    targets,
    write_submission,
)
from jaxlin.data.kaggle_house import (
    DATA_DIR_ENV,
    LABEL,
    TEST_FILE,
    TRAIN_FILE,
    Preprocessing,
    check_columns,
    find_csvs,
    fit_preprocessing,
    load_house_data,
    prediction_data,
    read_house_csv,
    training_data,
    transform,
)
from jaxlin.nn.losses import binary_cross_entropy_logits


@pytest.fixture(scope="module")
def house_dir():
    return shared_dir("kaggle-house")


@pytest.fixture(scope="module")
def house(house_dir):
    return load_house_data(house_dir / TRAIN_FILE, house_dir / TEST_FILE)


# ------------------------------------------------------------------ 4.10 preprocessing

def test_preprocessing_gives_the_books_331_features(house):
    assert house.train.shape == (1460, 81) and house.test.shape == (1459, 80)
    assert house.train_features.shape == (1460, 331) and house.test_features.shape == (1459, 331)
    assert house.train_features.dtype == np.float32 and house.train_labels.shape == (1460, 1)
    assert len(house.preprocessing.feature_names) == 331
    X = np.concatenate([house.train_features, house.test_features])
    assert np.isfinite(X).all()


def test_numeric_columns_are_standardized_over_train_and_test(house):
    raw = pd.concat([house.train.drop(columns=["Id", LABEL]), house.test.drop(columns=["Id"])])
    numeric = list(house.preprocessing.mean)
    assert len(numeric) == 36
    X = np.concatenate([house.train_features, house.test_features])[:, :len(numeric)].astype(np.float64)
    present = raw[numeric].notna().to_numpy()
    for j in range(len(numeric)):
        values = X[present[:, j], j]
        assert abs(values.mean()) < 1e-5 and abs(values.std(ddof=1) - 1) < 1e-4, numeric[j]
    assert (X[~present] == 0).all()      # NaN -> 0, the mean


def test_transform_equals_the_books_get_dummies(house):
    """The fitted transform reproduces the book's code exactly (names, order and values)."""
    all_features = pd.concat([house.train.iloc[:, 1:-1], house.test.iloc[:, 1:]])
    numeric = all_features.select_dtypes(include="number").columns
    all_features[numeric] = all_features[numeric].apply(lambda x: (x - x.mean()) / x.std()).fillna(0)
    book = pd.get_dummies(all_features, dummy_na=True)
    assert list(book.columns) == house.preprocessing.feature_names
    np.testing.assert_array_equal(book.to_numpy(np.float32),
                                  np.concatenate([house.train_features, house.test_features]))


def test_none_is_a_category_not_a_missing_value(house):
    # pandas >= 2 reads "None" as NaN by default, which would give 330 features
    assert "MasVnrType_None" in house.preprocessing.feature_names
    assert (house.train["MasVnrType"] == "None").sum() == 864


def test_preprocessing_is_data_and_round_trips(house, house_dir):
    prep = Preprocessing.from_dict(json.loads(json.dumps(house.preprocessing.to_dict())))
    assert prep == house.preprocessing
    features, _ = prediction_data(read_house_csv(house_dir / TEST_FILE))
    np.testing.assert_array_equal(transform(prep, features), house.test_features)


def test_unseen_category_counts_as_missing(house):
    features, _ = prediction_data(house.test.iloc[:2].copy())
    features.loc[features.index[0], "MSZoning"] = "Martian"
    X = transform(house.preprocessing, features)
    names = house.preprocessing.feature_names
    zoning = [i for i, n in enumerate(names) if n.startswith("MSZoning_")]
    assert X[0, zoning].sum() == 1 and X[0, names.index("MSZoning_nan")] == 1


def test_fit_preprocessing_keeps_constant_columns_finite():
    frame = pd.DataFrame({"a": [1.0, 1.0, 1.0], "b": [1.0, 2.0, np.nan], "c": ["x", None, "y"]})
    prep = fit_preprocessing(frame)
    X = transform(prep, frame)
    assert prep.std["a"] == 1.0 and np.isfinite(X).all()
    assert prep.feature_names == ["a", "b", "c_x", "c_y", "c_nan"]
    np.testing.assert_array_equal(X[:, 2:], [[1, 0, 0], [0, 0, 1], [0, 1, 0]])


# ------------------------------------------------------------------ 4.10 bad input

def test_csv_without_label_is_a_clear_error(house, house_dir, tmp_path, capsys):
    bad = tmp_path / "no_label.csv"
    house.train.drop(columns=[LABEL]).to_csv(bad, index=False)
    with pytest.raises(ValueError, match="no column 'SalePrice'.*MSSubClass"):
        training_data(read_house_csv(bad), str(bad))
    with pytest.raises(ValueError, match="SalePrice"):
        load_house_data(bad, house_dir / TEST_FILE)
    script = load_script("ch4_10_kaggle_house_price")
    with pytest.raises(SystemExit) as exit_info:
        script.main(["--train-csv", str(bad), "--test-csv", str(house_dir / TEST_FILE),
                     "--out", str(tmp_path / "run")])
    assert exit_info.value.code == 2 and "SalePrice" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_non_positive_label_is_rejected(house):
    frame = house.train.iloc[:3].copy()
    frame.loc[frame.index[1], LABEL] = 0
    with pytest.raises(ValueError, match="positive"):
        training_data(frame)


def test_prediction_csv_with_other_columns_names_them(house, house_dir, tmp_path):
    other = house.test.drop(columns=["LotArea"]).assign(PoolColour="blue")
    path = tmp_path / "other_test.csv"
    other.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"missing columns \[LotArea\], unexpected columns \[PoolColour\]"):
        load_house_data(house_dir / TRAIN_FILE, path)
    features, _ = prediction_data(other)
    with pytest.raises(ValueError, match="LotArea.*PoolColour"):
        transform(house.preprocessing, features)
    with pytest.raises(ValueError, match="Id"):
        prediction_data(other.drop(columns=["Id"]))
    check_columns(["a", "b"], ["b", "a"], "same set, other order")   # order does not matter


def test_text_in_a_numeric_column_is_named(house):
    features, _ = prediction_data(house.test.iloc[:2].copy())
    features["LotArea"] = ["big", "small"]
    with pytest.raises(ValueError, match="LotArea"):
        transform(house.preprocessing, features)


def test_missing_data_says_how_to_provide_it(tmp_path, monkeypatch, capsys, house_dir):
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match=f"--train-csv.*{DATA_DIR_ENV}"):
        find_csvs()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_csvs(tmp_path / "nope.csv", tmp_path / "nope2.csv")
    assert find_csvs(env={DATA_DIR_ENV: str(house_dir)}) == (house_dir / TRAIN_FILE, house_dir / TEST_FILE)
    with pytest.raises(SystemExit) as exit_info:
        load_script("ch4_10_kaggle_house_price").main(["--out", str(tmp_path / "run")])
    assert exit_info.value.code == 2 and DATA_DIR_ENV in capsys.readouterr().err


def test_write_submission_refuses_bad_prices(tmp_path):
    with pytest.raises(ValueError, match="not positive and finite"):
        write_submission(tmp_path / "s.csv", np.array([1, 2]), np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="2 ids but 1"):
        write_submission(tmp_path / "s.csv", np.array([1, 2]), np.array([1.0]))
    assert not (tmp_path / "s.csv").exists()


# ------------------------------------------------------------------ 4.10 metric and models

def test_log_rmse_by_hand():
    y_hat = jnp.array([[0.5], [100.0], [200.0]])
    y = jnp.array([1.0, 100.0, 100.0])                       # (n,) labels against (n, 1)
    expected = math.sqrt((0 + 0 + math.log(2) ** 2) / 3)     # 0.5 is clipped to 1
    assert float(log_rmse(y_hat, y)) == pytest.approx(expected, rel=1e-6)
    assert float(log_rmse(y, y)) == 0.0
    np.testing.assert_allclose(log_space_squared_error(jnp.log(y_hat), jnp.log(y).reshape(-1, 1)),
                               squared_log_error(y_hat, y), rtol=1e-5, atol=1e-7)


def test_models_and_adam(house):
    X, y = jnp.asarray(house.train_features[:8]), jnp.asarray(house.train_labels[:8])
    key = jax.random.key(0)
    linear, mlp = linear_model(), mlp_model((16,))
    params = linear.init(key, X, targets(linear, y))
    assert params["w"].shape == (331, 1) and predict_prices(linear, params, X).shape == (8, 1)
    params = mlp.init(key, X, targets(mlp, y))
    np.testing.assert_allclose(params["output"]["bias"], [float(jnp.log(y).mean())], rtol=1e-6)
    prices = predict_prices(mlp, params, X)
    assert prices.shape == (8, 1) and bool((prices > 0).all())
    # PyTorch-style weight decay: the L2 gradient wd·θ goes through Adam
    theta, grad = {"w": jnp.array([2.0])}, {"w": jnp.array([0.5])}
    opt = adam(0.1, 0.25)
    updates, _ = opt.update(grad, opt.init(theta), theta)
    plain = optax.adam(0.1)
    expected, _ = plain.update({"w": grad["w"] + 0.25 * theta["w"]}, plain.init(theta))
    np.testing.assert_allclose(updates["w"], expected["w"])


# ------------------------------------------------------------------ 4.10 acceptance through main

@pytest.fixture(scope="module")
def kaggle_runs(house_dir, tmp_path_factory):
    """Both models at the book's settings (k = 5, 100 epochs, batch 64)."""
    script = load_script("ch4_10_kaggle_house_price")
    data = ["--train-csv", str(house_dir / TRAIN_FILE), "--test-csv", str(house_dir / TEST_FILE), "--quiet"]
    out = {m: tmp_path_factory.mktemp(m) for m in ("linear", "mlp")}
    return {m: (script.main([*data, "--model", m, "--out", str(out[m])]), out[m]) for m in out}


def test_kaggle_linear_model_reaches_the_books_error(kaggle_runs):
    results, out = kaggle_runs["linear"]
    assert results["hyperparameters"] == {"k": 5, "lr": 5.0, "weight_decay": 0.0, "num_epochs": 100,
                                          "batch_size": 64}
    assert results["data"]["num_features"] == 331
    assert len(results["folds"]) == 5 and len(results["folds"][0]["history"]) == 100
    assert results["average"]["valid_log_rmse"] <= 0.20
    saved = json.loads((out / "results.json").read_text())
    assert saved["average"] == results["average"]
    for name in ("kfold_fold1.png", "train_all.png", "submission.csv", "preprocessing.json"):
        assert (out / name).is_file() and name in saved["files"]


def test_kaggle_mlp_beats_the_linear_model(kaggle_runs):
    linear, mlp = kaggle_runs["linear"][0], kaggle_runs["mlp"][0]
    assert mlp["average"]["valid_log_rmse"] < linear["average"]["valid_log_rmse"]


@pytest.mark.parametrize("model", ["linear", "mlp"])
def test_kaggle_submission(kaggle_runs, house, model):
    submission = pd.read_csv(kaggle_runs[model][1] / "submission.csv")
    assert list(submission.columns) == ["Id", "SalePrice"] and len(submission) == 1459
    np.testing.assert_array_equal(submission["Id"], house.test_ids)
    prices = submission["SalePrice"].to_numpy()
    assert np.isfinite(prices).all() and (prices > 0).all()


# ------------------------------------------------------------------ 4.9 distribution shift

def test_shift_pieces_by_hand():
    h = jnp.array([[0.0], [2.0], [-1.0]])
    y = jnp.array([1.0, 0.0, 0.0])
    np.testing.assert_allclose(binary_cross_entropy_logits(h, y), [[math.log(2)], [math.log1p(math.exp(2))],
                                                     [math.log1p(math.exp(-1))]], rtol=1e-6)
    yw = with_weights(y, jnp.array([1.0, 3.0, 0.5]))
    assert yw.shape == (3, 2)
    np.testing.assert_allclose(weighted_logistic_loss(h, yw), binary_cross_entropy_logits(h, y) * yw[:, 1:2])
    np.testing.assert_allclose(weighted_error(h, yw), [[1.0], [3.0], [0.0]])
    np.testing.assert_array_equal(with_weights(y)[:, 1], 1.0)
    with pytest.raises(ValueError, match="3 labels but 2 weights"):
        with_weights(y, jnp.ones(2))
    np.testing.assert_array_equal(parabola_labels(jnp.array([[0.0, 0.0], [2.0, 2.0], [0.0, -2.0]])),
                                  [[1.0], [0.0], [0.0]])


def test_importance_weights_and_domains():
    key = jax.random.key(0)
    params = {"w": jnp.array([[2.0], [0.0]]), "b": jnp.array([-1.0])}
    X = jnp.array([[0.0, 5.0], [1.0, 0.0], [3.0, 0.0]])
    h = logistic_regression(params, X)
    np.testing.assert_allclose(importance_weights(params, X, 100, 100), jnp.exp(h), rtol=1e-6)
    np.testing.assert_allclose(log_importance_weights(params, X, 200, 100), h + math.log(2), rtol=1e-6)
    np.testing.assert_allclose(importance_weights(params, X, 100, 100, clip=2.0),
                               jnp.minimum(jnp.exp(h), 2.0), rtol=1e-6)
    assert float(effective_sample_size(jnp.ones((7, 1)))) == pytest.approx(7.0)
    x1 = jnp.array([0.0, 1.0])
    params2 = {"w": jnp.array([[1.0], [2.0]]), "b": jnp.array([0.5])}
    np.testing.assert_allclose(logistic_regression(params2, jnp.stack(
        [x1, decision_boundary(params2, x1)], axis=1)), 0.0, atol=1e-6)
    Xs = sample_inputs(key, jnp.array([-1.0, 0.0]), 1.0, 20000)
    np.testing.assert_allclose(Xs.mean(0), [-1.0, 0.0], atol=0.03)
    Xd, zd = domain_data(Xs[:3], Xs[3:5])
    assert Xd.shape == (5, 2) and zd[:, 0].tolist() == [0, 0, 0, 1, 1] and zd[:, 1].tolist() == [1] * 5
    # log N(x; μt, I) − log N(x; μs, I)
    mu_s, mu_t = jnp.array([-1.0, 0.0]), jnp.array([1.0, 0.5])
    direct = (-((X - mu_t.reshape(1, -1)) ** 2).sum(1) + ((X - mu_s.reshape(1, -1)) ** 2).sum(1)) / 2
    np.testing.assert_allclose(gaussian_log_density_ratio(X, mu_s, mu_t, 1.0)[:, 0], direct, rtol=1e-5)


def test_shift_weighting_lowers_the_target_error(tmp_path):
    script = load_script("ch4_09_environment_and_distribution_shift")
    results = script.main(["--out", str(tmp_path), "--quiet"])
    assert results["weighted_target_error"] < results["unweighted_target_error"]
    assert results["weighted_target_error"] < 0.2 < 0.4 < results["unweighted_target_error"]
    assert results["domain_classifier"]["mean_abs_log_ratio_error"] < 0.3   # h ≈ the true log p/q
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["errors"] == results["errors"]
    for name in ("target_error.png", "domains.png"):
        assert (tmp_path / name).is_file() and name in saved["files"]


@pytest.mark.parametrize("name", ["ch4_09_environment_and_distribution_shift", "ch4_10_kaggle_house_price"])
def test_scripts_have_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_script(name).main(["--help"])
    assert exit_info.value.code == 0
    assert "--seed" in capsys.readouterr().out
