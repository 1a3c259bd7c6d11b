"""Classification (D2L 3.4): likelihood, information and entropy, and linear classifiers of two classes.

The information-theory helpers work on probability vectors along the last axis,
in nats (natural log); pass ``base=2`` where a function offers it for bits. The
two-class models share one contract, ``net(params, X) -> o`` with logits ``o = Xw + b``
of shape (n,), and labels ``y ∈ {0, 1}``:

* a sigmoid output ŷ = σ(o) trained with :func:`sigmoid_squared_loss` or with
  :func:`binary_cross_entropy_logits` (the logistic loss),
* the perceptron (:func:`train_perceptron`), whose update is not a gradient step,
* least squares on ±1 targets (:func:`least_squares_classifier`), linear regression
  used as a classifier.
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax.scipy.special import xlogy

from jaxlin.checks import check_labels, check_positive_int
from jaxlin.data.shuffle import shuffle
from jaxlin.nn.linear import linreg_closed_form
from jaxlin.nn.softmax import softmax

Params = dict[str, jax.Array]


# ------------------------------------------------------------ likelihood and information

def likelihood(probs: jax.Array) -> jax.Array:
    """P(Y | X) = Πᵢ P(y⁽ⁱ⁾ | x⁽ⁱ⁾) (eq. 3.4.6): the product of each example's probability of its label."""
    return jnp.prod(jnp.asarray(probs))


def log_likelihood(probs: jax.Array) -> jax.Array:
    """log P(Y | X) = Σᵢ log P(y⁽ⁱ⁾ | x⁽ⁱ⁾): a sum of logs, which neither underflows nor overflows."""
    return jnp.log(jnp.asarray(probs)).sum()


def information(p: jax.Array, base: float = math.e) -> jax.Array:
    """The information of an event of probability p: log(1/p) = −log p (D2L 3.4.7.2), in units of ``base``."""
    return -jnp.log(jnp.asarray(p)) / math.log(base)


def entropy(p: jax.Array, base: float = math.e) -> jax.Array:
    """H[P] = Σⱼ −P(j) log P(j) (eq. 3.4.11) along the last axis, with 0 · log 0 = 0."""
    return -xlogy(p, p).sum(axis=-1) / math.log(base)


def cross_entropy_pq(p: jax.Array, q: jax.Array, base: float = math.e) -> jax.Array:
    """H(P, Q) = Σⱼ −P(j) log Q(j): the expected surprisal of data from P under beliefs Q.

    H(P, Q) ≥ H(P), with equality exactly when Q = P (Gibbs' inequality).
    """
    return -xlogy(p, q).sum(axis=-1) / math.log(base)


def kl_divergence(p: jax.Array, q: jax.Array, base: float = math.e) -> jax.Array:
    """D_KL(P ‖ Q) = H(P, Q) − H(P) = Σⱼ P(j) log(P(j)/Q(j)) ≥ 0, computed as that difference."""
    return cross_entropy_pq(p, q, base) - entropy(p, base)


def cross_entropy_grad(o: jax.Array, y: jax.Array) -> jax.Array:
    """∂l/∂o = softmax(o) − onehot(y) (eq. 3.4.10), for logits ``o`` (n, q) and labels ``y`` (n,).

    The closed form of the gradient of ``softmax_cross_entropy(o, y)`` with respect to
    each row of ``o``: the predicted probabilities minus the observed one-hot label.
    """
    check_labels(y, o.shape[-1], "y")
    return softmax(o) - jax.nn.one_hot(y.reshape(-1), o.shape[-1], dtype=o.dtype)


# ------------------------------------------------------------ a two-class data set

def boundary_frame(angle: float) -> tuple[jax.Array, jax.Array]:
    """The unit normal u = (cos θ, sin θ) of a boundary at ``angle`` θ (radians) and its tangent v ⊥ u."""
    u = jnp.array([math.cos(angle), math.sin(angle)], jnp.float32)
    v = jnp.array([-math.sin(angle), math.cos(angle)], jnp.float32)
    return u, v


