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


# %%
import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin import FitResult, plot, write_json
from jaxlin.chapters.ch4_10_kaggle_house_price import (
    HouseModel,
    average_log_rmse,
    k_fold_log_rmse,
    linear_model,
    mlp_model,
    train_and_pred,
    write_submission,
)
from jaxlin.data.kaggle_house import (
    DATA_DIR_ENV,
    TEST_FILE,
    TRAIN_FILE,
    HouseData,
    find_csvs,
    load_house_data,
)
from jaxlin.run.cli import Parser, Run, make_parser, positive_float, positive_int

DEFAULTS = {"linear": (5.0, 0.0), "mlp": (0.001, 3e-3)}


# %%
def nonnegative_float(text: str) -> float:
    """argparse type: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def make_house_parser() -> Parser:
    """The common flags plus the model, its hyperparameters, K and the two CSVs."""
    parser = make_parser("D2L 4.10 Predicting house prices on Kaggle: preprocessing, log-RMSE, K-fold and a "
                         "submission.", epochs=100, batch_size=64)
    parser.add_argument("--model", choices=sorted(DEFAULTS), default="linear", help="the regressor")
    parser.add_argument("--lr", type=positive_float, default=None,
                        help="Adam's learning rate (default: 5 for linear, as the book, 0.001 for mlp)")
    parser.add_argument("--weight-decay", type=nonnegative_float, default=None,
                        help="L2 weight decay (default: 0 for linear, as the book, 3e-3 for mlp)")
    parser.add_argument("--k", type=positive_int, default=5, help="number of folds")
    parser.add_argument("--hidden", type=positive_int, nargs="+", default=[64],
                        help="hidden layer widths of the mlp")
    parser.add_argument("--train-csv", default=None,
                        help=f"the training CSV (default: ${DATA_DIR_ENV}/{TRAIN_FILE})")
    parser.add_argument("--test-csv", default=None,
                        help=f"the test CSV to predict (default: ${DATA_DIR_ENV}/{TEST_FILE})")
    return parser


def hyperparameters(args: argparse.Namespace) -> tuple[float, float]:
    """The learning rate and weight decay: the flags where given, else the model's defaults."""
    lr, weight_decay = DEFAULTS[args.model]
    lr = lr if args.lr is None else args.lr
    weight_decay = weight_decay if args.weight_decay is None else args.weight_decay
    return lr, weight_decay


parser = make_house_parser()
args = parser.parse_args()
lr, weight_decay = hyperparameters(args)
if args.k < 2:
    parser.error(f"--k must be at least 2, got {args.k}")


# %% [markdown]
# ## Accessing and preprocessing the data set (4.10.3-4.10.4)
#
# The two CSVs read, the features standardized and one-hot encoded; printed: the shapes and a
# few rows.


# %%
def load_data(parser: Parser, args: argparse.Namespace) -> tuple[HouseData, Path, Path, float]:
    """4.10.3-4.10.4: read and preprocess both CSVs; a missing or unreadable file is a usage error.

    Returns the data, the two CSV paths and the seconds it took."""
    tic = time.perf_counter()
    try:
        train_csv, test_csv = find_csvs(args.train_csv, args.test_csv)
        data = load_house_data(train_csv, test_csv)
    except FileNotFoundError as err:
        parser.error(str(err))
    except ValueError as err:           # unreadable (e.g. not UTF-8 text) or the wrong columns
        named = str(train_csv) in str(err) or str(test_csv) in str(err)
        parser.error(str(err) if named else f"cannot read --train-csv {train_csv} or --test-csv "
                                            f"{test_csv} as the house-price CSVs: {err}")
    return data, train_csv, test_csv, time.perf_counter() - tic


def show_data(data: HouseData) -> None:
    """The book's look at the data: both shapes, a few rows and columns, the feature matrix's shape."""
    print(data.train.shape)
    print(data.test.shape)
    print(data.train.iloc[0:4, [0, 1, 2, 3, -3, -2, -1]])
    print((data.train_features.shape[0] + data.test_features.shape[0], data.train_features.shape[1]))


data, train_csv, test_csv, load_seconds = load_data(parser, args)
run = Run(args, "ch4_10_kaggle_house_price")
key = jax.random.key(args.seed)
kfold_key, final_key = jax.random.split(key)
show_data(data)


# %% [markdown]
# ## K-fold cross-validation (4.10.5-4.10.6)
#
# Each fold's training and validation log-RMSE per epoch; the figure shows fold 1 on a log scale.


# %%
def curve(history: list[dict[str, float]], name: str) -> np.ndarray:
    """One metric over the epochs, as an array (``plot`` reads a list as several curves)."""
    return np.array([h[name] for h in history])


