"""``train_ch3`` as a chapter's run trains: the compiled epoch (or ``--loop book``) through
``fit``, a line and a checkpoint per epoch, ``--resume``, divergence (exit 1) and Ctrl-C or
SIGTERM (the last finished epoch saved, exit 130/143), then the final line, the curves, the
predictions and ``results.json``.
"""
from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path
from typing import Any, NoReturn

import jax
from jax.sharding import Mesh

from jaxlin.data.fashion_mnist import Batches, FashionMNIST, to_float
from jaxlin.nn.updaters import Updater
from jaxlin.plots.animator import Animator
from jaxlin.plots.figures import plot_history
from jaxlin.run.checkpoint import checkpoint_steps, latest_checkpoint, save_checkpoint
from jaxlin.run.cli import Run
from jaxlin.run.d2l import predict_ch3
from jaxlin.run.experiment import resume, training_config
from jaxlin.run.outputs import Busy, Lock, lock
from jaxlin.run.progress import Progress, batch_bar
from jaxlin.train.epoch import make_train_epoch
from jaxlin.train.evaluate import evaluator
from jaxlin.train.fit import DivergenceError, Fitted, fit
from jaxlin.train.parallel import data_mesh, host_local, process_rows, shard_rows
from jaxlin.train.state import TrainState
from jaxlin.train.step import Loss, Net


def train_classifier(args: argparse.Namespace, run: Run, net: Net, params: Any, loss: Loss,
                     updater: Updater, data: FashionMNIST, *, key: jax.Array,
                     stochastic: bool = False, on_epoch: Any = None) -> Fitted:
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
           data: FashionMNIST, *, key: jax.Array, stochastic: bool, on_epoch: Any = None) -> Fitted:
    mesh, train = training_data(args, run, data)
    loop = "book" if args.loop == "book" else "scan"         # --loop epoch: the compiled epoch
    epoch = make_train_epoch(net, loss, updater, args.batch_size, loop=loop, prepare=to_float,
                             stochastic=stochastic, mesh=mesh,
                             progress=batch_bar(args.quiet) if loop == "book" else None)
    start = epoch.init(params, key)
    if args.resume:
        start = resume(args, run, start)
    elif args.checkpoint_dir is None and (left := latest_checkpoint(run.out / "checkpoint")) is not None:
        print(f"note: {run.out / 'checkpoint'} holds an interrupted run's checkpoint (epoch {left}), "
              f"kept; this run starts afresh. To continue that one instead: "
              f"{run.command(add=('--checkpoint-dir', str(run.out / 'checkpoint'), '--resume'))}",
              file=sys.stderr)

    def after_epoch(state: TrainState) -> None:
        if args.checkpoint_dir is not None:
            try:
                save_checkpoint(args.checkpoint_dir, state, config=training_config(args))
            except OSError as err:               # a full or read-only --checkpoint-dir, named as such
                run.fail(f"cannot save the checkpoint of epoch {state.epoch} in --checkpoint-dir "
                         f"{args.checkpoint_dir}: {err.strerror or err}", {"history": list(state.history)})
        if on_epoch is not None:
            on_epoch(state.history[-1])

    for record in start.history if on_epoch is not None else ():
        on_epoch(record)
    progress = Progress(args.epochs, start, quiet=args.quiet, after_epoch=after_epoch)
    test = evaluator(net, {"test": (data.test_images, data.test_labels)}, prepare=to_float, mesh=mesh)
    try:
        return fit(epoch, start, train, num_epochs=args.epochs, evaluate=test, callback=progress)
    except DivergenceError as err:
        run.diverged(err, hint=checkpoint_hint(args, err))
    except KeyboardInterrupt:
        interrupted(args, run, progress)
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


def interrupted(args: argparse.Namespace, run: Run, progress: Progress) -> NoReturn:
    """Ctrl-C: save the last finished epoch (unless it is saved already) and say how to resume.
    A second Ctrl-C or SIGTERM while it saves waits until the save is done."""
    with run.held():
        _save_and_exit(args, run, progress.state, trained=progress.state is not progress.start)


