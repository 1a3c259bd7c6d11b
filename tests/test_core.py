"""The pure training core: linear regression pieces, sgd, the jitted step, data_iter, fit."""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from conftest import load_script
from jaxlin import (
    Timer,
    data_iter,
    evaluate_accuracy,
    evaluate_loss,
    init_linreg,
    linreg,
    linreg_closed_form,
    load_pytree,
    make_train_epoch,
    make_train_step,
    save_pytree,
    sgd,
    squared_loss,
    synthetic_data,
)
from jaxlin.train.book import BookEpoch
from jaxlin.train.evaluate import evaluate_sums
from jaxlin.train.fit import fit

TRUE_W, TRUE_B = jnp.array([2.0, -3.4]), 4.2


@pytest.fixture(scope="module")
def data():
    return synthetic_data(jax.random.key(0), TRUE_W, TRUE_B, 1000)


def test_synthetic_data_shapes_and_noise(data):
    X, y = data
    assert X.shape == (1000, 2) and y.shape == (1000, 1)
    residual = y[:, 0] - (X @ TRUE_W + TRUE_B)
    assert abs(float(residual.std()) - 0.01) < 0.002       # noise N(0, 0.01²)
    assert abs(float(X.mean())) < 0.1 and abs(float(X.std()) - 1) < 0.1


def test_linreg_and_squared_loss_by_hand():
    params = {"w": jnp.array([[1.0], [2.0]]), "b": jnp.array([0.5])}
    X = jnp.array([[1.0, 1.0], [0.0, -1.0]])
    y_hat = linreg(params, X)
    np.testing.assert_allclose(y_hat, [[3.5], [-1.5]])
    # y given as (n,) is reshaped to ŷ's (n, 1): no silent (n, n) broadcast
    loss = squared_loss(y_hat, jnp.array([3.0, 0.5]))
    assert loss.shape == (2, 1)
    np.testing.assert_allclose(loss, [[0.125], [2.0]])


def test_squared_loss_gradient_matches_closed_form(data):
    X, y = data
    params = {"w": jnp.array([[0.3], [-0.2]]), "b": jnp.array([0.1])}
    grads = jax.grad(lambda p: squared_loss(linreg(p, X), y).sum())(params)
    r = linreg(params, X) - y                            # dL/dŷ for L = Σ ½(ŷ − y)²
    np.testing.assert_allclose(grads["w"], X.T @ r, rtol=1e-4)
    np.testing.assert_allclose(grads["b"], r.sum(0), rtol=1e-4)


def test_squared_loss_gradient_matches_finite_differences():
    X = jnp.array([[0.5, -1.0], [2.0, 0.3], [-0.7, 0.9]], jnp.float32)
    y = jnp.array([[1.0], [-2.0], [0.5]])
    f = lambda w: float(squared_loss(X @ w.reshape(2, 1), y).sum())  # noqa: E731
    w = np.array([0.2, -0.4], np.float64)
    g = jax.grad(lambda w: squared_loss(X @ w.reshape(2, 1), y).sum())(jnp.asarray(w, jnp.float32))
    eps = 1e-2
    fd = [(f(jnp.asarray(w + eps * e, jnp.float32)) - f(jnp.asarray(w - eps * e, jnp.float32))) / (2 * eps)
          for e in np.eye(2)]
    np.testing.assert_allclose(g, fd, rtol=1e-3)


def test_sgd_is_the_update_equation():
    params = {"w": jnp.array([1.0, 2.0]), "b": jnp.array(0.5)}
    grads = {"w": jnp.array([10.0, -20.0]), "b": jnp.array(4.0)}
    new = sgd(params, grads, lr=0.1, batch_size=5)
    np.testing.assert_allclose(new["w"], [1.0 - 0.1 * 10 / 5, 2.0 + 0.1 * 20 / 5])
    np.testing.assert_allclose(new["b"], 0.5 - 0.1 * 4 / 5)
    np.testing.assert_allclose(params["w"], [1.0, 2.0])     # nothing mutated


def test_closed_form_recovers_true_parameters(data):
    sol = linreg_closed_form(*data)
    np.testing.assert_allclose(sol["w"].reshape(-1), TRUE_W, atol=0.01)
    assert abs(float(sol["b"][0]) - TRUE_B) < 0.01


