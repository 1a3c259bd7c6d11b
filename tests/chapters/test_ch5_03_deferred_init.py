"""5.3 deferred initialization: Linen infers shapes from data; NNX's are declared; eval_shape sees both."""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import pytest
from flax import nnx

from jaxlin.chapters.ch5_02_parameters import named_parameters
from jaxlin.chapters.ch5_03_deferred_init import abstract_params, infer_shapes
from jaxlin.nn.nnx_adapter import nnx_model

KEY = jax.random.key(0)


def test_linen_shapes_are_inferred_from_the_input():
    net = nn.Sequential([nn.Dense(256), nn.relu, nn.Dense(10)])
    abstract = infer_shapes(net, KEY, (2, 20))
    assert all(isinstance(leaf, jax.ShapeDtypeStruct) for leaf in jax.tree.leaves(abstract))
    expected = [("params/layers_0/bias", (256,)), ("params/layers_0/kernel", (20, 256)),
                ("params/layers_2/bias", (10,)), ("params/layers_2/kernel", (256, 10))]
    assert named_parameters(abstract) == expected
    assert named_parameters(net.init(KEY, jnp.ones((2, 20)))) == expected
    assert dict(named_parameters(infer_shapes(net, KEY, (2, 30))))["params/layers_0/kernel"] == (30, 256)


def test_nnx_needs_in_features_and_eval_shape_gives_its_shapes():
    with pytest.raises(TypeError, match="in_features"):
        nnx.Linear(out_features=256, rngs=nnx.Rngs(0))
    init, net = nnx_model(lambda rngs: nnx.Sequential(nnx.Linear(20, 256, rngs=rngs), nnx.relu,
                                                      nnx.Linear(256, 10, rngs=rngs)))
    abstract = abstract_params(init, KEY)
    assert all(isinstance(leaf, jax.ShapeDtypeStruct) for leaf in jax.tree.leaves(abstract))
    expected = [("layers/0/bias", (256,)), ("layers/0/kernel", (20, 256)),
                ("layers/2/bias", (10,)), ("layers/2/kernel", (256, 10))]
    assert named_parameters(abstract) == expected
    params = init(KEY)
    assert named_parameters(params) == expected and net(params, jnp.ones((2, 20))).shape == (2, 10)
