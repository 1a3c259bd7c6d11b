"""Layer 4, the run around training: a chapter's set-up (:func:`setup`), its flags and output
folder, checkpoints, progress, plots and several processes.
"""
from jaxlin.run.session import Flag, setup

__all__ = ["Flag", "setup"]
