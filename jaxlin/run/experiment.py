"""The run around the Fashion-MNIST training scripts (3.6, 3.7, 4.2, 4.3, 4.6).

A script follows the book: data (:func:`load_data`), its model, loss and updater,
then :func:`train_classifier` (``fit`` with the compiled epoch or ``--loop book``,
per-epoch lines, checkpoints and ``--resume``, divergence and Ctrl-C) and
:func:`finish_classifier` (the final line, the two PNGs and ``results.json``).
"""
from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path
from typing import Any, NoReturn

import jax
from jax.sharding import Mesh

from jaxlin.data.fashion_mnist import (
    Batches,
    ChecksumError,
    DamagedData,
    FashionMNIST,
    FashionMNISTNotFound,
    load_fashion_mnist_arrays,
    to_float,
)
from jaxlin.nn.updaters import Updater, init_opt_state
from jaxlin.run.animator import Animator
from jaxlin.run.book import predict_ch3
from jaxlin.run.checkpoint import SHA256S, Checkpoint, checkpoint_steps, incomplete_steps, latest_checkpoint
from jaxlin.run.checkpoint import load_checkpoint, no_checkpoint, read_meta, save_checkpoint
from jaxlin.run.cli import Run
from jaxlin.run.outputs import Busy, Lock, lock
from jaxlin.run.plot import plot_history
from jaxlin.run.processes import add_process_args
from jaxlin.run.progress import Progress, batch_bar, epoch_line
from jaxlin.train.book import BookEpoch
from jaxlin.train.fit import DivergenceError, FitResult, fit
from jaxlin.train.parallel import data_mesh, host_local, process_rows, shard_rows
from jaxlin.train.step import Loss, Net
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


def load_data(args: argparse.Namespace, run: Run) -> tuple[FashionMNIST, float]:
    """Fashion-MNIST as device arrays and the seconds it took; a clear exit when it is missing."""
    timer = Timer()
    try:
        data = load_fashion_mnist_arrays(data_dir=args.data_dir, fashion_mnist_dir=args.fashion_mnist_dir,
                                         train_part=(jax.process_index(), jax.process_count()))
        jax.block_until_ready(data)
    except (FashionMNISTNotFound, ChecksumError, DamagedData) as err:
        run.fail(str(err))
    except KeyboardInterrupt:
        run.interrupted(f"interrupted while loading the data; run it again with {run.command()}")
    if getattr(args, "batch_size", 0) > data.train_images.shape[0] * jax.process_count():
        run.usage_error(f"--batch-size {args.batch_size} is larger than the training set "
                        f"({data.train_images.shape[0] * jax.process_count()} examples)")
    return data, timer.stop()


# Flags that change neither the numbers nor the model: a resumed run may differ in these.
FREE_FLAGS = frozenset({"out", "quiet", "epochs", "resume", "checkpoint_dir", "data_dir",
                        "fashion_mnist_dir", "loop", "coordinator", "num_processes", "process_id",
                        "peer_timeout"})


def training_config(args: argparse.Namespace) -> dict[str, Any]:
    """The flags a checkpoint records and ``--resume`` must match (seed, lr, batch size, model)."""
    return {k: v for k, v in vars(args).items()
            if not k.startswith("_") and k not in FREE_FLAGS and isinstance(v, (int, float, str, bool))}


def resume(args: argparse.Namespace, run: Run, params: Any, opt_state: Any) -> Checkpoint:
    """The latest checkpoint in ``--checkpoint-dir``, checked against this model and these
    flags (else exit 2)."""
    try:
        ckpt = load_checkpoint(args.checkpoint_dir, params, opt_state)
    except (OSError, ValueError) as err:
        run.usage_error(f"--resume: cannot use the checkpoint for this model and options: {err}")
    where = f"{args.checkpoint_dir} (epoch {ckpt.epoch})"
    for step in (s for s in incomplete_steps(args.checkpoint_dir) if s > ckpt.epoch):
        print(f"note: {args.checkpoint_dir / str(step)} has no {SHA256S} (a save that did not finish): "
              f"skipped, epoch {ckpt.epoch} used", file=sys.stderr)
    if ckpt.epoch > args.epochs:
        run.usage_error(f"--epochs {args.epochs} is less than the {ckpt.epoch} epochs the checkpoint "
                        f"in {where} already trained: pass --epochs {ckpt.epoch} or more")
    print(f"resuming from {where}")
    for record in ckpt.history:
        print(epoch_line(record))
    return ckpt


