"""5.1 blocks in NNX: outputs against their equations, the fixed constant, eager and jitted loops."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxlin.chapters.ch5_01_model_construction import (
    MLP,
    Constant,
    FixedHiddenMLP,
    MySequential,
    NestMLP,
    chimera,
    halve_eagerly,
    halve_until_small,
)
from jaxlin.chapters.ch5_02_parameters import named_parameters, num_parameters


def relu(x):
    return np.maximum(x, 0)


def dense(p, X):
    """X W + b from a layer's params dict, in float64 NumPy."""
    return np.asarray(X, np.float64) @ np.asarray(p["kernel"], np.float64) + np.asarray(p["bias"], np.float64)


def params(model):
    return nnx.to_pure_dict(nnx.state(model, nnx.Param))


def jitted(model):
    graphdef, state = nnx.split(model)
    return jax.jit(lambda state, X: nnx.merge(graphdef, state)(X)), state


@pytest.fixture(scope="module")
def X():
    return jax.random.uniform(jax.random.key(1), (2, 20))


def test_mlp_block_matches_its_equation(X):
    model = MLP(rngs=nnx.Rngs(0))
    p = params(model)
    expected = dense(p["out"], relu(dense(p["hidden"], X)))   # relu(X W1 + b1) W2 + b2
    np.testing.assert_allclose(model(X), expected, rtol=1e-5, atol=1e-6)
    forward, state = jitted(model)
    np.testing.assert_allclose(forward(state, X), expected, rtol=1e-5, atol=1e-6)
    assert num_parameters(model) == 20 * 256 + 256 + 256 * 10 + 10


def test_my_sequential_applies_blocks_in_order_and_registers_them(X):
    rngs = nnx.Rngs(0)
    model = MySequential(nnx.Linear(20, 256, rngs=rngs), nnx.relu, nnx.Linear(256, 10, rngs=rngs))
    p = params(model)
    assert [path for path, _ in named_parameters(model)] == [
        "blocks/0/bias", "blocks/0/kernel", "blocks/2/bias", "blocks/2/kernel"]
    np.testing.assert_allclose(model(X), dense(p["blocks"][2], relu(dense(p["blocks"][0], X))),
                               rtol=1e-5, atol=1e-6)
    same = nnx.Sequential(model.blocks[0], nnx.relu, model.blocks[2])     # the built-in container
    np.testing.assert_array_equal(same(X), model(X))


def book_fixed_hidden(model, X):
    """The book's FixedHiddenMLP in NumPy float32, with its Python while loop."""
    lin = {k: np.asarray(v) for k, v in params(model)["linear"].items()}
    W = np.asarray(model.rand_weight[...])
    Y = np.asarray(X, np.float32) @ lin["kernel"] + lin["bias"]
    Y = np.maximum(Y @ W + 1, 0) @ lin["kernel"] + lin["bias"]
    while np.abs(Y).sum() > 1:
        Y = Y / np.float32(2)
    return Y.sum()


@pytest.mark.parametrize("scale", [1.0, 1e3])
def test_fixed_hidden_mlp_follows_the_books_loop(X, scale):
    model = FixedHiddenMLP(rngs=nnx.Rngs(0))
    forward, state = jitted(model)
    out = forward(state, scale * X)
    assert out.shape == () and abs(float(out)) <= 1
    np.testing.assert_allclose(out, book_fixed_hidden(model, scale * X), rtol=1e-5)
    eager = FixedHiddenMLP(eager=True, rngs=nnx.Rngs(0))       # same key: same weights
    np.testing.assert_allclose(eager(scale * X), out, rtol=1e-6)


def test_the_books_python_loop_is_refused_under_jit(X):
    forward, state = jitted(FixedHiddenMLP(eager=True, rngs=nnx.Rngs(0)))
    with pytest.raises(jax.errors.TracerBoolConversionError):
        forward(state, X)


def test_halving_is_exact_and_counts_like_the_book():
    Y = jnp.array([3.0, -5.0, 0.5])                    # Σ|Y| = 8.5: four halvings to 0.53125
    np.testing.assert_array_equal(halve_until_small(Y), Y / 16)
    np.testing.assert_array_equal(halve_eagerly(Y), Y / 16)
    np.testing.assert_array_equal(halve_until_small(jnp.array([0.25, 0.5])), [0.25, 0.5])


