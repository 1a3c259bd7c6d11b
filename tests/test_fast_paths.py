"""Issue 6: the benchmark's modes agree, sweeps equal separate runs, sharded equals unsharded,
and the compiled-epoch fast path equals the book-style loop."""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import ROOT, load_script
from jaxlin import (
    init_mlp,
    init_softmax_regression,
    mlp,
    sgd,
    softmax_cross_entropy,
    softmax_regression_logits,
)
from jaxlin.data.fashion_mnist import to_float
from jaxlin.train.book import BookEpoch
from jaxlin.train.epoch import make_indexed_step, shuffle
from jaxlin.train.fit import fit
from jaxlin.train.step import make_train_step
from jaxlin.train.sweep import init_sweep, make_sweep, sgd_with_lr, unstack


def _toy_classification(n=600, d=12, classes=4, seed=0):
    kx, kw = jax.random.split(jax.random.key(seed))
    X = jax.random.normal(kx, (n, d))
    y = jnp.argmax(X @ jax.random.normal(kw, (d, classes)), axis=1).astype(jnp.int32)
    return X, y


def test_shuffle_is_a_permutation_and_depends_on_the_key():
    for n in (1, 5, 1000, 60000):
        p = np.asarray(shuffle(jax.random.key(0), n))
        assert np.array_equal(np.sort(p), np.arange(n))
    assert not np.array_equal(shuffle(jax.random.key(0), 1000), shuffle(jax.random.key(1), 1000))


def test_shuffle_is_uniform_on_small_sets():
    perms = np.asarray(jax.vmap(lambda k: shuffle(k, 4))(jax.random.split(jax.random.key(2), 24000)))
    counts = np.zeros((4, 4))
    for i in range(4):
        counts[i] = np.bincount(perms[:, i], minlength=4)
    np.testing.assert_allclose(counts / len(perms), 0.25, atol=0.015)      # each value at each place
    _, freq = np.unique(perms, axis=0, return_counts=True)
    assert len(freq) == 24 and freq.min() > 0.8 * len(perms) / 24           # all 4! orders, evenly


