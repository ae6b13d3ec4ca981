"""Datasets for Layerlab: registry, generators, uploads, splits, augmentation; sound (audio) and text data,
class folders and a workspace's own classes (files, classes), one handed-in picture (pictures).

Import the module you need (`datasets.registry`, `datasets.uploads`, `datasets.splits`, `datasets.augment`);
this package imports nothing heavy by itself.
"""

__all__ = ["audio", "augment", "base", "classes", "files", "keras_sets", "pictures", "registry", "splits", "stored", "text", "uploads"]  # its public modules (docs/interfaces.md)
