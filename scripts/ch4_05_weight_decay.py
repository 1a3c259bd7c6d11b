# %% [markdown]
# # 4.5 Weight decay
#
# $y = 0.05 + \sum_{i=1}^{200} 0.01\,x_i + \epsilon$, $\epsilon \sim \mathcal{N}(0, 0.01^2)$, with only 20
# training examples for 200 inputs: without a penalty the model overfits. Adding
# $\frac{\lambda}{2}\|\mathbf{w}\|^2$ to the loss (eq. 4.5.2) shrinks $\mathbf{w}$ and closes the gap
# between training and test loss. `--impl concise` uses optax's masked weight decay (the bias is
# not decayed); `--penalty l1` compares $\lambda\|\mathbf{w}\|_1$, plain and proximal, with L2.
#
# As a script: `python scripts/ch4_05_weight_decay.py [--impl scratch|concise] [--penalty l2|l1]`; in a notebook the flags take their defaults (or the words of `$JAXLIN_ARGS`).


# %%
import functools

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from flax import nnx

from jaxlin import fit, init_linreg, linreg, nnx_model, plot, savefig, sgd, squared_loss, synthetic_data
from jaxlin.checks import check_penalty
from jaxlin.nn.regularization import decay_mask, proximal_sgd, sgd_weight_decay, weight_penalty
from jaxlin.run.cli import Run, make_parser

NUM_INPUTS, N_TRAIN, N_TEST = 200, 20, 100   # few examples, many inputs: easy to overfit
TRUE_B, NOISE = 0.05, 0.01
SMALL = 1e-3                                 # |w| below this counts as (near) zero
FLOOR = 1e-8                                 # lets exact zeros show on a log axis

parser = make_parser("D2L 4.5 Weight decay: d = 200 inputs, 20 training examples, trained with λ = 0 "
                     "(overfits) and λ = 3.", epochs=100, lr=0.003, batch_size=5)
parser.add_argument("--impl", choices=("scratch", "concise"), default="scratch",
                    help="scratch: λ‖w‖²/2 added to the loss; concise: optax masked weight decay")
parser.add_argument("--penalty", choices=("l2", "l1"), default="l2",
                    help="the norm penalized; l1 also runs L2 at the largest λ to compare")
parser.add_argument("--lambdas", type=float, nargs="+", default=[0.0, 3.0],
                    help="the penalty strengths λ to train with")
args = parser.parse_args()
for lambd in args.lambdas:
    check_penalty(args.penalty, lambd, "--lambdas")
if args.batch_size > N_TRAIN:
    parser.error(f"--batch-size {args.batch_size} is larger than the training set ({N_TRAIN} examples)")
run = Run(args, "ch4_05_weight_decay")
key_data, key_init, key_fit = jax.random.split(jax.random.key(args.seed), 3)
key_train, key_test = jax.random.split(key_data)


# %% [markdown]
# ## High-dimensional linear regression (4.5.2)
#
# 20 training and 100 test examples of the same model.


# %%
true_w = 0.01 * jnp.ones(NUM_INPUTS)
train_data = synthetic_data(key_train, true_w, TRUE_B, N_TRAIN, NOISE)
test_data = synthetic_data(key_test, true_w, TRUE_B, N_TEST, NOISE)


# %% [markdown]
# ## Training with and without the penalty (4.5.3-4.5.4)
#
# One run per (penalty, λ): the printed norm of $\mathbf{w}$ falls with λ, and the test loss with it.


# %%
def weights_and_bias(params) -> tuple[np.ndarray, np.ndarray]:
    """The weight vector and bias, whatever the implementation named them."""
    mask = decay_mask(params)
    leaves, masks = jax.tree.leaves(params), jax.tree.leaves(mask)
    w = np.concatenate([np.asarray(p).reshape(-1) for p, m in zip(leaves, masks) if m])
    b = np.concatenate([np.asarray(p).reshape(-1) for p, m in zip(leaves, masks) if not m])
    return w, b