def two_class_data(key: jax.Array, num_per_class: int, *, distance: float = 2.0, spread: float = 0.8,
                   margin: float = 0.25, angle: float = 0.5, center: tuple[float, float] = (1.0, 1.0),
                   num_outliers: int = 0, outlier_at: tuple[float, float] = (12.0, 8.0)
                   ) -> tuple[jax.Array, jax.Array]:
    """Two Gaussian blobs in 2-D, linearly separable with margin ``margin``, and optional outliers.

    The generating boundary passes through ``center`` c with unit normal u = (cos θ, sin θ),
    θ = ``angle``, and tangent v. Class 0 ~ N(c − distance·u, spread²I) and class 1 ~
    N(c + distance·u, spread²I); a point closer than ``margin`` to the boundary, or on the
    wrong side, is mirrored across the line at distance ``margin`` on its own side, so the
    classes are separable with margin ≥ ``margin``. ``num_outliers`` extra class-1 points form
    a clump ~ N(c + a·u + t·v, spread²I), (a, t) = ``outlier_at``: far away on the *correct*
    side (kept at distance ≥ ``margin``), so the data stay separable. Returns ``X`` (n, 2)
    float32 and ``y`` (n,) int32 in {0, 1}: class 0 first, then class 1, then the outliers.
    """
    num_per_class = check_positive_int(num_per_class, "num_per_class")
    if isinstance(num_outliers, bool) or not isinstance(num_outliers, int) or num_outliers < 0:
        raise ValueError(f"num_outliers must be a non-negative integer, got {num_outliers!r}")
    return _two_class_data(key, num_per_class, distance=float(distance), spread=float(spread),
                           margin=float(margin), angle=float(angle),
                           center=tuple(float(c) for c in center), num_outliers=num_outliers,
                           outlier_at=tuple(float(a) for a in outlier_at))


@functools.partial(jax.jit, static_argnums=1, static_argnames=(
    "distance", "spread", "margin", "angle", "center", "num_outliers", "outlier_at"))
def _two_class_data(key, num_per_class, *, distance, spread, margin, angle, center, num_outliers,
                    outlier_at):
    key_blobs, key_outliers = jax.random.split(key)
    u, v = boundary_frame(angle)
    u, v = u.reshape(1, 2), v.reshape(1, 2)
    c = jnp.asarray(center, jnp.float32).reshape(1, 2)
    y = jnp.concatenate([jnp.zeros(num_per_class, jnp.int32), jnp.ones(num_per_class, jnp.int32)])
    mean = c + (2 * y - 1).astype(jnp.float32).reshape(-1, 1) * distance * u
    X = mean + spread * jax.random.normal(key_blobs, (2 * num_per_class, 2))
    if num_outliers:
        along, across = outlier_at
        clump = c + along * u + across * v + spread * jax.random.normal(key_outliers, (num_outliers, 2))
        X = jnp.concatenate([X, clump])
        y = jnp.concatenate([y, jnp.ones(num_outliers, jnp.int32)])
    sign = (2 * y - 1).astype(jnp.float32).reshape(-1, 1)
    d = sign * ((X - c) @ u.reshape(2, 1))             # distance to the boundary, > 0 on the own side
    return X + jnp.where(d < margin, 2 * (margin - d), 0.0) * sign * u, y


# ------------------------------------------------------------ linear classifiers of two classes

def init_linear_classifier(key: jax.Array, num_inputs: int = 2, sigma: float = 0.01) -> Params:
    """``w ~ N(0, sigma²)`` of shape (num_inputs,) and a scalar ``b = 0``."""
    num_inputs = check_positive_int(num_inputs, "num_inputs")
    return {"w": sigma * jax.random.normal(key, (num_inputs,)), "b": jnp.zeros(())}


def linear_classifier(params: Params, X: jax.Array) -> jax.Array:
    """The logits o = Xw + b, shape (n,); class 1 where o > 0, i.e. where σ(o) > 1/2."""
    return X @ params["w"] + params["b"]


def sigmoid_squared_loss(o: jax.Array, y: jax.Array) -> jax.Array:
    """l = (σ(o) − y)² / 2: the squared loss on the sigmoid output ŷ = σ(o).

    Its gradient (σ(o) − y)·σ(o)(1 − σ(o)) vanishes when σ saturates, even for a
    confidently wrong prediction.
    """
    return (jax.nn.sigmoid(o) - y.reshape(o.shape)) ** 2 / 2


def binary_accuracy(o: jax.Array, y: jax.Array) -> jax.Array:
    """The FRACTION of examples whose predicted class, o > 0, equals the label y ∈ {0, 1}."""
    return ((o > 0) == (y.reshape(o.shape) == 1)).mean()


def least_squares_classifier(X: jax.Array, y: jax.Array) -> Params:
    """Linear regression on targets t = 2y − 1 ∈ {−1, +1}, solved in closed form, as a classifier.

    Returns params for :func:`linear_classifier` (class 1 where Xw + b > 0).
    """
    solution = linreg_closed_form(X, (2 * y - 1).astype(jnp.float32))
    return {"w": solution["w"].reshape(-1), "b": solution["b"].reshape(())}


