# %% [markdown]
# # 2.3 Linear algebra
#
# The objects of the chapters to come: scalars, vectors, matrices and higher-order
# tensors as JAX arrays, and what we do with them: reductions along axes, dot and matrix
# products, norms. Each cell prints its arrays; `results.json` keeps the values the book states.
#
# As a script: `python scripts/ch2_03_linear_algebra.py [--out DIR]`; in a notebook the
# flags take their defaults (or the words of `$JAXLIN_ARGS`).

# %% [markdown]
# The set-up: this section has no settings (`--seed` exists, but every array here is a range
# or a constant, as in the book). `setup` opens the run's output folder, where `record` keeps
# the values the book states (sums, products, norms) in `results.json`.

# %%
import jax.numpy as jnp

from jaxlin.run import setup
from jaxlin.run.session import record

setup("ch2_03_linear_algebra", "2.3 Linear algebra")

# %% [markdown]
# ## Scalars and vectors (2.3.1-2.3.2)
#
# The book makes two scalars `torch.tensor(3.0)` and `torch.tensor(2.0)` and applies `+ * / **`,
# then a vector `torch.arange(4)`, indexes it (`x[3]`) and reads `len(x)` and `x.shape`. In
# JAX a scalar is a 0-d array, $x \in \mathbb{R}$, and a vector $\mathbf{x} \in \mathbb{R}^4$ a 1-d one
# whose length is its only dimension; the calls are the book's. Expect `5.0 6.0 1.5 9.0`, then
# `x = [0 1 2 3]`, `x[3] = 3`, `len(x) = 4` and `(4,)`.


# %%
print("# Scalars")
x, y = jnp.array(3.0), jnp.array(2.0)
print("x + y =", x + y, " x * y =", x * y, " x / y =", x / y, " x ** y =", x ** y)

print("\n# Vectors")
x = jnp.arange(4)
print("x =", x, " x[3] =", x[3], " len(x) =", len(x), " x.shape =", x.shape)

# %% [markdown]
# ## Matrices and tensors (2.3.3-2.3.4)
#
# The book reshapes `arange(20)` to a (5, 4) matrix $\mathbf{A} \in \mathbb{R}^{m \times n}$, prints its
# transpose `A.T` ($a^\top_{ij} = a_{ji}$, shape (4, 5)), checks that its 3×3 `B` is symmetric
# ($\mathbf{B} = \mathbf{B}^\top$, `B == B.T` all `True`), and makes a third-order tensor of
# shape (2, 3, 4). `jnp` spells all of it the same; `.all()` reduces the comparison to one
# boolean. Expect `B is symmetric: True` and the (2, 3, 4) tensor of 0..23.


# %%
print("\n# Matrices")
A = jnp.arange(20).reshape(5, 4)
print("A =\n", A, "\nA.T =\n", A.T)
B = jnp.array([[1, 2, 3], [2, 0, 4], [3, 4, 5]])
symmetric = bool((B == B.T).all())
print("B == B.T =\n", B == B.T, "\nB is symmetric:", symmetric)

print("\n# Tensors")
X = jnp.arange(24).reshape(2, 3, 4)
print("X =\n", X)

# %% [markdown]
# ## Elementwise arithmetic (2.3.5)
#
# The book clones `A` into `B` (`A.clone()`) and shows `A + B` and the Hadamard product
# $\mathbf{A} \odot \mathbf{B}$ ($[\mathbf{A} \odot \mathbf{B}]_{ij} = a_{ij} b_{ij}$), then a scalar added to and
# multiplied with a tensor. JAX needs no clone: an array is never changed in place, so
# `jnp.array(A)` (a copy) and `A` itself behave alike. Expect `A * B` with squares 0..361 and
# `(a * X).shape = (2, 3, 4)`.


# %%
print("\n# Basic properties of tensor arithmetic")
A = jnp.arange(20, dtype=jnp.float32).reshape(5, 4)
B = jnp.array(A)  # the book's A.clone(): a new array (JAX arrays are never shared mutably anyway)
print("A + B =\n", A + B, "\nA * B (Hadamard) =\n", A * B)
a = 2
print("a + X =\n", a + X, "\n(a * X).shape =", (a * X).shape)

