"""The shared driver of the Fashion-MNIST training scripts (3.6, 3.7, 4.2, 4.3, 4.6).

A script defines its model, loss and updater and calls :func:`run_classifier`; this
module does the rest the same way for all of them: data, timing, the compiled
epoch (or ``--loop book``), per-epoch printing, checkpoints and ``--resume``,
divergence and Ctrl-C handling, the two PNGs and ``results.json``.
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
from tqdm.auto import tqdm

from jaxlin.checkpoint import (Checkpoint, checkpoint_path, latest_checkpoint, load_checkpoint,
                               save_checkpoint)
from jaxlin.cli import Run
from jaxlin.fashion_mnist import (FashionMNISTNotFound, load_fashion_mnist_arrays,
                                  predict_ch3, to_float)
from jaxlin.loop import TrainingInterrupted, fit
from jaxlin.plot import plot_history
from jaxlin.train import DivergenceError, Loss, Net, Updater, init_opt_state


def add_data_args(parser: argparse.ArgumentParser) -> None:
    """``--data-dir`` (TFDS's) and ``--fashion-mnist-dir`` (a folder of the four .gz files)."""
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="TFDS data directory (default: $TFDS_DATA_DIR or ~/tensorflow_datasets)")
    parser.add_argument("--fashion-mnist-dir", type=Path, default=None,
                        help="folder with the four original Fashion-MNIST .gz files, used offline "
                             "(default: $JAXLIN_FASHION_MNIST_DIR, else Debian's package if installed)")


def add_training_args(parser: argparse.ArgumentParser) -> None:
    """Data options plus ``--loop``, ``--checkpoint-dir`` and ``--resume``."""
    add_data_args(parser)
    parser.add_argument("--loop", choices=("epoch", "book"), default="epoch",
                        help="'epoch': one compiled call per epoch over device-resident data (fast); "
                             "'book': the book's loop, one jitted step per minibatch")
    parser.add_argument("--checkpoint-dir", type=Path, default=None,
                        help="save params, optimizer state, epoch and key here after every epoch")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the latest checkpoint in --checkpoint-dir")
    parser.add_check(check_checkpoint_args)


def check_checkpoint_args(args: argparse.Namespace) -> str | None:
    """``--checkpoint-dir`` is a folder or does not exist yet; ``--resume`` needs a checkpoint
    in it, and a fresh run an empty one (an earlier run's checkpoints are never mixed in)."""
    ckpt_dir = args.checkpoint_dir
    if ckpt_dir is not None and ckpt_dir.exists() and not ckpt_dir.is_dir():
        return f"--checkpoint-dir {ckpt_dir} is a file, not a folder"
    if args.resume and ckpt_dir is None:
        return "--resume needs --checkpoint-dir DIR (the folder the interrupted run saved to)"
    latest = None if ckpt_dir is None else latest_checkpoint(ckpt_dir)
    if args.resume and latest is None:
        return f"--resume: no checkpoint (ckpt_NNNNN.npz) in --checkpoint-dir {ckpt_dir}"
    if not args.resume and latest is not None:
        return (f"--checkpoint-dir {ckpt_dir} already holds an earlier run's checkpoints (latest: "
                f"{latest.name}): add --resume to continue that run, or pass an empty folder")
    return None


def load_data(args: argparse.Namespace) -> tuple[Any, float]:
    """Fashion-MNIST as device arrays and the seconds it took; a clear exit when it is missing."""
    tic = time.perf_counter()
    try:
        data = load_fashion_mnist_arrays(data_dir=args.data_dir, fashion_mnist_dir=args.fashion_mnist_dir)
    except FashionMNISTNotFound as err:
        raise SystemExit(f"error: {err}") from None
    jax.block_until_ready(data)
    return data, time.perf_counter() - tic


def epoch_line(record: dict[str, float]) -> str:
    """``epoch 3, loss 0.512, train acc 0.829, test acc 0.812``."""
    parts = [f"epoch {record['epoch']}", f"loss {record['train_loss']:.3f}"]
    if "train_acc" in record:
        parts.append(f"train acc {record['train_acc']:.3f}")
    if "test_acc" in record:
        parts.append(f"test acc {record['test_acc']:.3f}")
    return ", ".join(parts)


def run_classifier(args: argparse.Namespace, run: Run, init: Callable[[jax.Array], Any], net: Net,
                   loss: Loss, updater: Updater, *, stochastic: bool = False,
                   title: str = "") -> dict[str, Any]:
    """Train a Fashion-MNIST classifier as the book's ``train_ch3`` does, with everything around it.

    ``init(key) -> params``. Exits with status 1 on divergence (results.json says
    what happened) and 130 on Ctrl-C (after saving a checkpoint of the last
    finished epoch). Returns the results written to ``results.json``.
    """
    try:
        return _run_classifier(args, run, init, net, loss, updater, stochastic=stochastic, title=title)
    except KeyboardInterrupt:           # before the first epoch: loading or compiling
        run.interrupted("interrupted before any epoch finished; nothing to save: run it again with "
                        f"{run.command()}", {"history": []})


