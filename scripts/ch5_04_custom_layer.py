# %% [markdown]
# # 5.4 Custom layers
#
# A layer of our own is a class, as in PyTorch: in Flax NNX an `nnx.Module` subclass, whose
# `__init__` creates its arrays and whose `__call__` is the forward pass. Whatever `__init__`
# assigns as an `nnx.Param` is a parameter (listed by `nnx.state(layer, nnx.Param)`, differentiated
# by `nnx.grad`, and what `nnx.split` hands to a pure, jittable function); a layer that assigns
# none has an empty state. Custom layers mix freely with built-in ones in `nnx.Sequential`. We
# write the book's two layers, `CenteredLayer` and `MyLinear` (here `MyDense`), in the cells below.
#
# As a script: `python scripts/ch5_04_custom_layer.py [--seed S] [--out DIR]`; in a notebook the
# flags take their defaults (or the words of `$JAXLIN_ARGS`).

# %% [markdown]
# The set-up: this section has no settings of its own, only the seed, from which seven keys
# are split — one per random draw below (the book's `torch.rand` and layer initializations
# read PyTorch's global generator; JAX takes each key explicitly).

# %%
import jax
import jax.numpy as jnp
from flax import nnx

from jaxlin.chapters.ch5_02_parameters import named_parameters
from jaxlin.run.session import record, setup

(seed,) = setup("ch5_04_custom_layer", "5.4 Custom layers")
keys = jax.random.split(jax.random.key(seed), 7)

# %% [markdown]
# ## Layers without parameters (5.4.1)
#
# The book's `CenteredLayer` subtracts the mean from its input, $\mathbf{X} \mapsto \mathbf{X} - \bar{\mathbf{X}}$,
# the mean taken over all entries. It has no `__init__` at all: it creates no arrays, and its
# state is empty. On $[1, 2, 3, 4, 5]$ it should print $[-2, -1, 0, 1, 2]$ and an
# empty list of parameters.

# %%
class CenteredLayer(nnx.Module):
    def __call__(self, X):
        return X - X.mean()


layer = CenteredLayer()
centered_example = layer(jnp.array([1.0, 2, 3, 4, 5]))
print("CenteredLayer()([1, 2, 3, 4, 5]) =", centered_example)
print("its parameters:", named_parameters(layer))

# %% [markdown]
# Put after a `Linear(8, 128)` in a Sequential, the layer centres that layer's outputs: the mean
# of `Y` is 0 up to float32 rounding (look for a value of order $10^{-8}$ or $10^{-9}$, not exactly
# 0). NNX's `nnx.Linear` must be told its input size, 8, where the book's `nn.Linear(8, 128)` is too.

# %%
net = nnx.Sequential(nnx.Linear(8, 128, rngs=nnx.Rngs(keys[0])), CenteredLayer())
Y = net(jax.random.uniform(keys[1], (4, 8)))
print("Linear(8, 128) -> CenteredLayer on random X: Y.mean() =", Y.mean())

# %% [markdown]
# ## Layers with parameters (5.4.2)
#
# The book's `MyLinear(in_units, units)` owns a weight (in_units, units) and a bias (units,),
# both drawn from $\mathcal{N}(0, 1)$ (`torch.randn` wrapped in `nn.Parameter`), and computes
# $\mathrm{ReLU}(\mathbf{X}\mathbf{W} + \mathbf{b})$. In NNX the arrays are `nnx.Param`s drawn from the
# `params` stream of an `nnx.Rngs` (a key per draw, split off for us), and `self.weight[...]`
# reads the array a Param holds. jaxlin's name is `MyDense` (the MXNet edition's); the reshape
# of the bias spells out its broadcast over the rows. The check: its two parameters by path.

# %%
class MyDense(nnx.Module):
    def __init__(self, in_units, units, *, rngs):
        self.weight = nnx.Param(jax.random.normal(rngs.params(), (in_units, units)))
        self.bias = nnx.Param(jax.random.normal(rngs.params(), (units,)))

    def __call__(self, X):
        linear = X @ self.weight[...] + self.bias[...].reshape(1, -1)
        return nnx.relu(linear)


linear = MyDense(5, 3, rngs=nnx.Rngs(keys[2]))
print("MyDense(5, 3) parameters:", *named_parameters(linear))

# %% [markdown]
# As the book does, we look at the weight, a (5, 3) matrix of standard-normal numbers, and
# run the layer on a random (2, 5) input: the output is (2, 3), with zeros where the ReLU cut a
# negative pre-activation off.

# %%
print("linear.weight =\n", linear.weight[...])
out_dense = linear(jax.random.uniform(keys[3], (2, 5)))
print("linear(rand(2, 5)) =\n", out_dense)

# %% [markdown]
# Two custom layers make a network like built-in ones: `Sequential(MyDense(64, 8), MyDense(8, 1))`
# maps 64 features to 1 (non-negative, after the last ReLU). Its four parameters are listed by
# path: `layers/0/...` and `layers/1/...`, after the Sequential's list of layers.

# %%
mine = nnx.Sequential(MyDense(64, 8, rngs=nnx.Rngs(keys[4])), MyDense(8, 1, rngs=nnx.Rngs(keys[5])))
out_mine = mine(jax.random.uniform(keys[6], (2, 64)))
print("Sequential(MyDense(64, 8), MyDense(8, 1))(rand(2, 64)) =", out_mine.ravel())
print("parameters:", *named_parameters(mine))
record(centered_example=centered_example, centered_mean=float(Y.mean()),
       centered_parameters=len(named_parameters(layer)),
       my_dense_parameters={p: list(s) for p, s in named_parameters(linear)}, my_dense_output=out_dense,
       nested_output_shape=list(out_mine.shape),
       nested_parameters={p: list(s) for p, s in named_parameters(mine)})