# %% [markdown]
# ## Reductions (2.3.6)
#
# The book sums all elements ($\sum_i x_i$), along axis 0 (columns) and axis 1 (rows), takes
# means, then keeps the reduced axis (`keepdim=True`, in JAX `keepdims=True`) so that
# `A / A.sum(axis=1, keepdims=True)` broadcasts row by row, and ends with `cumsum`. Keeping
# the axis matters more in JAX here: this project's tests raise on rank promotion, and
# (5, 4) / (5, 1) has equal ranks. Expect `A.sum() = 190`, `sum(axis=0) = [40 45 50 55]`,
# `sum(axis=1) = [6 22 38 54 70]`, `A.mean() = 9.5`.


# %%
print("\n# Reduction")
x = jnp.arange(4, dtype=jnp.float32)
print("x =", x, " x.sum() =", x.sum())
print("A.shape =", A.shape, " A.sum() =", A.sum())
sum_axis0, sum_axis1 = A.sum(axis=0), A.sum(axis=1)
print("A.sum(axis=0) =", sum_axis0, " shape", sum_axis0.shape)
print("A.sum(axis=1) =", sum_axis1, " shape", sum_axis1.shape)
print("A.sum(axis=(0, 1)) =", A.sum(axis=(0, 1)))
print("A.mean() =", A.mean(), " A.sum() / A.size =", A.sum() / A.size)
print("A.mean(axis=0) =", A.mean(axis=0), " A.sum(axis=0) / A.shape[0] =", A.sum(axis=0) / A.shape[0])

print("\n# Non-reduction sum")
sum_A = A.sum(axis=1, keepdims=True)
print("A.sum(axis=1, keepdims=True) =\n", sum_A)
row_normalized = A / sum_A  # (5, 4) / (5, 1): keepdims keeps the ranks equal for broadcasting
print("A / sum_A =\n", row_normalized)
print("A.cumsum(axis=0) =\n", A.cumsum(axis=0))
record(A_sum=A.sum(), sum_axis0=sum_axis0, sum_axis1=sum_axis1, mean=A.mean(), mean_axis0=A.mean(axis=0),
       row_sums_after_normalizing=row_normalized.sum(axis=1), cumsum_axis0=A.cumsum(axis=0))

# %% [markdown]
# ## Products (2.3.7-2.3.9)
#
# The book's `torch.dot(x, y)`, `torch.mv(A, x)` and `torch.mm(A, B)`: the dot product
# $\mathbf{x}^\top\mathbf{y} = \sum_i x_i y_i$, the matrix-vector product $\mathbf{A}\mathbf{x}$ (one dot product per
# row) and the matrix product $\mathbf{AB}$. JAX writes `jnp.dot` and `@` for both products (XLA
# picks the kernel from the shapes). Expect `dot(x, y) = 6`, `A @ x = [14 38 62 86 110]` and
# `A @ B` with every row the row sums of `A`.


# %%
print("\n# Dot products")
y = jnp.ones(4, dtype=jnp.float32)
print("x =", x, " y =", y, " dot(x, y) =", jnp.dot(x, y), " sum(x * y) =", jnp.sum(x * y))

print("\n# Matrix-vector products")
print("A.shape =", A.shape, " x.shape =", x.shape, " A @ x =", A @ x)

print("\n# Matrix-matrix multiplication")
B = jnp.ones((4, 3))
print("A @ B =\n", A @ B)
record(dot=jnp.dot(x, y), matvec=A @ x, matmul=A @ B)

# %% [markdown]
# ## Norms (2.3.10)
#
# The book's `torch.norm(u)`, `torch.abs(u).sum()` and `torch.norm(torch.ones((4, 9)))`:
# $\|\mathbf{u}\|_2 = \sqrt{\sum_i u_i^2}$, $\|\mathbf{u}\|_1 = \sum_i |u_i|$ and the Frobenius norm
# $\|\mathbf{X}\|_F = \sqrt{\sum_{ij} x_{ij}^2}$, the $\ell_2$ norm of all a matrix's elements.
# `jnp.linalg.norm` is the first and the third. Expect 5, 7 and 6.


# %%
print("\n# Norms")
u = jnp.array([3.0, -4.0])
l2, l1 = jnp.linalg.norm(u), jnp.abs(u).sum()
frobenius = jnp.linalg.norm(jnp.ones((4, 9)))
print("||u||_2 =", l2, " ||u||_1 =", l1, " ||ones(4, 9)||_F =", frobenius)
record(l2_norm=float(l2), l1_norm=float(l1), frobenius_norm=float(frobenius))

# %% [markdown]
# ## Results
#
# What this section found, kept in the run's `results.json` by `record`: the transpose's shape
# (4, 5), `B`'s symmetry, the reductions, the products and the three norms (5, 7, 6).

# %%
record(A_T_shape=list(A.T.shape), symmetric=symmetric)