def train_classifier(args: argparse.Namespace, run: Run, net: Net, params: Any, loss: Loss,
                     updater: Updater, data: FashionMNIST, *, key: jax.Array,
                     stochastic: bool = False, on_epoch: Any = None) -> FitResult:
    """The book's ``train_ch3`` as a script runs it: ``fit`` on the uint8 images (scaled by
    ``to_float`` inside the compiled epoch), the test accuracy after every epoch.

    Around it: ``--loop book``, ``--checkpoint-dir`` after every epoch, ``--resume``,
    exit status 1 on divergence and 130 on Ctrl-C (after saving the last finished epoch).
    """
    held = hold_checkpoint_dir(args, run)
    try:
        return _train(args, run, net, params, loss, updater, data, key=key, stochastic=stochastic,
                      on_epoch=on_epoch)
    finally:
        if held is not None:
            held.close()


def _train(args: argparse.Namespace, run: Run, net: Net, params: Any, loss: Loss, updater: Updater,
           data: FashionMNIST, *, key: jax.Array, stochastic: bool, on_epoch: Any = None) -> FitResult:
    start = Checkpoint(0, params, init_opt_state(updater, params), key, [], {})
    if args.resume:
        start = resume(args, run, params, start.opt_state)
    elif args.checkpoint_dir is None and (left := latest_checkpoint(run.out / "checkpoint")) is not None:
        print(f"note: {run.out / 'checkpoint'} holds an interrupted run's checkpoint (epoch {left}), "
              f"kept; this run starts afresh. To continue that one instead: "
              f"{run.command(add=('--checkpoint-dir', str(run.out / 'checkpoint'), '--resume'))}",
              file=sys.stderr)
    def after_epoch(epoch, params, opt_state, history):
        if args.checkpoint_dir is not None:
            save_checkpoint(args.checkpoint_dir, epoch, params, opt_state, start.key, history,
                            config=training_config(args))
        if on_epoch is not None:
            on_epoch(history[-1])

    for record in start.history if on_epoch is not None else ():
        on_epoch(record)
    progress = Progress(args.epochs, start.history, quiet=args.quiet, after_epoch=after_epoch)
    epoch = None                             # fit's default: the compiled epoch
    if args.loop == "book":
        epoch = BookEpoch.make(net, loss, updater, args.batch_size, prepare=to_float,
                               stochastic=stochastic, progress=batch_bar(args.quiet))
    mesh, train = training_data(args, run, data)
    try:
        return fit(net, start.params, loss, updater, train, mesh=mesh,
                   num_epochs=args.epochs, batch_size=args.batch_size, key=start.key,
                   evals={"test": (data.test_images, data.test_labels)}, prepare=to_float,
                   stochastic=stochastic, train_epoch=epoch, opt_state=start.opt_state,
                   start_epoch=start.epoch, history=start.history, callback=progress)
    except DivergenceError as err:
        run.diverged(err, hint=checkpoint_hint(args, err))
    except KeyboardInterrupt:
        interrupted(args, run, progress, start.key)
    finally:
        progress.close()


def hold_checkpoint_dir(args: argparse.Namespace, run: Run) -> Lock | None:
    """Lock ``--checkpoint-dir`` for this run: a second run saving there is refused (exit 2).
    Of several processes, process 0 alone saves, and holds it."""
    if args.checkpoint_dir is None or jax.process_index() != 0:
        return None
    try:
        return lock(args.checkpoint_dir, "--checkpoint-dir")
    except Busy as err:
        run.usage_error(str(err))


