"""Datasets for Layerlab: registry, generators, uploads, splits, augmentation, feeding.

Import the module you need (`datasets.registry`, `datasets.uploads`,
`datasets.splits`, `datasets.augment`); this package
imports nothing heavy by itself.
"""
