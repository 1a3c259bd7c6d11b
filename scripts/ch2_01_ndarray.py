# %% [markdown]
# # 2.1 Data manipulation
#
# JAX's arrays (`jax.numpy`) are the book's tensors with one difference that matters
# everywhere later: they are immutable values. Where the book writes `X[1, 2] = 9` we write
# `X = X.at[1, 2].set(9)`, a new array (inside `jit`, XLA updates in place when it can);
# where the book reuses memory with `Z[:] = X + Y`, a jitted function *donates* its input buffer.
#
# As a script: `python scripts/ch2_01_ndarray.py [--seed S] [--out DIR]`; in a notebook the
# flags take their defaults (or the words of `$JAXLIN_ARGS`).


# %% [markdown]
# The set-up: this section has no settings beyond `--seed`, which makes the one key that the
# random array of 2.1.1 is drawn from (the book's `torch.randn` reads a global generator; JAX
# takes the key as an argument, so the same seed draws the same numbers). `setup` also opens
# the run's output folder, where `record` keeps each section's values in `results.json`.


# %%
import jax
import jax.numpy as jnp
import numpy as np

from jaxlin.run import setup
from jaxlin.run.session import record

(seed,) = setup("ch2_01_ndarray", "2.1 Data manipulation")
key = jax.random.key(seed)


# %% [markdown]
# ## Getting started (2.1.1)
#
# The book's `torch.arange(12)`, its `shape` and `numel()`, `reshape(3, 4)` (`-1` lets the
# library infer one axis), `zeros`/`ones` of shape (2, 3, 4), `randn(3, 4)` and a tensor from a
# nested list. `jax.numpy` has the same names (`x.size` for `numel()`); the one difference is
# the random draw: no global random state, `jax.random.normal(key, (3, 4))` is a function of
# an explicit key. The cell prints `x = [ 0 1 ... 11]`, `(12,)` and 12, then the arrays.


# %%
print("# Getting started")
x = jnp.arange(12)
print("x =", x)
print("x.shape =", x.shape, " x.size =", x.size)
X = x.reshape(3, 4)
print("x.reshape(3, 4) =\n", X)
print("x.reshape(-1, 4).shape =", x.reshape(-1, 4).shape, "(-1 is inferred)")
print("zeros((2, 3, 4)) =\n", jnp.zeros((2, 3, 4)))
print("ones((2, 3, 4)) =\n", jnp.ones((2, 3, 4)))
print("normal(key, (3, 4)) =\n", jax.random.normal(key, (3, 4)))   # no global random state: a key
print("array from a list =\n", jnp.array([[2, 1, 4, 3], [1, 2, 3, 4], [4, 3, 2, 1]]))
record(x_shape=list(x.shape), x_size=int(x.size))


# %% [markdown]
# ## Operations (2.1.2)
#
# The book applies `+ - * / **` elementwise to `x = [1, 2, 4, 8]` and `y = [2, 2, 2, 2]`, then
# $e^x$, `torch.cat` along rows (`dim=0`, shape (6, 4)) and columns (`dim=1`, shape (3, 8)),
# `X == Y` and `X.sum()`. `jnp.concatenate(..., axis=...)` is `torch.cat`; everything else is
# spelled as in the book. Expect `x ** y = [1 4 16 64]`, `x / y = [0.5 1 2 4]` and `X.sum() = 66`.


# %%
print("\n# Operations")
x = jnp.array([1.0, 2, 4, 8])
y = jnp.array([2, 2, 2, 2])
elementwise = {"x + y": x + y, "x - y": x - y, "x * y": x * y, "x / y": x / y, "x ** y": x ** y}
for name, value in elementwise.items():
    print(f"{name:7s}= {value}")
print("exp(x) =", jnp.exp(x))
X = jnp.arange(12, dtype=jnp.float32).reshape(3, 4)
Y = jnp.array([[2.0, 1, 4, 3], [1, 2, 3, 4], [4, 3, 2, 1]])
rows, cols = jnp.concatenate((X, Y), axis=0), jnp.concatenate((X, Y), axis=1)
print("concatenate axis=0 =\n", rows, "\nconcatenate axis=1 =\n", cols)
print("X == Y =\n", X == Y)
print("X.sum() =", X.sum())
record(elementwise=elementwise, exp=jnp.exp(x), concat_axis0_shape=list(rows.shape),
       concat_axis1_shape=list(cols.shape), equal=X == Y, sum=X.sum())


