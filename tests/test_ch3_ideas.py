"""Chapter 3 ideas (3.1 and 3.4): vectorization, the normal NLL, information theory, linear classifiers."""
from __future__ import annotations

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import load_script
from jaxlin.chapters.ch3_01_gaussian_noise import (
    gaussian_nll,
    loss_and_nll,
    loss_and_nll_profile,
    normal,
    perturb_w,
    squared_loss_nll,
)
from jaxlin.chapters.ch3_01_linear_regression import (
    add,
    add_loop_jax,
    add_loop_numpy,
    time_calls,
    time_vectorization,
)
from jaxlin.chapters.ch3_04_softmax_regression import (
    binary_accuracy,
    boundary_frame,
    cross_entropy_grad,
    cross_entropy_pq,
    entropy,
    information,
    init_linear_classifier,
    kl_divergence,
    least_squares_classifier,
    likelihood,
    linear_classifier,
    log_likelihood,
    perceptron_epoch,
    perceptron_mistake_bound,
    sigmoid_squared_loss,
    train_perceptron,
    train_sigmoid_classifier,
    two_class_data,
)
from jaxlin.data.synthetic import synthetic_data
from jaxlin.nn.linear import linreg_closed_form
from jaxlin.nn.losses import binary_cross_entropy, binary_cross_entropy_logits, softmax_cross_entropy
from jaxlin.nn.softmax import softmax

P = jnp.array([0.5, 0.25, 0.25])
# The ch3_04 script's data set and settings: the same shapes and static arguments, so the
# tests and the script share compilations (jit caches are per process).
CENTER, ANGLE = (1.0, 1.0), 0.5
N, OUTLIERS, TEST_N, STEPS, LR, PERCEPTRON_EPOCHS = 100, 10, 500, 200, 2.0, 20


# ------------------------------------------------------------------ 3.1 vectorization

def test_loops_compute_the_vectorized_add():
    a, b = np.arange(5, dtype=np.float32), np.full(5, 2.0, np.float32)
    np.testing.assert_array_equal(add_loop_numpy(a, b), [2, 3, 4, 5, 6])
    np.testing.assert_array_equal(add_loop_jax(jnp.asarray(a), jnp.asarray(b), 3), [2, 3, 4, 0, 0])
    np.testing.assert_array_equal(add_loop_jax(jnp.asarray(a), jnp.asarray(b)), [2, 3, 4, 5, 6])
    np.testing.assert_array_equal(add(jnp.asarray(a), jnp.asarray(b)), [2, 3, 4, 5, 6])


def test_time_calls_blocks_and_counts():
    times = time_calls(lambda: jnp.ones(3) + 1, 4)
    assert len(times) == 4 and all(t > 0 for t in times)
    with pytest.raises(ValueError):
        time_calls(lambda: None, 0)


def test_time_vectorization_extrapolates_the_bounded_jax_loop():
    t = time_vectorization(200, jax_loop_steps=20, repeats=2)
    s = t["seconds"]
    assert t["extrapolated"] and t["jax_loop_steps"] == 20 and t["loops_agree_with_add"]
    assert s["jax_loop_extrapolated"] == pytest.approx(s["jax_loop"] * 10)
    assert all(v > 0 for v in s.values()) and all(v > 0 for v in t["speedups"].values())
    assert t["speedups"]["numpy_loop/jit"] == pytest.approx(s["numpy_loop"] / s["jit"])
    full = time_vectorization(30, jax_loop_steps=100, repeats=1)   # more steps than n: run in full
    assert not full["extrapolated"] and full["jax_loop_steps"] == 30


# ------------------------------------------------------------------ 3.1.3 normal distribution and NLL

def test_normal_density_values():
    np.testing.assert_allclose(normal(jnp.array([0.0, 1.0]), 0, 1),
                               [1 / math.sqrt(2 * math.pi), math.exp(-0.5) / math.sqrt(2 * math.pi)], rtol=1e-6)
    assert float(normal(jnp.float32(0.0), 0, 2)) == pytest.approx(0.199471, rel=1e-5)
    assert float(normal(jnp.float32(3.0), 3, 1)) == pytest.approx(0.398942, rel=1e-5)


