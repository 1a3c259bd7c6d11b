"""``scripts/ch6_06_lenet.py`` at the book's settings (lr 0.9, batch 256, 10 epochs): the
accuracy floor on the real data, the book's layer shapes, and the NNX net equal to the scratch one."""
from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from conftest import chapter_namespace
from jaxlin import nnx_model

NAME = "ch6_06_lenet"


def run_chapter(argv: list[str]) -> dict:
    """The chapter run as ``python scripts/ch6_06_lenet.py ARGV``; its namespace (cells' globals)."""
    return chapter_namespace(NAME, argv)


@pytest.fixture(scope="module")
def book_run(fashion_mnist, tmp_path_factory):
    out = tmp_path_factory.mktemp("lenet")
    return run_chapter(["--out", str(out), "--quiet"]), out


@pytest.mark.data
def test_lenet_at_the_books_settings_reaches_the_floor(book_run, capsys):
    namespace, out = book_run
    results = json.loads((out / "results.json").read_text())
    history = results["history"]
    assert [h["epoch"] for h in history] == list(range(1, 11))
    assert set(history[0]) >= {"epoch", "train_loss", "train_acc", "test_acc"}
    assert history[-1]["test_acc"] >= 0.75                         # the book prints 0.779
    assert history[-1]["train_loss"] < 0.6 < history[0]["train_loss"]
    assert results["args"]["lr"] == 0.9 and results["args"]["batch_size"] == 256
    assert {"curves.png", "predictions.png"} <= set(results["files"])
    assert namespace["history"] == history                        # what train_ch6 returned


@pytest.mark.data
def test_the_shape_table_and_the_nnx_net_are_the_scratch_nets(book_run):
    """The NNX Sequential with the scratch params copied in computes the scratch net's logits."""
    namespace, _ = book_run
    params = namespace["init_lenet"](jax.random.key(3))
    params = {k: v + 0.05 if k[0] == "b" else v for k, v in params.items()}
    init, net = nnx_model(namespace["make_lenet"])
    layers = init(jax.random.key(0))["layers"]
    for i, name in zip((0, 3, 7, 9, 11), ("K1", "K2", "W3", "W4", "W5")):     # the Conv and Linear layers
        layers[i] = {"kernel": params[name], "bias": params["b" + name[1:]]}
    X = jax.random.uniform(jax.random.key(4), (5, 28, 28, 1))
    np.testing.assert_allclose(net({"layers": layers}, X), namespace["lenet"](params, X), rtol=1e-4, atol=1e-5)
    X, shapes = jnp.zeros((1, 28, 28, 1)), []
    for layer in namespace["make_lenet"](nnx.Rngs(0)).layers:          # the chapter's table
        X = layer(X)
        shapes.append(X.shape[1:])
    assert shapes == [(28, 28, 6), (28, 28, 6), (14, 14, 6), (10, 10, 16), (10, 10, 16), (5, 5, 16),
                      (400,), (120,), (120,), (84,), (84,), (10,)]


@pytest.mark.data
def test_the_concise_net_trains(fashion_mnist, tmp_path):
    namespace = run_chapter(["--impl", "concise", "--epochs", "2", "--out", str(tmp_path), "--quiet"])
    history = namespace["history"]
    assert len(history) == 2 and history[1]["train_loss"] < history[0]["train_loss"]
