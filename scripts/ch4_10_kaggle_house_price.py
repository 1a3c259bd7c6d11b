# %% [markdown]
# # 4.10 Predicting house prices on Kaggle
#
# The book's pipeline: standardize the numeric features over train and test, NaN → 0, one-hot
# the rest with a NaN indicator (331 features); train a linear model with Adam on the squared
# loss; report the log-RMSE $\sqrt{\frac{1}{n}\sum_i (\log y_i - \log \hat y_i)^2}$ per fold of a 5-fold
# split; then train on all the data and write `submission.csv`. `--model mlp` runs the same
# protocol with an MLP trained on log prices.
#
# As a script: `python scripts/ch4_10_kaggle_house_price.py [--model linear|mlp] [--train-csv F --test-csv F]`
# (default: the CSVs in `$JAXLIN_KAGGLE_HOUSE_DIR`); in a notebook the flags take their defaults (or the words of `$JAXLIN_ARGS`).

# %% [markdown]
# The set-up: the book's settings, stated once (each a flag as a script): $K = 5$ folds, 100
# epochs, minibatches of 64 and, for the linear model, Adam's learning rate 5 with no weight
# decay. `--model mlp` has its own defaults (0.001 and $3 \cdot 10^{-3}$), so `--lr` and
# `--weight-decay` default to "the model's"; `hyperparameters` fills them in. The book
# downloads the two CSVs; jaxlin downloads nothing: `--train-csv`/`--test-csv` name them, or
# `$JAXLIN_KAGGLE_HOUSE_DIR` holds them. One key, split by role: the K-fold fits and the final
# fit on all the data.

# %%
import jax
import jax.numpy as jnp

from jaxlin import write_json
from jaxlin.chapters.ch4_10_kaggle_house_price import (DEFAULTS, average_log_rmse, hyperparameters,
                                                       k_fold_log_rmse, linear_model, load_data, mlp_model,
                                                       plot_log_rmse, train_and_pred, write_submission)
from jaxlin.data.kaggle_house import DATA_DIR_ENV, TEST_FILE, TRAIN_FILE
from jaxlin.run import Flag, setup
from jaxlin.run.flags import nonnegative_float
from jaxlin.run.session import fail, final_path, guard, out_path, record, save

model_name, num_epochs, batch_size, lr, weight_decay, k, hidden, train_csv, test_csv, seed = setup(
    "ch4_10_kaggle_house_price", "4.10 Predicting house prices on Kaggle",
    model=Flag("linear", choices=tuple(sorted(DEFAULTS)), help="the regressor"), num_epochs=100, batch_size=64,
    lr=Flag(None, help="Adam's learning rate (default: 5 for linear, as the book, 0.001 for mlp)"),
    weight_decay=Flag(None, type=nonnegative_float, help="L2 weight decay (default: 0 for linear, as the book, "
                                                         "3e-3 for mlp)"),
    k=Flag(5, help="number of folds"), hidden=Flag([64], nargs="+", help="hidden layer widths of the mlp"),
    train_csv=Flag(None, type=str, help=f"the training CSV (default: ${DATA_DIR_ENV}/{TRAIN_FILE})"),
    test_csv=Flag(None, type=str, help=f"the test CSV to predict (default: ${DATA_DIR_ENV}/{TEST_FILE})"),
    checks=[lambda s: s.k < 2 and f"--k must be at least 2, got {s.k}"])
lr, weight_decay = hyperparameters(model_name, lr, weight_decay)
kfold_key, final_key = jax.random.split(jax.random.key(seed))

# %% [markdown]
# ## Accessing and preprocessing the data set (4.10.3-4.10.4)
#
# The book reads both CSVs with pandas, drops the `Id` column, and preprocesses the features of
# train and test together: each numeric column standardized, $x \leftarrow (x - \mu) / \sigma$ (so
# missing values, set to 0 after, become the mean), and each other column one-hot encoded with
# an indicator for "missing" (`pd.get_dummies(..., dummy_na=True)`). `load_data` does exactly
# that, and checks the files first: a missing file, a CSV with no rows, without `SalePrice`, or
# with text in a column of numbers (or a number beyond float32) is one line naming the file,
# column and line, exit status 2. The cell prints the book's look at the data: the shapes
# (1460, 81) and (1459, 80), the first four rows of a few columns, and the 2919 × 331 feature
# matrix.

# %%
data, csvs, load_seconds = load_data(train_csv, test_csv, k=k, batch_size=batch_size)
print(data.train.shape)
print(data.test.shape)
print(data.train.iloc[0:4, [0, 1, 2, 3, -3, -2, -1]])
print((data.train_features.shape[0] + data.test_features.shape[0], data.train_features.shape[1]))

