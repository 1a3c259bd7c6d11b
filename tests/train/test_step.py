"""The jitted train step: one trace, scratch sgd and optax alike, learning rates checked early."""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from helpers import linreg_data
from jaxlin import data_iter, evaluate_loss, init_linreg, linreg, make_train_step, sgd, squared_loss


@pytest.fixture(scope="module")
def data():
    return linreg_data()


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


@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan"), float("inf")])
def test_bad_learning_rate_is_refused_before_compiling(lr):
    with pytest.raises(ValueError, match="lr"):
        make_train_step(linreg, squared_loss, functools.partial(sgd, lr=lr))
    with pytest.raises(ValueError, match="lr"):
        sgd({"w": jnp.ones(2)}, {"w": jnp.ones(2)}, lr, 2)
