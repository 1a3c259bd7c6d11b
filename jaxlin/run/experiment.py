"""The flags and checks of a Fashion-MNIST training run (3.6, 3.7, 4.2, 4.3, 4.6, 6.6): the data
folders, ``--loop``, ``--checkpoint-dir`` and ``--resume`` (checked against the checkpoint's
recorded flags), and :func:`load_data` for the scripts that load the arrays themselves (the
benchmark, the sweep). The training around ``fit`` is :mod:`jaxlin.run.classifier`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import jax

from jaxlin.data.fashion_mnist import (
    ChecksumError,
    DamagedData,
    FashionMNIST,
    FashionMNISTNotFound,
    load_fashion_mnist_arrays,
)
from jaxlin.run.checkpoint import (
    SHA256S,
    checkpoint_steps,
    incomplete_steps,
    latest_checkpoint,
    load_checkpoint,
    no_checkpoint,
    read_meta,
)
from jaxlin.run.cli import Run
from jaxlin.run.processes import add_process_args
from jaxlin.run.progress import epoch_line
from jaxlin.train.state import TrainState
from jaxlin.train.timer import Timer


def add_data_args(parser: argparse.ArgumentParser) -> None:
    """``--data-dir`` (TFDS's) and ``--fashion-mnist-dir`` (a folder of the four .gz files)."""
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="TFDS data directory (default: $TFDS_DATA_DIR, else ~/tensorflow_datasets)")
    parser.add_argument("--fashion-mnist-dir", type=Path, default=None,
                        help="folder with the four original Fashion-MNIST .gz files, used offline (default: "
                             "$JAXLIN_FASHION_MNIST_DIR, else Debian's package if installed)")
    parser.add_check(check_data_args)


def check_data_args(args: argparse.Namespace) -> str | None:
    """``--data-dir`` is a folder or does not exist yet; ``--fashion-mnist-dir`` is a folder."""
    if args.data_dir is not None and args.data_dir.exists() and not args.data_dir.is_dir():
        return f"--data-dir {args.data_dir} is a file, not a folder"
    if args.fashion_mnist_dir is not None and not args.fashion_mnist_dir.is_dir():
        return f"--fashion-mnist-dir {args.fashion_mnist_dir} is not a folder"
    return None


def add_training_args(parser: argparse.ArgumentParser) -> None:
    """Data options plus ``--loop``, ``--checkpoint-dir``, ``--resume`` and the flags of several
    processes (:mod:`jaxlin.run.processes`)."""
    add_data_args(parser)
    parser.add_argument("--loop", choices=("epoch", "book"), default="epoch",
                        help="'epoch': one compiled call per epoch over device-resident data (fast); "
                             "'book': the book's loop, one jitted step per minibatch")
    parser.add_argument("--checkpoint-dir", type=Path, default=None,
                        help="an Orbax CheckpointManager folder: params, optimizer state, key and "
                             "history saved as one step per finished epoch (default: none saved)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the latest checkpoint in --checkpoint-dir")
    add_process_args(parser)        # the set-up joins the processes, then checks the checkpoints


def check_checkpoint_args(args: argparse.Namespace) -> str | None:
    """``--checkpoint-dir`` is a folder or does not exist yet; ``--resume`` needs a checkpoint
    in it, and a fresh run an empty one (an earlier run's checkpoints are never mixed in)."""
    ckpt_dir = args.checkpoint_dir
    if ckpt_dir is not None and args.out is not None and Path(args.out).resolve() == ckpt_dir.resolve():
        return (f"--checkpoint-dir {ckpt_dir} is --out itself: the run's outputs replace that folder's "
                f"files; give the checkpoints their own folder, e.g. "
                f"--checkpoint-dir {ckpt_dir / 'checkpoint'}")
    if ckpt_dir is not None and ckpt_dir.exists() and not ckpt_dir.is_dir():
        return f"--checkpoint-dir {ckpt_dir} is a file, not a folder"
    if args.resume and ckpt_dir is None:
        return "--resume needs --checkpoint-dir DIR (the folder the interrupted run saved to)"
    if ckpt_dir is None:
        return None
    latest = latest_checkpoint(ckpt_dir)
    if args.resume and latest is None and incomplete_steps(ckpt_dir):
        return f"--resume: {no_checkpoint(ckpt_dir)}"
    if args.resume and latest is None:
        return f"--resume: no checkpoint (an Orbax step folder) in --checkpoint-dir {ckpt_dir}"
    if not args.resume and (steps := checkpoint_steps(ckpt_dir)):
        return (f"--checkpoint-dir {ckpt_dir} already holds an earlier run's checkpoints (latest: "
                f"epoch {steps[-1]}): add --resume to continue that run, or pass an empty folder")
    return None if latest is None else config_mismatch(args, ckpt_dir)