# %% [markdown]
# ## Broadcasting (2.1.3)
#
# The book adds `a = arange(3).reshape(3, 1)` and `b = arange(2).reshape(1, 2)`: arrays of
# different shapes combine when each axis either matches or has length 1, and the length-1
# axes are (virtually) copied, here to (3, 2). JAX follows NumPy's rules exactly (this
# project's tests make *rank* promotion, (n,) against (n, 1), an error, but not this). Expect
# `a + b = [[0 1] [1 2] [2 3]]`.


# %%
print("\n# Broadcasting")
a = jnp.arange(3).reshape(3, 1)
b = jnp.arange(2).reshape(1, 2)
print("a =\n", a, "\nb =\n", b, "\na + b =\n", a + b)   # both copied along their size-1 axis to (3, 2)
record(broadcast=a + b)


# %% [markdown]
# ## Indexing and slicing (2.1.4)
#
# The book reads `X[-1]` and `X[1:3]`, then writes `X[1, 2] = 9` and `X[0:2, :] = 12` in
# place. Reading works as in NumPy; writing raises a `TypeError` in JAX, and
# `X.at[1, 2].set(9)` returns the updated copy while `X` stays as it was. Immutability is what
# lets `jit`, `grad` and `vmap` treat functions as pure. The cell prints the `TypeError`, the
# updated copy (rows 0-1 all 12, row 2 `[8 9 10 11]`) and `X[1, 2] = 6`, unchanged.


# %%
print("\n# Indexing and slicing")
print("X[-1] =", X[-1], "\nX[1:3] =\n", X[1:3])
try:
    X[1, 2] = 9
except TypeError as err:
    print("X[1, 2] = 9 raises TypeError:", str(err).splitlines()[0])
X_updated = X.at[1, 2].set(9)             # a new array: X itself is never written
print("X.at[1, 2].set(9) =\n", X_updated)
X_updated = X_updated.at[0:2, :].set(12)
print("then .at[0:2, :].set(12) =\n", X_updated)
print("X itself is unchanged: X[1, 2] =", X[1, 2])
record(last_row=X[-1], updated=X_updated, unchanged_after_update=X[1, 2])


# %% [markdown]
# ## Saving memory (2.1.5)
#
# The book checks `id(Y)` before and after `Y = Y + X` (a new tensor), then saves memory with
# `Z[:] = X + Y` and `X += Y`. JAX arrays cannot be written, so the saving is asked of the
# compiler: a jitted function that donates its first argument (`donate_argnums=0`) lets XLA
# write its result into that buffer, and the donated array is deleted. Look for "same buffer:
# True" (on backends that reuse donated buffers) and "the donated input is deleted: True".


# %%
print("\n# Saving memory")
assign = jax.jit(lambda Z, X, Y: Z.at[:].set(X + Y), donate_argnums=0)  # Z[:] = X + Y
Z = jnp.zeros_like(Y)
before = Z.unsafe_buffer_pointer()
Z = assign(Z, X, Y)
same_buffer = Z.unsafe_buffer_pointer() == before
print("Z[:] = X + Y  ->  Z = assign(Z, X, Y): same buffer as the donated zeros:", same_buffer)
add_into = jax.jit(lambda X, Y: X + Y, donate_argnums=0)  # the book's X += Y
X_acc = jnp.array(X)  # a copy, so that X stays usable below
before = X_acc.unsafe_buffer_pointer()
X_new = add_into(X_acc, Y)
donated_deleted = X_acc.is_deleted()
print("X += Y  ->  X = add_into(X, Y): same buffer:", X_new.unsafe_buffer_pointer() == before)
print("  and the donated input is deleted:", donated_deleted, "(reading it now would raise)")
print("X + Y =\n", X_new)
record(donation={"same_buffer": bool(same_buffer), "input_deleted": bool(donated_deleted)}, X_plus_Y=X_new)


# %% [markdown]
# ## Conversion to other Python objects (2.1.6)
#
# The book converts a tensor to NumPy (`X.numpy()`) and back (`torch.tensor(A)`), and a
# size-1 tensor to a Python scalar with `.item()`, `float` and `int`. In JAX, `np.asarray(X)`
# copies the device array to the host and `jnp.asarray(A)` puts it back on the device; the
# scalar conversions are the same. Expect `ndarray`, `ArrayImpl`, then `3.5 3.5 3`.


# %%
print("\n# Conversion to other Python objects")
A = np.asarray(X)
B = jnp.asarray(A)
print("type(A) =", type(A).__name__, " type(B) =", type(B).__name__)
a = jnp.array([3.5])
print("a =", a, " a.item() =", a.item(), " float(a[0]) =", float(a[0]), " int(a[0]) =", int(a[0]))
record(item=a.item(), int=int(a[0]))
