"""The book's call forms: ``train_ch3`` on iterators, ``predict_ch3`` on an iterator, clear errors
for raw uint8 pixels, and a notebook's flags from ``$JAXLIN_ARGS`` instead of the kernel's argv."""
from __future__ import annotations

import functools
import sys

import jax
import jax.numpy as jnp
import pytest

from jaxlin import (
    cross_entropy,
    evaluate_accuracy,
    init_softmax_regression,
    predict_ch3,
    sgd,
    softmax_regression,
    train_ch3,
)
from jaxlin.data.fashion_mnist import Batches
from jaxlin.run import cli, flags
from jaxlin.run import jupyter as kernel


def tiny_images(n=64, seed=0):
    k1, k2 = jax.random.split(jax.random.key(seed))
    y = jax.random.randint(k2, (n,), 0, 10).astype(jnp.int32)
    X = (jax.random.uniform(k1, (n, 28, 28, 1)) * 40 + y[:, None, None, None] * 20).astype(jnp.uint8)
    return X, y


def test_train_ch3_takes_the_loaders_iterators_and_returns_params_and_history(tmp_path):
    X, y = tiny_images()
    X_test, y_test = tiny_images(n=48, seed=1)        # other images, labels one class off: not the train set
    train_iter, test_iter = Batches(X, y, 16, key=jax.random.key(1)), Batches(X_test, (y_test + 1) % 10, 16)
    params, history = train_ch3(softmax_regression, init_softmax_regression(jax.random.key(0)), train_iter,
                                test_iter, cross_entropy, 2, functools.partial(sgd, lr=0.1),
                                plot_path=tmp_path / "curves.png")
    assert [h["epoch"] for h in history] == [1, 2]
    assert set(history[0]) == {"epoch", "train_loss", "train_acc", "test_acc"}
    assert history[-1]["test_acc"] == evaluate_accuracy(softmax_regression, params, test_iter)
    assert history[-1]["test_acc"] != evaluate_accuracy(softmax_regression, params, Batches(X, y, 16))
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    pairs = predict_ch3(softmax_regression, params, test_iter, n=4)
    assert len(pairs) == 4 and all(isinstance(t, str) for t, _ in pairs)


def test_predict_ch3_titles_say_which_label_is_true_and_mark_the_wrong(monkeypatch):
    from jaxlin.run import d2l as book
    drawn = {}
    monkeypatch.setattr(book, "show_images", lambda imgs, rows, cols, **kw: drawn.update(kw))
    X, y = tiny_images(n=8)[0], jnp.array([0, 3, 0, 4, 0, 8, 9, 0], jnp.int32)
    always_t_shirt = lambda params, X: jnp.zeros((X.shape[0], 10)).at[:, 0].set(1.0)   # noqa: E731
    pairs = predict_ch3(always_t_shirt, None, X, y, n=8)
    assert all(t.startswith("true: ") and "\npred: " in t for t in drawn["titles"])
    for (true, pred), title, color in zip(pairs, drawn["titles"], drawn["title_colors"]):
        assert pred == "t-shirt" and title.startswith(f"true: {true}\npred: {pred}")
        assert title.endswith("✗") == (true != pred) and (color == "tab:red") == (true != pred)
    assert any(t != p for t, p in pairs) and any(t == p for t, p in pairs)


def test_train_ch3_figure_has_whole_epochs_and_a_y_label(tmp_path, monkeypatch):
    from helpers import record_figures
    figures = record_figures(monkeypatch)
    X, y = tiny_images()
    train_ch3(softmax_regression, init_softmax_regression(jax.random.key(0)), Batches(X, y, 16),
              Batches(X, y, 16), cross_entropy, 3, functools.partial(sgd, lr=0.1), plot_path=tmp_path / "c.png")
    (fig,) = figures
    assert fig["ylabels"] == ["loss / accuracy"] and fig["xticks"] == [[1, 2, 3]]


def test_raw_uint8_pixels_name_to_float_before_any_step():
    X, y = tiny_images()
    updater = functools.partial(sgd, lr=0.1)
    raw = [(X[:16], y[:16])]                       # unscaled batches
    with pytest.raises(TypeError, match="to_float"):
        train_ch3(softmax_regression, init_softmax_regression(jax.random.key(0)), raw, raw,
                  cross_entropy, 1, updater)
    with pytest.raises(TypeError, match="to_float"):
        evaluate_accuracy(softmax_regression, init_softmax_regression(jax.random.key(0)), (X, y))
    with pytest.raises(TypeError, match="iterable of"):
        train_ch3(softmax_regression, init_softmax_regression(jax.random.key(0)), (X, y), (X, y),
                  cross_entropy, 1, updater)


def test_in_a_kernel_the_flags_come_from_jaxlin_args(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py", "-f", "/tmp/kernel-1.json"])
    monkeypatch.setattr(flags, "in_kernel", lambda: True)
    monkeypatch.setenv(kernel.ARGS_ENV, f"--epochs 2 --out '{tmp_path}/a b'")
    args = cli.make_parser("test", epochs=10).parse_args()
    assert args.epochs == 2 and str(args.out) == f"{tmp_path}/a b"
    monkeypatch.delenv(kernel.ARGS_ENV)
    assert cli.make_parser("test", epochs=10).parse_args().epochs == 10      # the defaults
    assert not kernel.in_kernel()                  # pytest is no kernel


def test_run_takes_the_scripts_name(tmp_path):
    args = cli.make_parser("test").parse_args(["--out", str(tmp_path)])
    run = cli.Run(args, "ch2_03_linear_algebra")
    assert run.results["script"] == "ch2_03_linear_algebra"
    assert "scripts/ch2_03_linear_algebra.py" in run.command()
