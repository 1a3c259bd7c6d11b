"""Sweep: softmax regression for 8 learning rates from 0.01 to 3 in one compiled call.

The stable loss (logits and log-sum-exp) keeps the large learning rates finite.
``vmap`` of the compiled epoch over the models' params and learning rates (and,
with ``--seeds``, their init seeds): all K models train on the same batch order,
and the whole sweep, with a test evaluation after every epoch, is one XLA call.
Plots the final test accuracy against the learning rate, times K models against
one, and profiles the K-model call (time per XLA operation; the floor its matrix
products set at the measured matmul peak).
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from jaxlin import (
    bench,
    evaluator,
    fit,
    init_softmax_regression,
    init_sweep,
    make_sweep,
    make_train_epoch,
    plot,
    softmax_cross_entropy,
    softmax_regression_logits,
    to_float,
)
from jaxlin.bench.profile import format_profile, profile
from jaxlin.data.fashion_mnist import FashionMNIST
from jaxlin.run.cli import Run, make_parser, positive_int
from jaxlin.run.experiment import add_data_args, load_data
from jaxlin.train.sweep import SweepResult, sgd_with_lr


def wall_seconds(call) -> float:
    tic = time.perf_counter()
    jax.block_until_ready(call())
    return time.perf_counter() - tic


def best_seconds(timers: dict, repeats: int) -> dict[str, float]:
    """Best of ``repeats`` rounds for each timer (a call returning seconds); the timers take
    turns in every round so that a noisy machine slows them alike (a warm-up round first)."""
    best = {name: float("inf") for name in timers}
    for round_ in range(repeats + 1):
        for name, timer in timers.items():
            seconds = timer()
            if round_:
                best[name] = min(best[name], seconds)
    return best


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The common flags plus the learning-rate grid, --seeds, --repeats and the data flags."""
    parser = make_parser(__doc__.splitlines()[0], epochs=10, batch_size=256)
    parser.add_argument("--num-lrs", type=positive_int, default=8, help="log-spaced learning rates")
    parser.add_argument("--lr-min", type=float, default=0.01)
    parser.add_argument("--lr-max", type=float, default=3.0)
    parser.add_argument("--seeds", action="store_true", help="a different init seed per model too")
    parser.add_argument("--no-wide-weights", dest="wide_weights", action="store_false",
                        help="carry the K weight matrices stacked, not as one wide matrix")
    parser.add_argument("--no-profile", dest="profile", action="store_false",
                        help="skip profiling the K-model call (its time per XLA operation)")
    parser.add_argument("--repeats", type=positive_int, default=3,
                        help="timed rounds for K vs 1 (each round runs all three, interleaved)")
    add_data_args(parser)
    return parser.parse_args(argv)


def init_model(key: jax.Array) -> dict:
    """One softmax regression 784 → 10, W ~ N(0, 0.01²), b = 0."""
    return init_softmax_regression(key, 784, 10, sigma=0.01)


def learning_rates_and_seeds(args: argparse.Namespace) -> tuple[list[float], list[int]]:
    """``--num-lrs`` log-spaced learning rates, and each model's init seed (all ``--seed``
    unless ``--seeds``)."""
    lrs = np.geomspace(args.lr_min, args.lr_max, args.num_lrs).tolist()
    seeds = [args.seed + k for k in range(len(lrs))] if args.seeds else [args.seed] * len(lrs)
    return lrs, seeds


def print_sweep(result: SweepResult, lrs: list[float], num_epochs: int, compile_seconds: float) -> None:
    """Each model's final train loss, train accuracy and test accuracy."""
    test_acc = np.asarray(result.test_acc)
    print(f"{len(lrs)} models, {num_epochs} epochs, one compiled call ({compile_seconds:.2f} s to compile)")
    print(f"{'lr':>8} {'train loss':>11} {'train acc':>10} {'test acc':>9}")
    for k, lr in enumerate(lrs):
        print(f"{lr:8.4f} {float(result.train_loss[-1, k]):11.4f} {float(result.train_acc[-1, k]):10.4f} "
              f"{test_acc[-1, k]:9.4f}")


def fit_timer(data: FashionMNIST, lr: float, seed: int, args: argparse.Namespace,
              key: jax.Array) -> Callable[[], float]:
    """A call that trains the single model the usual way and returns its seconds: fit's compiled
    epoch and a test evaluation each epoch, timed by fit itself (training and evaluation; its
    compile apart)."""
    epoch = make_train_epoch(softmax_regression_logits, softmax_cross_entropy, sgd_with_lr(lr),
                             args.batch_size, prepare=to_float)     # held: fit compiles it once
    test = evaluator(softmax_regression_logits, {"test": (data.test_images, data.test_labels)},
                     prepare=to_float)

    def fit_seconds():
        _, seconds = fit(epoch, epoch.init(init_model(jax.random.key(seed)), key),
                         (data.train_images, data.train_labels), num_epochs=args.epochs, evaluate=test)
        return seconds["train"] + seconds["eval"]

    return fit_seconds


