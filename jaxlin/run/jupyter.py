"""Where the code runs: a Jupyter kernel or a plain Python process.

A chapter file in ``scripts/`` is a script and a notebook at once. In a kernel
(Jupyter, VS Code, PyCharm, Colab) its flags come from ``$JAXLIN_ARGS`` instead of
the kernel's own argv (:func:`kernel_argv`), and every figure it saves is also shown
inline (:func:`show_png`). Nothing here chooses a matplotlib backend.
"""
from __future__ import annotations

import os
import shlex
import sys
from typing import Any

ARGS_ENV = "JAXLIN_ARGS"


def in_kernel() -> bool:
    """True inside a running IPython kernel (not a terminal IPython, not a plain script)."""
    if "ipykernel" not in sys.modules or "IPython" not in sys.modules:
        return False
    shell = sys.modules["IPython"].get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def kernel_argv() -> list[str]:
    """A notebook's command line: the words of ``$JAXLIN_ARGS`` (none by default)."""
    return shlex.split(os.environ.get(ARGS_ENV, ""))


def show_png(data: bytes, handle: Any = None) -> Any:
    """Show PNG bytes as an ``image/png`` output of the running cell (only in a kernel).

    Given the ``handle`` an earlier call returned, replace that output instead: one
    figure redrawn in place. Returns the display handle (None outside a kernel).
    """
    if not in_kernel():
        return None
    from IPython.display import Image, display
    if handle is not None:
        handle.update(Image(data=data))
        return handle
    return display(Image(data=data), display_id=True)


__all__ = ["ARGS_ENV", "in_kernel", "kernel_argv", "show_png"]