def test_the_constant_weight_is_not_a_param_and_gets_no_gradient(X):
    model = FixedHiddenMLP(rngs=nnx.Rngs(0))
    assert [p for p, _ in named_parameters(model)] == ["linear/bias", "linear/kernel"]  # one Linear, used twice
    constants = nnx.to_pure_dict(nnx.state(model, Constant))
    assert list(constants) == ["rand_weight"] and constants["rand_weight"].shape == (20, 20)
    assert ((constants["rand_weight"] >= 0) & (constants["rand_weight"] < 1)).all()
    grads = nnx.grad(lambda m: m(X))(model)
    assert "rand_weight" not in nnx.to_pure_dict(grads)
    g = nnx.to_pure_dict(grads)["linear"]
    eps = 1e-2  # finite difference along the bias: the loop's halving count is locally constant
    bumped = nnx.clone(model)
    bumped.linear.bias[0] = model.linear.bias[0] + eps
    assert float(jnp.abs(g["kernel"]).sum()) > 0
    np.testing.assert_allclose(g["bias"][0], (bumped(X) - model(X)) / eps, rtol=1e-2, atol=1e-4)


def test_fixed_hidden_loop_terminates_on_infinite_input(X):
    forward, state = jitted(FixedHiddenMLP(rngs=nnx.Rngs(0)))
    assert not np.isfinite(float(forward(state, jnp.full_like(X, jnp.inf))))
    assert not np.isfinite(float(FixedHiddenMLP(eager=True, rngs=nnx.Rngs(0))(jnp.full_like(X, jnp.inf))))


def test_nest_mlp_nests_its_sequential(X):
    model = NestMLP(rngs=nnx.Rngs(0))
    assert named_parameters(model) == [
        ("linear/bias", (16,)), ("linear/kernel", (32, 16)),
        ("net/layers/0/bias", (64,)), ("net/layers/0/kernel", (20, 64)),
        ("net/layers/2/bias", (32,)), ("net/layers/2/kernel", (64, 32))]
    p = params(model)
    hidden = relu(dense(p["net"]["layers"][2], relu(dense(p["net"]["layers"][0], X))))
    np.testing.assert_allclose(model(X), dense(p["linear"], hidden), rtol=1e-5, atol=1e-6)


def test_chimera_compiles_once(X):
    model = chimera(rngs=nnx.Rngs(0))
    assert sorted(params(model)["layers"]) == [0, 1, 2]
    graphdef, state = nnx.split(model)
    traces = []

    def apply(state, X):
        traces.append(1)  # runs only while tracing
        return nnx.merge(graphdef, state)(X)

    forward = jax.jit(apply)
    out = forward(state, X)
    assert out.shape == () and abs(float(out)) <= 1
    np.testing.assert_allclose(out, model(X), rtol=1e-5, atol=1e-7)  # jit fuses the sums differently
    forward(state, X + 1)
    assert len(traces) == 1  # the data-dependent loop is inside the compiled program: no retrace


@pytest.fixture(scope="module")
def notebook(tmp_path_factory):
    from conftest import chapter_namespace
    return chapter_namespace("ch5_01_model_construction",
                             ["--out", str(tmp_path_factory.mktemp("ch5_01")), "--quiet"])


def same_state(a, b):
    sa, sb = nnx.to_pure_dict(nnx.state(a)), nnx.to_pure_dict(nnx.state(b))
    assert jax.tree.structure(sa) == jax.tree.structure(sb)
    for x, y in zip(jax.tree.leaves(sa), jax.tree.leaves(sb)):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("name, make", [
    ("MLP", lambda cls, rngs: cls(rngs=rngs)),
    ("MySequential", lambda cls, rngs: cls(nnx.Linear(20, 256, rngs=rngs), nnx.relu, nnx.Linear(256, 10, rngs=rngs))),
    ("FixedHiddenMLP", lambda cls, rngs: cls(rngs=rngs)),
    ("FixedHiddenMLP eager", lambda cls, rngs: cls(eager=True, rngs=rngs)),
    ("NestMLP", lambda cls, rngs: cls(rngs=rngs)),
    ("chimera", lambda cls, rngs: cls(rngs=rngs)),
])
def test_the_notebooks_blocks_equal_the_librarys(notebook, X, name, make):
    """scripts/ch5_01_model_construction.py writes the blocks in its cells: from the same key,
    the same variables (paths and values) and the same outputs as jaxlin's, eagerly and jitted."""
    import jaxlin.chapters.ch5_01_model_construction as library
    attr = name.split()[0]
    mine, theirs = make(notebook[attr], nnx.Rngs(3)), make(getattr(library, attr), nnx.Rngs(3))
    same_state(mine, theirs)
    np.testing.assert_array_equal(mine(X), theirs(X))
    if not name.endswith("eager"):
        forward, state = jitted(mine)
        np.testing.assert_allclose(forward(state, X), theirs(X), rtol=1e-6, atol=1e-6)


def test_the_notebook_shows_the_books_loop_refused_under_jit(notebook):
    eager = notebook["eager"]
    assert eager["book_loop_equals_lax"] and eager["book_loop_refused_under_jit"]
