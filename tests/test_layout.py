"""The package's shape: imports run only downwards, ``import jaxlin`` is light and has no side
effects, the book's names are exported, and modules stay readable in one sitting."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "jaxlin"
LAYERS = {"jaxlin": 0, "jaxlin._lazy": 0, "jaxlin.checks": 0, "jaxlin.notebooks": 4, "jaxlin.nn": 1, "jaxlin.data": 2,
          "jaxlin.train": 3, "jaxlin.run": 4, "jaxlin.plots": 4, "jaxlin.bench": 4,
          "jaxlin.chapters": 5}
HEAVY = ("flax", "optax", "matplotlib", "tqdm", "pandas", "tensorflow", "tensorflow_datasets", "torch")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    """The layer of a jaxlin module: its longest prefix in LAYERS."""
    while module not in LAYERS:
        module = module.rpartition(".")[0]
    return LAYERS[module]


def jaxlin_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of every ``import jaxlin...`` / ``from jaxlin... import`` in ``source``,
    at any depth (function-level imports count too)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("jaxlin")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("jaxlin"):
            found += [(node.lineno, f"{node.module}.{a.name}") if node.module == "jaxlin.run"
                      or node.module == "jaxlin.data" else (node.lineno, node.module) for a in node.names]
    return found


def upward_imports(root: Path = PACKAGE) -> list[str]:
    problems = []
    for path in sorted(root.rglob("*.py")):
        name = module_name(path)
        for line, target in jaxlin_imports(path.read_text()):
            if layer(target) > layer(name):
                problems.append(f"{path.relative_to(ROOT)}:{line}: {name} (layer {layer(name)}) imports "
                                f"{target} (layer {layer(target)})")
    return problems


def test_imports_run_only_downwards():
    assert upward_imports() == []


def test_the_layering_check_sees_an_upward_import(tmp_path):
    """The check itself: a data module importing the run layer, even inside a function, is caught."""
    fake = tmp_path / "jaxlin" / "data"
    fake.mkdir(parents=True)
    (fake / "loader.py").write_text("def show():\n    from jaxlin.plots.figures import plt\n")
    (fake / "fine.py").write_text("from jaxlin.nn.losses import squared_loss\n")
    (fake / "trains.py").write_text("from jaxlin.train.epoch import summarize\n")
    import conftest
    original = conftest.ROOT
    try:
        globals()["ROOT"] = tmp_path
        problems = upward_imports(tmp_path / "jaxlin")
    finally:
        globals()["ROOT"] = original
    assert len(problems) == 2, problems
    assert "jaxlin.data.loader (layer 2) imports jaxlin.plots.figures (layer 4)" in problems[0]
    assert "jaxlin.data.trains (layer 2) imports jaxlin.train.epoch (layer 3)" in problems[1]


def test_the_pure_math_layer_has_no_jit_and_no_io():
    for path in (PACKAGE / "nn").rglob("*.py"):
        text = path.read_text()
        for word in ("jax.jit", "open(", "print(", "Path("):
            assert word not in text, f"{path.relative_to(ROOT)} uses {word}"


def run_python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=ROOT, timeout=120).stdout


def test_import_jaxlin_keeps_the_matplotlib_backend():
    code = "import matplotlib; matplotlib.use('svg'); import jaxlin, jaxlin.plots.figures; print(matplotlib.get_backend())"
    assert run_python(code).strip() == "svg"


def test_import_jaxlin_imports_nothing_heavy():
    code = f"import json, sys; import jaxlin; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    assert json.loads(run_python(code)) == []


def test_import_jaxlin_train_loads_no_plotting_data_set_or_checkpoint_library():
    """The training layer stands alone: no matplotlib, TensorFlow, TFDS or Orbax behind it."""
    code = ("import json, sys; import jaxlin.train, jaxlin.train.fit, jaxlin.train.epoch, jaxlin.train.state; "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'matplotlib', 'tensorflow', 'tensorflow_datasets', 'orbax'})))")
    assert json.loads(run_python(code)) == []


def test_the_root_exports_no_chapter_content():
    """``from jaxlin import X`` gives the book's functions and the layers' names; what one section
    alone uses (``jaxlin/chapters``) is imported from its chapter module."""
    import jaxlin
    defined_in_chapters = {name for path in (PACKAGE / "chapters").glob("*.py")
                           for node in ast.parse(path.read_text()).body
                           if isinstance(node, (ast.FunctionDef, ast.ClassDef)) for name in [node.name]}
    assert set(jaxlin.__all__) & defined_in_chapters == set()
    assert not [m for m in jaxlin._EXPORTS.values() if m.startswith("jaxlin.chapters")]


def test_every_exported_name_imports_and_is_what_its_module_defines():
    import importlib

    import jaxlin
    assert sorted(jaxlin.__all__) == sorted(set(jaxlin.__all__))
    for name in jaxlin.__all__:
        module = importlib.import_module(jaxlin._EXPORTS[name])
        assert getattr(jaxlin, name) is getattr(module, name)
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        jaxlin.nonexistent  # noqa: B018


def test_the_book_names_are_exported():
    import jaxlin
    book = {"sgd", "linreg", "squared_loss", "synthetic_data", "data_iter", "load_array", "softmax",
            "cross_entropy", "accuracy", "evaluate_accuracy", "train_epoch_ch3", "train_ch3",
            "predict_ch3", "load_data_fashion_mnist", "get_fashion_mnist_labels", "show_images",
            "relu", "dropout_layer", "evaluate_loss", "get_k_fold_data", "k_fold", "l2_penalty",
            "Timer", "plot", "set_axes", "try_gpu", "try_all_gpus", "train_ch6"}
        # 5.1's blocks (MySequential, FixedHiddenMLP, ...) are that section's own: written in
        # its cells, kept in jaxlin.chapters.ch5_01_model_construction, not exported here
    assert book <= set(jaxlin.__all__)


def test_modules_stay_short():
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = len(path.read_text().splitlines())
        assert lines <= 300, f"{path.relative_to(ROOT)} has {lines} lines"


def long_functions(paths, limit: int = 55) -> list[str]:
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_functions_fit_on_a_screen():
    """No library function, and no script's ``main``, runs over ~50 lines."""
    assert long_functions(sorted(PACKAGE.rglob("*.py")) + sorted((ROOT / "scripts").glob("*.py"))) == []


