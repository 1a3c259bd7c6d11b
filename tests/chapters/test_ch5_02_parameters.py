"""5.2 and 5.3 parameters: names and counts, pure re-initialization, deferred shapes."""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxlin.chapters.ch5_02_parameters import infer_shapes, named_parameters, num_parameters, reinit
from jaxlin.nn.flax_adapter import flax_model

KEY = jax.random.key(0)


def test_named_parameters_and_count():
    params = {"layers_0": {"kernel": jnp.zeros((4, 8)), "bias": jnp.zeros(8)},
              "layers_2": {"kernel": jnp.zeros((8, 1))}}
    assert named_parameters(params) == [("layers_0/bias", (8,)), ("layers_0/kernel", (4, 8)),
                                        ("layers_2/kernel", (8, 1))]
    assert num_parameters(params) == 4 * 8 + 8 + 8


def test_reinit_is_pure_and_respects_layers():
    init, _ = flax_model(nn.Sequential([nn.Dense(8), nn.relu, nn.Dense(1)]))
    params = init(KEY, jnp.ones((2, 4)))
    before = jax.tree.map(np.array, params)
    only_last = reinit(jax.random.key(3), params, nn.initializers.constant(42), layers={"layers_2"})
    assert (only_last["layers_2"]["kernel"] == 42).all() and (only_last["layers_2"]["bias"] == 0).all()
    np.testing.assert_array_equal(only_last["layers_0"]["kernel"], params["layers_0"]["kernel"])
    jax.tree.map(np.testing.assert_array_equal, params, before)  # the input tree is unchanged
    normal = reinit(jax.random.key(4), params, nn.initializers.normal(0.01))
    assert 0.005 < float(normal["layers_0"]["kernel"].std()) < 0.02
    assert not np.array_equal(normal["layers_0"]["kernel"],
                              reinit(jax.random.key(5), params, nn.initializers.normal(0.01))["layers_0"]["kernel"])


def test_deferred_shapes_are_inferred():
    net = nn.Sequential([nn.Dense(256), nn.relu, nn.Dense(10)])
    abstract = infer_shapes(net, KEY, (2, 20))
    assert all(isinstance(leaf, jax.ShapeDtypeStruct) for leaf in jax.tree.leaves(abstract))
    expected = [("params/layers_0/bias", (256,)), ("params/layers_0/kernel", (20, 256)),
                ("params/layers_2/bias", (10,)), ("params/layers_2/kernel", (256, 10))]
    assert named_parameters(abstract) == expected
    assert named_parameters(net.init(KEY, jnp.ones((2, 20)))) == expected
    assert dict(named_parameters(infer_shapes(net, KEY, (2, 30))))["params/layers_0/kernel"] == (30, 256)
