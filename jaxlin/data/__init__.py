"""Layer 3, data: synthetic data and minibatches, Fashion-MNIST through TFDS, tabular CSVs,
K-fold splits and atomic files. Imports the layers below.
"""
