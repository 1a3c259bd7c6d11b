# %% [markdown]
# # 4.9 Environment and distribution shift
#
# The book describes covariate-shift correction in prose (4.9.3.1); here it runs. Labelled source
# inputs $x \sim q(x)$ and unlabelled target inputs $x \sim p(x)$ come from two Gaussians and share
# one labelling rule, $y = 1[x_2 > x_1^2 - 1]$. A logistic-regression domain classifier $h$ gives the
# importance weights $\beta(x) = p(x)/q(x) = e^{h(x)}$, and the same classifier of $y$ is trained
# without and with them; its error on labelled target data is compared. Then label shift
# (4.9.3.2) runs too: the label proportions move, and the confusion matrix of a source
# classifier estimates the target's. Concept shift closes the section, in prose.
#
# As a script: `python scripts/ch4_09_environment_and_distribution_shift.py [--help]`; in a notebook the flags take their defaults (or the words of `$JAXLIN_ARGS`).


# %% [markdown]
# The set-up: the section's settings, stated once (each is a flag when this file runs as a
# script): 30 epochs of Adam at learning rate 0.05 in batches of 50 for every classifier, the
# sizes of the source, target and target test sets, the two Gaussians' means and their common
# standard deviation, and the optional clip $c$ of $\beta$. One key, split by role: each data
# set, the domain classifier and the label classifier.


# %%
import jax
import jax.numpy as jnp
import numpy as np

from jaxlin.chapters import ch4_09_environment_and_distribution_shift as covariate
from jaxlin.chapters import ch4_09_label_shift as ls
from jaxlin.run import setup
from jaxlin.run.flags import positive_float
from jaxlin.run.session import Flag, record, save

(num_epochs, lr, batch_size, num_source, num_target, num_test, source_mean, target_mean, std, clip,
 seed) = setup("ch4_09_environment_and_distribution_shift", "4.9 Environment and distribution shift",
               num_epochs=30, lr=0.05, batch_size=50, num_source=Flag(1000, help="labelled source examples"),
               num_target=Flag(1000, help="unlabelled target inputs"),
               num_test=Flag(10000, help="labelled target test examples"),
               source_mean=Flag([-1.0, 0.0], nargs=2, type=float, help="mean of q(x)"),
               target_mean=Flag([1.0, 0.0], nargs=2, type=float, help="mean of p(x)"),
               std=Flag(1.0, help="standard deviation of both"),
               clip=Flag(None, type=positive_float,
                         help="use beta = min(exp(h(x)), c) with this c (default: no clipping)"))
key = jax.random.key(seed)
source_key, target_key, test_key, oracle_key, domain_key, classifier_key = jax.random.split(key, 6)


# %% [markdown]
# ## The two domains
#
# The book's covariate shift: the inputs' distribution changes between training (source, $q(x)$)
# and test (target, $p(x)$), while the labelling $P(y \mid x)$ stays. Here both are Gaussians,
# $\mathcal{N}((-1, 0), I)$ and $\mathcal{N}((1, 0), I)$, and every label follows the parabola
# $y = 1[x_2 > x_1^2 - 1]$, which no linear classifier fits everywhere: what is best on the source
# is not best on the target. `sample_inputs` draws each set from its own key: labelled source
# data, unlabelled target inputs `U`, a labelled target test set and, for reference only, a
# labelled target training set (the "oracle"). Expect about the same share of positives in both
# domains (0.40 and 0.42): what moves is where the inputs lie, not how often each label occurs.


# %%
mu_s, mu_t = jnp.asarray(source_mean), jnp.asarray(target_mean)
Xs = covariate.sample_inputs(source_key, mu_s, std, num_source)
ys = covariate.parabola_labels(Xs)
U = covariate.sample_inputs(target_key, mu_t, std, num_target)            # target inputs, no labels
Xt = covariate.sample_inputs(test_key, mu_t, std, num_test)               # target test set
yt = covariate.parabola_labels(Xt)
Xo = covariate.sample_inputs(oracle_key, mu_t, std, num_source)           # labelled target (reference)
print(f"source: {num_source} labelled inputs x ~ N({source_mean}, {std:g}²I); "
      f"target: {num_target} unlabelled inputs u ~ N({target_mean}, {std:g}²I)")
print(f"labelling rule y = 1[x2 > x1² − 1]; positives: source {float(ys.mean()):.3f}, target {float(yt.mean()):.3f}")


# %% [markdown]
# ## Importance weights from a domain classifier
#
# The book's recipe (4.9.3.1): label the source inputs $z = 0$ and the target inputs $z = 1$ (the
# book writes $-1$ and $1$), train a logistic regression $h$ to tell them apart, and weight each
# source example by $\beta_i = e^{h(x_i)}$: with equal sample sizes the classifier's logit
# estimates $\log p(x)/q(x)$. `train_logistic_regression` is jaxlin's `fit` with Adam and the
# logistic loss; `importance_weights` applies the book's optional clip $\min(\beta, c)$. The true
# log ratio of two Gaussians is known here, so the cell prints how close $h$ comes, and the
# effective sample size $(\sum\beta)^2 / \sum\beta^2$ of the weights. Expect a domain error near
# 0.16, a mean log-ratio error below 0.3 and an effective size well under 1000.


