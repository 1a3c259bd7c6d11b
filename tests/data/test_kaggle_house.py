"""Kaggle house prices: the book's 331 features, the fitted preprocessing and its checks."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

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


def test_csv_without_label_is_a_clear_error(house, house_dir, tmp_path):
    bad = tmp_path / "no_label.csv"
    house.train.drop(columns=[LABEL]).to_csv(bad, index=False)
    with pytest.raises(ValueError, match="no column 'SalePrice'.*MSSubClass"):
        training_data(read_house_csv(bad), str(bad))
    with pytest.raises(ValueError, match="SalePrice"):
        load_house_data(bad, house_dir / TEST_FILE)


def test_non_positive_label_is_rejected(house):
    frame = house.train.iloc[:3].copy()
    frame.loc[frame.index[1], LABEL] = 0
    with pytest.raises(ValueError, match="positive"):
        training_data(frame)


def test_prediction_csv_with_other_columns_names_them(house, house_dir, tmp_path):
    other = house.test.drop(columns=["LotArea"]).assign(PoolColour="blue")
    path = tmp_path / "other_test.csv"
    other.to_csv(path, index=False)
    with pytest.raises(ValueError, match=rf"only in {house_dir / TRAIN_FILE}: \[LotArea\]; only in "
                                         rf"{path}: \[PoolColour\]"):
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


def test_missing_data_says_how_to_provide_it(tmp_path, monkeypatch, house_dir):
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match=f"--train-csv.*{DATA_DIR_ENV}"):
        find_csvs()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_csvs(tmp_path / "nope.csv", tmp_path / "nope2.csv")
    assert find_csvs(env={DATA_DIR_ENV: str(house_dir)}) == (house_dir / TRAIN_FILE, house_dir / TEST_FILE)


def write(frame: pd.DataFrame, path) -> str:
    frame.to_csv(path, index=False)
    return str(path)


def test_a_column_missing_from_the_training_csv_names_that_file(house, house_dir, tmp_path):
    train = write(house.train.drop(columns=["LotArea"]), tmp_path / "train.csv")
    with pytest.raises(ValueError, match=rf"only in {train}: none; only in .*{TEST_FILE}: \[LotArea\]"):
        load_house_data(train, house_dir / TEST_FILE)


@pytest.mark.parametrize("where", ["train", "test", "both"])
def test_text_in_a_numeric_column_names_the_file_column_and_line(where, house, tmp_path):
    """One word among LotArea's numbers is a typo, not 1,000 new categories (it used to give 2,281
    features, or "Categorical categories must be unique" naming nothing)."""
    train, test = house.train.copy(), house.test.copy()
    train["LotArea"] = train["LotArea"].astype(object)
    test["LotArea"] = test["LotArea"].astype(object)
    if where in ("train", "both"):
        train.loc[4, "LotArea"] = "big"
    if where in ("test", "both"):
        test.loc[7, "LotArea"] = "huge"
    train_csv, test_csv = write(train, tmp_path / "train.csv"), write(test, tmp_path / "test.csv")
    source, line, word = (train_csv, 6, "big") if where != "test" else (test_csv, 9, "huge")
    with pytest.raises(ValueError, match=rf"{source}, line {line}: column 'LotArea' holds numbers but "
                                         rf"also the text '{word}'"):
        load_house_data(train_csv, test_csv)


@pytest.mark.parametrize("empty", ["train", "test"])
def test_a_header_only_csv_is_refused_naming_it(empty, house, house_dir, tmp_path):
    frame = house.train if empty == "train" else house.test
    header_only = write(frame.iloc[:0], tmp_path / f"{empty}.csv")
    files = {"train": house_dir / TRAIN_FILE, "test": house_dir / TEST_FILE, empty: header_only}
    with pytest.raises(ValueError, match=f"{header_only} has a header but no rows"):
        load_house_data(files["train"], files["test"])


def test_categories_of_mixed_types_are_one_each():
    frame = pd.DataFrame({"Street": ["Pave", 1, "1", "Grvl"]})
    assert fit_preprocessing(frame).categories == {"Street": ("1", "Grvl", "Pave")}


def small_csvs(tmp_path, train_area: list[str], test_area: list[str], price: str = "200000"):
    """Two small Kaggle-shaped CSVs (Id, LotArea, Street, SalePrice) with LotArea written as given."""
    def rows(area, start, label):
        return [f"{start + i},{a},{'Pave' if i % 2 else 'Grvl'}{label}" for i, a in enumerate(area)]
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    train.write_text("\n".join(["Id,LotArea,Street,SalePrice", *rows(train_area, 1, f",{price}")]) + "\n")
    test.write_text("\n".join(["Id,LotArea,Street", *rows(test_area, 100, "")]) + "\n")
    return str(train), str(test)


@pytest.mark.parametrize("where", ["train", "both"])
def test_a_thousands_separator_is_refused_naming_file_column_and_value(where, tmp_path):
    """LotArea written "8,450" (quoted, as a spreadsheet exports it) used to be one-hot encoded."""
    train, test = small_csvs(tmp_path, ['"8,450"', '"9,600"', "11250"],
                             ['"1,234,567.5"' if where == "both" else "9550", "14260"])
    with pytest.raises(ValueError, match=rf"{train}, line 2: column 'LotArea' holds '8,450', a number "
                                         rf"with a thousands separator: write it 8450"):
        load_house_data(train, test)


@pytest.mark.parametrize("text_in", ["train", "test"])
def test_a_column_all_text_where_the_other_file_has_numbers_is_refused(text_in, tmp_path):
    words, numbers = ["big", "small", "big", "huge"], ["8450", "9600", "11250", "9550"]
    train, test = small_csvs(tmp_path, words if text_in == "train" else numbers,
                             words if text_in == "test" else numbers)
    source, other = (train, test) if text_in == "train" else (test, train)
    with pytest.raises(ValueError, match=rf"{source}, line 2: column 'LotArea' holds only text \(first "
                                         rf"'big'\) where {other} holds numbers"):
        load_house_data(train, test)


@pytest.mark.parametrize("value, shown", [("1e308", "1e+308"), ("inf", "inf"), ("-3.5e38", "-3.5e+38")])
def test_a_number_beyond_float32_is_refused_naming_file_column_and_value(value, shown, tmp_path):
    """1e308 used to make LotArea's standard deviation infinite: the whole column became zeros."""
    train, test = small_csvs(tmp_path, ["8450", "9600"], ["9550", value, "14260"])
    with pytest.raises(ValueError, match=rf"{test}, line 3: column 'LotArea' holds {re.escape(shown)}, "
                                         rf"beyond float32's range"):
        load_house_data(train, test)
    train, test = small_csvs(tmp_path, ["8450", "9600"], ["9550", "14260"], price="1e300")
    with pytest.raises(ValueError, match=rf"{train}: SalePrice must be positive and finite in float32.*"
                                         rf"line 2: 1e\+300"):
        load_house_data(train, test)


def test_small_csvs_within_the_rules_load(tmp_path):
    train, test = small_csvs(tmp_path, ["8450", "9600", "NA"], ["9550", "3.4e38"])
    data = load_house_data(train, test)
    assert data.train_features.shape == (3, 4) and np.isfinite(data.test_features).all()
