# %% [markdown]
# # 4.9 Environment and distribution shift
#
# The book describes covariate-shift correction in prose (4.9.3.1); here it runs. Labelled source
# inputs $x \sim q(x)$ and unlabelled target inputs $x \sim p(x)$ come from two Gaussians and share
# one labelling rule, $y = 1[x_2 > x_1^2 - 1]$. A logistic-regression domain classifier $h$ gives the
# importance weights $\beta(x) = p(x)/q(x) = e^{h(x)}$, and the same classifier of $y$ is trained
# without and with them; its error on labelled target data is compared.
#
# As a script: `python scripts/ch4_09_environment_and_distribution_shift.py [--help]`; in a notebook the flags take their defaults (or the words of `$JAXLIN_ARGS`).


# %%
import argparse

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from jaxlin import FitResult, plot, savefig, set_axes
from jaxlin.chapters.ch4_09_environment_and_distribution_shift import (
    decision_boundary,
    domain_data,
    effective_sample_size,
    gaussian_log_density_ratio,
    importance_weights,
    log_importance_weights,
    parabola_labels,
    sample_inputs,
    train_logistic_regression,
    with_weights,
)
from jaxlin.run.cli import Run, make_parser, positive_float, positive_int

FMTS = ("m--", "g-.", "r:")   # unweighted, weighted, trained on target: the same in both figures


# %%
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The common flags plus the sizes and Gaussians of both domains and the β clip."""
    parser = make_parser("D2L 4.9 Environment and distribution shift: covariate-shift correction, executed.",
                         epochs=30, lr=0.05, batch_size=50)
    parser.add_argument("--num-source", type=positive_int, default=1000, help="labelled source examples")
    parser.add_argument("--num-target", type=positive_int, default=1000, help="unlabelled target inputs")
    parser.add_argument("--num-test", type=positive_int, default=10000, help="labelled target test examples")
    parser.add_argument("--source-mean", type=float, nargs=2, default=[-1.0, 0.0], help="mean of q(x)")
    parser.add_argument("--target-mean", type=float, nargs=2, default=[1.0, 0.0], help="mean of p(x)")
    parser.add_argument("--std", type=positive_float, default=1.0, help="standard deviation of both")
    parser.add_argument("--clip", type=positive_float, default=None,
                        help="use beta = min(exp(h(x)), c) with this c (default: no clipping)")
    return parser.parse_args(argv)


args = parse_args(None)
run = Run(args, "ch4_09_environment_and_distribution_shift")
key = jax.random.key(args.seed)
source_key, target_key, test_key, oracle_key, domain_key, classifier_key = jax.random.split(key, 6)


# %% [markdown]
# ## The two domains
#
# Source and target inputs, labelled target test data, and an oracle trained on the target.


# %%
def generate_domains(args: argparse.Namespace, source_key: jax.Array, target_key: jax.Array,
                     test_key: jax.Array, oracle_key: jax.Array) -> dict[str, jax.Array]:
    """Labelled source inputs (Xs, ys), unlabelled target inputs U, a labelled target test set
    (Xt, yt) and labelled target training inputs Xo (the reference fit)."""
    mu_s, mu_t = jnp.asarray(args.source_mean), jnp.asarray(args.target_mean)
    Xs = sample_inputs(source_key, mu_s, args.std, args.num_source)
    ys = parabola_labels(Xs)
    U = sample_inputs(target_key, mu_t, args.std, args.num_target)            # target inputs, no labels
    Xt = sample_inputs(test_key, mu_t, args.std, args.num_test)               # target test set
    yt = parabola_labels(Xt)
    Xo = sample_inputs(oracle_key, mu_t, args.std, args.num_source)           # labelled target (reference)
    print(f"source: {args.num_source} labelled inputs x ~ N({args.source_mean}, {args.std:g}²I); "
          f"target: {args.num_target} unlabelled inputs u ~ N({args.target_mean}, {args.std:g}²I)")
    print(f"labelling rule y = 1[x2 > x1² − 1]; positives: source {float(ys.mean()):.3f}, "
          f"target {float(yt.mean()):.3f}")
    return {"Xs": Xs, "ys": ys, "U": U, "Xt": Xt, "yt": yt, "Xo": Xo}


data = generate_domains(args, source_key, target_key, test_key, oracle_key)
hyper = {"num_epochs": args.epochs, "learning_rate": args.lr, "batch_size": args.batch_size}


# %% [markdown]
# ## Importance weights from a domain classifier
#
# $h$ learns to tell target (label 1) from source (label 0) inputs; with equal sample sizes its
# logit estimates $\log p(x)/q(x)$. Printed: how close it is to the true log ratio, and the
# effective sample size of the weights.


# %%
def estimate_importance_weights(data: dict, args: argparse.Namespace, key: jax.Array,
                                hyper: dict) -> tuple[FitResult, jax.Array, float, float]:
    """4.9.3.1: a domain classifier h between source and target inputs, and β(x) = exp(h(x)).

    Returns the classifier's fit, β on the source inputs, the mean error of log β against the
    true log density ratio, and β's effective sample size."""
    Xs = data["Xs"]
    Xd, zd = domain_data(Xs, data["U"])
    domain = train_logistic_regression(Xd, zd, key=key, evals={"domain": (Xd, zd)}, **hyper)
    beta = importance_weights(domain.params, Xs, args.num_source, args.num_target, args.clip)
    log_beta = log_importance_weights(domain.params, Xs, args.num_source, args.num_target)
    true_log_ratio = gaussian_log_density_ratio(Xs, jnp.asarray(args.source_mean),
                                                jnp.asarray(args.target_mean), args.std)
    log_ratio_error = float(jnp.abs(log_beta - true_log_ratio).mean())
    ess = float(effective_sample_size(beta))
    print(f"domain classifier error {domain.history[-1]['domain_loss']:.3f}; "
          f"mean |log β(x) − log p(x)/q(x)| = {log_ratio_error:.3f} over the source inputs")
    print(f"β: min {float(beta.min()):.3g}, mean {float(beta.mean()):.3g}, max {float(beta.max()):.3g}; "
          f"effective sample size {ess:.0f} of {args.num_source}")
    return domain, beta, log_ratio_error, ess