@pytest.mark.parametrize("mu,sigma", [(0, 1), (0, 2), (3, 1), (-1.5, 0.3)])
def test_normal_integrates_to_one_and_matches_scipy(mu, sigma):
    x = np.linspace(mu - 10 * sigma, mu + 10 * sigma, 20001)
    p = np.asarray(normal(jnp.asarray(x), mu, sigma))
    assert np.trapezoid(p, x) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(p, jax.scipy.stats.norm.pdf(jnp.asarray(x), mu, sigma), rtol=1e-5, atol=1e-8)


def test_nll_per_example_hand_values():
    y_hat, y = jnp.array([0.0, 0.0]), jnp.array([0.0, 1.0])
    half_log_2pi = 0.5 * math.log(2 * math.pi)                      # 0.918939
    for f in (gaussian_nll, squared_loss_nll):
        np.testing.assert_allclose(f(y_hat, y, 1.0), [half_log_2pi, half_log_2pi + 0.5], rtol=1e-6)
    # σ = 2: ½·log(8π) + 1/(2·4)
    assert float(gaussian_nll(y_hat, y, 2.0)[1]) == pytest.approx(0.5 * math.log(8 * math.pi) + 0.125, rel=1e-6)


@settings(max_examples=15, deadline=None)
@given(sigma=st.floats(0.05, 5.0), seed=st.integers(0, 2 ** 16))
def test_nll_equals_constant_plus_squared_error(sigma, seed):
    """−Σ log N(y; ŷ, σ²) = n/2·log(2πσ²) + Σ(y − ŷ)²/(2σ²), the right side in float64 by hand."""
    rng = np.random.default_rng(seed)
    y_hat, y = rng.normal(size=50).astype(np.float32), rng.normal(size=50).astype(np.float32)
    by_hand = 25 * math.log(2 * math.pi * sigma ** 2) + ((y.astype(np.float64) - y_hat) ** 2).sum() / (2 * sigma ** 2)
    nll = float(gaussian_nll(jnp.asarray(y_hat), jnp.asarray(y), sigma).sum())
    assert nll == pytest.approx(by_hand, rel=1e-5, abs=1e-3)
    np.testing.assert_allclose(squared_loss_nll(jnp.asarray(y_hat), jnp.asarray(y), sigma),
                               gaussian_nll(jnp.asarray(y_hat), jnp.asarray(y), sigma), rtol=1e-5, atol=1e-5)


def test_perturb_w_and_loss_and_nll_by_hand():
    params = {"w": jnp.array([[1.0], [2.0]]), "b": jnp.array([0.5])}
    batch = perturb_w(params, 1, jnp.array([-1.0, 0.0, 3.0]))
    np.testing.assert_array_equal(batch["w"][:, :, 0], [[1, 1], [1, 2], [1, 5]])
    np.testing.assert_array_equal(batch["b"], [[0.5]] * 3)
    X, y = jnp.array([[1.0, 1.0], [0.0, 1.0]]), jnp.array([[3.5], [3.5]])   # ŷ = (3.5, 2.5)
    v = loss_and_nll(params, X, y, 1.0)
    assert float(v["loss_sum"]) == pytest.approx(0.5)
    assert float(v["nll"]) == pytest.approx(math.log(2 * math.pi) + 0.5, rel=1e-6)
    assert float(v["nll_formula"]) == pytest.approx(float(v["nll"]), rel=1e-6)


def test_least_squares_w_maximizes_the_likelihood_for_every_sigma():
    X, y = synthetic_data(jax.random.key(3), jnp.array([2.0, -3.4]), 4.2, 200, noise=0.3)
    w = linreg_closed_form(X, y)
    params = {"w": w["w"], "b": w["b"].reshape(1)}
    deltas = jnp.arange(-100, 101, dtype=jnp.float32) / 100
    for index in (0, 1):
        for sigma in (0.1, 0.3, 2.0):
            p = loss_and_nll_profile(params, X, y, sigma, index, deltas)
            assert int(jnp.argmin(p["loss_sum"])) == int(jnp.argmin(p["nll"])) == 100
            slope = (p["nll"][0] - p["nll"][100]) / (p["loss_sum"][0] - p["loss_sum"][100])
            assert float(slope) == pytest.approx(1 / sigma ** 2, rel=1e-3)
            np.testing.assert_allclose(p["nll"], p["nll_formula"], rtol=1e-5)


