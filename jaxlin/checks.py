"""Argument checks shared by the public API.

Every check runs on concrete Python/NumPy values *before* anything is traced or
compiled, so bad input fails with a message that names the argument instead of
a traceback from inside XLA or a silent NaN.
"""
from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(x: Any) -> bool:
    """True when ``x`` holds a value now (not a tracer inside jit/grad/vmap)."""
    return not isinstance(x, jax.core.Tracer)


def check_positive_int(value: Any, name: str) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` unless it is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive integer, got {value!r} of type {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return int(value)


def check_learning_rate(lr: Any, name: str = "lr") -> Any:
    """Raise ``ValueError`` unless ``lr`` is finite and > 0 (tracers pass through unchecked)."""
    if not is_concrete(lr):
        return lr
    if isinstance(lr, (str, bytes, bool)):      # float("0.1") would accept a string
        raise TypeError(f"{name} must be a positive finite number, got {type(lr).__name__} {lr!r}")
    try:
        value = float(lr)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a positive finite number, got {lr!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return lr


def check_same_length(X: Any, y: Any, x_name: str = "features", y_name: str = "labels") -> int:
    """Return the number of examples, or raise ``ValueError`` if X and y disagree or are empty."""
    if np.ndim(X) == 0 or np.ndim(y) == 0:
        raise ValueError(f"{x_name} and {y_name} must be arrays with a leading example axis, "
                         f"got shapes {np.shape(X)} and {np.shape(y)}")
    n, m = np.shape(X)[0], np.shape(y)[0]
    if n != m:
        raise ValueError(f"{x_name} and {y_name} must have the same number of examples, "
                         f"got {x_name}.shape={tuple(np.shape(X))} and {y_name}.shape={tuple(np.shape(y))}")
    if n == 0:
        raise ValueError(f"{x_name} and {y_name} are empty: need at least one example")
    return int(n)


def check_batch_size(batch_size: Any, num_examples: int | None = None, name: str = "batch_size") -> int:
    """Return ``batch_size`` as an int in [1, num_examples], or raise ``ValueError``."""
    batch_size = check_positive_int(batch_size, name)
    if num_examples is not None and batch_size > num_examples:
        raise ValueError(f"{name}={batch_size} is larger than the data set ({num_examples} examples)")
    return batch_size


def check_labels(y: Any, num_classes: int, name: str = "labels") -> None:
    """Raise ``ValueError`` unless every concrete label is an integer in [0, num_classes)."""
    if not is_concrete(y):
        return
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name} must be integer class indices, got dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"{name} must lie in [0, {num_classes}), got values from {y.min()} to {y.max()}")


def classifies(output_shape: Any, y: Any) -> bool:
    """Whether a net with outputs of ``output_shape`` and labels ``y`` form a classifier: outputs
    (n, C) with C > 1 and one integer class index per example, shape (n,). Integer regression
    targets (n,) or (n, 1) beside one output are no class labels."""
    shape = tuple(getattr(output_shape, "shape", output_shape))
    return (len(shape) == 2 and shape[1] > 1 and np.ndim(y) == 1
            and np.issubdtype(np.result_type(y.dtype), np.integer))


def check_classifier_labels(y: Any, output_shape: Any, name: str = "labels") -> None:
    """For a classifier, raise unless ``y`` holds integer class indices in [0, C).

    A classifier here is a net whose output (``output_shape``, e.g. from ``jax.eval_shape``)
    is (n, C) with C > 1 while the labels are (n,): one class index per example. Integer
    labels shaped (n, 1) are refused (compared with the (n,) predictions they would
    broadcast to n × n); other shapes (regression targets, one-hot labels) pass unchecked. Inside jit an out-of-range
    label would silently pick nothing (a wrong finite loss) or give an inf loss that
    looks like divergence, so this runs once, on the concrete labels, before training.
    """
    shape = tuple(getattr(output_shape, "shape", output_shape))
    if len(shape) != 2 or shape[1] < 2:
        return
    integer = np.issubdtype(np.result_type(y.dtype), np.integer)
    if integer and np.ndim(y) == 2 and np.shape(y)[1] == 1:
        raise ValueError(f"{name} have shape {tuple(np.shape(y))}: a classifier takes one class index "
                         f"per example, shape (n,); flatten them with y.reshape(-1)")
    if integer and np.ndim(y) > 1:
        raise ValueError(f"{name} have shape {tuple(np.shape(y))}: a classifier with {shape[1]} outputs "
                         f"takes one integer class index per example, shape (n,)")
    if np.ndim(y) == 1:
        check_labels(y, shape[1], name)


@jax.jit
def all_finite(tree: Any) -> jax.Array:
    """Whether every value of every array in ``tree`` is finite. Jitted: one program for the
    whole tree, where eager ``isfinite`` and ``all`` compile a program per op and leaf shape."""
    return jnp.array([jnp.isfinite(leaf).all() for leaf in jax.tree.leaves(tree)], bool).all()


def check_finite(X: Any, name: str = "features") -> None:
    """Raise ``ValueError`` if concrete floating-point ``X`` holds NaN or inf (one reduction on
    the device): a model fed them reports a NaN loss, or an accuracy over garbage."""
    if not is_concrete(X) or not np.issubdtype(np.result_type(X.dtype), np.floating):
        return
    if not bool(all_finite(X)):
        finite = jnp.isfinite(X)
        raise ValueError(f"{name} hold {int((~finite).sum())} NaN or infinite values (first at flat "
                         f"index {int(jnp.argmin(finite.reshape(-1)))}): clean or impute them first")


def check_callable(value: Any, name: str) -> Any:
    """Return ``value``, or raise ``TypeError`` unless it is callable."""
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__}")
    return value


PENALTIES = ("l2", "l1")


def check_penalty(norm: str, lambd: float, name: str = "lambd") -> float:
    """Validate the penalty's ``norm`` (``"l2"`` or ``"l1"``) and its strength λ (finite, >= 0)."""
    if norm not in PENALTIES:
        raise ValueError(f"norm must be one of {PENALTIES}, got {norm!r}")
    lambd = float(lambd)
    if not math.isfinite(lambd) or lambd < 0:
        raise ValueError(f"{name} (the penalty strength λ) must be a finite number >= 0, got {lambd}")
    return lambd


def check_early_stopping(patience: int, min_delta: float) -> tuple[int, float]:
    """Validate ``patience`` (an integer >= 1) and ``min_delta`` (finite, >= 0)."""
    patience = check_positive_int(patience, "patience")
    min_delta = float(min_delta)
    if not math.isfinite(min_delta) or min_delta < 0:
        raise ValueError(f"min_delta must be a finite number >= 0, got {min_delta}")
    return patience, min_delta


def check_divisible(batch_size: int, mesh: Any) -> None:
    """A sharded batch must split evenly across the devices."""
    if mesh is not None and batch_size % mesh.size:
        raise ValueError(f"batch_size={batch_size} must be divisible by the number of devices "
                         f"in the mesh ({mesh.size})")


def check_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(n_in, n_out) of a weight shape, or ``ValueError`` unless it is (n_in, n_out) or a conv
    kernel (kh, kw, c_in, c_out), all positive: a kernel's fans are kh·kw·c_in and kh·kw·c_out."""
    if len(shape) not in (2, 4):
        raise ValueError(f"shape must be (n_in, n_out) or (kh, kw, c_in, c_out), got {tuple(shape)}")
    sizes = [check_positive_int(n, "a weight dimension") for n in shape]
    window = sizes[0] * sizes[1] if len(sizes) == 4 else 1
    return window * sizes[-2], window * sizes[-1]


def check_images(images: jax.Array, name: str = "images") -> None:
    """Raise ``ValueError`` unless ``images`` has shape (N, H, W, 1)."""
    if images.ndim != 4 or images.shape[-1] != 1:
        raise ValueError(f"{name} must have shape (N, height, width, 1), got {tuple(images.shape)}")


def check_scaled(X: Any, name: str = "the model's inputs") -> None:
    """Raise ``TypeError`` for raw uint8 pixels reaching a model (shapes and dtypes are known
    while tracing, so this costs nothing at run time): unscaled pixels make SGD diverge."""
    if getattr(X, "dtype", None) == np.uint8:
        raise TypeError(f"{name} are raw uint8 pixels (0..255), not floats in [0, 1]: scale them "
                        "with jaxlin.to_float(images) first, pass prepare=to_float (fit, the epochs, "
                        "evaluation), or take the batches of load_data_fashion_mnist, already scaled")


def check_image_arrays(arrays: dict[str, np.ndarray], num_classes: int, shape: tuple[int, ...],
                       name: str) -> None:
    """For both splits: uint8 images of ``shape`` per example, as many int labels in [0, num_classes)."""
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.dtype != np.uint8 or images.shape[1:] != shape or len(images) != len(labels):
            raise ValueError(f"unexpected {name} {split} arrays: images {images.shape} "
                             f"{images.dtype}, labels {labels.shape}")
        check_labels(labels, num_classes, f"{split} labels")
