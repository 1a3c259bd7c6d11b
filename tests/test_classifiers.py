"""Fashion-MNIST classifiers at the book's settings (3.6, 3.7, 4.2, 4.3, 4.6) and dropout."""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import load_script
from jaxlin import dropout_layer, init_mlp, mlp, mlp_dropout, sgd, softmax_cross_entropy
from jaxlin.train.epoch import make_train_epoch

pytestmark = pytest.mark.data

BOOK_RUNS = [
    ("ch3_06_softmax_regression_scratch", [], 0.82),
    ("ch3_07_softmax_regression_concise", [], 0.82),
    ("ch4_02_mlp_scratch", [], 0.84),
    ("ch4_03_mlp_concise", [], 0.84),
    ("ch4_06_dropout", ["--impl", "scratch"], 0.83),
    ("ch4_06_dropout", ["--impl", "concise"], 0.83),
]


@pytest.mark.parametrize("name, extra, floor", BOOK_RUNS, ids=[f"{n}{''.join(e)}" for n, e, _ in BOOK_RUNS])
def test_book_settings_reach_the_accuracy_floor(name, extra, floor, fashion_mnist, tmp_path):
    results = load_script(name).main(["--out", str(tmp_path), "--quiet", *extra])
    history = results["history"]
    assert [h["epoch"] for h in history] == list(range(1, 11))
    assert set(history[0]) >= {"epoch", "train_loss", "train_acc", "test_acc"}
    assert history[-1]["test_acc"] >= floor
    if name.startswith("ch3"):
        assert history[-1]["train_loss"] < 0.5
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert {"load_data", "compile", "train"} <= set(results["seconds"])
    assert (tmp_path / "curves.png").is_file() and (tmp_path / "predictions.png").is_file()
    assert (tmp_path / "results.json").is_file()


def test_dropout_p0_is_identity_and_p1_is_zeros():
    X = jax.random.normal(jax.random.key(0), (4, 8))
    np.testing.assert_array_equal(dropout_layer(X, 0.0, key=jax.random.key(1)), X)
    np.testing.assert_array_equal(dropout_layer(X, 1.0, key=jax.random.key(1)), jnp.zeros_like(X))
    kept = dropout_layer(X, 0.5, key=jax.random.key(1))
    nonzero = kept != 0
    np.testing.assert_allclose(kept[nonzero], 2 * X[nonzero], rtol=1e-6)    # scaled by 1/(1 − p)
    with pytest.raises(ValueError, match="dropout"):
        dropout_layer(X, 1.5, key=jax.random.key(1))


def test_dropout_preserves_the_mean():
    X = jnp.ones((1000, 1000))
    for p in (0.2, 0.5, 0.8):
        out = dropout_layer(X, p, key=jax.random.key(2))
        assert abs(float(out.mean()) - 1.0) < 0.01                         # E[h'] = h
        assert abs(float((out == 0).mean()) - p) < 0.01


def test_two_consecutive_steps_use_different_masks():
    """Record the dropout mask each step sees: a fresh key per step, never a fixed one."""
    masks = []

    def net(params, X, *, key=None):
        if key is not None:
            jax.debug.callback(lambda m: masks.append(np.asarray(m)),
                               dropout_layer(jnp.ones((1, 64)), 0.5, key=jax.random.fold_in(key, 1)))
        return mlp_dropout(params, X, key=key, dropouts=(0.5,))

    params = init_mlp(jax.random.key(0), 8, 16, 3)
    X = jax.random.normal(jax.random.key(1), (20, 8))
    y = jnp.arange(20, dtype=jnp.int32) % 3
    epoch = make_train_epoch(net, softmax_cross_entropy, functools.partial(sgd, lr=0.1), 5, stochastic=True)
    params, _, _ = epoch(params, (), X, y, jax.random.key(7))
    jax.effects_barrier()
    assert len(masks) == 4
    assert all(not np.array_equal(a, b) for a, b in zip(masks, masks[1:]))
    params, _, _ = epoch(params, (), X, y, jax.random.key(8))
    jax.effects_barrier()
    assert not any(np.array_equal(masks[4], m) for m in masks[:4])


def test_evaluation_drops_nothing():
    params = init_mlp(jax.random.key(0), 8, (16, 16), 3)
    X = jax.random.normal(jax.random.key(1), (5, 8))
    np.testing.assert_array_equal(mlp_dropout(params, X), mlp(params, X))
    assert not np.array_equal(mlp_dropout(params, X, key=jax.random.key(3)), mlp(params, X))