def train(impl: str, method: str, lambd: float, train_data, test_data, *, lr: float, batch_size: int,
          num_epochs: int, key_init: jax.Array, key_fit: jax.Array):
    """One run: w ~ N(0, 1), b = 0, minibatch SGD with the penalty λ·penalty(w) on the weights only.

    ``method`` is ``"l2"``, ``"l1"`` (penalty gradient) or ``"l1-proximal"`` (soft-threshold step).
    """
    if impl == "scratch":
        net, params = linreg, init_linreg(key_init, NUM_INPUTS, sigma=1.0)
        if method == "l1-proximal":
            updater, penalty = functools.partial(proximal_sgd, lr=lr, lambd=lambd), None
        else:
            updater, penalty = functools.partial(sgd, lr=lr), weight_penalty(lambd, method)
    else:
        init, net = nnx_model(lambda rngs: nnx.Linear(NUM_INPUTS, 1, kernel_init=nnx.initializers.normal(1.0),
                                                      rngs=rngs))
        params = init(key_init)
        updater, penalty = sgd_weight_decay(lr, lambd, method), None
    return fit(net, params, squared_loss, updater, train_data, num_epochs=num_epochs,
               batch_size=batch_size, key=key_fit, evals={"train": train_data, "test": test_data},
               eval_loss=squared_loss, penalty=penalty)


configs = [(args.penalty, lambd) for lambd in args.lambdas]
if args.penalty == "l1":
    configs += [("l1-proximal", max(args.lambdas)), ("l2", max(args.lambdas))]
runs = {}
with run.guard():                  # divergence: results.json says so, exit status 1
    for method, lambd in configs:
        result = train(args.impl, method, lambd, train_data, test_data, lr=args.lr,
                       batch_size=args.batch_size, num_epochs=args.epochs, key_init=key_init,
                       key_fit=key_fit)
        w, b = weights_and_bias(result.params)
        last = result.history[-1]
        name = f"{method.upper()} λ={lambd:g}"
        runs[name] = {"penalty": method, "lambd": lambd, "w_norm": float(np.linalg.norm(w)),
                      "w_l1": float(np.abs(w).sum()), "num_small": int((np.abs(w) < SMALL).sum()),
                      "num_zero": int((w == 0).sum()),
                      "b": b.tolist(), "train_loss": last["train_loss"], "test_loss": last["test_loss"],
                      "w": w.tolist(), "history": result.history, "seconds": result.seconds}
        r = runs[name]
        print(f"{name}: L2 norm of w: {r['w_norm']:.4g} (‖w‖₁ = {r['w_l1']:.4g}, "
              f"{r['num_small']}/{NUM_INPUTS} with |w| < {SMALL:g}, {r['num_zero']} exactly 0); b = {b[0]:.4f}; "
              f"train loss {r['train_loss']:.4g}, test loss {r['test_loss']:.4g}")


# %% [markdown]
# ## The figures
#
# The losses per epoch for each λ (λ = 0: training loss far below the test loss; λ = 3: close
# together), then the learned weights: L2 shrinks them all, L1 sets many to (near) zero.


# %%
def plot_runs(runs: dict, impl: str, path) -> None:
    """Train and test loss (log scale) per run, one panel each."""
    fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 3.6), squeeze=False)
    fig.suptitle(f"weight decay ({impl}): d = {NUM_INPUTS}, {N_TRAIN} training examples")
    for ax, (name, r) in zip(axes[0], runs.items()):
        h = r["history"]
        epochs = np.asarray([e["epoch"] for e in h])
        plot(epochs, [[e["train_loss"] for e in h], [e["test_loss"] for e in h]], "epochs", "loss",
             legend=["train", "test"], yscale="log", axes=ax,
             title=f"{name}: ‖w‖₂ = {r['w_norm']:.3g}")
    savefig(fig, path)


def plot_weights(runs: dict, path) -> None:
    """Sorted |w| per run on a log scale: L1 leaves many at ~0, L2 shrinks all evenly."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    names = list(runs)
    plot(np.arange(1, NUM_INPUTS + 1), [np.sort(np.abs(np.asarray(runs[n]["w"])))[::-1] + FLOOR for n in names],
         "rank", f"|w| + {FLOOR:g} (sorted)", legend=names, yscale="log", axes=ax,
         title=f"learned weights; dotted: |w| = {SMALL:g}")
    ax.legend(names, fontsize=8, loc="center right")
    ax.axhline(SMALL, color="k", lw=0.8, ls=":")
    savefig(fig, path)


plot_runs(runs, args.impl, run.path(f"weight_decay_{args.impl}_{args.penalty}.png"))
plot_weights(runs, run.path(f"weights_{args.impl}_{args.penalty}.png"))


# %% [markdown]
# ## Results


# %%
results = {"impl": args.impl, "penalty": args.penalty, "true_w": 0.01, "true_b": TRUE_B,
           "small_threshold": SMALL, "runs": runs}
run.finish(results)
