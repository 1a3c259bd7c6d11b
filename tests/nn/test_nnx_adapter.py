"""The NNX adapter: an ``nnx.Module`` as jaxlin's ``(init, net)``, params a plain nested dict."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from jaxlin import make_train_epoch, make_train_step, nnx_model


class TwoLayer(nnx.Module):
    def __init__(self, *, rngs: nnx.Rngs, rate: float = 0.5):
        self.hidden = nnx.Linear(3, 16, rngs=rngs)
        self.dropout = nnx.Dropout(rate, rngs=rngs)
        self.output = nnx.Linear(16, 2, rngs=rngs)

    def __call__(self, x):
        return self.output(self.dropout(nnx.relu(self.hidden(x))))


def test_params_are_a_plain_dict_and_net_is_the_modules_forward_pass():
    init, net = nnx_model(lambda rngs: TwoLayer(rngs=rngs))
    params = init(jax.random.key(0))
    assert isinstance(params, dict) and set(params) == {"hidden", "output"}
    assert params["hidden"]["kernel"].shape == (3, 16) and params["output"]["bias"].shape == (2,)
    X = jax.random.normal(jax.random.key(1), (5, 3))
    H = jnp.maximum(X @ params["hidden"]["kernel"] + params["hidden"]["bias"][None], 0)
    np.testing.assert_allclose(net(params, X), H @ params["output"]["kernel"] + params["output"]["bias"][None],
                               rtol=1e-5, atol=1e-6)
    assert not np.array_equal(init(jax.random.key(2))["hidden"]["kernel"], params["hidden"]["kernel"])


def test_dropout_masks_come_from_the_key():
    init, net = nnx_model(lambda rngs: TwoLayer(rngs=rngs))
    params, X = init(jax.random.key(0)), jnp.ones((64, 3))
    a, b = net(params, X, key=jax.random.key(1)), net(params, X, key=jax.random.key(2))
    np.testing.assert_array_equal(a, net(params, X, key=jax.random.key(1)))     # same key, same masks
    assert not np.array_equal(a, b)
    assert not np.array_equal(a, net(params, X))                              # evaluation drops nothing
    np.testing.assert_array_equal(net(params, X), net(params, X))


def test_the_jitted_step_and_the_compiled_epoch_train_it():
    init, net = nnx_model(lambda rngs: TwoLayer(rngs=rngs, rate=0.0))
    params = init(jax.random.key(0))
    X = jax.random.normal(jax.random.key(1), (200, 3))
    y = (X[:, 0] > 0).astype(jnp.int32)
    loss, tx = optax.softmax_cross_entropy_with_integer_labels, optax.sgd(0.5)
    step = make_train_step(net, loss, tx)
    _, _, first = step(params, tx.init(params), X, y)
    epoch = make_train_epoch(net, loss, tx, 20)
    state = tx.init(params)
    for e in range(20):
        params, state, sums = epoch(params, state, X, y, jax.random.key(e))
    assert float(sums["loss_sum"] / sums["n"]) < 0.5 * float(first["loss"])
    assert float(sums["correct"] / sums["n"]) > 0.9
