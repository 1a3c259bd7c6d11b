"""What 4.5 (weight decay) needs beyond the book's code: the L1 comparison (a penalty the book
only mentions), each run's summary line and the two figures.

scripts/ch4_05_weight_decay.py writes the book's ``init_params``, ``l2_penalty``, ``train`` and
``train_concise`` in its cells.
"""
from __future__ import annotations

import functools
from typing import Any

import jax
import numpy as np

from jaxlin.nn.linear import init_linreg, linreg
from jaxlin.nn.losses import squared_loss
from jaxlin.nn.regularization import decay_mask, proximal_sgd, weight_penalty
from jaxlin.nn.updaters import sgd
from jaxlin.plots.figures import plot, plt
from jaxlin.train.epoch import make_train_epoch
from jaxlin.train.evaluate import evaluator
from jaxlin.train.fit import fit

SMALL = 1e-3                                 # |w| below this counts as (near) zero
FLOOR = 1e-8                                 # lets exact zeros show on a log axis

Arrays = tuple[jax.Array, jax.Array]


def train_scratch_l1(method: str, lambd: float, train_data: Arrays, test_data: Arrays, *, lr: float,
                     batch_size: int, num_epochs: int, key_init: jax.Array, key_fit: jax.Array
                     ) -> tuple[Any, list[dict[str, float]]]:
    """The scratch model of 4.5 with λ‖w‖₁: its (sub)gradient added to the loss (``"l1"``), or the
    book's sgd step followed by soft-thresholding (``"l1-proximal"``). Returns params, history."""
    params = init_linreg(key_init, train_data[0].shape[1], sigma=1.0)
    if method == "l1-proximal":
        updater, penalty = functools.partial(proximal_sgd, lr=lr, lambd=lambd), None
    else:
        updater, penalty = functools.partial(sgd, lr=lr), weight_penalty(lambd, "l1")
    epoch = make_train_epoch(linreg, squared_loss, updater, batch_size, penalty=penalty)
    evaluate = evaluator(linreg, {"train": train_data, "test": test_data}, loss=squared_loss)
    state, _ = fit(epoch, epoch.init(params, key_fit), train_data, num_epochs=num_epochs, evaluate=evaluate)
    return state.params, list(state.history)


def weights_and_bias(params: Any) -> tuple[np.ndarray, np.ndarray]:
    """The weight vector and bias, whatever the implementation named them."""
    mask = decay_mask(params)
    leaves, masks = jax.tree.leaves(params), jax.tree.leaves(mask)
    w = np.concatenate([np.asarray(p).reshape(-1) for p, m in zip(leaves, masks) if m])
    b = np.concatenate([np.asarray(p).reshape(-1) for p, m in zip(leaves, masks) if not m])
    return w, b


def summarize(name: str, method: str, lambd: float, params: Any, history: list[dict[str, float]]) -> dict:
    """A run's numbers (norms of w, how many weights are (near) zero, b, the last losses), printed
    on one line."""
    w, b = weights_and_bias(params)
    last = history[-1]
    r = {"penalty": method, "lambd": lambd, "w_norm": float(np.linalg.norm(w)), "w_l1": float(np.abs(w).sum()),
         "num_small": int((np.abs(w) < SMALL).sum()), "num_zero": int((w == 0).sum()), "b": b.tolist(),
         "train_loss": last["train_loss"], "test_loss": last["test_loss"], "w": w.tolist(), "history": history}
    print(f"{name}: L2 norm of w: {r['w_norm']:.4g} (‖w‖₁ = {r['w_l1']:.4g}, "
          f"{r['num_small']}/{len(w)} with |w| < {SMALL:g}, {r['num_zero']} exactly 0); b = {b[0]:.4f}; "
          f"train loss {r['train_loss']:.4g}, test loss {r['test_loss']:.4g}")
    return r


def plot_runs(runs: dict, title: str) -> Any:
    """Train and test loss (log scale) per run, one panel each."""
    fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 3.6), squeeze=False)
    fig.suptitle(title)
    for ax, (name, r) in zip(axes[0], runs.items()):
        h = r["history"]
        epochs = np.asarray([e["epoch"] for e in h])
        plot(epochs, [[e["train_loss"] for e in h], [e["test_loss"] for e in h]], "epochs", "loss",
             legend=["train", "test"], yscale="log", axes=ax, title=f"{name}: ‖w‖₂ = {r['w_norm']:.3g}")
    return fig


def plot_weights(runs: dict) -> Any:
    """Sorted |w| per run on a log scale: L1 leaves many at ~0, L2 shrinks all evenly."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    names = list(runs)
    num_inputs = len(next(iter(runs.values()))["w"])
    plot(np.arange(1, num_inputs + 1), [np.sort(np.abs(np.asarray(runs[n]["w"])))[::-1] + FLOOR for n in names],
         "rank", f"|w| + {FLOOR:g} (sorted)", legend=names, yscale="log", axes=ax,
         title=f"learned weights; dotted: |w| = {SMALL:g}")
    ax.legend(names, fontsize=8, loc="center right")
    ax.axhline(SMALL, color="k", lw=0.8, ls=":")
    return fig


__all__ = ["FLOOR", "SMALL", "plot_runs", "plot_weights", "summarize", "train_scratch_l1", "weights_and_bias"]
