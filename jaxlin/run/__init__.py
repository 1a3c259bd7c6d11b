"""Layer 4, the run around training: command line and output folder, the classifier
driver, progress, checkpoints, plots, the benchmark and its PyTorch row.
"""