def test_closed_form_is_least_squares_for_ill_conditioned_features():
    key = jax.random.key(3)
    x = jax.random.normal(key, (200, 1))
    X = jnp.concatenate([x, 1e3 * x + 1e-2 * jax.random.normal(jax.random.key(4), (200, 1))], 1)
    y = X @ jnp.array([[1.0], [0.001]]) + 2.0
    sol = linreg_closed_form(X, y)
    fitted = linreg(sol, X)
    assert float(jnp.abs(fitted - y).max()) < 1e-2


def test_train_step_traces_once_and_works_with_optax(data):
    X, y = data
    traces = []

    def counting_linreg(params, X):
        traces.append(1)                   # runs only while tracing
        return linreg(params, X)

    for updater in (functools.partial(sgd, lr=0.03), optax.sgd(0.03)):
        traces.clear()
        step = make_train_step(counting_linreg, squared_loss, updater)
        params = init_linreg(jax.random.key(1), 2)
        opt_state = updater.init(params) if hasattr(updater, "init") else ()
        for epoch in range(3):
            for Xb, yb in data_iter(jax.random.key(epoch), 10, X, y):
                params, opt_state, metrics = step(params, opt_state, Xb, yb)
        assert len(traces) == 1
        assert evaluate_loss(linreg, params, (X, y), squared_loss) < 1e-4


def test_scratch_sgd_and_optax_sgd_give_the_same_step(data):
    X, y = data[0][:10], data[1][:10]
    params = init_linreg(jax.random.key(1), 2)
    p1, _, m1 = make_train_step(linreg, squared_loss, functools.partial(sgd, lr=0.03))(params, (), X, y)
    opt = optax.sgd(0.03)
    p2, _, m2 = make_train_step(linreg, squared_loss, opt)(params, opt.init(params), X, y)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), p1, p2)
    np.testing.assert_allclose(m1["loss"], squared_loss(linreg(params, X), y).mean(), rtol=1e-6)


def test_data_iter_covers_every_example_once_and_orders_differ(data):
    X, y = jnp.arange(103.0).reshape(-1, 1), jnp.arange(103)
    seen = np.concatenate([np.asarray(yb) for _, yb in data_iter(jax.random.key(0), 10, X, y)])
    assert sorted(seen.tolist()) == list(range(103))
    other = np.concatenate([np.asarray(yb) for _, yb in data_iter(jax.random.key(1), 10, X, y)])
    assert not np.array_equal(seen, other)
    for Xb, yb in data_iter(jax.random.key(0), 10, X, y):
        np.testing.assert_array_equal(Xb[:, 0], yb)           # features stay with their labels
    full = [yb.shape[0] for _, yb in data_iter(jax.random.key(0), 10, X, y, drop_remainder=True)]
    assert full == [10] * 10


@pytest.mark.parametrize("bad, match", [
    (dict(features=jnp.ones((5, 2)), labels=jnp.ones((4, 1))), "same number of examples"),
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size=-3), "batch_size"),
])
def test_data_iter_rejects_bad_input(bad, match):
    args = dict(batch_size=2, features=jnp.ones((5, 2)), labels=jnp.ones((5, 1))) | bad
    with pytest.raises(ValueError, match=match):
        next(data_iter(jax.random.key(0), **args))


@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan"), float("inf")])
def test_bad_learning_rate_is_refused_before_compiling(lr):
    with pytest.raises(ValueError, match="lr"):
        make_train_step(linreg, squared_loss, functools.partial(sgd, lr=lr))
    with pytest.raises(ValueError, match="lr"):
        sgd({"w": jnp.ones(2)}, {"w": jnp.ones(2)}, lr, 2)


def test_fit_rejects_mismatched_lengths_and_batch_size():
    p = init_linreg(jax.random.key(0), 2)
    up = functools.partial(sgd, lr=0.1)
    with pytest.raises(ValueError, match="same number of examples"):
        fit(linreg, p, squared_loss, up, (jnp.ones((5, 2)), jnp.ones((4, 1))), num_epochs=1,
            batch_size=2, key=jax.random.key(0))
    with pytest.raises(ValueError, match="batch_size"):
        fit(linreg, p, squared_loss, up, (jnp.ones((5, 2)), jnp.ones((5, 1))), num_epochs=1,
            batch_size=6, key=jax.random.key(0))


