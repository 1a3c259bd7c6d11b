"""Weight decay (D2L 4.5): the L2 and L1 penalties, scratch and optax forms.

Scratch adds ``λ·penalty(w)`` to the objective (``make_train_epoch(..., penalty=weight_penalty(λ))``);
the concise form lets optax add the penalty's gradient to the update, with a mask
so biases are not decayed.

L1's gradient λ·sign(w) never settles at 0: SGD makes such weights hop around zero
by about lr·λ. The proximal step (soft-thresholding after the SGD step) sets them
exactly to zero: ``proximal_sgd`` (scratch) and ``l1_proximal`` (optax).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxlin.checks import check_penalty
from jaxlin.nn.trees import key_name
from jaxlin.nn.updaters import sgd

BIAS_NAMES = ("b", "bias")
METHODS = ("l2", "l1", "l1-proximal")


def l2_penalty(w: jax.Array) -> jax.Array:
    """‖w‖²/2 = Σ w²/2 (eq. 4.5.1's penalty; its gradient is w).
    Written out in scripts/ch4_05_weight_decay.py (4.5.3)."""
    return jnp.sum(w ** 2) / 2


def l1_penalty(w: jax.Array) -> jax.Array:
    """‖w‖₁ = Σ |w| (lasso; its (sub)gradient is sign(w))."""
    return jnp.sum(jnp.abs(w))


def decay_mask(params: Any, exclude: tuple[str, ...] = BIAS_NAMES) -> Any:
    """A pytree of bools like ``params``: True for weights to decay, False for leaves
    named in ``exclude`` (the biases ``b``/``bias``, never decayed)."""
    return jax.tree_util.tree_map_with_path(
        lambda path, _: (key_name(path[-1]) if path else "") not in exclude, params)


def weight_penalty(lambd: float, norm: str = "l2",
                   mask: Callable[[Any], Any] = decay_mask) -> Callable[[Any], jax.Array]:
    """``penalty(params) = λ · Σ penalty(w)`` over the leaves ``mask`` selects (biases excluded).

    Pass it as ``make_train_epoch(..., penalty=...)``: the book's ``loss + lambd * l2_penalty(w)`` (its
    ``train(lambd)`` is written out in scripts/ch4_05_weight_decay.py, 4.5.3).
    """
    lambd = check_penalty(norm, lambd)
    per_leaf = l2_penalty if norm == "l2" else l1_penalty

    def penalty(params: Any) -> jax.Array:
        leaves = jax.tree.leaves(jax.tree.map(lambda p, m: per_leaf(p) if m else jnp.zeros(()),
                                              params, mask(params)))
        return lambd * sum(leaves, jnp.zeros(()))

    return penalty


def add_sign_decay(strength: float, mask: Any = None) -> optax.GradientTransformation:
    """The L1 counterpart of ``optax.add_decayed_weights``: updates + strength·sign(params)
    (optax's own stateless transformation of each leaf and its param)."""
    transform = optax.stateless_with_tree_map(lambda g, p: g + strength * jnp.sign(p))
    return optax.masked(transform, mask) if mask is not None else transform


def soft_threshold(w: jax.Array, threshold: float | jax.Array) -> jax.Array:
    """prox of t‖·‖₁: sign(w)·max(|w| − t, 0), which maps every |w| <= t to exactly 0."""
    return jnp.sign(w) * jnp.maximum(jnp.abs(w) - threshold, 0.0)


def l1_proximal(threshold: float, mask: Any = None) -> optax.GradientTransformation:
    """Chained after an optimizer: turn its update u into soft_threshold(p + u, t) − p,
    so the new params are the soft-thresholded SGD step (proximal gradient, t = lr·λ)."""
    transform = optax.stateless_with_tree_map(lambda u, p: soft_threshold(p + u, threshold) - p)
    return optax.masked(transform, mask) if mask is not None else transform


def proximal_sgd(params: Any, grads: Any, lr: float, batch_size: int, lambd: float,
                 mask: Callable[[Any], Any] = decay_mask) -> Any:
    """Scratch proximal SGD for λ‖w‖₁: the book's sgd step, then w ← soft_threshold(w, lr·λ)
    on the leaves ``mask`` selects (biases untouched). Bind ``lr`` and ``lambd`` with partial."""
    params = sgd(params, grads, lr, batch_size)
    return jax.tree.map(lambda p, m: soft_threshold(p, lr * lambd) if m else p, params, mask(params))


def sgd_weight_decay(lr: float, weight_decay: float, method: str = "l2",
                     mask: Any = decay_mask) -> optax.GradientTransformation:
    """SGD with weight decay, the concise way, on the weights ``mask`` selects (never the bias):

    * ``"l2"``: g ← g + λ·w, then p ← p − lr·g (``optax.add_decayed_weights``);
    * ``"l1"``: g ← g + λ·sign(w), then p ← p − lr·g;
    * ``"l1-proximal"``: p ← soft_threshold(p − lr·g, lr·λ).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    weight_decay = check_penalty(method[:2], weight_decay, "weight_decay")
    if method == "l1-proximal":
        return optax.chain(optax.sgd(lr), l1_proximal(lr * weight_decay, mask=mask))
    decay = (optax.add_decayed_weights(weight_decay, mask=mask) if method == "l2"
             else add_sign_decay(weight_decay, mask=mask))
    return optax.chain(decay, optax.sgd(lr))


__all__ = ["add_sign_decay", "decay_mask", "l1_penalty", "l1_proximal", "l2_penalty",
           "proximal_sgd", "sgd_weight_decay", "soft_threshold", "weight_penalty"]
