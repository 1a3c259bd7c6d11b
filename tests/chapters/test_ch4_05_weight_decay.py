"""4.5 writes init_params, l2_penalty, train(lambd) and train_concise(wd) in its cells; the
library's init_linreg, l2_penalty and fit with weight_penalty give the same numbers."""
from __future__ import annotations

import contextlib
import functools
import io

import jax
import numpy as np
import pytest

import jaxlin
from conftest import chapter_namespace
from helpers import train_model
from jaxlin.nn.regularization import l2_penalty, weight_penalty

NUM_EPOCHS = 3


@pytest.fixture(scope="module")
def ns(tmp_path_factory):
    out, printed = tmp_path_factory.mktemp("ch4_05"), io.StringIO()
    with contextlib.redirect_stdout(printed):
        namespace = chapter_namespace("ch4_05_weight_decay", ["--epochs", str(NUM_EPOCHS), "--out", str(out), "--quiet"])
    return namespace | {"printed": printed.getvalue()}


def test_the_cells_equal_the_library(ns):
    key = jax.random.key(5)
    for a, b in zip(jax.tree.leaves(ns["init_params"](key)), jax.tree.leaves(jaxlin.init_linreg(key, 200, sigma=1.0))):
        np.testing.assert_array_equal(a, b)
    w = jax.random.normal(key, (200, 1))
    np.testing.assert_allclose(ns["l2_penalty"](w), l2_penalty(w), rtol=1e-6)
    np.testing.assert_allclose(ns["l2_penalty"](w), float((np.asarray(w, np.float64) ** 2).sum() / 2), rtol=1e-5)


def library_fit(ns, lambd):
    return train_model(jaxlin.linreg, jaxlin.init_linreg(ns["key_init"], 200, sigma=1.0), jaxlin.squared_loss,
                       functools.partial(jaxlin.sgd, lr=0.003), ns["train_data"], num_epochs=NUM_EPOCHS, batch_size=5,
                       key=ns["key_fit"], evals={"train": ns["train_data"], "test": ns["test_data"]},
                       eval_loss=jaxlin.squared_loss, penalty=weight_penalty(lambd, "l2"))


@pytest.mark.parametrize("lambd", [0.0, 3.0])
def test_train_equals_jaxlin_fit_with_the_penalty(ns, lambd):
    """The notebook's train(lambd) and jaxlin.fit(..., penalty=weight_penalty(lambd)) from the
    same init and keys: the same params and losses per epoch (float rounding apart)."""
    params, history = ns["train"](lambd)
    result, _ = library_fit(ns, lambd)
    np.testing.assert_allclose(params["w"], result.params["w"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(params["b"], result.params["b"], rtol=1e-4, atol=1e-5)
    assert [h["epoch"] for h in history] == [h["epoch"] for h in result.history] == [1, 2, 3]
    for a, b in zip(history, result.history):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-3)
        assert a["test_loss"] == pytest.approx(b["test_loss"], rel=1e-4)


def test_train_concise_decays_the_weight_as_the_penalty_does(ns):
    """optax's masked weight decay on the NNX Linear, and jaxlin.fit of linreg with the penalty
    λ‖w‖²/2 from the same initial kernel and bias: the same trained weight and bias (the
    gradient of λ‖w‖²/2 is λw)."""
    from flax import nnx
    init, _ = jaxlin.nnx_model(lambda rngs: nnx.Linear(200, 1, kernel_init=nnx.initializers.normal(1.0), rngs=rngs))
    start = init(ns["key_init"])
    concise, _ = ns["train_concise"](3.0)
    result, _ = train_model(jaxlin.linreg, {"w": start["kernel"], "b": start["bias"]}, jaxlin.squared_loss,
                            functools.partial(jaxlin.sgd, lr=0.003), ns["train_data"], num_epochs=NUM_EPOCHS,
                            batch_size=5, key=ns["key_fit"], penalty=weight_penalty(3.0, "l2"))
    np.testing.assert_allclose(concise["kernel"], result.params["w"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(concise["bias"], result.params["b"], rtol=1e-4, atol=1e-5)
    assert not np.allclose(concise["kernel"], start["kernel"])                    # it trained


def test_it_prints_the_books_norms(ns):
    runs = ns["runs"]
    assert set(runs) == {"L2 λ=0", "L2 λ=3"} and runs["L2 λ=3"]["w_norm"] < runs["L2 λ=0"]["w_norm"]
    for r in runs.values():
        assert f"L2 norm of w: {r['w_norm']}" in ns["printed"]