def test_jax_configuration_is_honoured_by_fit():
    """No cache of compiled epochs outside jit's own: a second fit under
    ``jax_numpy_rank_promotion="raise"`` traces anew and raises on the (n,) + (n, 1) broadcast."""
    import functools

    import jax
    import jax.numpy as jnp

    from helpers import train_model
    from jaxlin import linreg, sgd

    def loose_loss(y_hat, y):                       # (n, 1) - (n,): rank promotion
        return ((y_hat - y) ** 2).mean(axis=1)

    X, y = jnp.ones((8, 2)), jnp.ones(8)
    params = {"w": jnp.zeros((2, 1)), "b": jnp.zeros(1)}
    kw = dict(num_epochs=1, batch_size=4, key=jax.random.key(0))
    with jax.numpy_rank_promotion("allow"):
        train_model(linreg, params, loose_loss, functools.partial(sgd, lr=0.1), (X, y), **kw)
    with jax.numpy_rank_promotion("raise"), pytest.raises(ValueError, match="rank_promotion=.raise"):
        train_model(linreg, params, loose_loss, functools.partial(sgd, lr=0.1), (X, y), **kw)


def test_evaluation_compiles_once_per_net_and_shapes():
    """Evaluation is one jitted function: the same net and shapes reuse its compilation."""
    import jax.numpy as jnp

    from jaxlin import evaluate_accuracy
    from jaxlin.train import evaluate

    def net(params, X):
        return X @ params

    params, X, y = jnp.eye(3), jnp.eye(3)[jnp.array([0, 1, 2, 1])], jnp.array([0, 1, 2, 1])
    before = evaluate._evaluate_sums._cache_size()
    for _ in range(3):
        assert evaluate_accuracy(net, params, (X, y)) == 1.0
    assert evaluate._evaluate_sums._cache_size() == before + 1


def test_scripts_import_exported_names_from_jaxlin():
    """One way to import throughout the scripts: a name jaxlin exports comes from ``jaxlin``,
    everything else from its module."""
    import jaxlin
    exported = set(jaxlin.__all__)
    found = []
    for path in sorted((ROOT / "scripts").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("jaxlin."):
                found += [f"{path.name}:{node.lineno} {a.name} from {node.module}"
                          for a in node.names if a.name in exported]
    assert found == []


def test_the_wheel_lists_every_subpackage_and_carries_the_chapters():
    """pyproject names the packages one by one (the chapters ride along as jaxlin._chapters, from
    scripts/): a new subpackage left off that list would be missing from the wheel."""
    import tomllib
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {module_name(p.parent) for p in PACKAGE.rglob("__init__.py")}
    assert set(setuptools["packages"]) == found | {"jaxlin._chapters"}
    assert setuptools["package-dir"]["jaxlin._chapters"] == "scripts"
    assert setuptools["package-data"]["jaxlin._chapters"] == ["ch*.py"]


def test_no_all_lists_an_internal_helper():
    """A module's ``__all__`` is what a user calls, not its helpers."""
    internal = {"zero_sums", "identity", "no_penalty", "add_step_metrics", "scan_epoch", "indexed_step"}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets) \
                    and isinstance(node.value, ast.List):
                assert not internal & set(ast.literal_eval(node.value)), path.relative_to(ROOT)
