"""Linear regression (D2L 3.1-3.3): the model and its closed-form solution; the squared loss is in
:mod:`jaxlin.nn.losses`, the synthetic data in :mod:`jaxlin.data.synthetic`."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxlin.checks import check_positive_int, check_same_length

Params = dict[str, jax.Array]


def init_linreg(key: jax.Array, num_inputs: int, sigma: float = 0.01) -> Params:
    """Initialise ``w ~ N(0, sigma²)`` of shape (d, 1) and ``b = 0`` of shape (1,).
    Written out in scripts/ch3_02_linear_regression_scratch.py (3.2.3) and, with sigma 1,
    as ``init_params`` in scripts/ch4_05_weight_decay.py (4.5.3)."""
    num_inputs = check_positive_int(num_inputs, "num_inputs")
    return {"w": sigma * jax.random.normal(key, (num_inputs, 1)), "b": jnp.zeros(1)}


def linreg(params: Params, X: jax.Array) -> jax.Array:
    """The linear regression model ŷ = Xw + b (eq. 3.1.4).
    Written out in scripts/ch3_02_linear_regression_scratch.py (3.2.4)."""
    return X @ params["w"] + params["b"].reshape(1, -1)


def linreg_closed_form(X: jax.Array, y: jax.Array) -> Params:
    """The analytical solution w* = (XᵀX)⁻¹Xᵀy (eq. 3.1.7), bias folded in as a column of ones.

    Solved as a least-squares problem (SVD-based ``lstsq``), never by forming the inverse,
    so it stays accurate when XᵀX is ill-conditioned.
    """
    check_same_length(X, y, "X", "y")
    X = jnp.asarray(X, dtype=jnp.float32)
    X1 = jnp.concatenate([X, jnp.ones((X.shape[0], 1), X.dtype)], axis=1)
    solution, *_ = jnp.linalg.lstsq(X1, jnp.asarray(y, jnp.float32).reshape(-1, 1))
    return {"w": solution[:-1], "b": solution[-1]}
