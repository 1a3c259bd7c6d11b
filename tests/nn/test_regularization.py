"""Weight decay: penalties by hand, the scratch penalty against optax's masked decay, L1."""
from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxlin.data.synthetic import synthetic_data
from jaxlin.nn.flax_adapter import flax_model
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
from jaxlin.train.step import make_train_step, train_step


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


def test_one_optax_step_of_each_weight_decay_matches_its_closed_form():
    """One step from w with gradient g, lr η, strength λ (the bias never decayed):
    l2: w − η(g + λw); l1: w − η(g + λ·sign w); l1-proximal: sign(v)·max(|v| − ηλ, 0), v = w − ηg."""
    import jax.numpy as jnp
    import numpy as np
    import optax

    from jaxlin.nn.regularization import sgd_weight_decay
    w, b = jnp.array([0.5, -0.02, 0.0, -1.5]), jnp.array([0.3])
    g, gb = jnp.array([0.1, 0.1, -0.2, 0.4]), jnp.array([0.5])
    params, grads, lr, lambd = {"w": w, "b": b}, {"w": g, "b": gb}, 0.1, 0.5
    v = w - lr * g
    expected = {"l2": w - lr * (g + lambd * w), "l1": w - lr * (g + lambd * jnp.sign(w)),
                "l1-proximal": jnp.sign(v) * jnp.maximum(jnp.abs(v) - lr * lambd, 0.0)}
    for method, want in expected.items():
        tx = sgd_weight_decay(lr, lambd, method)
        updates, _ = tx.update(grads, tx.init(params), params)
        new = optax.apply_updates(params, updates)
        np.testing.assert_allclose(new["w"], want, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(new["b"], b - lr * gb, rtol=1e-6)          # no decay on the bias
    assert float(expected["l1-proximal"][1]) == 0.0                          # |v| <= ηλ: exactly zero
