# %% [markdown]
# # 3.5 The image classification data set
#
# Fashion-MNIST through TFDS: 60,000 training and 10,000 test images of 28×28 grey pixels in ten
# classes of clothing. We print the split sizes, draw the first 18 training images with their
# text labels, look at one minibatch (also resized to 64×64) and time reading one epoch.
# After the first preparation the arrays come from jaxlin's cache beside TFDS's copy.
#
# As a script: `python scripts/ch3_05_image_classification_dataset.py [--batch-size B] [--out DIR]`;
# in a notebook the flags take their defaults (or the words of `$JAXLIN_ARGS`).


# %%
import jax

from jaxlin import (
    Timer,
    get_fashion_mnist_labels,
    load_data_fashion_mnist,
    load_fashion_mnist_arrays,
    show_images,
)
from jaxlin.data.fashion_mnist import ChecksumError, DamagedData, FashionMNISTNotFound
from jaxlin.run.cli import Run, make_parser
from jaxlin.run.experiment import add_data_args

parser = make_parser("D2L 3.5 The image classification data set: Fashion-MNIST through TFDS.",
                     batch_size=256)
add_data_args(parser)
args = parser.parse_args()
run = Run(args, "ch3_05_image_classification_dataset")
key = jax.random.key(args.seed)
where = {"data_dir": args.data_dir, "fashion_mnist_dir": args.fashion_mnist_dir}


# %% [markdown]
# ## Reading the data set (3.5.1)
#
# The whole data set as device arrays, uint8 images (N, 28, 28, 1) and int32 labels; the second
# load shows the cached speed.


# %%
timer = Timer()
try:
    data = load_fashion_mnist_arrays(**where)   # prepares TFDS's copy on the first run
except (FashionMNISTNotFound, ChecksumError, DamagedData) as err:   # one line, no traceback
    raise SystemExit(f"error: {err}") from None
jax.block_until_ready(data)
first_load = timer.stop()
timer.start()
data = load_fashion_mnist_arrays(**where)
jax.block_until_ready(data)
load_seconds = timer.stop()
print(f"training examples: {len(data.train_images)}, test examples: {len(data.test_images)}")
print(f"one image: shape {tuple(data.train_images.shape[1:])}, dtype {data.train_images.dtype}")
print(f"loading all {len(data.train_images) + len(data.test_images)} images: {load_seconds:.2f} sec "
      f"(this run's first load, preparation included if it happened: {first_load:.2f} sec)")


# %% [markdown]
# ## Visualization (the book's `show_images`)
#
# The first 18 training images, each titled with its class name.


# %%
labels = get_fashion_mnist_labels(data.train_labels[:18])
figure = show_images(data.train_images[:18], 2, 9, titles=labels, path=run.path("images.png"))


# %% [markdown]
# ## Minibatches (3.5.2-3.5.3)
#
# `load_data_fashion_mnist(batch_size, resize=None, key=...)` returns the book's `(train_iter,
# test_iter)`: float32 images in [0, 1], reshuffled every epoch from the key; `resize=64` resizes
# bilinearly.


# %%
shapes = {}
for resize in (None, 64):
    train_iter, _ = load_data_fashion_mnist(args.batch_size, resize=resize, key=key, **where)
    X, y = next(iter(train_iter))
    print(f"resize={resize}: X {tuple(X.shape)} {X.dtype}, y {tuple(y.shape)} {y.dtype}")
    shapes[str(resize)] = {"X": list(X.shape), "X_dtype": str(X.dtype), "y": list(y.shape),
                           "y_dtype": str(y.dtype)}


# %% [markdown]
# ## Reading one epoch
#
# Every training batch once, as a training loop would.


# %%
train_iter, test_iter = load_data_fashion_mnist(args.batch_size, key=key, **where)
timer.start()
for X, y in train_iter:
    continue
jax.block_until_ready(X)
epoch_seconds = timer.stop()
print(f"reading one epoch of {len(train_iter)} batches: {epoch_seconds:.2f} sec")


# %% [markdown]
# ## Results


# %%
run.finish({"num_train": len(data.train_images), "num_test": len(data.test_images),
            "batch_shapes": shapes, "first_labels": labels,
            "num_train_batches": len(train_iter), "num_test_batches": len(test_iter),
            "seconds": {"load_all": load_seconds, "first_load": first_load,
                        "read_epoch": epoch_seconds}})
results = run.results