def k_fold_validation(run: Run, model: HouseModel, k: int, X: jax.Array, y: jax.Array, *, key: jax.Array,
                   **hyper) -> tuple[list[FitResult], dict[str, float]]:
    """4.10.6: K-fold cross-validation; each fold's final log-RMSE and the average (printed)."""
    with run.guard():                      # divergence: results.json says so, exit status 1
        folds = k_fold_log_rmse(model, k, X, y, key=key, **hyper)
    for i, fold in enumerate(folds):
        last = fold.history[-1]
        print(f"fold {i + 1}, train log rmse {last['train_log_rmse']:f}, "
              f"valid log rmse {last['valid_log_rmse']:f}")
    average = average_log_rmse(folds)
    print(f"{k}-fold validation: avg train log rmse: {average['train_log_rmse']:f}, "
          f"avg valid log rmse: {average['valid_log_rmse']:f}")
    return folds, average


def plot_fold(fold: FitResult, args: argparse.Namespace, path) -> None:
    """Train and validation log-RMSE per epoch of one fold."""
    epochs = curve(fold.history, "epoch")
    plot(epochs, [curve(fold.history, "train_log_rmse"), curve(fold.history, "valid_log_rmse")],
         xlabel="epoch", ylabel="log rmse", xlim=[1, max(args.epochs, 2)], legend=["train", "valid"],
         yscale="log", title=f"{args.model}, fold 1", path=path)


X, y = jnp.asarray(data.train_features), jnp.asarray(data.train_labels)
model = linear_model() if args.model == "linear" else mlp_model(X.shape[1], args.hidden)
hyper = {"num_epochs": args.epochs, "learning_rate": lr, "weight_decay": weight_decay,
         "batch_size": args.batch_size}
folds, average = k_fold_validation(run, model, args.k, X, y, key=kfold_key, **hyper)
plot_fold(folds[0], args, run.path("kfold_fold1.png"))


# %% [markdown]
# ## Submitting predictions (4.10.7)
#
# Trained on all the training data; the test predictions go to `submission.csv` (Id, SalePrice).


# %%
def train_on_all_data(run: Run, model: HouseModel, X: jax.Array, y: jax.Array, test_features: jax.Array,
                      args: argparse.Namespace, *, key: jax.Array, **hyper) -> tuple[FitResult, np.ndarray]:
    """4.10.7: train on all the training data and predict the test prices; plot the training log-RMSE."""
    with run.guard():
        final, prices = train_and_pred(model, X, y, test_features, key=key, **hyper)
    print(f"train log rmse {final.history[-1]['train_log_rmse']:f}")
    plot(curve(final.history, "epoch"), curve(final.history, "train_log_rmse"), xlabel="epoch",
         ylabel="log rmse", xlim=[1, max(args.epochs, 2)], yscale="log",
         title=f"{args.model}, all training data", path=run.path("train_all.png"))
    return final, prices


def submit(run: Run, data: HouseData, final: FitResult, prices: np.ndarray) -> Path:
    """Write submission.csv (exit status 1 on prices Kaggle would refuse) and preprocessing.json;
    returns where submission.csv will be when the run ends."""
    try:
        write_submission(run.path("submission.csv"), data.test_ids, prices)
    except ValueError as err:          # e.g. negative prices from a too large --lr
        run.fail(f"{err}; try a smaller --lr", {"train_all": {"history": final.history}})
    write_json(run.path("preprocessing.json"), data.preprocessing.to_dict())
    submission = run.final_path("submission.csv")
    print(f"wrote {submission} ({len(prices)} predictions)")
    return submission


final, prices = train_on_all_data(run, model, X, y, jnp.asarray(data.test_features), args,
                                  key=final_key, **hyper)
submission = submit(run, data, final, prices)


# %% [markdown]
# ## Results


# %%
def collect_results(args: argparse.Namespace, hyper: dict, data: HouseData, csvs: tuple[Path, Path],
                    folds: list[FitResult], average: dict, final: FitResult, submission: Path,
                    num_predictions: int, load_seconds: float) -> dict:
    """results.json: the settings, the data's shapes, each fold, the final fit and the seconds."""
    fits = [*folds, final]
    seconds = {"load": load_seconds} | {part: sum(f.seconds[part] for f in fits)
                                       for part in ("compile", "train", "eval")}
    return {
        "model": args.model,
        "hyperparameters": {"k": args.k, "lr": hyper["learning_rate"], "weight_decay": hyper["weight_decay"],
                            "num_epochs": args.epochs, "batch_size": args.batch_size}
        | ({"hidden": args.hidden} if args.model == "mlp" else {}),
        "data": {"train_csv": str(csvs[0]), "test_csv": str(csvs[1]),
                 "train_shape": list(data.train.shape), "test_shape": list(data.test.shape),
                 "num_features": int(data.train_features.shape[1])},
        "folds": [{"fold": i + 1, **{k: v for k, v in f.history[-1].items() if k != "epoch"},
                   "history": f.history} for i, f in enumerate(folds)],
        "average": average,
        "train_all": {"train_log_rmse": final.history[-1]["train_log_rmse"], "history": final.history},
        "submission": str(submission),
        "num_predictions": num_predictions,
        "seconds": seconds,
    }


results = collect_results(args, hyper, data, (train_csv, test_csv), folds, average, final,
                          submission, len(prices), load_seconds)
run.finish(results)