# %% [markdown]
# ## Training (4.10.5)
#
# The book's `get_net` is one `nn.Linear(331, 1)` trained with Adam on the squared loss; the
# competition scores the relative error, as the log-RMSE
# $\sqrt{\frac{1}{n}\sum_i (\log y_i - \log \hat y_i)^2}$, with predictions below 1 clipped to 1
# (`torch.clamp`) before the log. `linear_model()` is that model as a pure `init`/`net` pair;
# `mlp_model` (jaxlin's addition) is a small MLP that predicts $\log y$ instead, with the
# widths of `--hidden`. The book's `train`, here `train` in the chapter module, starts fresh
# parameters from its key, runs each epoch's Adam steps as one compiled function and records
# the log-RMSE after each epoch over every example.

# %%
X, y = jnp.asarray(data.train_features), jnp.asarray(data.train_labels)
model = linear_model() if model_name == "linear" else mlp_model(X.shape[1], hidden)
hyper = {"num_epochs": num_epochs, "learning_rate": lr, "weight_decay": weight_decay, "batch_size": batch_size}

# %% [markdown]
# ## K-fold cross-validation (4.10.6-4.10.7)
#
# The book's `k_fold`: split the training set into $K$ folds, train on $K - 1$ and validate on
# the one left, each fold in turn, and average the final log-RMSEs; fold $i$ trains from
# `fold_in(kfold_key, i)`. `with guard()` matters only to the script: a NaN loss (too large a
# `--lr`) ends the run with `results.json` saying so and exit status 1. Expect, for the
# linear model at the book's settings, an average training log-RMSE of about 0.166 and an
# average validation log-RMSE of about 0.17 (the book reports about the same); the MLP gets
# lower. The figure shows fold 1's curves on a log scale.

# %%
with guard():
    folds = k_fold_log_rmse(model, k, X, y, key=kfold_key, **hyper)
for i, fold in enumerate(folds):
    last = fold.state.history[-1]
    print(f"fold {i + 1}, train log rmse {last['train_log_rmse']:f}, valid log rmse {last['valid_log_rmse']:f}")
average = average_log_rmse(folds)
print(f"{k}-fold validation: avg train log rmse: {average['train_log_rmse']:f}, "
      f"avg valid log rmse: {average['valid_log_rmse']:f}")
save(plot_log_rmse(folds[0].state.history, ["train", "valid"], f"{model_name}, fold 1", num_epochs), "kfold_fold1.png")

# %% [markdown]
# ## Submitting predictions on Kaggle (4.10.8)
#
# The book's `train_and_pred`: the same model trained on all 1460 examples, its training
# log-RMSE printed (about 0.163 for the linear model) and plotted, and its prices for the
# 1459 test houses predicted.

# %%
with guard():
    final, prices = train_and_pred(model, X, y, jnp.asarray(data.test_features), key=final_key, **hyper)
print(f"train log rmse {final.state.history[-1]['train_log_rmse']:f}")
save(plot_log_rmse(final.state.history, ["train"], f"{model_name}, all training data", num_epochs), "train_all.png")

# %% [markdown]
# The predictions go to `submission.csv`, Kaggle's two columns `Id,SalePrice`, in the run's
# folder (the book writes it to the working folder), and the fitted preprocessing (each
# column's mean and standard deviation, the one-hot categories) to `preprocessing.json`.
# `write_submission` refuses prices that are not positive and finite, which Kaggle would
# reject: then the run fails with one line (exit status 1) saying to try a smaller `--lr`.
# The cell prints where the file is once the run has ended.

# %%
try:
    write_submission(out_path("submission.csv"), data.test_ids, prices)
except ValueError as err:                  # e.g. negative prices from a too large --lr
    record(train_all={"history": final.state.history})
    fail(f"{err}; try a smaller --lr")
write_json(out_path("preprocessing.json"), data.preprocessing.to_dict())
submission = final_path("submission.csv")
print(f"wrote {submission} ({len(prices)} predictions)")

# %% [markdown]
# ## Results
#
# What this section found, kept in the run's `results.json` by `record`: the model and its
# settings, the data's shapes, each fold's final log-RMSE with its history, their average
# (the book's number), the final fit, where the submission is and the seconds each part took.

# %%
fits = [*folds, final]
record(model=model_name,
       hyperparameters={"k": k, "lr": lr, "weight_decay": weight_decay, "num_epochs": num_epochs,
                        "batch_size": batch_size} | ({"hidden": hidden} if model_name == "mlp" else {}),
       data={"train_csv": str(csvs[0]), "test_csv": str(csvs[1]), "train_shape": list(data.train.shape),
             "test_shape": list(data.test.shape), "num_features": int(data.train_features.shape[1])},
       folds=[{"fold": i + 1, **{n: v for n, v in f.state.history[-1].items() if n != "epoch"}, "history": f.state.history}
              for i, f in enumerate(folds)],
       average=average,
       train_all={"train_log_rmse": final.state.history[-1]["train_log_rmse"], "history": final.state.history},
       submission=str(submission), num_predictions=len(prices),
       seconds={"load": load_seconds} | {part: sum(f.seconds[part] for f in fits) for part in ("compile", "train", "eval")})
