"""Chapter 4 basics: activations, Xavier init, standardization, K-fold, early stopping,
weight decay (scratch penalty and masked optax decay) and the scripts 4.1, 4.4, 4.5, 4.8."""
from __future__ import annotations

import functools
import json
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from conftest import load_script
from jaxlin.chapters.ch4_04_underfit_overfit import poly_features, polynomial_data
from jaxlin.data.model_selection import get_k_fold_data, k_fold, k_fold_indices
from jaxlin.data.preprocessing import standardization_stats, standardize
from jaxlin.data.synthetic import synthetic_data
from jaxlin.nn.activations import derivative, init_prelu, prelu, prelu_slope_grad, relu, sigmoid, tanh
from jaxlin.nn.flax_adapter import flax_model
from jaxlin.nn.init import normal_init, xavier_normal, xavier_uniform
from jaxlin.nn.linear import init_linreg, linreg
from jaxlin.nn.losses import squared_loss
from jaxlin.nn.regularization import (
    decay_mask,
    l1_penalty,
    l2_penalty,
    proximal_sgd,
    sgd_weight_decay,
    soft_threshold,
    weight_penalty,
)
from jaxlin.nn.updaters import sgd
from jaxlin.train.early_stopping import EarlyStopping, EarlyStoppingState, early_stopping_update
from jaxlin.train.evaluate import evaluate_loss
from jaxlin.train.fit import fit
from jaxlin.train.step import make_train_step, train_step

X_GRID = jnp.linspace(-8.0, 8.0, 161)


def read_results(out):
    results = json.loads((out / "results.json").read_text())
    assert results["files"] and all((out / f).is_file() and f.endswith(".png") for f in results["files"])
    return results


# ------------------------------------------------------------------ activations

def test_derivatives_match_closed_forms():
    s = sigmoid(X_GRID)
    np.testing.assert_allclose(derivative(sigmoid)(X_GRID), s * (1 - s), atol=1e-6)
    np.testing.assert_allclose(derivative(tanh)(X_GRID), 1 - jnp.tanh(X_GRID) ** 2, atol=1e-6)
    np.testing.assert_array_equal(derivative(relu)(X_GRID), (X_GRID > 0).astype(jnp.float32))
    np.testing.assert_allclose(sigmoid(X_GRID), 1 / (1 + jnp.exp(-X_GRID)), atol=1e-6)
    assert float(derivative(relu)(jnp.zeros(1))[0]) == 0.0  # the left derivative, as in the book
    assert bool(jnp.all(jnp.isfinite(derivative(sigmoid)(jnp.asarray([-200.0, 200.0])))))


def test_prelu_slope_is_learnable():
    params = init_prelu()
    assert float(params["alpha"]) == 0.25
    np.testing.assert_allclose(prelu(params, X_GRID), jnp.where(X_GRID > 0, X_GRID, 0.25 * X_GRID))
    np.testing.assert_allclose(derivative(functools.partial(prelu, params))(X_GRID),
                               jnp.where(X_GRID > 0, 1.0, 0.25))
    grad = prelu_slope_grad(params, X_GRID)["alpha"]
    np.testing.assert_allclose(grad, jnp.minimum(X_GRID, 0).sum(), rtol=1e-6)


# ------------------------------------------------------------------ init and standardization

@pytest.mark.parametrize("init", [xavier_uniform, xavier_normal])
def test_xavier_variance_matches_formula(init):
    n_in, n_out = 256, 512
    W = init(jax.random.key(0), (n_in, n_out))
    assert W.shape == (n_in, n_out)
    assert abs(float(W.mean())) < 0.01 * math.sqrt(2 / (n_in + n_out)) * 10
    assert float(W.var()) == pytest.approx(2 / (n_in + n_out), rel=0.03)
    if init is xavier_uniform:
        assert float(jnp.abs(W).max()) <= math.sqrt(6 / (n_in + n_out))
    assert float(normal_init(0.5)(jax.random.key(1), (n_in, n_out)).var()) == pytest.approx(0.25, rel=0.03)
    with pytest.raises(ValueError, match="shape"):
        init(jax.random.key(0), (3, 4, 5))