# ------------------------------------------------------------------ 3.4 softmax, likelihood, information

def test_softmax_of_the_book_logits_keeps_their_order():
    o = jnp.array([[2.0, 1.0, 0.1]])
    y_hat = softmax(o)[0]
    np.testing.assert_allclose(y_hat, [0.659, 0.242, 0.099], atol=5e-4)
    assert float(y_hat.sum()) == pytest.approx(1.0)
    np.testing.assert_array_equal(jnp.argsort(y_hat), jnp.argsort(o[0]))


def test_likelihood_of_three_examples():
    probs = jnp.array([0.8, 0.6, 0.7])
    assert float(likelihood(probs)) == pytest.approx(0.336, rel=1e-6)
    assert float(log_likelihood(probs)) == pytest.approx(math.log(0.336), rel=1e-6)
    assert round(float(log_likelihood(probs)), 3) == -1.091


def test_information_in_bits_and_nats():
    np.testing.assert_allclose(information(jnp.array([1.0, 0.5, 0.25, 0.125]), base=2), [0, 1, 2, 3], atol=1e-6)
    assert float(information(jnp.float32(math.exp(-1)))) == pytest.approx(1.0, rel=1e-6)


def test_entropy_hand_values():
    assert float(entropy(P, base=2)) == pytest.approx(1.5, rel=1e-6)
    assert float(entropy(jnp.full(4, 0.25))) == pytest.approx(math.log(4), rel=1e-6)
    assert float(entropy(jnp.array([1.0, 0.0]))) == 0.0              # 0·log 0 = 0, no NaN
    np.testing.assert_allclose(entropy(jnp.array([[0.5, 0.5], [1.0, 0.0]]), base=2), [1.0, 0.0], atol=1e-7)


def test_cross_entropy_of_distributions_hand_values():
    assert float(cross_entropy_pq(P, P, base=2)) == pytest.approx(1.5, rel=1e-6)
    assert float(cross_entropy_pq(P, jnp.full(3, 1 / 3), base=2)) == pytest.approx(math.log2(3), rel=1e-6)
    assert float(cross_entropy_pq(P, jnp.array([0.25, 0.25, 0.5]), base=2)) == pytest.approx(1.75, rel=1e-6)
    assert float(kl_divergence(P, jnp.array([0.25, 0.25, 0.5]), base=2)) == pytest.approx(0.25, rel=1e-5)


@settings(max_examples=30, deadline=None)
@given(p=st.lists(st.floats(0.01, 1.0), min_size=2, max_size=6), seed=st.integers(0, 2 ** 16))
def test_cross_entropy_is_at_least_entropy(p, seed):
    p = np.asarray(p, np.float32) / np.sum(p)
    q = np.random.default_rng(seed).dirichlet(np.ones(len(p))).astype(np.float32)
    q = np.maximum(q, 1e-6) / np.maximum(q, 1e-6).sum()
    assert float(cross_entropy_pq(p, q)) >= float(entropy(p)) - 1e-5
    assert float(kl_divergence(p, q)) >= -1e-5
    assert float(cross_entropy_pq(p, p)) == pytest.approx(float(entropy(p)), abs=1e-5)


def test_cross_entropy_grad_hand_value():
    np.testing.assert_allclose(cross_entropy_grad(jnp.zeros((1, 2)), jnp.array([0])), [[-0.5, 0.5]])
    o = jnp.array([[2.0, 1.0, 0.1]])
    np.testing.assert_allclose(cross_entropy_grad(o, jnp.array([1])), [[0.659, 0.242 - 1, 0.099]], atol=5e-4)


