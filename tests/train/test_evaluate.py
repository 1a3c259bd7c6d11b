"""Evaluation: every example counted once, labels checked where the data enter."""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import CLASSES, FEW, ROWS, labels, train_model
from jaxlin import cross_entropy, evaluate_accuracy, evaluate_loss, sgd, softmax_cross_entropy
from jaxlin.train.evaluate import evaluate_sums


def test_evaluation_counts_every_example_once():
    X = jnp.arange(1234.0).reshape(-1, 1)
    y = (jnp.arange(1234) % 3).astype(jnp.int32)
    net = lambda params, X: jax.nn.one_hot((X[:, 0] % 3).astype(jnp.int32) * params, 3)  # noqa: E731
    sums = evaluate_sums(net, 1, X, y, chunk=100)                 # 1234 = 12 * 100 + 34 padded
    assert int(sums["n"]) == 1234 and int(sums["correct"]) == 1234
    assert evaluate_accuracy(net, 0, (X, y)) == pytest.approx(float((y == 0).mean()))
    batches = [(X[i:i + 500], y[i:i + 500]) for i in range(0, 1234, 500)]
    assert evaluate_accuracy(net, 0, batches) == pytest.approx(float((y == 0).mean()))


def test_mean_loss_and_accuracy_are_exact_when_the_chunk_does_not_divide_n():
    """Example i's loss is i, so the mean over n = 1234 is exactly (n − 1)/2 = 616.5; the first
    1000 examples are classified right, so the accuracy is 1000/1234. Padded rows (zeros) would
    add a loss of −1000 and a right answer each; a dropped last chunk would lose indices 1200..1233."""
    n = 1234
    X = (jnp.arange(n, dtype=jnp.float32) + 1000).reshape(-1, 1)        # row i holds i + 1000
    y = (jnp.arange(n) >= 1000).astype(jnp.int32)                        # class 1 from row 1000 on

    def net(params, X):                                                  # logits (x, 0): class 0
        return jnp.concatenate([X, jnp.zeros_like(X)], axis=1)

    def index_loss(y_hat, y):
        return y_hat[:, 0] - 1000.0                                      # example i's loss is i

    for chunk in (100, 1000, 7):                          # 1234 = 12·100 + 34 = 1000 + 234 = 176·7 + 2
        sums = evaluate_sums(net, None, X, y, loss=index_loss, chunk=chunk)
        assert int(sums["n"]) == n
        assert float(sums["loss_sum"]) == n * (n - 1) / 2                # 760761, exact in float32
        assert int(sums["correct"]) == 1000
    assert evaluate_loss(net, None, (X, y), index_loss) == (n - 1) / 2
    assert evaluate_accuracy(net, None, (X, y)) == 1000 / n
    batches = [(X[i:i + 500], y[i:i + 500]) for i in range(0, n, 500)]   # 500, 500 and 234
    assert evaluate_loss(net, None, batches, index_loss) == (n - 1) / 2
    assert evaluate_accuracy(net, None, batches) == 1000 / n


@pytest.mark.parametrize("fn", [cross_entropy, softmax_cross_entropy])
def test_labels_out_of_range_are_refused_where_the_data_enter(fn):
    """Checked once, on the host, by the evaluation and fit (not inside the losses)."""
    net = lambda params, X: jnp.full((X.shape[0], 3), 1 / 3)  # noqa: E731
    X = jnp.zeros((2, 1))
    for y in (jnp.array([0, 3]), jnp.array([-1, 0])):
        with pytest.raises(ValueError, match=r"\[0, 3\)"):
            evaluate_loss(net, {}, (X, y), fn)
        with pytest.raises(ValueError, match=r"\[0, 3\)"):
            train_model(net, {"w": jnp.zeros(1)}, fn, functools.partial(sgd, lr=0.1), (X, y), num_epochs=1,
                        batch_size=1, key=jax.random.key(0))


@pytest.mark.parametrize("loss", [cross_entropy, softmax_cross_entropy], ids=lambda f: f.__name__)
@FEW
@given(n=ROWS, c=CLASSES, data=st.data())
def test_evaluation_rejects_labels_outside_the_classes(loss, n, c, data):
    """Labels are checked where the data enter (here the evaluation), not inside the loss."""
    y = data.draw(labels(n, c))
    i = data.draw(st.integers(0, n - 1))
    y[i] = data.draw(st.one_of(st.integers(-5, -1), st.integers(c, c + 5)))
    net = lambda params, X: jnp.full((X.shape[0], c), 1.0 / c)  # noqa: E731
    with pytest.raises(ValueError, match=rf"labels must lie in \[0, {c}\)"):
        evaluate_loss(net, {}, (jnp.zeros((n, 1)), jnp.asarray(y)), loss)


@pytest.mark.parametrize("loss", [cross_entropy, softmax_cross_entropy], ids=lambda f: f.__name__)
@FEW
@given(n=ROWS, c=CLASSES)
def test_evaluation_rejects_float_labels(loss, n, c):
    net = lambda params, X: jnp.full((X.shape[0], c), 1.0 / c)  # noqa: E731
    with pytest.raises(TypeError, match="labels must be integer class indices"):
        evaluate_loss(net, {}, (jnp.zeros((n, 1)), jnp.zeros(n, jnp.float32)), loss)
