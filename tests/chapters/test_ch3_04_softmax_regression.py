"""3.4 softmax regression's ideas: likelihood, information theory, two-class linear classifiers."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from jaxlin.nn.losses import binary_cross_entropy_logits, softmax_cross_entropy

P = jnp.array([0.5, 0.25, 0.25])
# The ch3_04 script's data set and settings: the same shapes and static arguments, so the
# tests and the script share compilations (jit caches are per process).
CENTER, ANGLE = (1.0, 1.0), 0.5


N, OUTLIERS, TEST_N, STEPS, LR, PERCEPTRON_EPOCHS = 100, 10, 500, 200, 2.0, 20


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