def training_data(args: argparse.Namespace, run: Run, data: FashionMNIST) -> tuple[Mesh | None, tuple]:
    """The mesh and the training arrays for ``fit``: with several devices (of one process or
    many), one global array split by rows over all of them, each process holding its part
    (:func:`load_data` kept only that part); with one device, the arrays as loaded."""
    train = (data.train_images, data.train_labels)
    if jax.device_count() == 1:
        return None, train
    mesh, n = data_mesh(), len(data.train_labels) * jax.process_count()
    if args.batch_size % mesh.size or n % mesh.size:
        run.usage_error(f"--batch-size {args.batch_size} and the {n} training examples must split "
                        f"evenly over the {mesh.size} devices")
    i, k = jax.process_index(), jax.process_count()
    if process_rows(mesh, n) != slice(i * n // k, (i + 1) * n // k):
        run.fail(f"process {i} holds training rows {process_rows(mesh, n)} of the mesh, not part {i} of {k}: "
                 f"give every process the same number of devices")
    return mesh, shard_rows(train, mesh, local=k > 1)


def checkpoint_hint(args: argparse.Namespace, err: DivergenceError) -> str:
    """After a divergence, where the last good epoch's checkpoint is, if one was kept."""
    if args.checkpoint_dir is None or not err.history:
        return ""
    return (f"\nthe checkpoint of epoch {err.history[-1]['epoch']} in {args.checkpoint_dir} holds the "
            f"last finite state (a resumed run keeps its --lr: try a smaller one in an empty folder)")


def fresh_folder(folder: Path) -> Path:
    """``folder``, or ``folder-2``, ``folder-3``, ... the first holding no checkpoint: Ctrl-C
    never mixes its state into an earlier interrupted run's checkpoints."""
    candidate, k = folder, 1
    while checkpoint_steps(candidate):
        k += 1
        candidate = folder.with_name(f"{folder.name}-{k}")
    return candidate


def interrupted(args: argparse.Namespace, run: Run, progress: Progress, key: jax.Array) -> NoReturn:
    """Ctrl-C: save the last finished epoch (unless it is saved already) and say how to resume."""
    results = {"history": progress.history}
    if progress.params is None:
        run.interrupted(f"interrupted during epoch {progress.epoch + 1}; no epoch finished, nothing to "
                        f"save: run it again with {run.command()}", results)
    target = args.checkpoint_dir or fresh_folder(run.out / "checkpoint")
    if latest_checkpoint(target) != progress.epoch:            # not saved after that epoch already
        save_checkpoint(target, progress.epoch, progress.params, progress.opt_state, key,
                        progress.history, config=training_config(args))
    add = () if args.checkpoint_dir is not None else ("--checkpoint-dir", str(target))
    run.interrupted(f"interrupted after epoch {progress.epoch}; checkpoint saved in {target}.\n"
                    f"resume with: {run.command(drop=('--resume',), add=(*add, '--resume'))}",
                    results | {"checkpoint_dir": str(target), "interrupted_after_epoch": progress.epoch})


def finish_classifier(run: Run, net: Net, result: FitResult, data: FashionMNIST, *,
                      load_seconds: float, title: str) -> dict[str, Any]:
    """Print the final line and the timings, save ``curves.png`` and ``predictions.png``, write
    ``results.json``; return what it holds."""
    seconds = {"load_data": load_seconds} | result.seconds
    final = result.history[-1]
    print(f"loss {final['train_loss']:.3f}, train acc {final['train_acc']:.3f}, "
          f"test acc {final['test_acc']:.3f}")
    print(f"{seconds['load_data']:.2f} s loading data, {seconds['compile']:.2f} s compiling, "
          f"{seconds['train']:.2f} s training, on {jax.devices()[0].device_kind}")
    run.results.update(title=title, history=result.history, final=final)   # kept if a figure fails
    # saved, not shown: a notebook has drawn the curves live and shows the chapter's predict_ch3
    plot_history(result.history, run.path("curves.png"), title=title, show=False)
    pairs = predict_ch3(net, host_local(result.params), data.test_images, data.test_labels, n=8,
                        path=run.path("predictions.png"), show=False)
    run.finish({"title": title, "status": "finished", "history": result.history, "final": final,
                "predictions": [{"true": t, "predicted": p} for t, p in pairs]}, seconds=seconds)
    return run.results


def takes_key(net: Net) -> bool:
    """Whether ``net`` has a ``key`` parameter: a stochastic net (dropout) gets a key per step."""
    try:
        return "key" in inspect.signature(net).parameters
    except (TypeError, ValueError):          # a builtin or C function: no signature
        return False


def train_in_run(session: Any, net: Net, params: Any, train_iter: Batches, test_iter: Batches,
                 loss: Loss, num_epochs: int, updater: Updater) -> FitResult:
    """``train_ch3`` inside a chapter's run (:func:`jaxlin.run.session.setup`): the batches'
    arrays, batch size and key go to :func:`train_classifier` (the compiled epoch, or
    ``--loop book``; checkpoints, Ctrl-C), the curves are drawn live in a notebook, and
    :func:`finish_classifier` writes the figures and ``results.json``."""
    if session.run.done:                     # a notebook's training cell run again: a new run
        session.run = Run(session.args, session.run.script)
    if train_iter.resize is not None:
        session.run.usage_error("train_ch3 in a run takes 28x28 images (load_data_fashion_mnist without resize)")
    args = argparse.Namespace(**vars(session.args))
    args.epochs, args.batch_size = num_epochs, train_iter.batch_size
    data = FashionMNIST(train_iter.images, train_iter.labels, test_iter.images, test_iter.labels)
    i, k = jax.process_index(), jax.process_count()
    if k > 1:                                # this process's part of the rows (see training_data)
        n = len(data.train_labels)
        data = data._replace(train_images=data.train_images[i * n // k:(i + 1) * n // k],
                             train_labels=data.train_labels[i * n // k:(i + 1) * n // k])
    animator = Animator(xlabel="epoch", ylabel="loss / accuracy", xlim=(1, max(num_epochs, 2)),
                        legend=("train loss", "train acc", "test acc"))
    try:
        result = train_classifier(args, session.run, net, params, loss, updater, data, key=train_iter.key,
                                  stochastic=takes_key(net), on_epoch=lambda r: animator.add(
                                      r["epoch"], (r["train_loss"], r.get("train_acc"), r.get("test_acc"))))
    finally:
        animator.close()
    finish_classifier(session.run, net, result, data, load_seconds=session.load_seconds, title=session.title)
    return result
