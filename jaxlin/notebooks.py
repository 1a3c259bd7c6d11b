"""Write every chapter as a script (``.py``) and a Jupyter notebook (``.ipynb``), anywhere.

``python -m jaxlin.notebooks notebooks/mine`` writes each chapter file (a jupytext
percent-format file: ``scripts/ch*.py`` of a checkout, or the copies an installed wheel
carries in ``jaxlin/_chapters``) as ``notebooks/mine/<name>.py``, which runs as a script,
and ``notebooks/mine/<name>.ipynb``, without outputs, with a Python 3 kernelspec. Needs the
``[notebook]`` extra (jupytext). ``notebooks/`` and ``*.ipynb`` are git-ignored. A file that
exists already (one you may have edited) is never replaced without ``--force``; each file
is written atomically.
"""
from __future__ import annotations

import argparse
import importlib.resources
import importlib.util
import sys
from pathlib import Path

from jaxlin.data.io import write_text

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def chapters_folder() -> Path:
    """Where the chapter files are: ``scripts/`` beside the package in a checkout, else the
    copies the installed wheel carries (``jaxlin/_chapters``)."""
    checkout = Path(__file__).resolve().parents[1] / "scripts"
    if checkout.is_dir():
        return checkout
    return Path(str(importlib.resources.files("jaxlin") / "_chapters"))


def targets(out_dir: str | Path, scripts: str | Path | None = None, pattern: str = "ch*.py", *,
            force: bool = False) -> list[tuple[Path, Path]]:
    """The (chapter file, notebook) pairs to write, checked before any is written.

    ``ValueError`` (one line) when ``out_dir`` is or lies under a file, ``pattern`` matches
    no chapter, or a notebook or script exists already and ``force`` is not set.
    """
    out_dir, scripts = Path(out_dir), Path(scripts or chapters_folder())
    for folder in (out_dir, *out_dir.parents):
        if folder.exists() and not folder.is_dir():
            where = "is a file" if folder == out_dir else f"is under the file {folder}"
            raise ValueError(f"{out_dir} {where}, not a folder for the notebooks")
    paths = sorted(p for p in scripts.glob(pattern) if p.suffix == ".py")
    if not paths:
        raise ValueError(f"--pattern {pattern!r} matches no chapter file in {scripts}")
    pairs = [(path, out_dir / f"{path.stem}.ipynb") for path in paths]
    existing = [target for path, notebook in pairs for target in (notebook, out_dir / path.name)
                if target.exists()]
    if existing and not force:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise ValueError(f"{existing[0]} exists{more}: pass --force to replace it (edits in it are lost)")
    return pairs


def write_notebooks(out_dir: str | Path, scripts: str | Path | None = None, pattern: str = "ch*.py", *,
                    force: bool = False) -> list[Path]:
    """Each chapter file matching ``pattern`` as ``out_dir/<name>.ipynb`` and ``out_dir/<name>.py``;
    returns the notebooks written.

    Refuses (``ValueError``, see :func:`targets`) before writing anything; an ``OSError``
    (a read-only folder, a full disk) propagates.
    """
    return write_pairs(targets(out_dir, scripts, pattern, force=force))


def write_pairs(pairs: list[tuple[Path, Path]]) -> list[Path]:
    """Write each chapter file as its notebook and as a script beside it, atomically; returns
    the notebooks."""
    import jupytext
    for path, target in pairs:
        write_text(target.with_suffix(".py"), path.read_text())
        notebook = jupytext.read(path)
        notebook.metadata["kernelspec"] = dict(KERNELSPEC)
        notebook.metadata.setdefault("language_info", {"name": "python"})
        write_text(target, jupytext.writes(notebook, fmt="ipynb") + "\n")     # as jupytext.write
    return [target for _, target in pairs]


def main(argv: list[str] | None = None) -> None:
    """The command line: exit 2 with one line for bad arguments, 1 for a folder that cannot be written."""
    parser = argparse.ArgumentParser(prog="python -m jaxlin.notebooks", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder for the .py and .ipynb files (e.g. notebooks/mine)")
    parser.add_argument("--scripts", type=Path, default=None,
                        help="folder of the chapter files (default: the checkout's scripts/, else the wheel's)")
    parser.add_argument("--pattern", default="ch*.py", help="which chapter files (a glob)")
    parser.add_argument("--force", action="store_true", help="replace notebooks that exist already")
    args = parser.parse_args(argv)
    if importlib.util.find_spec("jupytext") is None:
        print('error: writing notebooks needs jupytext: pip install "jaxlin[notebook]"', file=sys.stderr)
        raise SystemExit(1)
    try:
        pairs = targets(args.out_dir, args.scripts, args.pattern, force=args.force)
    except ValueError as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    try:
        written = write_pairs(pairs)
    except OSError as err:
        print(f"error: cannot write the notebooks to {args.out_dir}: {err.strerror or err}"
              f"{f' ({err.filename})' if err.filename else ''}", file=sys.stderr)
        raise SystemExit(1) from None
    for path in written:
        print(path)


if __name__ == "__main__":
    main()
