"""Data parallelism: training sharded over 4 (emulated) devices equals one device."""
from __future__ import annotations

from helpers import json_of_snippet

SHARDED = r"""
import os, sys, json, functools
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
import jax, jax.numpy as jnp, numpy as np, optax
from jaxlin import init_mlp, mlp, softmax_cross_entropy, sgd, data_mesh
from helpers import train_model
from jaxlin.train.step import make_train_step
from jaxlin.train.parallel import batch_sharded, replicate
assert jax.device_count() == 4
X = jax.random.normal(jax.random.key(0), (640, 20))
y = jax.random.randint(jax.random.key(1), (640,), 0, 5)
p = init_mlp(jax.random.key(2), 20, 32, 5, sigma=0.1)
out = {}
for name, up in [("sgd", functools.partial(sgd, lr=0.1)), ("adam", optax.adam(1e-2))]:
    kw = dict(num_epochs=2, batch_size=64, key=jax.random.key(3))
    one, _ = train_model(mlp, p, softmax_cross_entropy, up, (X, y), **kw)
    four, _ = train_model(mlp, p, softmax_cross_entropy, up, (X, y), mesh=data_mesh(), **kw)
    out[name] = max(float(jnp.abs(a - b).max()) for a, b in zip(jax.tree.leaves(one.params), jax.tree.leaves(four.params)))
    out[name + "_replicated"] = jax.tree.leaves(four.params)[0].sharding.is_fully_replicated
    out[name + "_devices"] = len(jax.tree.leaves(four.params)[0].sharding.device_set)
mesh = data_mesh()
step = make_train_step(mlp, softmax_cross_entropy, functools.partial(sgd, lr=0.1))
batch = jax.device_put((X[:64], y[:64]), batch_sharded(mesh))       # the batch split, params replicated
hlo = step.lower(*replicate((p, ()), mesh), *batch).compile().as_text()
out["all_reduce"] = "all-reduce" in hlo
try:
    train_model(mlp, p, softmax_cross_entropy, optax.sgd(0.1), (X, y), num_epochs=1, batch_size=66,
                key=jax.random.key(3), mesh=mesh)
except ValueError as e:
    out["indivisible"] = str(e)
print(json.dumps(out))
"""


def test_sharded_training_equals_single_device():
    out = json_of_snippet(SHARDED)
    assert out["sgd"] < 1e-5 and out["adam"] < 1e-5
    assert out["sgd_devices"] == 4 and out["sgd_replicated"]          # params on all 4, replicated
    assert out["all_reduce"]                         # gradients summed across the 4 devices
    assert "divisible by the number of devices" in out["indivisible"]
