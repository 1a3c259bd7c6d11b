"""5.4 custom layers in NNX: a layer without parameters and one with its own nnx.Params."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxlin.chapters.ch5_02_parameters import named_parameters
from jaxlin.chapters.ch5_04_custom_layer import CenteredLayer, MyDense


def test_centered_layer_has_no_parameters():
    layer = CenteredLayer()
    assert layer(jnp.array([1.0, 2, 3, 4, 5])).tolist() == [-2.0, -1.0, 0.0, 1.0, 2.0]
    assert named_parameters(layer) == []
    net = nnx.Sequential(nnx.Linear(8, 128, rngs=nnx.Rngs(0)), CenteredLayer())
    assert abs(float(net(jax.random.uniform(jax.random.key(2), (4, 8))).mean())) < 1e-6


def test_my_dense_matches_its_equation_and_is_differentiable():
    layer = MyDense(5, 3, rngs=nnx.Rngs(0))
    assert named_parameters(layer) == [("bias", (3,)), ("weight", (5, 3))]
    X = jax.random.uniform(jax.random.key(2), (2, 5))
    W, b = layer.weight[...], layer.bias[...]
    np.testing.assert_allclose(layer(X), np.maximum(np.asarray(X) @ np.asarray(W) + np.asarray(b), 0), rtol=1e-6)
    grads = nnx.to_pure_dict(nnx.grad(lambda m: m(X).sum())(layer))
    active = (X @ W + b.reshape(1, -1) > 0).astype(jnp.float32)             # d/dW Σ relu(XW + b) = Xᵀ 1[XW + b > 0]
    np.testing.assert_allclose(grads["weight"], X.T @ active, rtol=1e-6)
    np.testing.assert_allclose(grads["bias"], active.sum(0), rtol=1e-6)
    with pytest.raises(ValueError, match="expects 5 input features"):
        layer(jnp.ones((2, 4)))


def test_my_dense_composes():
    net = nnx.Sequential(MyDense(64, 8, rngs=nnx.Rngs(0)), MyDense(8, 1, rngs=nnx.Rngs(1)))
    out = net(jnp.ones((2, 64)))
    assert out.shape == (2, 1) and (out >= 0).all()
    assert [p for p, _ in named_parameters(net)] == ["layers/0/bias", "layers/0/weight",
                                                     "layers/1/bias", "layers/1/weight"]


def test_the_notebooks_layers_equal_the_librarys(tmp_path):
    """scripts/ch5_04_custom_layer.py writes CenteredLayer and MyDense in its cells: from the
    same keys, the same parameters and the same outputs as jaxlin's, eagerly and under jit."""
    from conftest import chapter_namespace
    ns = chapter_namespace("ch5_04_custom_layer", ["--out", str(tmp_path), "--quiet"])
    X = jax.random.normal(jax.random.key(3), (4, 5))
    np.testing.assert_array_equal(ns["CenteredLayer"]()(X), CenteredLayer()(X))
    mine, theirs = ns["MyDense"](5, 3, rngs=nnx.Rngs(7)), MyDense(5, 3, rngs=nnx.Rngs(7))
    assert named_parameters(mine) == named_parameters(theirs)
    for a, b in zip(jax.tree.leaves(nnx.state(mine, nnx.Param)), jax.tree.leaves(nnx.state(theirs, nnx.Param))):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(mine(X), theirs(X))
    graphdef, state = nnx.split(mine)
    np.testing.assert_array_equal(jax.jit(lambda s, X: nnx.merge(graphdef, s)(X))(state, X), theirs(X))
    net = nnx.Sequential(MyDense(64, 8, rngs=nnx.Rngs(ns["keys"][4])), MyDense(8, 1, rngs=nnx.Rngs(ns["keys"][5])))
    np.testing.assert_array_equal(ns["out_mine"], net(jax.random.uniform(ns["keys"][6], (2, 64))))
    assert ns["centered_example"].tolist() == [-2.0, -1.0, 0.0, 1.0, 2.0] and abs(float(ns["Y"].mean())) < 1e-6
