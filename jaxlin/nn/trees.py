"""Names of pytree leaves: ``{"layers_0": {"kernel": w}}`` has the leaf ``layers_0/kernel``."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def key_name(entry: Any) -> str:
    """One step of a key path as text: a dict key, a sequence index or an attribute name."""
    for attr in ("key", "idx", "name"):
        if hasattr(entry, attr):
            return str(getattr(entry, attr))
    return str(entry)


def path_name(path: Sequence[Any]) -> str:
    """A pytree key path as ``"layers_0/kernel"``."""
    return "/".join(key_name(k) for k in path)


__all__ = ["key_name", "path_name"]
