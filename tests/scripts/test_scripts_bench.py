"""The benchmark and sweep scripts: modes that agree, outputs written."""
from __future__ import annotations

import jax
import pytest

from conftest import load_script
from helpers import bench_mode_params, max_abs_diff, plain_loop_params
from jaxlin import bench


def test_benchmark_modes_agree_and_write_outputs(tmp_path, monkeypatch):
    """The reported agreement is checked against params recomputed here: a plain loop of train
    steps over the benchmark's batch order, and each mode's runner."""
    from matplotlib.axes import Axes
    labels = []
    bar_label = Axes.bar_label
    monkeypatch.setattr(Axes, "bar_label", lambda ax, bars, **kw: labels.append(
        (list(kw["labels"]), [b.get_height() for b in bars])) or bar_label(ax, bars, **kw))
    results = load_script("bench_jit_vs_eager").main(
        ["--out", str(tmp_path), "--models", "linreg", "--repeats", "1", "--eager-steps", "3",
         "--modes", "eager", "nojit", "jit_step", "jit_epoch", "--seed", "0", "--check-steps", "4"])
    assert results["agreement_ok"]
    assert results["quality"]["linreg"]["ok"] and 0 < results["quality"]["linreg"]["value"] < 0.1
    assert set(results["agreement"]["linreg"]) == {"eager", "nojit", "jit_step", "jit_epoch"}
    key = jax.random.key(0)
    (w,) = bench.make_workloads(["linreg"], key=key)
    want = plain_loop_params(w, key, 4)
    got = bench_mode_params(w, key, 4)
    reported = results["agreement"]["linreg"]
    for mode, params in got.items():
        assert max_abs_diff(params, want) <= 1e-5, mode          # every mode trains the plain loop's model
        assert reported[mode] == max_abs_diff(params, got["jit_epoch"]), mode    # as reported
        assert reported[mode] <= 1e-5, mode
    rows = {r["mode"]: r for r in results["rows"]}
    assert rows["eager"]["extrapolated"] and not rows["jit_epoch"]["extrapolated"]
    assert rows["jit_step"]["compile_s"] > 0 and rows["jit_epoch"]["compile_s"] > 0
    assert all(r["epoch_s_min"] > 0 for r in rows.values())
    assert (tmp_path / "bench.png").is_file() and (tmp_path / "results.json").is_file()
    assert len(labels) == 4                                   # one labelled bar series per mode
    for texts, heights in labels:                          # each bar shows its own value
        assert [float(t) for t in texts] == pytest.approx(heights, rel=0.05)
    assert results["environment"]["jax"] == jax.__version__
    prof = results["profile"]["linreg"]                    # the compiled epoch, per XLA operation
    assert prof["ops"] and 0 < prof["matmul_s"] <= prof["op_s"]
    assert prof["matmul_flops"] == 100 * 2 * (2 * 10 * 2 * 1)   # 100 steps: X·w and Xᵀg, X 10×2


@pytest.mark.data
def test_sweep_script_runs(fashion_mnist, tmp_path):
    results = load_script("sweep_softmax_lr").main(
        ["--out", str(tmp_path), "--epochs", "1", "--num-lrs", "3", "--repeats", "1"])
    assert len(results["final_test_acc"]) == 3 and results["k_over_one"] > 0
    assert results["lrs"] == pytest.approx([0.01, (0.01 * 3.0) ** 0.5, 3.0], rel=1e-9)   # log-spaced
    assert max(results["final_test_acc"]) > 0.7
    assert (tmp_path / "sweep.png").is_file()
    # The profile counts every product: per step the forward X·W and the gradient Gᵀ·X of the
    # 3 models' 784×10 weights, then the test set's forward pass.
    steps, n = 60000 // 256, 3 * 10
    assert results["profile"]["matmul_flops"] == steps * 2 * (2 * 256 * 784 * n) + 2 * 10000 * 784 * n
    assert 0 < results["profile"]["matmul_s"] < results["profile"]["op_s"]
    assert results["profile"]["matmul_floor_s"] > 0


def test_the_sweeps_learning_rates_are_log_spaced():
    """The default grid, 8 rates from 0.01 to 3: each is the one before times (300)^(1/7), so
    every decade gets its share (a linear grid would put 6 of the 8 above 0.8)."""
    sweep = load_script("sweep_softmax_lr")
    lrs, seeds = sweep.learning_rates_and_seeds(sweep.parse_args([]))
    assert len(lrs) == 8 and lrs[0] == pytest.approx(0.01) and lrs[-1] == pytest.approx(3.0)
    ratios = [b / a for a, b in zip(lrs, lrs[1:])]
    assert ratios == pytest.approx([300 ** (1 / 7)] * 7, rel=1e-9)
    assert seeds == [0] * 8
    lrs, seeds = sweep.learning_rates_and_seeds(sweep.parse_args(["--num-lrs", "3", "--lr-min", "0.001",
                                                                  "--lr-max", "0.1", "--seeds"]))
    assert lrs == pytest.approx([0.001, 0.01, 0.1], rel=1e-9) and seeds == [0, 1, 2]


def test_more_check_steps_than_the_data_holds_is_a_usage_error(tmp_path, capsys):
    """It used to say "after 100000 steps" when far fewer ran."""
    with pytest.raises(SystemExit) as info:
        load_script("bench_jit_vs_eager").main(["--out", str(tmp_path), "--models", "linreg",
                                                "--check-steps", "100000"])
    assert info.value.code == 2
    assert "--check-steps 100000 is more than the" in capsys.readouterr().err


def test_a_step_that_trains_nothing_leaves_the_quality_band():
    """The band catches a fast wrong step: here one whose updates are a million times too small."""
    (w,) = bench.make_workloads(["linreg"], key=jax.random.key(0))
    assert bench.quality(w, jax.random.key(0))["ok"]
    w.lr = 3e-8
    q = bench.quality(w, jax.random.key(0))
    assert not q["ok"] and q["value"] > 1.0