domain, beta, log_ratio_error, ess = estimate_importance_weights(data, args, domain_key, hyper)


# %% [markdown]
# ## Weighted and unweighted training
#
# The weighted loss $\frac{1}{n}\sum_i \beta(x_i)\, l(f(x_i), y_i)$ on source data estimates the loss
# on the target. In the first figure the weighted model's target error falls below the
# unweighted one's, towards the oracle's; the second shows both domains and the boundaries.


# %%
def train_classifiers(data: dict, beta: jax.Array, key: jax.Array, hyper: dict) -> dict:
    """The same classifier on the source data unweighted and weighted by β, and on labelled target data."""
    Xs, ys, Xo = data["Xs"], data["ys"], data["Xo"]
    evals = {"source": (Xs, with_weights(ys)), "target": (data["Xt"], with_weights(data["yt"]))}
    return {"unweighted": train_logistic_regression(Xs, with_weights(ys), key=key, evals=evals, **hyper),
            "weighted": train_logistic_regression(Xs, with_weights(ys, beta), key=key, evals=evals, **hyper),
            "trained on target": train_logistic_regression(Xo, with_weights(parabola_labels(Xo)),
                                                           key=key, evals=evals, **hyper)}


def final_errors(fits: dict) -> dict[str, dict[str, float]]:
    """Each classifier's error on the source and on the target domain after its last epoch (printed)."""
    errors = {name: {"source_error": f.history[-1]["source_loss"],
                     "target_error": f.history[-1]["target_loss"]} for name, f in fits.items()}
    for name, e in errors.items():
        print(f"{name:>18}: target error {e['target_error']:.4f} (source error {e['source_error']:.4f})")
    return errors


