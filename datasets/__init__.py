"""Datasets for Layerlab: registry, generators, uploads, splits, augmentation.

Import the module you need (`datasets.registry`, `datasets.uploads`, `datasets.splits`, `datasets.augment`);
this package imports nothing heavy by itself.
"""

__all__ = ["augment", "base", "keras_sets", "registry", "splits", "stored", "uploads"]  # its public modules (docs/interfaces.md)