def test_cross_entropy_grad_matches_jax_grad_and_finite_differences():
    key_o, key_y = jax.random.split(jax.random.key(0))
    o = jax.random.normal(key_o, (6, 4))
    y = jax.random.randint(key_y, (6,), 0, 4)
    loss = jax.jit(lambda o: softmax_cross_entropy(o, y).sum())   # row i's loss depends on row i only
    formula = cross_entropy_grad(o, y)
    np.testing.assert_allclose(jax.grad(loss)(o), formula, atol=1e-6)
    o64, h = np.asarray(o, np.float64), 1e-3
    fd = np.zeros_like(o64)
    for i in range(o64.shape[0]):
        for j in range(o64.shape[1]):
            e = np.zeros_like(o64)
            e[i, j] = h
            fd[i, j] = (float(loss(jnp.asarray(o64 + e, jnp.float32)))
                        - float(loss(jnp.asarray(o64 - e, jnp.float32)))) / (2 * h)
    np.testing.assert_allclose(fd, formula, atol=2e-3)


# ------------------------------------------------------------------ 3.4 two-class linear classifiers

def test_binary_losses_hand_values():
    y_hat, y = jnp.array([0.8, 0.8, 1.0]), jnp.array([1, 0, 1])
    np.testing.assert_allclose(binary_cross_entropy(y_hat, y), [-math.log(0.8), -math.log(0.2), 0.0], rtol=1e-5)
    o = jnp.array([0.0, 2.0, -3.0, 100.0])
    yo = jnp.array([1, 0, 1, 0])
    expected = [math.log(2), math.log(1 + math.exp(2)), math.log(1 + math.exp(3)), 100.0]
    np.testing.assert_allclose(binary_cross_entropy_logits(o, yo), expected, rtol=1e-5)
    np.testing.assert_allclose(binary_cross_entropy_logits(o[:3], yo[:3]),
                               binary_cross_entropy(jax.nn.sigmoid(o[:3]), yo[:3]), rtol=1e-5)
    np.testing.assert_allclose(sigmoid_squared_loss(jnp.array([0.0, 0.0]), jnp.array([1, 0])), [0.125, 0.125])


def test_gradients_of_the_two_losses_at_a_logit():
    """Logistic: σ(o) − y. Squared on σ: (σ(o) − y)·σ(o)(1 − σ(o)), which vanishes when σ saturates."""
    g_log = jax.grad(lambda o: binary_cross_entropy_logits(o, jnp.array(0)))
    g_sq = jax.grad(lambda o: sigmoid_squared_loss(o, jnp.array(0)))
    assert float(g_log(0.0)) == pytest.approx(0.5)
    assert float(g_sq(0.0)) == pytest.approx(0.125)
    assert float(g_log(8.0)) == pytest.approx(float(jax.nn.sigmoid(8.0)), rel=1e-6)   # ≈ 1: wrong, so learn
    assert float(g_sq(8.0)) < 4e-4                                                    # ≈ e⁻⁸: wrong, yet stuck


def test_linear_classifier_and_accuracy_by_hand():
    params = {"w": jnp.array([1.0, 2.0]), "b": jnp.asarray(-1.0)}
    X = jnp.array([[1.0, 1.0], [0.0, 0.0], [0.0, 1.0]])
    o = linear_classifier(params, X)
    np.testing.assert_allclose(o, [2.0, -1.0, 1.0])
    assert float(binary_accuracy(o, jnp.array([1, 0, 0]))) == pytest.approx(2 / 3)
    p = init_linear_classifier(jax.random.key(0), 3)
    assert p["w"].shape == (3,) and p["b"].shape == () and float(p["b"]) == 0.0


def test_boundary_frame_by_hand():
    u, v = boundary_frame(0.0)
    np.testing.assert_allclose(u, [1, 0])
    np.testing.assert_allclose(v, [0, 1])
    u, v = boundary_frame(math.pi / 2)
    np.testing.assert_allclose(u, [0, 1], atol=1e-7)
    np.testing.assert_allclose(v, [-1, 0], atol=1e-7)
    assert abs(float(u @ v)) < 1e-7