def test_standardize():
    X = jax.random.normal(jax.random.key(0), (500, 3)) * jnp.asarray([[0.1, 1.0, 100.0]]) + 7.0
    Z = standardize(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(Z.var(axis=0), 1.0, rtol=1e-3)
    mean, std = standardization_stats(X[:250])
    np.testing.assert_allclose(standardize(X[250:], mean, std), (X[250:] - mean) / std)
    constant = standardize(jnp.ones((4, 2)))
    assert bool(jnp.all(constant == 0))
    with pytest.raises(ValueError, match="both mean and std"):
        standardize(X, mean=mean)


# ------------------------------------------------------------------ K-fold

@pytest.mark.parametrize("k, n", [(5, 100), (3, 10), (4, 7)])
def test_k_fold_covers_each_example_once(k, n):
    folds = k_fold_indices(k, n)
    assert len(folds) == k
    valid = np.concatenate([v for _, v in folds])
    np.testing.assert_array_equal(np.sort(valid), np.arange(n))           # each exactly once
    sizes = [len(v) for _, v in folds]
    assert max(sizes) - min(sizes) <= 1
    for train, v in folds:
        assert not set(train) & set(v)                                    # disjoint
        np.testing.assert_array_equal(np.sort(np.concatenate([train, v])), np.arange(n))
    X, y = jnp.arange(2 * n, dtype=jnp.float32).reshape(n, 2), jnp.arange(n)
    splits = list(k_fold(k, X, y))
    assert len(splits) == k
    X_train, y_train, X_valid, y_valid = get_k_fold_data(k, 1, X, y)
    np.testing.assert_array_equal(X_valid, splits[1][2])
    assert X_train.shape[0] + X_valid.shape[0] == n and y_train.shape[0] == X_train.shape[0]


def test_k_fold_bad_input():
    with pytest.raises(ValueError, match="k must be at least 2"):
        k_fold_indices(1, 10)
    with pytest.raises(ValueError, match="k=5"):
        k_fold_indices(5, 3)
    with pytest.raises(ValueError, match="fold index i"):
        get_k_fold_data(3, 3, jnp.zeros((9, 1)), jnp.zeros(9))


# ------------------------------------------------------------------ early stopping

def test_early_stopping_rule():
    losses = [5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 2.0]
    stopper = EarlyStopping(patience=3)
    stops = []
    for epoch, loss in enumerate(losses, start=1):
        stops.append(stopper(epoch, {"p": epoch}, (), {"valid_loss": loss}))
        if stops[-1]:
            break
    assert stops == [False, False, False, False, False, True]   # 3 epochs without improvement
    assert stopper.stopped_epoch == 6 and stopper.best_epoch == 3
    assert stopper.best_params == {"p": 3} and stopper.best_loss == 3.0
    # min_delta: an improvement smaller than it does not count; NaN never improves
    state = EarlyStoppingState(best_loss=1.0, best_epoch=1, best_params="a")
    state, stop = early_stopping_update(state, 2, 0.95, "b", patience=2, min_delta=0.1)
    assert (state.best_epoch, state.wait, stop) == (1, 1, False)
    state, stop = early_stopping_update(state, 3, float("nan"), "c", patience=2)
    assert stop and state.best_params == "a"


def test_early_stopping_bad_input():
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=0)
    with pytest.raises(ValueError, match="min_delta"):
        EarlyStopping(patience=2, min_delta=-1.0)
    with pytest.raises(KeyError, match="valid_loss"):
        EarlyStopping(patience=2)(1, {}, (), {"train_loss": 1.0})


def test_early_stopping_with_fit_keeps_best_params():
    """Validation labels are half the training labels: as ŷ → y the validation loss first
    falls, then rises, so fit must stop ``patience`` epochs after its minimum and keep it."""
    X, y = synthetic_data(jax.random.key(0), jnp.asarray([2.0, -3.4]), 4.2, 100)
    valid = (X, 0.5 * y)
    stopper = EarlyStopping(patience=4)
    result = fit(linreg, init_linreg(jax.random.key(1), 2), squared_loss, functools.partial(sgd, lr=0.01),
                 (X, y), num_epochs=200, batch_size=10, key=jax.random.key(2), evals={"valid": valid},
                 eval_loss=squared_loss, callback=stopper)
    valid_losses = [r["valid_loss"] for r in result.history]
    assert 1 < stopper.best_epoch == int(np.argmin(valid_losses)) + 1
    assert stopper.stopped_epoch == len(result.history) == stopper.best_epoch + 4 < 200
    assert evaluate_loss(linreg, stopper.best_params, valid, squared_loss) == pytest.approx(
        min(valid_losses), rel=1e-5)
    assert evaluate_loss(linreg, result.params, valid, squared_loss) > min(valid_losses)


# ------------------------------------------------------------------ penalties and weight decay