def _save_and_exit(args: argparse.Namespace, run: Run, state: TrainState, *, trained: bool) -> NoReturn:
    results = {"history": list(state.history)}
    if not trained:
        run.interrupted(f"interrupted during epoch {state.epoch + 1}; no epoch finished, nothing to "
                        f"save: run it again with {run.command()}", results)
    target = args.checkpoint_dir or fresh_folder(run.out / "checkpoint")
    if latest_checkpoint(target) != state.epoch:            # not saved after that epoch already
        save_checkpoint(target, state, config=training_config(args))
    add = () if args.checkpoint_dir is not None else ("--checkpoint-dir", str(target))
    run.interrupted(f"interrupted after epoch {state.epoch}; checkpoint saved in {target}.\n"
                    f"resume with: {run.command(drop=('--resume',), add=(*add, '--resume'))}",
                    results | {"checkpoint_dir": str(target), "interrupted_after_epoch": state.epoch})


def finish_classifier(run: Run, net: Net, result: Fitted, data: FashionMNIST, *,
                      load_seconds: float, title: str) -> dict[str, Any]:
    """Print the final line and the timings, save ``curves.png`` and ``predictions.png``, write
    ``results.json``; return what it holds. A Ctrl-C or SIGTERM meanwhile waits until all is
    written, then ends the process with its status."""
    with run.held() as arrived:
        _finish(run, net, result, data, load_seconds=load_seconds, title=title)
    run.exit_if_signalled(arrived)
    return run.results


def _finish(run: Run, net: Net, result: Fitted, data: FashionMNIST, *, load_seconds: float,
            title: str) -> None:
    seconds = {"load_data": load_seconds} | result.seconds
    history = list(result.state.history)
    final = history[-1]
    print(f"loss {final['train_loss']:.3f}, train acc {final['train_acc']:.3f}, "
          f"test acc {final['test_acc']:.3f}")
    print(f"{seconds['load_data']:.2f} s loading data, {seconds['compile']:.2f} s compiling, "
          f"{seconds['train']:.2f} s training, on {jax.devices()[0].device_kind}")
    run.results.update(title=title, history=history, final=final)   # kept if a figure fails
    # saved, not shown: a notebook has drawn the curves live and shows the chapter's predict_ch3
    plot_history(history, run.path("curves.png"), title=title, show=False)
    pairs = predict_ch3(net, host_local(result.state.params), data.test_images, data.test_labels, n=8,
                        path=run.path("predictions.png"), show=False)
    run.finish({"title": title, "status": "finished", "history": history, "final": final,
                "predictions": [{"true": t, "predicted": p} for t, p in pairs]}, seconds=seconds)


def takes_key(net: Net) -> bool:
    """Whether ``net`` has a ``key`` parameter: a stochastic net (dropout) gets a key per step."""
    try:
        return "key" in inspect.signature(net).parameters
    except (TypeError, ValueError):          # a builtin or C function: no signature
        return False


def train_in_run(session: Any, net: Net, params: Any, train_iter: Batches, test_iter: Batches,
                 loss: Loss, num_epochs: int, updater: Updater) -> Fitted:
    """``train_ch3`` inside a chapter's run (:func:`jaxlin.run.session.setup`): the batches'
    arrays, batch size and key go to :func:`train_classifier` (the compiled epoch, or
    ``--loop book``; checkpoints, Ctrl-C), the curves are drawn live in a notebook, and
    :func:`finish_classifier` writes the figures and ``results.json``."""
    if session.run.done:                     # a notebook's training cell run again: a new run
        session.run = Run(session.args, session.run.script)
    if train_iter.resize is not None:
        session.run.usage_error("train_ch3 in a run takes 28x28 images: load_data_fashion_mnist "
                                "without resize")
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


__all__ = ["finish_classifier", "takes_key", "train_classifier", "train_in_run"]