def test_indexed_step_equals_the_step_on_the_gathered_batch():
    """Gather and step in one call (the book loop's step) = the user-level step on X[idx]."""
    images = jax.random.randint(jax.random.key(3), (50, 4, 4), 0, 256).astype(jnp.uint8)
    labels = jax.random.randint(jax.random.key(4), (50,), 0, 3)
    idx = np.array([7, 3, 41, 3, 0, 19], np.int32)
    params = init_softmax_regression(jax.random.key(5), 16, 3)
    updater = functools.partial(sgd, lr=0.5)
    got = make_indexed_step(softmax_regression_logits, softmax_cross_entropy, updater, prepare=to_float)(
        params, (), images, labels, idx)
    want = make_train_step(softmax_regression_logits, softmax_cross_entropy, updater)(
        params, (), to_float(images[idx]), labels[idx])
    assert float(jnp.abs(got[0]["W"] - params["W"]).max()) > 1e-3          # it did step
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_sweep_of_k_models_equals_k_separate_runs():
    X, y = _toy_classification()
    Xt, yt = _toy_classification(200, seed=1)
    lrs, seeds = [0.05, 0.2, 0.8], [0, 1, 2]
    init = lambda key: init_mlp(key, 12, 16, 4, sigma=0.1)  # noqa: E731
    train = make_sweep(mlp, softmax_cross_entropy, 50, 3)
    params, state = init_sweep(init, lrs, seeds)
    key = jax.random.key(9)
    result = train(params, state, X, y, Xt, yt, key)
    for k, (lr, seed) in enumerate(zip(lrs, seeds)):
        single = fit(mlp, init(jax.random.key(seed)), softmax_cross_entropy, sgd_with_lr(lr), (X, y),
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


SHARDED = r"""
import os, sys, json, functools
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
import jax, jax.numpy as jnp, numpy as np, optax
from jaxlin import init_mlp, mlp, softmax_cross_entropy, sgd, data_mesh
from jaxlin.train.fit import fit
from jaxlin.train.step import make_train_step
from jaxlin.train.parallel import batch_sharded, replicate
assert jax.device_count() == 4
X = jax.random.normal(jax.random.key(0), (640, 20))
y = jax.random.randint(jax.random.key(1), (640,), 0, 5)
p = init_mlp(jax.random.key(2), 20, 32, 5, sigma=0.1)
out = {}
for name, up in [("sgd", functools.partial(sgd, lr=0.1)), ("adam", optax.adam(1e-2))]:
    kw = dict(num_epochs=2, batch_size=64, key=jax.random.key(3))
    one = fit(mlp, p, softmax_cross_entropy, up, (X, y), **kw)
    four = fit(mlp, p, softmax_cross_entropy, up, (X, y), mesh=data_mesh(), **kw)
    out[name] = max(float(jnp.abs(a - b).max()) for a, b in zip(jax.tree.leaves(one.params), jax.tree.leaves(four.params)))
    out[name + "_replicated"] = jax.tree.leaves(four.params)[0].sharding.is_fully_replicated
    out[name + "_devices"] = len(jax.tree.leaves(four.params)[0].sharding.device_set)
mesh = data_mesh()
step = make_train_step(mlp, softmax_cross_entropy, functools.partial(sgd, lr=0.1))
batch = jax.device_put((X[:64], y[:64]), batch_sharded(mesh))       # the batch split, params replicated
hlo = step.lower(*replicate((p, ()), mesh), *batch).compile().as_text()
out["all_reduce"] = "all-reduce" in hlo
try:
    fit(mlp, p, softmax_cross_entropy, optax.sgd(0.1), (X, y), num_epochs=1, batch_size=66,
        key=jax.random.key(3), mesh=mesh)
except ValueError as e:
    out["indivisible"] = str(e)
print(json.dumps(out))
"""


def test_sharded_training_equals_single_device():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", SHARDED], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["sgd"] < 1e-5 and out["adam"] < 1e-5
    assert out["sgd_devices"] == 4 and out["sgd_replicated"]          # params on all 4, replicated
    assert out["all_reduce"]                         # gradients summed across the 4 devices
    assert "divisible by the number of devices" in out["indivisible"]


@pytest.mark.data
def test_fast_path_equals_book_loop_after_one_epoch(fashion_mnist):
    d = fashion_mnist
    n = 256 * 40
    train = (d.train_images[:n], d.train_labels[:n])
    test = (d.test_images[:2000], d.test_labels[:2000])
    params = init_softmax_regression(jax.random.key(0))
    kw = dict(num_epochs=1, batch_size=256, key=jax.random.key(1), evals={"test": test},
              prepare=to_float)
    updater = functools.partial(sgd, lr=0.1)
    loop = BookEpoch.make(softmax_regression_logits, softmax_cross_entropy, updater, 256, prepare=to_float)
    fast = fit(softmax_regression_logits, params, softmax_cross_entropy, updater, train, **kw)
    book = fit(softmax_regression_logits, params, softmax_cross_entropy, updater, train, train_epoch=loop, **kw)
    for key in ("train_loss", "train_acc", "test_acc"):
        assert fast.history[0][key] == pytest.approx(book.history[0][key], rel=1e-5, abs=1e-6)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), fast.params, book.params)


def test_benchmark_modes_agree_and_write_outputs(tmp_path):
    results = load_script("bench_jit_vs_eager").main(
        ["--out", str(tmp_path), "--models", "linreg", "--repeats", "1", "--eager-steps", "3",
         "--modes", "eager", "nojit", "jit_step", "jit_epoch"])
    assert results["agreement_ok"]
    assert set(results["agreement"]["linreg"]) == {"eager", "nojit", "jit_step", "jit_epoch"}
    rows = {r["mode"]: r for r in results["rows"]}
    assert rows["eager"]["extrapolated"] and not rows["jit_epoch"]["extrapolated"]
    assert rows["jit_step"]["compile_s"] > 0 and rows["jit_epoch"]["compile_s"] > 0
    assert all(r["epoch_s_min"] > 0 for r in rows.values())
    assert (tmp_path / "bench.png").is_file() and (tmp_path / "results.json").is_file()
    assert results["environment"]["jax"] == jax.__version__


@pytest.mark.data
def test_sweep_script_runs(fashion_mnist, tmp_path):
    results = load_script("sweep_softmax_lr").main(
        ["--out", str(tmp_path), "--epochs", "1", "--num-lrs", "3", "--repeats", "1"])
    assert len(results["final_test_acc"]) == 3 and results["k_over_one"] > 0
    assert max(results["final_test_acc"]) > 0.7
    assert (tmp_path / "sweep.png").is_file()