def curve(history: list[dict[str, float]], name: str) -> np.ndarray:
    return np.array([h[name] for h in history])


def plot_target_error(fits: dict, num_epochs: int, path) -> None:
    """The target-domain error per epoch of each classifier."""
    epochs = curve(fits["unweighted"].history, "epoch")
    plot(epochs, [curve(f.history, "target_loss") for f in fits.values()], xlabel="epoch",
         ylabel="target-domain error", legend=list(fits), xlim=[1, max(num_epochs, 2)], ylim=[0, 0.7],
         fmts=FMTS, figsize=(5, 3.5), title="logistic regression on the target domain", path=path)


def plot_domains(path, Xs, ys, beta, Xt, yt, boundaries: dict) -> None:
    """Source inputs sized by β and target inputs, coloured by label, with the decision lines;
    one legend for both panels, outside on the right (inside, every corner holds points or lines)."""
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4), sharex=True, sharey=True)
    x1 = np.linspace(-4, 4, 200)
    size = 40 * np.asarray(beta).reshape(-1) / float(np.mean(beta))
    for ax, X, y, s, title in ((axes[0], Xs, ys, np.clip(size, 1, 200), "source, marker size ∝ β(x)"),
                               (axes[1], Xt, yt, 4, "target (test sample)")):
        X, y = np.asarray(X), np.asarray(y).reshape(-1)
        ax.scatter(X[:, 0], X[:, 1], s=s, c=np.where(y > 0.5, "tab:orange", "tab:blue"), alpha=0.35,
                   linewidths=0)
        ax.plot(x1, x1 ** 2 - 1, "k-", label="rule: x2 = x1² − 1")
        for (name, params), fmt in zip(boundaries.items(), FMTS):
            ax.plot(x1, np.asarray(decision_boundary(params, jnp.asarray(x1))), fmt, label=name)
        set_axes(ax, "x1", "x2", (-4, 4), (-4, 5))
        ax.set_title(title)
    handles, labels = axes[0].get_legend_handles_labels()
    classes = [Line2D([], [], ls="", marker="o", color=c, alpha=0.6) for c in ("tab:orange", "tab:blue")]
    axes[1].legend(handles + classes, labels + ["label 1", "label 0"], loc="upper left",
                   bbox_to_anchor=(1.02, 1.0), fontsize=8)
    savefig(fig, path)


fits = train_classifiers(data, beta, classifier_key, hyper)
errors = final_errors(fits)
plot_target_error(fits, args.epochs, run.path("target_error.png"))
plot_domains(run.path("domains.png"), data["Xs"], data["ys"], beta, data["Xt"][:2000], data["yt"][:2000],
             {name: f.params for name, f in fits.items()})


# %% [markdown]
# ## Results


# %%
def collect_results(args: argparse.Namespace, domain: FitResult, beta: jax.Array, log_ratio_error: float,
                    ess: float, fits: dict, errors: dict) -> dict:
    """results.json: the domain classifier, β, the errors, the histories and the seconds of all fits."""
    all_fits = [domain, *fits.values()]
    return {
        "labelling_rule": "y = 1[x2 > x1^2 - 1]",
        "domain_classifier": {"error": domain.history[-1]["domain_loss"], "params": domain.params,
                              "mean_abs_log_ratio_error": log_ratio_error},
        "beta": {"min": float(beta.min()), "mean": float(beta.mean()), "max": float(beta.max()),
                 "effective_sample_size": ess, "clip": args.clip},
        "errors": errors,
        "unweighted_target_error": errors["unweighted"]["target_error"],
        "weighted_target_error": errors["weighted"]["target_error"],
        "history": {name: [{"epoch": h["epoch"], "source_error": h["source_loss"],
                            "target_error": h["target_loss"]} for h in f.history]
                    for name, f in fits.items()},
        "seconds": {part: sum(f.seconds[part] for f in all_fits) for part in ("compile", "train", "eval")},
    }


results = collect_results(args, domain, beta, log_ratio_error, ess, fits, errors)
run.finish(results)