def test_two_class_data_is_separable_with_outliers_on_the_correct_side():
    X, y = two_class_data(jax.random.key(1), N, num_outliers=OUTLIERS, center=CENTER, angle=ANGLE)
    assert X.shape == (2 * N + OUTLIERS, 2) and X.dtype == jnp.float32 and y.dtype == jnp.int32
    assert int((y == 0).sum()) == N and int((y == 1).sum()) == N + OUTLIERS
    u, _ = boundary_frame(ANGLE)
    d = (2 * y - 1) * ((X - jnp.asarray(CENTER).reshape(1, 2)) @ u)
    assert float(d.min()) >= 0.25 - 1e-5                    # the default margin
    assert float(d[2 * N:].min()) > 6.0                     # the clump lies far on the class-1 side
    with pytest.raises(ValueError):
        two_class_data(jax.random.key(1), 5, num_outliers=-1)


def test_least_squares_classifier_by_hand():
    params = least_squares_classifier(jnp.array([[-1.0], [1.0], [3.0]]), jnp.array([0, 1, 1]))
    # targets t = (−1, 1, 1) on x = (−1, 1, 3): x̄ = 1, t̄ = 1/3, Σ(x − x̄)(t − t̄) = 4, Σ(x − x̄)² = 8,
    # so w = 4/8 = 0.5 and b = t̄ − w·x̄ = −1/6.
    np.testing.assert_allclose(params["w"], [0.5], atol=1e-5)
    np.testing.assert_allclose(params["b"], -1 / 6, atol=1e-5)


def test_perceptron_epoch_by_hand():
    zero = {"w": jnp.zeros(2), "b": jnp.zeros(())}
    params, mistakes = perceptron_epoch(zero, jnp.array([[1.0, 1.0], [-1.0, -1.0]]), jnp.array([1, 0]))
    # x₁: o = 0, a mistake: w = (1, 1), b = 1. x₂: o = −2 + 1 = −1 with s = −1: correct.
    np.testing.assert_array_equal(params["w"], [1.0, 1.0])
    assert float(params["b"]) == 1.0 and int(mistakes) == 1


