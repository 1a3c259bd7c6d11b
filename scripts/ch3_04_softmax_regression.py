# %% [markdown]
# # 3.4 Softmax regression
#
# The ideas of the section as numbers: the softmax of the logits (2.0, 1.0, 0.1) and that it keeps
# their order; a likelihood and its cross-entropy losses; information $-\log p$, entropy $H(p)$ and
# cross-entropy $H(p, q) \ge H(p)$; the gradient of the loss with respect to the logits. Then, before
# softmax, four linear classifiers of two classes in 2-D, and why the logistic loss trains where the
# squared loss on a sigmoid stalls.
#
# As a script: `python scripts/ch3_04_softmax_regression.py [--help]`; in a notebook the flags take
# their defaults (or the words of `$JAXLIN_ARGS`).


# %% [markdown]
# The set-up: the settings of the classifier experiment, stated once (each is a flag when this
# file runs as a script): the learning rate 2.0 and the number of full-batch gradient steps of
# each sigmoid classifier, the training points per class and the number of outliers, the
# perceptron's passes, and the bias $b$ of the saturated start. One key, split by role: the
# random logits of the gradient check, and the classifiers' data and initialization.


# %%
import jax
import numpy as np

from jaxlin import binary_cross_entropy_logits
from jaxlin.chapters import ch3_04_linear_classifiers as ch3_04
from jaxlin.chapters.ch3_04_softmax_regression import sigmoid_squared_loss
from jaxlin.run import setup
from jaxlin.run.flags import nonnegative_int
from jaxlin.run.session import Flag, record, save

lr, steps, num_per_class, outliers, perceptron_epochs, saturated_bias, seed = setup(
    "ch3_04_softmax_regression", "3.4 Softmax regression", lr=2.0,
    steps=Flag(200, help="full-batch gradient steps for each sigmoid classifier"),
    num_per_class=Flag(100, help="training points per class"),
    outliers=Flag(10, type=nonnegative_int, help="class-1 outliers far on the correct side"),
    perceptron_epochs=Flag(20, help="perceptron passes"),
    saturated_bias=Flag(8.0, help="b of the saturated start (w = 0): σ(b) ≈ 1 for every example"))
key_ideas, key_classify = jax.random.split(jax.random.key(seed))


# %% [markdown]
# ## Softmax and the likelihood (3.4.2-3.4.5)
#
# The book's softmax, $\hat y_j = \frac{e^{o_j}}{\sum_k e^{o_k}}$, turns logits into probabilities that
# sum to 1 and keeps their order, so $\arg\max_j \hat y_j = \arg\max_j o_j$. Its likelihood of the
# labels is the product of the probabilities predicted for them, and the cross-entropy loss
# $l = -\log \hat y_y$ per example sums to the negative log-likelihood. `softmax_values` computes
# every number of this part of the section in one jitted call (the constants are static
# arguments, so it compiles once). Expect `[0.659 0.242 0.099]` for the logits (2.0, 1.0, 0.1),
# the likelihood $0.8 \times 0.6 \times 0.7 = 0.336$ and losses summing to $-\log 0.336 = 1.091$.


# %%
LOGITS, LABEL_PROBS = (2.0, 1.0, 0.1), (0.8, 0.6, 0.7)  # three examples' predicted probabilities of their labels
EVENT_PROBS, P = (1.0, 0.5, 0.25, 0.1), (0.5, 0.25, 0.25)
QS = {"p": P, "uniform": (1 / 3, 1 / 3, 1 / 3), "reversed": (0.25, 0.25, 0.5)}
v = jax.device_get(ch3_04.softmax_values(key_ideas, logits=LOGITS, label_probs=LABEL_PROBS,
                                         event_probs=EVENT_PROBS, p=P, qs=tuple(QS.values())))
print(f"softmax({', '.join(f'{x:g}' for x in LOGITS)}) = {np.round(v['probabilities'], 3)}, "
      f"sum {v['probabilities'].sum():.3f}, same order as the logits: {bool(v['keeps_order'])}")
print(f"likelihood 0.8 × 0.6 × 0.7 = {v['likelihood']:.3f}, log-likelihood {v['log_likelihood']:.3f}; "
      f"cross-entropy losses {np.round(v['cross_entropy_losses'], 3)} sum to "
      f"{v['cross_entropy_losses'].sum():.3f} = −log-likelihood")
record(softmax={"logits": list(LOGITS), "probabilities": v["probabilities"].tolist(),
                "keeps_order": bool(v["keeps_order"])},
       likelihood={"probs": list(LABEL_PROBS), "likelihood": float(v["likelihood"]),
                   "log_likelihood": float(v["log_likelihood"]),
                   "cross_entropy_losses": v["cross_entropy_losses"].tolist(),
                   "cross_entropy_sum": float(v["cross_entropy_losses"].sum())})


# %% [markdown]
# ## Information, entropy and cross-entropy (3.4.7)
#
# The book's information theory: an event of probability $p$ carries $-\log_2 p$ bits, the entropy
# $H(p) = -\sum_j p_j \log p_j$ is the expected information, and the cross-entropy
# $H(p, q) = -\sum_j p_j \log q_j$ is what coding $p$ with the belief $q$ costs, never less than
# $H(p)$; the difference is $\mathrm{KL}(p \| q) \ge 0$. Expect 0, 1, 2 and 3.32 bits, $H(p) = 1.5$
# bits (1.0397 nats) for $p = (0.5, 0.25, 0.25)$, and $H(p, q) \ge 1.5$ for every $q$, equal at $q = p$.