def test_penalties_by_hand():
    w = jnp.asarray([[1.0], [-2.0], [3.0]])
    assert float(l2_penalty(w)) == pytest.approx((1 + 4 + 9) / 2)
    assert float(l1_penalty(w)) == pytest.approx(6.0)
    params = {"w": w, "b": jnp.asarray([100.0])}
    assert float(weight_penalty(3.0)(params)) == pytest.approx(3 * 7.0)           # b excluded
    assert float(weight_penalty(0.5, "l1")(params)) == pytest.approx(3.0)
    flax_params = {"Dense_0": {"kernel": w, "bias": jnp.asarray([5.0])}}
    assert decay_mask(flax_params) == {"Dense_0": {"kernel": True, "bias": False}}
    assert float(weight_penalty(1.0)(flax_params)) == pytest.approx(7.0)
    np.testing.assert_allclose(soft_threshold(jnp.asarray([-1.0, -0.05, 0.02, 0.5]), 0.1), [-0.9, 0, 0, 0.4])
    with pytest.raises(ValueError, match="lambd"):
        weight_penalty(-1.0)
    with pytest.raises(ValueError, match="norm"):
        weight_penalty(1.0, "l3")
    with pytest.raises(ValueError, match="method"):
        sgd_weight_decay(0.1, 1.0, "l0")


@pytest.mark.parametrize("method", ["l2", "l1", "l1-proximal"])
def test_masked_decay_leaves_the_bias_untouched(method):
    init, net = flax_model(nn.Dense(1, kernel_init=nn.initializers.normal(1.0)))
    params = init(jax.random.key(0), jnp.zeros((1, 5)))
    params = {"kernel": params["kernel"], "bias": jnp.asarray([0.7])}
    grads = {"kernel": jnp.full((5, 1), 0.3), "bias": jnp.asarray([0.2])}
    lr, lambd = 0.1, 3.0
    tx = sgd_weight_decay(lr, lambd, method)
    updates, _ = tx.update(grads, tx.init(params), params)
    new = optax.apply_updates(params, updates)
    # the bias gets the plain SGD step only, never a decay term
    np.testing.assert_allclose(new["bias"], params["bias"] - lr * grads["bias"], rtol=1e-6)
    zero = jax.tree.map(jnp.zeros_like, grads)
    updates, _ = tx.update(zero, tx.init(params), params)
    np.testing.assert_array_equal(optax.apply_updates(params, updates)["bias"], params["bias"])
    k, g = params["kernel"], grads["kernel"]
    expected = {"l2": k - lr * (g + lambd * k), "l1": k - lr * (g + lambd * jnp.sign(k)),
                "l1-proximal": soft_threshold(k - lr * g, lr * lambd)}[method]
    np.testing.assert_allclose(new["kernel"], expected, rtol=1e-5, atol=1e-7)


def test_scratch_penalty_equals_concise_decay():
    """One step: sgd on loss + λ‖w‖²/2 (the core's penalty=) == optax masked decay; metrics exclude it."""
    X, y = synthetic_data(jax.random.key(0), 0.01 * jnp.ones(8), 0.05, 5)
    params = init_linreg(jax.random.key(1), 8, sigma=1.0)
    lr, lambd = 0.003, 3.0
    p_scratch, _, m_scratch = make_train_step(linreg, squared_loss, functools.partial(sgd, lr=lr),
                                              penalty=weight_penalty(lambd))(params, (), X, y)
    tx = sgd_weight_decay(lr, lambd)
    p_concise, _, m_concise = make_train_step(linreg, squared_loss, tx)(params, tx.init(params), X, y)
    jax.tree.map(functools.partial(np.testing.assert_allclose, rtol=1e-5, atol=1e-7), p_scratch, p_concise)
    plain = train_step(linreg, squared_loss, functools.partial(sgd, lr=lr))(params, (), X, y)
    np.testing.assert_allclose(m_scratch["loss"], plain[2]["loss"])   # data loss, no penalty in it
    np.testing.assert_allclose(m_concise["loss"], plain[2]["loss"])
    np.testing.assert_allclose(p_scratch["b"], plain[0]["b"], rtol=1e-6)   # bias unaffected
    with pytest.raises(TypeError, match="penalty"):
        train_step(linreg, squared_loss, functools.partial(sgd, lr=lr), penalty=3.0)


def test_proximal_sgd_zeroes_small_weights():
    params = {"w": jnp.asarray([[1.0], [0.005], [-0.002]]), "b": jnp.asarray([0.001])}
    zero = jax.tree.map(jnp.zeros_like, params)
    new = proximal_sgd(params, zero, lr=0.1, batch_size=1, lambd=0.03)
    np.testing.assert_allclose(new["w"].reshape(-1), [0.997, 0.002, 0.0], atol=1e-7)
    np.testing.assert_array_equal(new["b"], params["b"])