def perceptron_epoch(params: Params, X: jax.Array, y: jax.Array, lr: float = 1.0
                     ) -> tuple[Params, jax.Array]:
    """One pass of the perceptron over the examples in order, as a ``lax.scan``.

    With s = 2y − 1 ∈ {−1, +1}: where s·(wᵀx + b) ≤ 0 (a mistake), w ← w + η·s·x and
    b ← b + η·s; otherwise nothing changes. Not a gradient step of a smooth loss.
    Returns the new params and the number of mistakes made during the pass.
    """
    def step(params, example):
        x, yi = example
        s = (2 * yi - 1).astype(x.dtype)
        mistake = s * (x @ params["w"] + params["b"]) <= 0
        scale = jnp.where(mistake, lr * s, 0.0)
        return {"w": params["w"] + scale * x, "b": params["b"] + scale}, mistake

    params, mistakes = jax.lax.scan(step, params, (X, y))
    return params, mistakes.sum()


def train_perceptron(params: Params, X: jax.Array, y: jax.Array, *, num_epochs: int,
                     key: jax.Array, lr: float = 1.0) -> tuple[Params, jax.Array]:
    """``num_epochs`` perceptron passes, each over a permutation from ``fold_in(key, epoch)``.

    Returns the final params and the mistakes per epoch (num_epochs,). Once an epoch
    makes no mistake the params stop changing, so every later epoch makes none either.
    The whole run is one jitted ``lax.scan`` over epochs.
    """
    num_epochs = check_positive_int(num_epochs, "num_epochs")
    return _train_perceptron(params, X, y, key, num_epochs=num_epochs, lr=float(lr))


@functools.partial(jax.jit, static_argnames=("num_epochs", "lr"))
def _train_perceptron(params, X, y, key, *, num_epochs, lr):
    def epoch(params, e):
        perm = shuffle(jax.random.fold_in(key, e), X.shape[0])
        return perceptron_epoch(params, X[perm], y[perm], lr)
    return jax.lax.scan(epoch, params, jnp.arange(num_epochs))


def perceptron_mistake_bound(X: jax.Array, y: jax.Array, w: jax.Array, b: float) -> jax.Array:
    """Novikoff's bound (R/γ)² on the perceptron's total mistakes (η = 1, start at zero).

    With the bias folded in, x̃ = (x, 1): R = maxᵢ ‖x̃ᵢ‖ and γ = minᵢ sᵢ·(wᵀxᵢ + b)/‖(w, b)‖ the
    margin of the separating (w, b). Only a bound when γ > 0 (``inf`` otherwise).
    """
    X = jnp.asarray(X, jnp.float32)
    s = (2 * y - 1).astype(jnp.float32)
    R2 = ((X ** 2).sum(axis=1) + 1).max()
    norm = jnp.sqrt((jnp.asarray(w) ** 2).sum() + jnp.asarray(b) ** 2)
    gamma = (s * (X @ jnp.asarray(w, jnp.float32) + b)).min() / norm
    return jnp.where(gamma > 0, R2 / gamma ** 2, jnp.inf)


def train_sigmoid_classifier(loss, params: Params, X: jax.Array, y: jax.Array, *, lr: float,
                             num_steps: int) -> tuple[Params, dict[str, jax.Array]]:
    """Full-batch gradient descent on the mean of ``loss(linear_classifier(params, X), y)``.

    ``params ← params − lr · ∇ mean(l)`` for ``num_steps`` steps, one jitted ``lax.scan``.
    Returns the final params and, per step, the mean ``loss`` and the ``accuracy`` of the
    params *before* that step's update (so index 0 is the starting point), kept on the device.
    """
    num_steps = check_positive_int(num_steps, "num_steps")
    return _train_sigmoid_classifier(loss, params, X, y, jnp.asarray(lr, jnp.float32), num_steps)


@functools.partial(jax.jit, static_argnums=(0, 5))
def _train_sigmoid_classifier(loss, params, X, y, lr, num_steps):
    def objective(params):
        o = linear_classifier(params, X)
        return loss(o, y).mean(), o

    def step(params, _):
        (value, o), grads = jax.value_and_grad(objective, has_aux=True)(params)
        params = jax.tree.map(lambda p, g: p - lr * g, params, grads)
        return params, {"loss": value, "accuracy": binary_accuracy(o, y)}

    return jax.lax.scan(step, params, length=num_steps)
