"""Multilayer perceptrons (D2L 4.2, 4.3, 4.6): the scratch MLP and dropout."""
from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from jaxlin.checks import check_positive_int
from jaxlin.nn.activations import relu
from jaxlin.nn.softmax import flatten

Params = dict[str, jax.Array]


def init_mlp(key: jax.Array, num_inputs: int = 784, num_hiddens: Sequence[int] | int = 256,
             num_outputs: int = 10, sigma: float = 0.01) -> Params:
    """``W1 … WL ~ N(0, sigma²)`` and zero biases for layers num_inputs → hiddens → num_outputs."""
    hiddens = [num_hiddens] if isinstance(num_hiddens, int) else list(num_hiddens)
    sizes = [check_positive_int(s, "layer size") for s in [num_inputs, *hiddens, num_outputs]]
    keys = jax.random.split(key, len(sizes) - 1)
    params = {}
    for i, (k, n_in, n_out) in enumerate(zip(keys, sizes[:-1], sizes[1:]), start=1):
        params[f"W{i}"] = sigma * jax.random.normal(k, (n_in, n_out))
        params[f"b{i}"] = jnp.zeros(n_out)
    return params


def dropout_layer(X: jax.Array, dropout: float, *, key: jax.Array) -> jax.Array:
    """Inverted dropout (eq. 4.6.1): zero each unit with probability p, scale the rest by 1/(1 − p).

    p = 0 returns ``X``; p = 1 returns zeros. ``key`` must be fresh for every step. Written
    out in scripts/ch4_06_dropout.py (4.6.4).
    """
    if not 0 <= dropout <= 1:
        raise ValueError(f"dropout must lie in [0, 1], got {dropout}")
    if dropout == 1:
        return jnp.zeros_like(X)
    if dropout == 0:
        return X
    mask = jax.random.bernoulli(key, 1 - dropout, X.shape)
    return jnp.where(mask, X / (1.0 - dropout), 0)


def num_layers(params: Params) -> int:
    """L, the number of layers: params hold ``W1, b1, …, WL, bL`` (the contract of :func:`init_mlp`)."""
    L = 0
    while f"W{L + 1}" in params:
        L += 1
    if L == 0 or any(f"b{i}" not in params for i in range(1, L + 1)):
        raise ValueError(f"MLP params must hold W1, b1, …, WL, bL, got keys {sorted(params)}")
    return L


def mlp(params: Params, X: jax.Array, *, key: jax.Array | None = None,
        dropouts: Sequence[float] = ()) -> jax.Array:
    """H = ReLU(XW1 + b1), O = HW2 + b2 (eq. 4.1.5), for any number of hidden layers; logits.
    Written out as ``net`` in scripts/ch4_02_mlp_scratch.py (4.2.3) and, with dropout, in
    scripts/ch4_06_dropout.py (4.6.4).

    With ``dropouts`` (one rate per hidden layer, 4.6) and a ``key`` (training), hidden
    layer i is followed by :func:`dropout_layer` with its own key ``fold_in(key, i)``;
    with ``key=None`` (evaluation) no unit is dropped.
    """
    H = flatten(X, params["W1"].shape[0])
    L = num_layers(params)
    if dropouts and len(dropouts) != L - 1:
        raise ValueError(f"need one dropout rate per hidden layer ({L - 1}), got {len(dropouts)}")
    for i in range(1, L + 1):
        H = H @ params[f"W{i}"] + params[f"b{i}"].reshape(1, -1)
        if i < L:
            H = relu(H)
            if dropouts and key is not None:
                H = dropout_layer(H, dropouts[i - 1], key=jax.random.fold_in(key, i))
    return H


def mlp_dropout(params: Params, X: jax.Array, *, key: jax.Array | None = None,
                dropouts: Sequence[float] = (0.2, 0.5)) -> jax.Array:
    """The book's dropout MLP (4.6.4): :func:`mlp` with dropout 0.2 and 0.5 after its hidden layers."""
    return mlp(params, X, key=key, dropouts=dropouts)