# ------------------------------------------------------------------ polynomial data

def test_poly_features_and_data():
    x = jnp.asarray([-1.5, 0.0, 2.0])
    F = poly_features(x, 5)
    expected = np.stack([np.asarray(x) ** i / math.factorial(i) for i in range(5)], axis=1)
    np.testing.assert_allclose(F, expected, rtol=1e-6)
    features, labels = polynomial_data(jax.random.key(0), [5.0, 1.2, -3.4, 5.6], 50, noise=0.0)
    assert features.shape == (50, 20) and labels.shape == (50, 1)
    np.testing.assert_allclose(labels.reshape(-1), features[:, :4] @ jnp.asarray([5.0, 1.2, -3.4, 5.6]),
                               rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="max_degree"):
        polynomial_data(jax.random.key(0), jnp.ones(25), 10)


# ------------------------------------------------------------------ scripts

def test_mlp_script(tmp_path):
    results = load_script("ch4_01_mlp").main(["--out", str(tmp_path), "--quiet"])
    assert read_results(tmp_path)["files"] == ["activations.png"]
    relu_row = results["probes"]["relu"]
    assert relu_row["df"] == [0.0, 0.0, 0.0, 1.0, 1.0]
    assert results["probes"]["sigmoid"]["df"][2] == pytest.approx(0.25)
    assert results["probes"]["prelu"]["df"][0] == pytest.approx(0.25)


def test_polynomial_book_settings(tmp_path):
    """The book's settings (400/400/1500 epochs, lr 0.01, batch 10); seed 1 (see the report:
    at seed 0 the training x spread is narrow and the x³ coefficient is 0.79 off after 400 epochs)."""
    results = load_script("ch4_04_underfit_overfit").main(
        ["--out", str(tmp_path), "--folds", "0", "--quiet"])          # the default seed, 1
    saved = read_results(tmp_path)
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


def test_polynomial_cross_validation():
    script = load_script("ch4_04_underfit_overfit")
    features, labels = polynomial_data(jax.random.key(0), script.TRUE_W, 40)
    losses = script.cross_validate(features, labels, 4, 4, 20, lr=0.01, batch_size=10,
                                   key_init=jax.random.key(1), key_fit=jax.random.key(2))
    assert len(losses) == 4 and all(np.isfinite(losses))


def test_polynomial_bad_input(tmp_path):
    main = load_script("ch4_04_underfit_overfit").main
    with pytest.raises(ValueError, match="patience"):
        main(["--out", str(tmp_path), "--patience", "0"])
    with pytest.raises(ValueError, match="--folds"):
        main(["--out", str(tmp_path), "--folds", "1"])
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path), "--lr", "-1"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("impl", ["scratch", "concise"])
def test_weight_decay_book_settings(tmp_path, impl):
    results = load_script("ch4_05_weight_decay").main(["--out", str(tmp_path), "--impl", impl, "--quiet"])
    read_results(tmp_path)
    runs = results["runs"]
    free, decayed = runs["L2 λ=0"], runs["L2 λ=3"]
    assert decayed["test_loss"] < free["test_loss"] and decayed["w_norm"] < free["w_norm"]
    assert len(decayed["history"]) == 100 and free["w_norm"] > 5 and decayed["w_norm"] < 1


def test_weight_decay_l1(tmp_path):
    results = load_script("ch4_05_weight_decay").main(
        ["--out", str(tmp_path), "--penalty", "l1", "--lambdas", "3", "--impl", "concise", "--quiet"])
    runs = results["runs"]
    assert set(runs) == {"L1 λ=3", "L1-PROXIMAL λ=3", "L2 λ=3"}
    assert runs["L1 λ=3"]["num_small"] > runs["L2 λ=3"]["num_small"]
    assert runs["L1-PROXIMAL λ=3"]["num_small"] > 100 > runs["L2 λ=3"]["num_small"]
    assert runs["L1 λ=3"]["w_l1"] < runs["L2 λ=3"]["w_l1"]


def test_weight_decay_bad_input(tmp_path):
    main = load_script("ch4_05_weight_decay").main
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path), "--impl", "sklearn"])
    assert exit_info.value.code == 2
    with pytest.raises(ValueError, match="--lambdas"):
        main(["--out", str(tmp_path), "--lambdas", "-3"])


def test_numerical_stability_script(tmp_path):
    results = load_script("ch4_08_numerical_stability_and_init").main(["--out", str(tmp_path), "--quiet"])
    assert set(read_results(tmp_path)["files"]) == {
        "sigmoid_gradient.png", "activation_variance.png", "standardization.png"}
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
