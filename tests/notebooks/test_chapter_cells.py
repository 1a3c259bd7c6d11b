"""What a reader sees in a chapter file (issue 20): the run's plumbing stays in one set-up cell,
prose comes before every code cell, and no code cell is long."""
from __future__ import annotations

import re

import jupytext
import pytest

from conftest import SCRIPTS

CHAPTERS = sorted(p.stem for p in SCRIPTS.glob("ch*.py"))
PLUMBING = re.compile(r"make_parser|add_training_args|\bRun\(|train_classifier|\bargs\.|\brun\.(path|finish|guard)")


def code_cells(name: str) -> list[str]:
    notebook = jupytext.read(SCRIPTS / f"{name}.py")
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def plumbing_outside_setup(cells: list[str]) -> list[str]:
    """The lines naming the run's plumbing in any code cell after the first one that has some."""
    found = [i for i, source in enumerate(cells) if PLUMBING.search(source)]
    return [line for i in found[1:] for line in cells[i].splitlines() if PLUMBING.search(line)]


def test_the_check_sees_plumbing_in_a_later_cell():
    setup = "args = parser.parse_args()\nrun = Run(args, 'x')"
    assert plumbing_outside_setup([setup, "x = 1"]) == []
    assert plumbing_outside_setup([setup, "y = f(args.lr)"]) == ["y = f(args.lr)"]
    assert plumbing_outside_setup([setup, "run.finish(results)"]) == ["run.finish(results)"]


@pytest.mark.parametrize("name", CHAPTERS)
def test_the_runs_plumbing_stays_in_one_set_up_cell(name):
    assert plumbing_outside_setup(code_cells(name)) == []


def cells(name: str) -> list:
    return [cell for cell in jupytext.read(SCRIPTS / f"{name}.py").cells if cell.source.strip()]


def unexplained_code_cells(cells: list, min_words: int = 12) -> list[str]:
    """The first line of each code cell not preceded by prose of at least ``min_words`` words."""
    problems = []
    for before, cell in zip([None, *cells], cells):
        if cell.cell_type != "code":
            continue
        words = len(re.findall(r"\w+", before.source)) if before is not None and before.cell_type == "markdown" else 0
        if words < min_words:
            problems.append(cell.source.splitlines()[0])
    return problems


@pytest.mark.parametrize("name", CHAPTERS)
def test_prose_comes_before_every_code_cell(name):
    assert unexplained_code_cells(cells(name)) == []


@pytest.mark.parametrize("name", CHAPTERS)
def test_no_code_cell_is_long(name):
    long = [c.source.splitlines()[0] for c in cells(name) if c.cell_type == "code" and len(c.source.splitlines()) > 30]
    assert long == []