# %%
hyper = {"num_epochs": num_epochs, "learning_rate": lr, "batch_size": batch_size}
Xd, zd = covariate.domain_data(Xs, U)
domain = covariate.train_logistic_regression(Xd, zd, key=domain_key, evals={"domain": (Xd, zd)}, **hyper)
beta = covariate.importance_weights(domain.state.params, Xs, num_source, num_target, clip)
log_beta = covariate.log_importance_weights(domain.state.params, Xs, num_source, num_target)
log_ratio_error = float(jnp.abs(log_beta - covariate.gaussian_log_density_ratio(Xs, mu_s, mu_t, std)).mean())
ess = float(covariate.effective_sample_size(beta))
print(f"domain classifier error {domain.state.history[-1]['domain_loss']:.3f}; "
      f"mean |log β(x) − log p(x)/q(x)| = {log_ratio_error:.3f} over the source inputs")
print(f"β: min {float(beta.min()):.3g}, mean {float(beta.mean()):.3g}, max {float(beta.max()):.3g}; "
      f"effective sample size {ess:.0f} of {num_source}")


# %% [markdown]
# ## Weighted and unweighted training
#
# The weighted loss $\frac{1}{n}\sum_i \beta(x_i)\, l(f(x_i), y_i)$ on source data estimates the
# loss on the target (eq. 4.9.5). The same classifier is trained three times from the same key:
# unweighted on the source, weighted by $\beta$ on the source, and on labelled target data (the
# reference a correction can at best reach). Each label travels with its weight as an (n, 2)
# array (`with_weights`), so one loss and one compiled step serve all three. Expect the
# weighted model's target error well below the unweighted one's (about 0.1 against 0.5).


# %%
train, weighted = covariate.train_logistic_regression, covariate.with_weights
evals = {"source": (Xs, weighted(ys)), "target": (Xt, weighted(yt))}
fits = {"unweighted": train(Xs, weighted(ys), key=classifier_key, evals=evals, **hyper),
        "weighted": train(Xs, weighted(ys, beta), key=classifier_key, evals=evals, **hyper),
        "trained on target": train(Xo, weighted(covariate.parabola_labels(Xo)), key=classifier_key,
                                   evals=evals, **hyper)}
errors = {name: {"source_error": f.state.history[-1]["source_loss"], "target_error": f.state.history[-1]["target_loss"]}
          for name, f in fits.items()}
for name, e in errors.items():
    print(f"{name:>18}: target error {e['target_error']:.4f} (source error {e['source_error']:.4f})")


# %% [markdown]
# The two figures: each classifier's target error per epoch (the weighted one falls below the
# unweighted, towards the one trained on the target), and both domains with the three decision
# lines, the source points drawn in proportion to their weight $\beta$: the points that look like
# target data count most.


# %%
save(covariate.plot_target_error(fits, num_epochs), "target_error.png")
boundaries = {name: f.state.params for name, f in fits.items()}
save(covariate.plot_domains(Xs, ys, beta, Xt[:2000], yt[:2000], boundaries), "domains.png")


# %% [markdown]
# What the covariate-shift experiment found, kept in the run's `results.json` by `record`: the
# domain classifier and its log-ratio error, the weights' range and effective size, each
# classifier's errors and history, and the seconds of all fits.


# %%
all_fits = [domain, *fits.values()]
record(labelling_rule="y = 1[x2 > x1^2 - 1]",
       domain_classifier={"error": domain.state.history[-1]["domain_loss"], "params": domain.state.params,
                          "mean_abs_log_ratio_error": log_ratio_error},
       beta={"min": float(beta.min()), "mean": float(beta.mean()), "max": float(beta.max()),
             "effective_sample_size": ess, "clip": clip},
       errors=errors, unweighted_target_error=errors["unweighted"]["target_error"],
       weighted_target_error=errors["weighted"]["target_error"],
       history={name: [{"epoch": h["epoch"], "source_error": h["source_loss"], "target_error": h["target_loss"]}
                       for h in f.state.history] for name, f in fits.items()},
       seconds={part: sum(f.seconds[part] for f in all_fits) for part in ("compile", "train", "eval")})


