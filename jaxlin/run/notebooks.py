"""Write every chapter of ``scripts/`` as a Jupyter notebook (``.ipynb``), for Colab or plain Jupyter.

``python -m jaxlin.run.notebooks notebooks/mine`` converts each ``scripts/ch*.py`` (a
jupytext percent-format file) into ``notebooks/mine/<name>.ipynb``, without outputs, with
a Python 3 kernelspec. Needs the ``[notebook]`` extra (jupytext). The ``.ipynb`` files are
outputs: ``notebooks/`` and ``*.ipynb`` are git-ignored.
"""
from __future__ import annotations

import argparse
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def write_notebooks(out_dir: str | Path, scripts: str | Path = SCRIPTS, pattern: str = "ch*.py") -> list[Path]:
    """Each ``scripts/<pattern>`` as ``out_dir/<name>.ipynb``; returns the files written."""
    import jupytext
    out_dir, scripts = Path(out_dir), Path(scripts)
    paths = sorted(scripts.glob(pattern))
    if not paths:
        raise FileNotFoundError(f"no {pattern} in {scripts}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        notebook = jupytext.read(path)
        notebook.metadata["kernelspec"] = dict(KERNELSPEC)
        notebook.metadata.setdefault("language_info", {"name": "python"})
        target = out_dir / f"{path.stem}.ipynb"
        jupytext.write(notebook, target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder for the .ipynb files (e.g. notebooks/mine)")
    parser.add_argument("--scripts", type=Path, default=SCRIPTS, help="folder of the chapter files")
    parser.add_argument("--pattern", default="ch*.py", help="which chapter files (a glob)")
    args = parser.parse_args(argv)
    for path in write_notebooks(args.out_dir, args.scripts, args.pattern):
        print(path)


if __name__ == "__main__":
    main()
