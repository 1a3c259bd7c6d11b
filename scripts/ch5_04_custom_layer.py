# %% [markdown]
# # 5.4 Custom layers
#
# A layer of our own is an `nnx.Module` subclass: whatever its `__init__` assigns as an `nnx.Param`
# is a parameter (listed by `nnx.state(layer, nnx.Param)`, differentiated by `nnx.grad`), and a layer
# that assigns none has an empty state. Custom layers mix freely with built-in ones in
# `nnx.Sequential`.
#
# As a script: `python scripts/ch5_04_custom_layer.py [--seed S] [--out DIR]`; in a notebook the flags
# take their defaults (or the words of `$JAXLIN_ARGS`).


# %%
import jax
import jax.numpy as jnp
from flax import nnx

from jaxlin import CenteredLayer, MyDense, named_parameters
from jaxlin.run.cli import Run, make_parser

parser = make_parser("D2L 5.4 Custom layers: CenteredLayer without parameters, MyDense with its own "
                     "weight and bias.")
args = parser.parse_args()
run = Run(args, "ch5_04_custom_layer")
keys = jax.random.split(jax.random.key(args.seed), 7)


# %% [markdown]
# ## Layers without parameters (5.4.1)
#
# `CenteredLayer` subtracts the mean, $\mathbf{X} \mapsto \mathbf{X} - \bar{\mathbf{X}}$: on
# $[1, 2, 3, 4, 5]$ it gives $[-2, -1, 0, 1, 2]$ and it has no parameters. After a Linear layer the
# output's mean is 0 up to float rounding (look for a value of order $10^{-8}$).


# %%
print("# Layers without parameters")
layer = CenteredLayer()
centered_example = layer(jnp.array([1.0, 2, 3, 4, 5]))
print("CenteredLayer()([1, 2, 3, 4, 5]) =", centered_example)
print("its parameters:", named_parameters(layer))
net = nnx.Sequential(nnx.Linear(8, 128, rngs=nnx.Rngs(keys[0])), CenteredLayer())
Y = net(jax.random.uniform(keys[1], (4, 8)))
print("Linear(8, 128) -> CenteredLayer on random X: Y.mean() =", Y.mean())


# %% [markdown]
# ## Layers with parameters (5.4.2)
#
# `MyDense(in_units, units)` owns a weight (in_units, units) and a bias (units,), both drawn from
# $\mathcal{N}(0, 1)$, and computes $\mathrm{ReLU}(\mathbf{X}\mathbf{W} + \mathbf{b})$. Two of them
# stacked in `nnx.Sequential` map 64 features to 1; their four parameters are listed by path.


# %%
print("\n# Layers with parameters")
linear = MyDense(5, 3, rngs=nnx.Rngs(keys[2]))
print("MyDense(5, 3) parameters:", *named_parameters(linear))
print("linear.weight =\n", linear.weight[...])
out_dense = linear(jax.random.uniform(keys[3], (2, 5)))
print("linear(rand(2, 5)) =\n", out_dense)
mine = nnx.Sequential(MyDense(64, 8, rngs=nnx.Rngs(keys[4])), MyDense(8, 1, rngs=nnx.Rngs(keys[5])))
out_mine = mine(jax.random.uniform(keys[6], (2, 64)))
print("Sequential(MyDense(64, 8), MyDense(8, 1))(rand(2, 64)) =", out_mine.ravel())
print("parameters:", *named_parameters(mine))


# %% [markdown]
# ## Results


# %%
results = {"centered_example": centered_example, "centered_mean": float(Y.mean()),
           "centered_parameters": len(named_parameters(layer)),
           "my_dense_parameters": {p: list(s) for p, s in named_parameters(linear)},
           "my_dense_output": out_dense, "nested_output_shape": list(out_mine.shape),
           "nested_parameters": {p: list(s) for p, s in named_parameters(mine)}}
run.finish(results)