def config_mismatch(args: argparse.Namespace, ckpt_dir: Path) -> str | None:
    """A flag (seed, lr, batch size, model size) that differs from the checkpoint's, named with
    both values; or a checkpoint that cannot be read."""
    try:
        saved = read_meta(ckpt_dir)
    except ValueError as err:
        return f"--resume: {err}"
    for name, value in training_config(args).items():
        if name in saved["config"] and saved["config"][name] != value:
            flag, was = "--" + name.replace("_", "-"), saved["config"][name]
            return (f"--resume: the checkpoint in {ckpt_dir} (epoch {saved['epoch']}) was trained with "
                    f"{flag} {was}, this run has {flag} {value}: pass {flag} {was} to continue it")
    return None


def load_data(args: argparse.Namespace, run: Run, *, batch_size: int | None = None,
              data_dir: Path | None = None, fashion_mnist_dir: Path | None = None,
              train_part: tuple[int, int] | None = None) -> tuple[FashionMNIST, float]:
    """Fashion-MNIST as device arrays and the seconds it took; a clear exit when it is missing.

    The folders default to ``--data-dir`` and ``--fashion-mnist-dir``; ``train_part`` (default:
    this process's part of a multi-process run) is the training rows kept; a ``batch_size``
    (default ``--batch-size``) larger than the whole training set exits 2.
    """
    timer = Timer()
    k = jax.process_count()
    try:
        data = load_fashion_mnist_arrays(data_dir=data_dir or args.data_dir,
                                         fashion_mnist_dir=fashion_mnist_dir or args.fashion_mnist_dir,
                                         train_part=train_part or (jax.process_index(), k))
        jax.block_until_ready(data)
    except (FashionMNISTNotFound, ChecksumError, DamagedData) as err:
        run.fail(str(err))
    except KeyboardInterrupt:
        run.interrupted(f"interrupted while loading the data; run it again with {run.command()}")
    batch_size = getattr(args, "batch_size", 0) if batch_size is None else batch_size
    n = data.train_images.shape[0] * (k if train_part is None else train_part[1])
    if batch_size > n:
        run.usage_error(f"--batch-size {batch_size} is larger than the training set ({n} examples)")
    return data, timer.stop()


# Flags that change neither the numbers nor the model: a resumed run may differ in these.
FREE_FLAGS = frozenset({"out", "quiet", "epochs", "resume", "checkpoint_dir", "data_dir",
                        "fashion_mnist_dir", "loop", "coordinator", "num_processes", "process_id",
                        "peer_timeout"})


def training_config(args: argparse.Namespace) -> dict[str, Any]:
    """The flags a checkpoint records and ``--resume`` must match (seed, lr, batch size, model)."""
    return {k: v for k, v in vars(args).items()
            if not k.startswith("_") and k not in FREE_FLAGS and isinstance(v, (int, float, str, bool))}


def resume(args: argparse.Namespace, run: Run, like: TrainState) -> TrainState:
    """The state in ``--checkpoint-dir``'s latest checkpoint, checked against this model
    (``like``: its params and optimizer state) and these flags (else exit 2)."""
    try:
        state = load_checkpoint(args.checkpoint_dir, like).state
    except (OSError, ValueError) as err:
        run.usage_error(f"--resume: cannot use the checkpoint for this model and options: {err}")
    where = f"{args.checkpoint_dir} (epoch {state.epoch})"
    for step in (s for s in incomplete_steps(args.checkpoint_dir) if s > state.epoch):
        print(f"note: {args.checkpoint_dir / str(step)} has no {SHA256S} (a save that did not finish): "
              f"skipped, epoch {state.epoch} used", file=sys.stderr)
    if state.epoch > args.epochs:
        run.usage_error(f"--epochs {args.epochs} is less than the {state.epoch} epochs the checkpoint "
                        f"in {where} already trained: pass --epochs {state.epoch} or more")
    print(f"resuming from {where}")
    for record in state.history:
        print(epoch_line(record))
    return state


__all__ = ["FREE_FLAGS", "add_data_args", "add_training_args", "check_checkpoint_args", "load_data", "resume",
           "training_config"]
