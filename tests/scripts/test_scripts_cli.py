"""What every script shares: usage errors exit 2, divergence exits 1, Ctrl-C exits 130, output folders."""
from __future__ import annotations

import math
import os
import re
import sys

import jax
import jax.numpy as jnp
import pytest

import jaxlin.train.fit
from conftest import SCRIPTS, shared_dir
from helpers import CLASSIFIERS, REGRESSIONS, SMALL, SOFTMAX, exit_code, main_of, read_results
from jaxlin import write_json
from jaxlin.run.checkpoint import save_checkpoint
from jaxlin.run.cli import make_parser
from jaxlin.train.state import TrainState

RUNS_ENV = "JAXLIN_RUNS_DIR"                 # set empty by conftest.py: no default --out


def house_args() -> list[str]:
    folder = shared_dir("kaggle-house")
    return ["--train-csv", str(folder / "kaggle_house_pred_train.csv"),
            "--test-csv", str(folder / "kaggle_house_pred_test.csv")]


def extra_args(name: str) -> list[str]:
    return house_args() if name == "ch4_10_kaggle_house_price" else []


@pytest.mark.parametrize("name", CLASSIFIERS + REGRESSIONS)
@pytest.mark.parametrize("argv, option", [
    (["--epochs", "0"], "--epochs"), (["--epochs", "two"], "--epochs"),
    (["--lr", "nan"], "--lr"), (["--lr", "-0.1"], "--lr"), (["--lr", "inf"], "--lr"),
    (["--batch-size", "0"], "--batch-size"), (["--bogus-option"], "--bogus-option"),
    (["--lr", "1e39"], "--lr"),                          # finite in Python, inf in float32
    (["--epoch", "2"], "--epoch"),                       # no abbreviations of --epochs
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_options_exit_2_naming_the_option(name, argv, option, tmp_path, capsys):
    assert exit_code(main_of(name), [*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert option in err and "usage:" in err
    assert not (tmp_path / "results.json").exists()


@pytest.mark.parametrize("argv, message", [
    (["--resume"], "--resume needs --checkpoint-dir"),
    (["--resume", "--checkpoint-dir", "{tmp}/empty"], "no checkpoint"),
    (["--checkpoint-dir", "{tmp}/a_file"], "is a file"),
    (["--checkpoint-dir", "{tmp}/full"], "add --resume"),
    (["--loop", "fast"], "--loop"),
])
def test_bad_checkpoint_options_exit_2(argv, message, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "a_file").write_text("not a folder")
    save_checkpoint(tmp_path / "full", TrainState({"W": jnp.zeros(2)}, (), jax.random.key(0), 1, []))
    argv = [a.format(tmp=tmp_path) for a in argv]
    assert exit_code(main_of(SOFTMAX), [*argv, "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err


def test_regression_scripts_reject_a_batch_larger_than_their_data(tmp_path, capsys):
    assert exit_code(main_of("ch3_02_linear_regression_scratch"),
                     ["--num-examples", "50", "--batch-size", "60", "--out", str(tmp_path)]) == 2
    assert "--batch-size 60" in capsys.readouterr().err
    assert exit_code(main_of("ch4_05_weight_decay"), ["--batch-size", "21", "--out", str(tmp_path)]) == 2
    assert "--batch-size 21" in capsys.readouterr().err


@pytest.mark.parametrize("name", REGRESSIONS)
def test_regression_scripts_report_divergence_in_results_json(name, tmp_path, capsys):
    lr = {"ch4_10_kaggle_house_price": "1e6", "ch4_05_weight_decay": "1e6"}.get(name, "1e4")
    code = exit_code(main_of(name), [*SMALL[name], *extra_args(name), "--lr", lr,
                                     "--out", str(tmp_path), "--quiet"])
    assert code == 1
    err = capsys.readouterr().err
    assert "smaller" in err and "Traceback" not in err
    results = read_results(tmp_path)
    if name == "ch4_10_kaggle_house_price":     # Adam stays finite; the prices come out negative
        assert results["status"] in ("diverged", "failed") and "smaller --lr" in results["error"]
        return
    assert results["status"] == "diverged" and results["diverged"]["epoch"] >= 1
    last = results["last_good_epoch"]
    assert last is None or all(math.isfinite(v) for v in last.values())


def test_divergence_records_the_last_good_epoch_not_the_first(tmp_path, monkeypatch, capsys):
    """Epochs 1 and 2 good, epoch 3's loss NaN: results.json's last_good_epoch is epoch 2's record
    (the history's last), and the history holds both good epochs."""
    summarize, reads = jaxlin.train.fit.summarize, []

    def nan_in_epoch_3(sums):
        reads.append(1)
        return summarize(sums) | ({"train_loss": math.nan} if len(reads) == 3 else {})
    monkeypatch.setattr(jaxlin.train.fit, "summarize", nan_in_epoch_3)
    name = "ch3_03_linear_regression_concise"
    argv = ["--epochs", "4", "--num-examples", "200", "--out", str(tmp_path), "--quiet"]
    assert exit_code(main_of(name), argv) == 1
    assert "epoch 3" in capsys.readouterr().err
    results = read_results(tmp_path)
    assert results["status"] == "diverged" and results["diverged"]["epoch"] == 3
    assert [h["epoch"] for h in results["history"]] == [1, 2]
    assert results["last_good_epoch"] == results["history"][-1]
    assert results["last_good_epoch"]["epoch"] == 2


def test_ctrl_c_in_a_script_without_checkpoints_exits_130_with_results(tmp_path, monkeypatch, capsys):
    def interrupted(sums):
        raise KeyboardInterrupt
    monkeypatch.setattr(jaxlin.train.fit, "summarize", interrupted)
    name = "ch3_03_linear_regression_concise"
    assert exit_code(main_of(name), [*SMALL[name], "--out", str(tmp_path), "--quiet"]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and re.search(rf"run it again with {re.escape(sys.executable)} \S*{name}\.py", err)
    assert "Traceback" not in err and read_results(tmp_path)["status"] == "interrupted"


def test_an_existing_out_folder_is_not_mixed_with_a_new_run(tmp_path, capsys):
    (tmp_path / "old_figure.png").write_bytes(b"from an earlier run")
    (tmp_path / "notes.txt").write_text("the user's own file")
    write_json(tmp_path / "results.json", {"files": ["old_figure.png"], "status": "finished"})
    main_of("ch3_02_linear_regression_scratch")(["--epochs", "1", "--num-examples", "100",
                                                 "--out", str(tmp_path), "--quiet"])
    assert "replaced the previous run" in capsys.readouterr().err
    assert not (tmp_path / "old_figure.png").exists() and (tmp_path / "notes.txt").exists()
    results = read_results(tmp_path)
    assert results["status"] == "finished" and sorted(results["files"]) == ["data.png", "loss.png"]


def test_the_suite_never_writes_a_default_out(tmp_path, monkeypatch, capsys):
    """Under the tests $JAXLIN_RUNS_DIR is empty: a run that forgets --out (here or in a child
    process, which inherits it) is refused with exit 2 before it locks or writes anything, so
    no test writes into the checkout's runs/ (a reader's own runs may, meanwhile); set to a
    folder, $JAXLIN_RUNS_DIR holds the default outputs."""
    name = "ch3_02_linear_regression_scratch"
    assert os.environ[RUNS_ENV] == ""
    monkeypatch.setattr("jaxlin.run.cli.Outputs", None)            # never reached
    assert exit_code(main_of(name), SMALL[name]) == 2
    assert f"pass --out DIR: {RUNS_ENV} is set but empty" in capsys.readouterr().err
    monkeypatch.undo()
    monkeypatch.setenv(RUNS_ENV, str(tmp_path))
    assert main_of(name)(SMALL[name])["status"] == "finished"
    assert (tmp_path / name / "results.json").is_file()


ALL_SCRIPTS = sorted(p.stem for p in SCRIPTS.glob("*.py"))


@pytest.mark.parametrize("name", ALL_SCRIPTS)
def test_help_never_shows_a_default_of_none(name, capsys):
    """A None default means something (a folder found elsewhere, no clipping): the help says
    what, never "(default: None)"."""
    assert exit_code(main_of(name), ["--help"]) == 0
    out = capsys.readouterr().out
    assert "usage:" in out and "(default: None)" not in " ".join(out.split()), out


@pytest.mark.parametrize("seed", ["99999999999999999999999", "-1", str(2**63)])
def test_a_seed_beyond_64_bits_is_a_usage_error(seed, tmp_path, capsys):
    name = "ch3_02_linear_regression_scratch"
    assert exit_code(main_of(name), ["--seed", seed, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"argument --seed: the seed must fit in 64 bits: an integer in [0, 2**63), got {seed}" in err
    assert "Traceback" not in err and not (tmp_path / "results.json").exists()


@pytest.mark.parametrize("where, says", [
    ("127.0.0.1:99999", "--coordinator 127.0.0.1:99999: port 99999 is not in 1..65535"),
    ("127.0.0.1:0", "port 0 is not in 1..65535"),
    (":12355", "--coordinator ':12355' has no host"),
    ("localhost", "--coordinator 'localhost' is not HOST:PORT"),
])
def test_a_bad_coordinator_is_a_usage_error_at_parse_time(where, says, tmp_path, capsys):
    argv = ["--coordinator", where, "--num-processes", "2", "--process-id", "1", "--out", str(tmp_path)]
    assert exit_code(main_of(SOFTMAX), argv) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


def test_an_unclosed_quote_in_jaxlin_args_names_it(tmp_path, monkeypatch, capsys):
    """In a notebook the flags are $JAXLIN_ARGS's words: an unclosed quote names the variable."""
    monkeypatch.setattr("jaxlin.run.flags.in_kernel", lambda: True)
    monkeypatch.setenv("JAXLIN_ARGS", f'--out "{tmp_path}')
    with pytest.raises(SystemExit) as info:
        make_parser("a notebook").parse_args()
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.endswith(f'error: $JAXLIN_ARGS is not a command line (No closing quotation): --out "{tmp_path}')
