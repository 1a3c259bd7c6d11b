"""D2L 3.3 Concise linear regression with Flax NNX and Optax.

The same experiment as 3.2 with a Flax NNX ``Linear(2, 1)`` (weights N(0, 0.01²),
bias 0), the squared loss ½(ŷ − y)² (``optax.l2_loss``) and ``optax.sgd(0.03)``,
trained by the same jitted step: ``nnx_model`` splits the module into a pure
``net(params, X)`` and its params; here ``fit`` runs each epoch as one compiled call.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from jaxlin import fit, linreg_closed_form, nnx_model, plot_history, synthetic_data
from jaxlin.run.cli import Run, make_parser, positive_int

TRUE_W, TRUE_B = (2.0, -3.4), 4.2


def main(argv: list[str] | None = None) -> dict:
    parser = make_parser(__doc__.splitlines()[0], epochs=3, lr=0.03, batch_size=10)
    parser.add_argument("--num-examples", type=positive_int, default=1000, help="synthetic examples")
    args = parser.parse_args(argv)
    if args.batch_size > args.num_examples:
        parser.error(f"--batch-size {args.batch_size} is larger than --num-examples {args.num_examples}")
    run = Run(args, __file__)
    data_key, init_key, shuffle_key = jax.random.split(jax.random.key(args.seed), 3)

    true_w = jnp.array(TRUE_W)
    features, labels = synthetic_data(data_key, true_w, TRUE_B, args.num_examples)
    init, net = nnx_model(lambda rngs: nnx.Linear(2, 1, kernel_init=nnx.initializers.normal(0.01),
                                                  bias_init=nnx.initializers.zeros, rngs=rngs))
    params = init(init_key)
    with run.guard():                      # divergence: results.json says so, exit status 1
        result = fit(net, params, optax.l2_loss, optax.sgd(args.lr), (features, labels),
                     num_epochs=args.epochs, batch_size=args.batch_size, key=shuffle_key,
                     evals={"train": (features, labels)}, eval_loss=optax.l2_loss)
    for record in result.history:
        print(f"epoch {record['epoch']}, loss {record['train_loss']:f}")

    w, b = result.params["kernel"].reshape(-1), result.params["bias"]
    w_error, b_error = true_w - w, TRUE_B - b[0]
    print(f"error in estimating w: {w_error}")
    print(f"error in estimating b: {b_error}")
    closed = linreg_closed_form(features, labels)
    print(f"closed form: w = {closed['w'].reshape(-1)}, b = {float(closed['b'][0]):.4f}")
    results = {"history": result.history, "w": w, "b": b, "w_error": w_error, "b_error": float(b_error),
               "closed_form": {"w": closed["w"].reshape(-1), "b": float(closed["b"][0])},
               "seconds": result.seconds}
    plot_history(result.history, run.path("loss.png"), keys=("train_loss",), yscale="log",
                 title="loss over all examples")
    run.finish(results)
    return run.results


if __name__ == "__main__":
    main()