def time_k_against_one(train: Callable[..., SweepResult], compiled: Callable[..., SweepResult],
                       params: Any, opt_state: Any, data: FashionMNIST, data_args: tuple,
                       lrs: list[float], seeds: list[int], args: argparse.Namespace,
                       key: jax.Array) -> dict[str, float]:
    """Best-of-``--repeats`` seconds of the K-model sweep, of the same vmapped code for one
    model, and of that one model trained with fit (printed with the ratios)."""
    one_params, one_state = init_sweep(init_model, lrs[:1], seeds[:1])
    one = train.lower(one_params, one_state, *data_args).compile()
    fit_seconds = fit_timer(data, lrs[0], seeds[0], args, key)
    best = best_seconds({"k": lambda: wall_seconds(lambda: compiled(params, opt_state, *data_args)),
                         "one": lambda: wall_seconds(lambda: one(one_params, one_state, *data_args)),
                         "fit": fit_seconds}, args.repeats)
    print(f"time for K={len(lrs)} models: {best['k']:.2f} s; for one model: {best['one']:.2f} s with the "
          f"same vmapped code (ratio {best['k'] / best['one']:.2f}), {best['fit']:.2f} s with fit "
          f"(ratio {best['k'] / best['fit']:.2f}); best of {args.repeats}")
    return best


def profile_sweep(compiled: Callable[..., SweepResult], params: Any, opt_state: Any, data_args: tuple,
                  k: int, seconds_one: float) -> dict[str, float]:
    """Where the K-model call's time goes, and the floor its matrix products set: their FLOPs
    at the measured matmul peak, against one model's whole call (``{}`` and a note where it
    cannot be profiled)."""
    try:
        p = profile(lambda: compiled(params, opt_state, *data_args), compiled.as_text())
    except ValueError as err:               # another backend, an HLO it cannot read: the rest stands
        print(f"note: no profile: {err}")
        return {}
    peak = bench.matmul_peak()
    print(format_profile(f"K={k} models", p, peak))
    floor = p.matmul_flops / peak / 1e9
    print(f"  at that peak the {k} models' products alone would take {floor:.2f} s, "
          f"{floor / seconds_one:.1f}x one model's whole call")
    return p.summary(peak) | {"matmul_peak_gflop_per_s": peak, "matmul_floor_s": floor,
                              "matmul_floor_over_one": floor / seconds_one}


def epoch_history(result: SweepResult, num_epochs: int) -> list[dict]:
    """Per epoch: every model's train loss, train accuracy and test accuracy."""
    return [{"epoch": e + 1, "train_loss": result.train_loss[e].tolist(),
             "train_acc": result.train_acc[e].tolist(), "test_acc": result.test_acc[e].tolist()}
            for e in range(num_epochs)]


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    run = Run(args, __file__)
    data, load_seconds = load_data(args, run)
    lrs, seeds = learning_rates_and_seeds(args)
    train = make_sweep(softmax_regression_logits, softmax_cross_entropy, args.batch_size, args.epochs,
                       prepare=to_float,
                       wide={"W": True, "b": False} if args.wide_weights else None)
    key = jax.random.fold_in(jax.random.key(args.seed), 1)
    data_args = (data.train_images, data.train_labels, data.test_images, data.test_labels, key)

    tic = time.perf_counter()
    params, opt_state = init_sweep(init_model, lrs, seeds)
    compiled = train.lower(params, opt_state, *data_args).compile()
    compile_seconds = time.perf_counter() - tic
    result = compiled(params, opt_state, *data_args)
    test_acc = np.asarray(result.test_acc)
    print_sweep(result, lrs, args.epochs, compile_seconds)

    seconds = time_k_against_one(train, compiled, params, opt_state, data, data_args, lrs, seeds, args, key)
    seconds_k, seconds_1, seconds_fit = seconds["k"], seconds["one"], seconds["fit"]
    profiled = (profile_sweep(compiled, params, opt_state, data_args, len(lrs), seconds_1)
                if args.profile else {})
    best = int(np.nanargmax(test_acc[-1]))
    print(f"best learning rate: {lrs[best]:.4f} (test acc {test_acc[-1, best]:.4f})")

    plot(np.array(lrs), test_acc[-1], xlabel="learning rate", ylabel="test accuracy after "
         f"{args.epochs} epochs", xscale="log", fmts=("o-",), title="softmax regression: lr sweep",
         path=run.path("sweep.png"))
    results = {"lrs": lrs, "seeds": seeds, "history": epoch_history(result, args.epochs),
               "final_test_acc": test_acc[-1].tolist(),
               "best_lr": lrs[best], "seconds": {"load_data": load_seconds, "compile": compile_seconds,
                                                  "train_k_models": seconds_k, "train_one_model": seconds_1,
                                                  "train_one_model_fit": seconds_fit},
               "k_over_one": seconds_k / seconds_1, "k_over_one_fit": seconds_k / seconds_fit,
               "profile": profiled}
    run.finish(results)
    return run.results


if __name__ == "__main__":
    main()
