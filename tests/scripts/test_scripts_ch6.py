"""The chapter 6 scripts (6.1-6.5): help, results.json, their figures and what they print."""
from __future__ import annotations

import contextlib
import io
import json
import re

import numpy as np
import pytest

from helpers import main_of

SCRIPTS = ["ch6_01_why_conv", "ch6_02_conv_layer", "ch6_03_padding_and_strides", "ch6_04_channels",
           "ch6_05_pooling"]
FIGURES = {"ch6_01_why_conv": ["equivariance.png"], "ch6_02_conv_layer": ["edge_detection.png"]}
PRINTED: dict[str, str] = {}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each script run once into a temporary folder: name -> (results, folder); output in PRINTED."""
    out = {}
    for name in SCRIPTS:
        folder = tmp_path_factory.mktemp(name)
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            out[name] = (main_of(name)(["--out", str(folder)]), folder)
        PRINTED[name] = printed.getvalue()
    return out


def numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+\.?\d*(?:e[-+]?\d+)?", text)]


def block_after(name: str, heading: str) -> str:
    """What a script printed after the line starting with ``heading``: the rest of that line and
    the lines of the array below it (blank, or starting with '[' or a space)."""
    lines = PRINTED[name].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    end = next((i for i in range(start + 1, len(lines)) if lines[i] and lines[i][0] not in "[ "), len(lines))
    return "\n".join(lines[start:end])[len(heading):]


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main_of(name)(["--help"])
    assert exit_info.value.code == 0 and "--out" in capsys.readouterr().out


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_writes_results_json(runs, name):
    results, folder = runs[name]
    written = json.loads((folder / "results.json").read_text())
    assert written["script"] == name and written["status"] == "finished"
    assert set(results) <= set(written)
    assert written["files"] == FIGURES.get(name, [])
    for file in written["files"]:
        png = folder / file
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_ch6_01_prints_counts_and_equivariance(runs):
    printed = PRINTED["ch6_01_why_conv"]
    assert "1,000,000,000,000 weights" in printed and re.search(r"<= 10\s+441 weights", printed)
    assert "tied dense layer == corr2d(X, V): True" in printed
    assert "corr(shift(X)) == shift(corr(X)): True" in printed
    gap = float(re.search(r"shift\(dense\(X\)\)\| = ([\d.]+)", printed).group(1))
    assert gap > 1.0


def test_ch6_02_prints_the_book_values(runs):
    name = "ch6_02_conv_layer"
    assert numbers(block_after(name, "corr2d(X, K) =")) == [19, 25, 37, 43]
    edges = np.array(numbers(block_after(name, "Y = corr2d(X, K) ="))).reshape(6, 7)
    assert (edges[:, 1] == 1).all() and (edges[:, 5] == -1).all() and (np.abs(edges).sum() == 12)
    assert numbers(block_after(name, "corr2d(X.T, K) =")) == [0.0] * 40
    losses = [float(m) for m in re.findall(r"epoch (?:2|4|6|8|10), loss ([\d.]+)", PRINTED[name])]
    assert len(losses) == 5 and losses == sorted(losses, reverse=True) and losses[-1] < losses[0]
    learned = numbers(PRINTED[name].split("learned kernel:")[1].splitlines()[0])
    np.testing.assert_allclose(learned, [1.0, -1.0], atol=0.1)
    assert "convolve2d(X, K) == corr2d(X, flip(K)): True" in PRINTED[name]


def test_ch6_03_prints_the_four_shapes(runs):
    printed = PRINTED["ch6_03_padding_and_strides"]
    assert "kernel 3x3, padding 1: (8, 8)" in printed
    assert "kernel 5x3, padding (2, 1): (8, 8)" in printed
    assert "kernel 3x3, padding 1, stride 2: (4, 4)" in printed
    assert "kernel 3x5, padding (0, 1), stride (3, 4): (2, 2)" in printed
    for shape in ("(8, 8)", "(8, 8)", "(4, 4)", "(2, 2)"):
        assert f"formula {shape}, conv2d {shape}, nnx.Conv {shape}" in printed


def test_ch6_04_prints_the_book_values(runs):
    name = "ch6_04_channels"
    assert numbers(block_after(name, "corr2d_multi_in(X, K) =")) == [56, 72, 104, 120]
    assert numbers(block_after(name, "corr2d_multi_in_out(X, K) =")) == [
        56, 72, 104, 120, 76, 100, 148, 172, 96, 128, 192, 224]
    assert "K.shape = (3, 2, 2, 2)" in PRINTED[name] and "below 1e-6: True" in PRINTED[name]


def test_ch6_05_prints_the_book_values(runs):
    name = "ch6_05_pooling"
    assert numbers(block_after(name, "pool2d(X, (2, 2)) =")) == [4, 5, 7, 8]
    assert numbers(block_after(name, "pool2d(X, (2, 2), 'avg') =")) == [2, 3, 5, 6]
    assert "strides=(3, 3)) = [[10.]]" in PRINTED[name]
    assert numbers(block_after(name, "max_pool(X, (3, 3), strides=(2, 2), padding 1) =")) == [5, 7, 13, 15]
    rectangular = block_after(name, "max_pool(X, (2, 3), strides=(2, 3), padding (0, 1)) =")
    assert numbers(rectangular) == [5, 7, 13, 15]
    assert numbers(block_after(name, "lax.reduce_window(...) =")) == [5, 7, 13, 15]
    assert numbers(block_after(name, "per channel:")) == [5, 7, 13, 15, 6, 8, 14, 16]
    assert numbers(block_after(name, "avg_pool2d(X, 2) =")) == [2.5, 4.5, 10.5, 12.5]