def test_compiled_epoch_equals_book_loop(data):
    params = init_linreg(jax.random.key(1), 2)
    kw = dict(num_epochs=2, batch_size=10, key=jax.random.key(5))
    up = functools.partial(sgd, lr=0.03)
    a = fit(linreg, params, squared_loss, up, data, **kw)
    b = fit(linreg, params, squared_loss, up, data, train_epoch=BookEpoch.make(linreg, squared_loss, up, 10), **kw)
    jax.tree.map(lambda u, v: np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6), a.params, b.params)
    assert [h["epoch"] for h in a.history] == [1, 2]
    np.testing.assert_allclose([h["train_loss"] for h in a.history],
                               [h["train_loss"] for h in b.history], rtol=1e-5)


def test_compiled_epoch_traces_once(data):
    traces = []

    def counting_linreg(params, X):
        traces.append(1)
        return linreg(params, X)

    epoch = make_train_epoch(counting_linreg, squared_loss, functools.partial(sgd, lr=0.03), 10)
    params = init_linreg(jax.random.key(1), 2)
    for k in range(3):
        params, _, sums = epoch(params, (), *data, jax.random.key(k))
    n_traces = len(traces)
    params, _, sums = epoch(params, (), *data, jax.random.key(9))
    assert len(traces) == n_traces                         # no retrace on later epochs
    assert float(sums["n"]) == 1000


def test_evaluation_counts_every_example_once():
    X = jnp.arange(1234.0).reshape(-1, 1)
    y = (jnp.arange(1234) % 3).astype(jnp.int32)
    net = lambda params, X: jax.nn.one_hot((X[:, 0] % 3).astype(jnp.int32) * params, 3)  # noqa: E731
    sums = evaluate_sums(net, 1, X, y, chunk=100)                 # 1234 = 12 * 100 + 34 padded
    assert int(sums["n"]) == 1234 and int(sums["correct"]) == 1234
    assert evaluate_accuracy(net, 0, (X, y)) == pytest.approx(float((y == 0).mean()))
    batches = [(X[i:i + 500], y[i:i + 500]) for i in range(0, 1234, 500)]
    assert evaluate_accuracy(net, 0, batches) == pytest.approx(float((y == 0).mean()))


def test_pytree_save_load_round_trip_is_bit_exact(tmp_path):
    tree = {"w": jax.random.normal(jax.random.key(0), (3, 4)), "b": [jnp.arange(3), (jnp.ones(2),)]}
    save_pytree(tmp_path / "t.npz", tree)
    back = load_pytree(tmp_path / "t.npz", like=tree)
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(a, b), tree, back)
    assert not list(tmp_path.glob("*.tmp"))
    with pytest.raises(ValueError, match=r"\['w'\].*\(3, 4\).*\(4, 4\)"):
        load_pytree(tmp_path / "t.npz", like=tree | {"w": jnp.ones((4, 4))})


def test_timer_accumulates():
    timer = Timer()
    timer.stop()
    timer.start()
    timer.stop()
    assert len(timer.times) == 2 and timer.sum() >= 0 and timer.cumsum()[-1] == pytest.approx(timer.sum())


@pytest.mark.parametrize("name", ["ch3_02_linear_regression_scratch", "ch3_03_linear_regression_concise"])
def test_linear_regression_scripts_meet_the_book(name, tmp_path):
    results = load_script(name).main(["--out", str(tmp_path)])
    assert results["history"][-1]["train_loss"] < 1e-4
    assert [h["epoch"] for h in results["history"]] == [1, 2, 3]
    assert np.all(np.abs(results["w_error"]) < 0.01) and abs(results["b_error"]) < 0.01
    np.testing.assert_allclose(results["closed_form"]["w"], TRUE_W, atol=0.01)
    assert (tmp_path / "results.json").is_file()
    assert (tmp_path / "loss.png").is_file()