def test_perceptron_mistake_bound_by_hand():
    X, y = jnp.array([[1.0, 0.0], [-1.0, 0.0]]), jnp.array([1, 0])
    assert float(perceptron_mistake_bound(X, y, jnp.array([1.0, 0.0]), 0.0)) == pytest.approx(2.0)  # R² = 2, γ = 1
    assert math.isinf(float(perceptron_mistake_bound(X, y, jnp.array([-1.0, 0.0]), 0.0)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_perceptron_converges_on_separable_data(seed):
    X, y = two_class_data(jax.random.key(seed), N, num_outliers=OUTLIERS, center=CENTER, angle=ANGLE)
    zero = {"w": jnp.zeros(2), "b": jnp.zeros(())}
    params, mistakes = train_perceptron(zero, X, y, num_epochs=PERCEPTRON_EPOCHS, key=jax.random.key(seed + 10))
    mistakes = np.asarray(mistakes)
    first_clean = int(np.argmax(mistakes == 0))
    assert mistakes[first_clean] == 0 and not mistakes[first_clean:].any()   # once clean, stays clean
    assert float(binary_accuracy(linear_classifier(params, X), y)) == 1.0
    u, _ = boundary_frame(ANGLE)
    assert mistakes.sum() <= float(perceptron_mistake_bound(X, y, u, -float(u @ jnp.asarray(CENTER))))


def test_train_sigmoid_classifier_one_step_by_hand():
    zero = {"w": jnp.zeros(1), "b": jnp.zeros(())}
    params, h = train_sigmoid_classifier(binary_cross_entropy_logits, zero, jnp.array([[1.0]]), jnp.array([1]),
                                         lr=1.0, num_steps=1)
    # ∂l/∂o = σ(0) − 1 = −0.5 at x = 1: w = b = 0.5. History is recorded before the update.
    assert float(params["w"][0]) == pytest.approx(0.5) and float(params["b"]) == pytest.approx(0.5)
    assert float(h["loss"][0]) == pytest.approx(math.log(2)) and float(h["accuracy"][0]) == 0.0


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_outliers_pull_least_squares_but_not_the_sigmoid_models(seed):
    key_train, key_test, key_init = jax.random.split(jax.random.key(seed), 3)
    X, y = two_class_data(key_train, N, num_outliers=OUTLIERS, center=CENTER, angle=ANGLE)
    Xt, yt = two_class_data(key_test, TEST_N, center=CENTER, angle=ANGLE)
    acc = lambda p, X, y: float(binary_accuracy(linear_classifier(p, X), y))
    fit = {name: train_sigmoid_classifier(loss, init_linear_classifier(key_init), X, y, lr=LR,
                                          num_steps=STEPS)[0]
           for name, loss in (("squared", sigmoid_squared_loss), ("logistic", binary_cross_entropy_logits))}
    assert acc(fit["logistic"], X, y) == 1.0 and acc(fit["logistic"], X, y) >= acc(fit["squared"], X, y)
    assert acc(fit["logistic"], Xt, yt) >= acc(fit["squared"], Xt, yt)
    with_outliers = least_squares_classifier(X, y)
    without = least_squares_classifier(X[:2 * N], y[:2 * N])
    assert acc(with_outliers, Xt, yt) <= acc(fit["logistic"], Xt, yt) - 0.01
    assert acc(with_outliers, Xt, yt) < acc(without, Xt, yt)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_saturated_start_stalls_the_squared_loss_only(seed):
    X, y = two_class_data(jax.random.key(seed), N, num_outliers=OUTLIERS, center=CENTER, angle=ANGLE)
    start = {"w": jnp.zeros(2), "b": jnp.asarray(8.0)}
    _, sq = train_sigmoid_classifier(sigmoid_squared_loss, start, X, y, lr=LR, num_steps=STEPS)
    _, lg = train_sigmoid_classifier(binary_cross_entropy_logits, start, X, y, lr=LR, num_steps=STEPS)
    class1 = float((y == 1).mean())
    assert float(sq["accuracy"][-1]) == pytest.approx(class1)      # still calls everything class 1
    assert float(lg["accuracy"][-1]) >= 0.99


# ------------------------------------------------------------------ the scripts

def read_results(folder):
    results = json.loads((folder / "results.json").read_text())
    pngs = list(folder.glob("*.png"))
    assert pngs and all(p.stat().st_size > 0 for p in pngs)
    assert sorted(results["files"]) == sorted(p.name for p in pngs)
    return results


def test_ch3_01_script(tmp_path):
    returned = load_script("ch3_01_linear_regression").main(
        ["--out", str(tmp_path), "--jax-loop-steps", "20", "--repeats", "3", "--num-examples", "200"])
    results = read_results(tmp_path)
    assert set(results["files"]) == {"vectorization.png", "normal.png", "squared_loss_vs_nll.png"}
    v = results["vectorization"]
    assert v["extrapolated"] and v["loops_agree_with_add"] and v["seconds"]["jit_compile"] > 0
    assert returned["vectorization"]["speedups"] == v["speedups"]
    for integral in results["normal_integrals"].values():
        assert integral == pytest.approx(1.0, abs=1e-3)
    ml = results["max_likelihood"]
    assert ml["per_example_max_abs_diff"] < 1e-5
    assert all(c["rel_diff"] < 1e-5 for c in ml["check"].values())
    for s in ("0.25", "0.5", "1.0"):
        p = ml["profile"][f"sigma={s}"]
        assert p["loss_argmin"] == p["nll_argmin"] == 100
        assert p["slope"] == pytest.approx(p["expected_slope"], rel=1e-3)


def test_ch3_04_script(tmp_path):
    load_script("ch3_04_softmax_regression").main(["--out", str(tmp_path)])
    results = read_results(tmp_path)
    assert set(results["files"]) == {"entropy.png", "decision_boundaries.png", "training.png"}
    np.testing.assert_allclose(results["softmax"]["probabilities"], [0.659, 0.242, 0.099], atol=5e-4)
    assert results["softmax"]["keeps_order"]
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
