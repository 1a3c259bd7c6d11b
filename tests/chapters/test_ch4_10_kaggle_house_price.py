"""4.10 Kaggle house prices: the log RMSE, the models, Adam with weight decay, submissions."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxlin.chapters.ch4_10_kaggle_house_price import (
    adam,
    average_log_rmse,
    k_fold_log_rmse,
    linear_model,
    log_rmse,
    log_space_squared_error,
    mlp_model,
    predict_prices,
    squared_log_error,
    targets,
    train,
    write_submission,
)


def test_write_submission_refuses_bad_prices(tmp_path):
    with pytest.raises(ValueError, match="not positive and finite"):
        write_submission(tmp_path / "s.csv", np.array([1, 2]), np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="2 ids but 1"):
        write_submission(tmp_path / "s.csv", np.array([1, 2]), np.array([1.0]))
    assert not (tmp_path / "s.csv").exists()


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
    linear, mlp = linear_model(), mlp_model(X.shape[1], (16,))
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


@pytest.mark.parametrize("model", ["linear", "mlp"])
def test_history_holds_the_log_rmse_and_the_average_is_over_folds(house, model):
    """Each epoch's ``*_log_rmse`` is the log-RMSE of the model's prices then (the last epoch's
    against :func:`log_rmse` of the final params' predictions: not its square, the log-MSE), and
    :func:`average_log_rmse` is the mean over the k = 2 folds of their last epoch (not the sum
    over the 3 epochs)."""
    X, y = jnp.asarray(house.train_features[:256]), jnp.asarray(house.train_labels[:256])
    net = linear_model() if model == "linear" else mlp_model(X.shape[1], (16,))
    hyper = dict(num_epochs=3, learning_rate=5.0 if model == "linear" else 0.01, weight_decay=0.0,
                 batch_size=64)
    result, _ = train(net, X[:192], y[:192], (X[192:], y[192:]), key=jax.random.key(0), **hyper)
    last = result.history[-1]
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    for name, (Xs, ys) in {"train": (X[:192], y[:192]), "valid": (X[192:], y[192:])}.items():
        direct = float(log_rmse(predict_prices(net, result.params, Xs), ys))
        assert last[f"{name}_log_rmse"] == pytest.approx(direct, rel=1e-4)
    folds = k_fold_log_rmse(net, 2, X, y, key=jax.random.key(1), **hyper)
    assert len(folds) == 2
    average = average_log_rmse(folds)
    for name in ("train_log_rmse", "valid_log_rmse"):
        assert average[name] == pytest.approx(np.mean([f.state.history[-1][name] for f in folds]), rel=1e-9)
