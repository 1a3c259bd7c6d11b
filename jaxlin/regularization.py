"""Weight decay (D2L 4.5): the L2 and L1 penalties, scratch and optax forms.

Scratch adds ``λ·penalty(w)`` to the objective (``fit(..., penalty=weight_penalty(λ))``);
the concise form lets optax add the penalty's gradient to the update, with a mask
so biases are not decayed.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

BIAS_NAMES = ("b", "bias")
PENALTIES = ("l2", "l1")


def l2_penalty(w: jax.Array) -> jax.Array:
    """‖w‖²/2 = Σ w²/2 (eq. 4.5.1's penalty; its gradient is w)."""
    return jnp.sum(w ** 2) / 2


def l1_penalty(w: jax.Array) -> jax.Array:
    """‖w‖₁ = Σ |w| (lasso; its (sub)gradient is sign(w))."""
    return jnp.sum(jnp.abs(w))


def _leaf_name(path: tuple) -> str:
    last = path[-1] if path else None
    return str(getattr(last, "key", getattr(last, "name", last)))


def decay_mask(params: Any, exclude: tuple[str, ...] = BIAS_NAMES) -> Any:
    """A pytree of bools like ``params``: True for weights to decay, False for leaves
    named in ``exclude`` (the biases ``b``/``bias``, never decayed)."""
    return jax.tree_util.tree_map_with_path(lambda path, _: _leaf_name(path) not in exclude, params)


def check_penalty(norm: str, lambd: float, name: str = "lambd") -> float:
    """Validate the penalty's ``norm`` (``"l2"`` or ``"l1"``) and its strength λ (finite, >= 0)."""
    if norm not in PENALTIES:
        raise ValueError(f"norm must be one of {PENALTIES}, got {norm!r}")
    lambd = float(lambd)
    if not math.isfinite(lambd) or lambd < 0:
        raise ValueError(f"{name} (the penalty strength λ) must be a finite number >= 0, got {lambd}")
    return lambd


def weight_penalty(lambd: float, norm: str = "l2",
                   mask: Callable[[Any], Any] = decay_mask) -> Callable[[Any], jax.Array]:
    """``penalty(params) = λ · Σ penalty(w)`` over the leaves ``mask`` selects (biases excluded).

    Pass it as ``fit(..., penalty=...)``: the book's ``loss + lambd * l2_penalty(w)``.
    """
    lambd = check_penalty(norm, lambd)
    per_leaf = l2_penalty if norm == "l2" else l1_penalty

    def penalty(params: Any) -> jax.Array:
        leaves = jax.tree.leaves(jax.tree.map(lambda p, m: per_leaf(p) if m else jnp.zeros(()),
                                              params, mask(params)))
        return lambd * sum(leaves, jnp.zeros(()))

    return penalty


class AddSignDecayState(NamedTuple):
    """``add_sign_decay`` keeps no state."""


def add_sign_decay(strength: float, mask: Any = None) -> optax.GradientTransformation:
    """The L1 counterpart of ``optax.add_decayed_weights``: updates + strength·sign(params)."""

    def init_fn(params):
        del params
        return AddSignDecayState()

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("add_sign_decay needs params: call update(grads, state, params)")
        return jax.tree.map(lambda g, p: g + strength * jnp.sign(p), updates, params), state

    transform = optax.GradientTransformation(init_fn, update_fn)
    return optax.masked(transform, mask) if mask is not None else transform


def sgd_weight_decay(lr: float, weight_decay: float, norm: str = "l2",
                     mask: Any = decay_mask) -> optax.GradientTransformation:
    """SGD with weight decay, the concise way: g ← g + λ·w (L2) or g + λ·sign(w) (L1) on the
    weights ``mask`` selects, then p ← p − lr·g. Biases are left to the data gradient alone."""
    weight_decay = check_penalty(norm, weight_decay, "weight_decay")
    decay = (optax.add_decayed_weights(weight_decay, mask=mask) if norm == "l2"
             else add_sign_decay(weight_decay, mask=mask))
    return optax.chain(decay, optax.sgd(lr))


__all__ = ["add_sign_decay", "check_penalty", "decay_mask", "l1_penalty", "l2_penalty",
           "sgd_weight_decay", "weight_penalty"]