# %%
print("information −log₂ p: " + ", ".join(f"p={p:g}: {abs(i):.2f} bits" for p, i in zip(EVENT_PROBS, v["information_bits"])))
print(f"p = {P}: entropy H(p) = {v['H_p_bits']:.3f} bits = {v['H_p_nats']:.4f} nats")
cross = {}
for i, (name, q) in enumerate(QS.items()):
    cross[name] = {"q": list(q), "H_pq_bits": float(v["H_pq_bits"][i]), "kl_bits": float(v["kl_bits"][i])}
    print(f"  q = {name:8s} {np.round(q, 3)}: H(p, q) = {v['H_pq_bits'][i]:.3f} bits >= H(p), "
          f"KL(p‖q) = {v['kl_bits'][i]:.3f}")
record(information_bits={f"{p:g}": abs(float(i)) for p, i in zip(EVENT_PROBS, v["information_bits"])},
       entropy={"p": list(P), "H_p_bits": float(v["H_p_bits"]), "H_p_nats": float(v["H_p_nats"]), "cross": cross})


# %% [markdown]
# ## The gradient of the loss (3.4.6)
#
# The book derives $\partial l / \partial o_j = \mathrm{softmax}(\mathbf{o})_j - y_j$: the gradient
# of the cross-entropy with respect to the logits is the predicted minus the true distribution.
# The jitted call above also compared `jax.grad` of the summed loss, over random logits of 4
# examples and 5 classes from the set-up's key, with that formula (`cross_entropy_grad`).
# Expect a difference of float32 rounding, below $10^{-6}$.


# %%
print(f"∂l/∂o = softmax(o) − y: max |jax.grad − (softmax(o) − onehot(y))| = "
      f"{v['grad_max_abs_diff']:.2e} over 4 examples × 5 classes")
record(grad_max_abs_diff=float(v["grad_max_abs_diff"]))


# %% [markdown]
# ## Information and cross-entropy, drawn
#
# Two pictures of the formulas above. Left: the information $-\log_2 p$ of an event, large for
# rare events and 0 for a certain one. Right: for a coin with $p = 0.3$, the cross-entropy
# $H(p, q)$ as the believed $q$ varies: smallest, equal to $H(p) \approx 0.881$ bits, at $q = p$, which
# is why minimizing the cross-entropy loss pulls the predicted distribution to the true one.


# %%
save(ch3_04.plot_entropy(), "entropy.png")


# %% [markdown]
# ## Linear classifiers of two classes
#
# Before softmax's many classes, two: a separable data set with a clump of far class-1 outliers
# on the correct side, and four linear classifiers $o = \mathbf{w}^\top\mathbf{x} + b$: a sigmoid
# output trained with the squared loss, the same with the logistic loss (the two-class
# cross-entropy), the perceptron, and least squares on ±1 targets. Both sigmoid models are also
# trained from a saturated start ($\sigma(o) \approx 1$ everywhere), where the squared loss's
# gradient $(\sigma - y)\,\sigma(1 - \sigma)$ vanishes and the logistic loss's $\sigma - y$ does not.
# The training loops are `lax.scan`s of full-batch gradient steps; the perceptron's update is
# not a gradient step, so it has its own loop.


# %%
LOSSES = {"squared": sigmoid_squared_loss, "logistic": binary_cross_entropy_logits}
fitted = ch3_04.fit_linear_classifiers(key_classify, LOSSES, num_per_class=num_per_class, outliers=outliers,
                                       lr=lr, steps=steps, perceptron_epochs=perceptron_epochs,
                                       saturated_bias=saturated_bias)


# %% [markdown]
# The accuracies on the training set, on its two blobs without the outliers, and on a clean test
# set of 1000 points; the perceptron's mistakes per epoch against Novikoff's bound $(R/\gamma)^2$;
# and the saturated starts. Expect the perceptron to reach training accuracy 1.0 (the data are
# separable), least squares to test worse than the logistic model (the outliers pull it), and
# from the saturated start the logistic model to recover (≥ 0.99) where the squared loss stays
# near its start (below 0.6).


# %%
classify = ch3_04.classification_results(fitted, num_per_class=num_per_class, outliers=outliers,
                                         saturated_bias=saturated_bias)
ch3_04.print_classification(classify)
record(classification=classify)


# %% [markdown]
# ## Decision boundaries and training curves
#
# The boundaries $o = 0$ of the four models on the training data: the outliers pull the
# least-squares boundary, whose loss keeps growing for points classified right "too well", but
# neither sigmoid model. In the training figure the saturated squared-loss model stays flat
# while the logistic one recovers, and the perceptron's mistakes fall to zero.


# %%
save(ch3_04.plot_boundaries(fitted["models"], fitted["train"], classify["accuracy"], 2 * num_per_class),
     "decision_boundaries.png")
save(ch3_04.plot_training(classify["curves"], classify["perceptron"]["mistakes_per_epoch"]), "training.png")