# %% [markdown]
# ## Label shift (4.9.3.2)
#
# Label shift is the opposite assumption: the label distribution changes, from $p(y)$ on the
# source to $q(y)$ on the target, while the class-conditional $P(x \mid y)$ stays the same (the
# book's example: a disease becomes more common, its symptoms do not change). The importance
# weights are then a function of the label only, $\beta(y) = q(y)/p(y)$, and the book estimates
# $q(y)$ without a single target label. Take a classifier $f$ trained on the source and its
# confusion matrix $\mathbf{C}$ on held-out source data, $c_{ij} = P(f(x) = i \mid y = j)$ (each
# column sums to 1). On the target, $P(f(x) = i) = \sum_j c_{ij}\, q(y = j)$, so with $\mu(\hat y)$ the
# mean of the classifier's predictions on the target inputs,
#
# $$\mathbf{C}\,\hat q = \mu(\hat y), \qquad \hat q = \mathbf{C}^{-1} \mu(\hat y),$$
#
# a $k \times k$ linear system (solvable when $f$ is better than chance, so that $\mathbf{C}$ is
# invertible). The data: three classes, $x \mid y \sim \mathcal{N}(\mathbf{m}_y, I)$ in the plane with
# means $(0, 0)$, $(3, 0)$ and $(0, 3)$, source proportions $p(y) = (0.5, 0.3, 0.2)$, target
# $q(y) = (0.1, 0.3, 0.6)$; the classifier is softmax regression (3.4) trained with `fit`. Its
# keys come from `fold_in(key, 1)`, apart from the covariate-shift experiment's.


# %%
MEANS = jnp.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
P_SOURCE, Q_TARGET = jnp.array([0.5, 0.3, 0.2]), jnp.array([0.1, 0.3, 0.6])
train_key, valid_key, shifted_key, f_key = jax.random.split(jax.random.fold_in(key, 1), 4)
X_src, y_src = ls.class_conditional_data(train_key, MEANS, P_SOURCE, 3000)
X_val, y_val = ls.class_conditional_data(valid_key, MEANS, P_SOURCE, 5000)       # held-out source data
X_tgt, y_tgt = ls.class_conditional_data(shifted_key, MEANS, Q_TARGET, 10000)    # y_tgt only to check
f = ls.train_softmax_classifier(X_src, y_src, 3, key=f_key, num_epochs=20, learning_rate=0.05, batch_size=50)
predict = jax.jit(lambda X: jnp.argmax(ls.softmax_regression_logits(f.state.params, X), axis=1))


# %% [markdown]
# The estimate: $\mathbf{C}$ from the held-out source predictions, $\mu(\hat y)$ from the target
# predictions, then `jnp.linalg.solve` (clipped at 0 and renormalized, against sampling noise)
# and the weights $\beta(y) = \hat q(y)/p(y)$. The book would retrain $f$ with the loss of each
# example weighted by $\beta(y_i)$; for a model of $P(y \mid x)$ that converges to reweighting its
# posterior, $\beta(y)\,P(y \mid x)$, which `corrected_predictions` applies directly. Expect
# $\hat q$ within about 0.01 of $(0.1, 0.3, 0.6)$, weights near $(0.2, 1, 3)$, and the target
# accuracy rising after the correction, from about 0.87 to 0.94 (the now frequent class 2 is
# predicted more often).


# %%
C = ls.confusion_matrix(predict(X_val), y_val, 3)
mu = ls.mean_prediction(predict(X_tgt), 3)
q_hat = ls.estimate_label_distribution(C, mu)
beta_y = q_hat / P_SOURCE
logits = ls.softmax_regression_logits(f.state.params, X_tgt)
accuracy = {"source classifier": float((predict(X_tgt) == y_tgt).mean()),
            "corrected": float((ls.corrected_predictions(logits, beta_y) == y_tgt).mean())}
with np.printoptions(precision=3, suppress=True):
    print("confusion matrix C (columns: true class):\n", np.asarray(C))
    print("true q(y):", np.asarray(Q_TARGET), " estimated q̂(y):", np.asarray(q_hat), " mean prediction:", np.asarray(mu))
    print("weights β(y) = q̂(y)/p(y):", np.asarray(beta_y), f" (true {np.asarray(Q_TARGET / P_SOURCE)})")
print("target accuracy: " + ", ".join(f"{k} {v:.4f}" for k, v in accuracy.items()))
record(label_shift={"p_source": P_SOURCE.tolist(), "q_target": Q_TARGET.tolist(), "q_hat": q_hat.tolist(),
                    "mean_prediction": mu.tolist(), "confusion_matrix": C.tolist(), "beta": beta_y.tolist(),
                    "target_accuracy": accuracy})


# %% [markdown]
# ## Concept shift (4.9.1.3)
#
# The third kind needs no code here, because no reweighting can fix it: under concept shift the
# labelling itself, $P(y \mid x)$, changes (the book's example: what a "soft drink" is called
# differs from region to region; what counts as a disease shifts with diagnostic criteria).
# Source data then say nothing certain about the target's labels, and importance weights, which
# only move the emphasis among source examples, cannot help. What helps is new labelled data:
# when the concept drifts slowly, as the book notes, the model is updated with recent examples
# (fine-tuning from the current parameters rather than training from scratch), so that it
# tracks the change.