def resume(args: argparse.Namespace, run: Run, params: Any, opt_state: Any) -> Checkpoint:
    """The latest checkpoint in ``--checkpoint-dir``, checked against this model (else exit 2)."""
    path = latest_checkpoint(args.checkpoint_dir)
    if path is None:
        run.usage_error(f"--resume: no checkpoint in --checkpoint-dir {args.checkpoint_dir}")
    try:
        ckpt = load_checkpoint(path, params, opt_state)
    except (OSError, ValueError) as err:
        run.usage_error(f"--resume: cannot use {path} for this model and options: {err}")
    if ckpt.epoch > args.epochs:
        run.usage_error(f"--epochs {args.epochs} is less than the {ckpt.epoch} epochs the checkpoint "
                        f"{path} already trained: pass --epochs {ckpt.epoch} or more")
    print(f"resuming from {path} (epoch {ckpt.epoch})")
    return ckpt


def _run_classifier(args: argparse.Namespace, run: Run, init: Callable[[jax.Array], Any], net: Net,
                    loss: Loss, updater: Updater, *, stochastic: bool, title: str) -> dict[str, Any]:
    key = jax.random.key(args.seed)
    init_key, train_key = jax.random.split(key)
    data, load_seconds = load_data(args)
    num_train = data.train_images.shape[0]
    if args.batch_size > num_train:
        run.usage_error(f"--batch-size {args.batch_size} is larger than the training set "
                        f"({num_train} examples)")
    params = init(init_key)
    opt_state = init_opt_state(updater, params)
    start_epoch, history = 0, []
    ckpt_dir = args.checkpoint_dir
    if args.resume:
        start_epoch, params, opt_state, train_key, history = resume(args, run, params, opt_state)
        for record in history:
            print(epoch_line(record))

    def after_epoch(epoch, params, opt_state, record):
        tqdm.write(epoch_line(record))
        if ckpt_dir is not None:
            save_checkpoint(ckpt_dir, epoch, params, opt_state, train_key, history_so_far + [record])
        history_so_far.append(record)

    history_so_far = list(history)
    results: dict[str, Any] = {"title": title, "status": "running"}
    seconds = {"load_data": load_seconds}
    try:
        result = fit(net, params, loss, updater, (data.train_images, data.train_labels),
                     num_epochs=args.epochs, batch_size=args.batch_size, key=train_key,
                     evals={"test": (data.test_images, data.test_labels)}, eval_loss=None,
                     prepare=to_float, stochastic=stochastic, opt_state=opt_state,
                     mode="loop" if args.loop == "book" else "epoch", start_epoch=start_epoch,
                     history=history, callback=after_epoch, progress=not args.quiet, lr=args.lr)
    except DivergenceError as err:
        hint = ""
        if ckpt_dir is not None and err.history:
            hint = (f"\nthe checkpoint of epoch {err.history[-1]['epoch']} in {ckpt_dir} is intact: "
                    f"continue from it with a smaller --lr and --resume")
        run.diverged(err, results | {"seconds": seconds}, hint)
    except TrainingInterrupted as stop:
        results |= {"history": stop.history, "seconds": seconds}
        if stop.epoch == 0:
            run.interrupted("interrupted during epoch 1; no epoch finished, nothing to save: run it "
                            f"again with {run.command()}", results)
        target = ckpt_dir or run.out / "checkpoint"
        if ckpt_dir is None or latest_checkpoint(target) != checkpoint_path(target, stop.epoch):
            save_checkpoint(target, stop.epoch, stop.params, stop.opt_state, train_key, stop.history)
        add = () if ckpt_dir is not None else ("--checkpoint-dir", str(target))
        run.interrupted(f"interrupted after epoch {stop.epoch}; checkpoint saved in {target}.\n"
                        f"resume with: {run.command(drop=('--resume',), add=(*add, '--resume'))}",
                        results | {"checkpoint_dir": str(target), "interrupted_after_epoch": stop.epoch})
    seconds |= result.seconds
    final = result.history[-1]
    print(f"loss {final['train_loss']:.3f}, train acc {final['train_acc']:.3f}, "
          f"test acc {final['test_acc']:.3f}")
    print(f"{seconds['load_data']:.2f} s loading data, {seconds['compile']:.2f} s compiling, "
          f"{seconds['train']:.2f} s training ({seconds['train'] / max(1, args.epochs - start_epoch):.3f} s/epoch), "
          f"on {jax.devices()[0].device_kind}")
    plot_history(result.history, run.path("curves.png"), title=title)
    pairs = predict_ch3(net, result.params, data.test_images, data.test_labels, n=8,
                        path=run.path("predictions.png"))
    results |= {"status": "finished", "history": result.history, "final": final,
                "predictions": [{"true": t, "predicted": p} for t, p in pairs]}
    run.finish(results, seconds=seconds)
    return run.results
