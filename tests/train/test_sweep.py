"""Sweeps: K models trained in one compiled epoch equal K separate fits."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import train_model
from jaxlin import init_mlp, mlp, softmax_cross_entropy
from jaxlin.train.sweep import init_sweep, make_sweep, sgd_with_lr, unstack


def argmax_labelled(n=600, d=12, classes=4, seed=0):
    """Gaussian inputs labelled by the argmax of a random linear map: learnable classes."""
    kx, kw = jax.random.split(jax.random.key(seed))
    X = jax.random.normal(kx, (n, d))
    y = jnp.argmax(X @ jax.random.normal(kw, (d, classes)), axis=1).astype(jnp.int32)
    return X, y


def test_sweep_of_k_models_equals_k_separate_runs():
    X, y = argmax_labelled()
    Xt, yt = argmax_labelled(200, seed=1)
    lrs, seeds = [0.05, 0.2, 0.8], [0, 1, 2]
    init = lambda key: init_mlp(key, 12, 16, 4, sigma=0.1)  # noqa: E731
    train = make_sweep(mlp, softmax_cross_entropy, 50, 3)
    params, state = init_sweep(init, lrs, seeds)
    key = jax.random.key(9)
    result = train(params, state, X, y, Xt, yt, key)
    for k, (lr, seed) in enumerate(zip(lrs, seeds)):
        single, _ = train_model(mlp, init(jax.random.key(seed)), softmax_cross_entropy, sgd_with_lr(lr), (X, y),
                                num_epochs=3, batch_size=50, key=key, evals={"test": (Xt, yt)})
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5),
                     unstack(result.params, k), single.params)
        np.testing.assert_allclose(result.test_acc[:, k], [h["test_acc"] for h in single.history], atol=1e-6)
        np.testing.assert_allclose(result.train_loss[:, k], [h["train_loss"] for h in single.history],
                                   rtol=1e-4)


def test_sweep_refuses_bad_learning_rates():
    with pytest.raises(ValueError, match="lr"):
        init_sweep(lambda key: init_mlp(key, 4, 4, 2), [0.1, -1.0], [0, 0])
    with pytest.raises(ValueError, match="one seed per learning rate"):
        init_sweep(lambda key: init_mlp(key, 4, 4, 2), [0.1, 0.2], [0])


def onehot_squared_loss(o, y):
    """A loss that stays finite for a label outside [0, C): one_hot(10) is all zeros."""
    return ((o - jax.nn.one_hot(y, o.shape[1])) ** 2).sum(axis=1)


@pytest.mark.parametrize("loss", [softmax_cross_entropy, onehot_squared_loss])
def test_sweep_reports_a_nan_loss_for_a_label_outside_the_classes(loss):
    X, y = argmax_labelled(100)
    train = make_sweep(mlp, loss, 50, 2)
    params, state = init_sweep(lambda key: init_mlp(key, 12, 8, 4), [0.1, 0.2], [0, 1])
    result = train(params, state, X, y.at[3].set(10), X, y, jax.random.key(0))
    assert bool(jnp.isnan(result.train_loss).all()), result.train_loss
    clean = train(params, state, X, y, X, y, jax.random.key(0))
    assert bool(jnp.isfinite(clean.train_loss).all())
