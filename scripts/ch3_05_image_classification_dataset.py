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


# %% [markdown]
# The set-up: the section's one setting, the book's `batch_size = 256`, and `--seed`, the key that
# shuffles the training batches (the book's `DataLoader(..., shuffle=True)` draws from a global
# generator; here the order of every epoch is a function of the key). `training=True` gives
# the data flags, `--data-dir` (TFDS's folder) and `--fashion-mnist-dir` (the four original `.gz`
# files, offline), which `load_data_fashion_mnist` reads from the run; it also brings the
# training chapters' flags, which this section, training nothing, does not use. `setup` opens
# the run's output folder, where `save` puts the images and `record` the numbers.


# %%
import jax

from jaxlin import Timer, get_fashion_mnist_labels, load_data_fashion_mnist, show_images
from jaxlin.run import setup
from jaxlin.run.session import record, save

batch_size, seed = setup("ch3_05_image_classification_dataset", "3.5 The image classification data set",
                         batch_size=256, training=True)
key = jax.random.key(seed)


# %% [markdown]
# ## Reading the data set (3.5.1)
#
# The book downloads Fashion-MNIST with `torchvision.datasets.FashionMNIST(root="../data",
# train=True, transform=ToTensor(), download=True)` and prints `len(mnist_train)`,
# `len(mnist_test)` and the first image's shape, `torch.Size([1, 28, 28])`. jaxlin reads it
# once through TFDS (or the `.gz` files) into device arrays: uint8 images of shape
# (N, 28, 28, 1), channel last as JAX's convolutions expect (NHWC, where PyTorch puts the
# channel first), and int32 labels. `load_data_fashion_mnist` returns the book's
# `(train_iter, test_iter)`, which hold those arrays (`.images`, `.labels`). The second call
# shows the cached speed; each clock stops after `block_until_ready`, since JAX dispatches
# asynchronously. Expect 60000 and 10000, `(28, 28, 1)` and `uint8`.


# %%
timer = Timer()
train_iter, test_iter = load_data_fashion_mnist(batch_size, key=key)   # prepares TFDS's copy on the first run
jax.block_until_ready(train_iter.images)
first_load = timer.stop()
timer.start()
train_iter, test_iter = load_data_fashion_mnist(batch_size, key=key)
jax.block_until_ready((train_iter.images, test_iter.images))
load_seconds = timer.stop()
images, labels = train_iter.images, train_iter.labels
print(f"training examples: {len(images)}, test examples: {len(test_iter.images)}")
print(f"one image: shape {tuple(images.shape[1:])}, dtype {images.dtype}")
print(f"loading all {len(images) + len(test_iter.images)} images: {load_seconds:.2f} sec "
      f"(this run's first load, preparation included if it happened: {first_load:.2f} sec)")


# %% [markdown]
# ## Visualization (the book's `show_images`)
#
# The book's `get_fashion_mnist_labels` turns the numeric labels 0-9 into the class names
# (t-shirt, trouser, pullover, dress, coat, sandal, shirt, sneaker, bag, ankle boot), and its
# `show_images(imgs, num_rows, num_cols, titles)` draws a grid with matplotlib. jaxlin's are the
# same functions; `show_images` returns the figure, which `save` shows in a notebook and keeps
# as `images.png`. Expect two rows of nine garments, the first titled "ankle boot".


# %%
first_labels = get_fashion_mnist_labels(labels[:18])
save(show_images(images[:18], 2, 9, titles=first_labels), "images.png")


# %% [markdown]
# ## Minibatches (3.5.2-3.5.3)
#
# The book's `load_data_fashion_mnist(batch_size, resize=None)` returns two `DataLoader`s over
# float tensors in [0, 1], resized with `transforms.Resize` when asked, and prints one batch's
# shapes, `torch.Size([32, 1, 64, 64])` for `resize=64` at batch size 32. jaxlin's batches are
# float32 images in [0, 1], reshuffled every epoch from the key (epoch $e$ uses
# `fold_in(key, e)`); `resize=64` resizes bilinearly with `jax.image.resize`. Expect
# `(256, 28, 28, 1) float32` and `(256, 64, 64, 1) float32`, with `(256,) int32` labels.


# %%
shapes = {}
for resize in (None, 64):
    batches, _ = load_data_fashion_mnist(batch_size, resize=resize, key=key)
    X, y = next(iter(batches))
    print(f"resize={resize}: X {tuple(X.shape)} {X.dtype}, y {tuple(y.shape)} {y.dtype}")
    shapes[str(resize)] = {"X": list(X.shape), "X_dtype": str(X.dtype), "y": list(y.shape), "y_dtype": str(y.dtype)}


# %% [markdown]
# ## Reading one epoch
#
# The book times one pass over `train_iter` ("reading the data must be faster than training"),
# a few seconds with 4 worker processes. Here every training batch once, as a training loop
# would read them: the data already sit on the device, so a batch is a gather of rows, and the
# clock stops after the last one is ready. Expect 235 batches (60000 / 256, the last one
# partial) in well under a second.


# %%
timer.start()
for X, y in train_iter:
    continue
jax.block_until_ready(X)
epoch_seconds = timer.stop()
print(f"reading one epoch of {len(train_iter)} batches: {epoch_seconds:.2f} sec")


# %% [markdown]
# ## Results
#
# What this section found, kept in the run's `results.json` by `record`: the split sizes, the
# batch shapes with and without resizing, the first 18 labels, the number of batches and the
# seconds of loading and of reading one epoch.


# %%
record(num_train=len(images), num_test=len(test_iter.images), batch_shapes=shapes, first_labels=first_labels,
       num_train_batches=len(train_iter), num_test_batches=len(test_iter),
       seconds={"load_all": load_seconds, "first_load": first_load, "read_epoch": epoch_seconds})
