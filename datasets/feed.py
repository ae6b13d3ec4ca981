"""Handing data to `model.fit`: plain numpy arrays or a `keras.utils.PyDataset`.

Both work under every Keras backend (no tf.data). `ArrayFeed` keeps a
reference to the arrays and slices one batch at a time, so a large image set
is never copied as a whole; augmentation, when given, runs per batch in
training mode only.
"""
from __future__ import annotations

import math

import keras
import numpy as np

from datasets.augment import build
from datasets.splits import Splits


class ArrayFeed(keras.utils.PyDataset):
    """Batches of (x, y) from in-memory arrays, reshuffled every epoch from `seed`.

    `augment` is a callable such as `datasets.augment.build(...)`; it is
    applied to each training batch with `training=True`.
    """

    def __init__(self, x, y, batch_size: int = 32, shuffle: bool = True, seed: int = 0, augment=None, **kwargs):
        super().__init__(**kwargs)
        if len(x) != len(y):
            raise ValueError(f"{len(x)} inputs but {len(y)} targets")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.x, self.y = x, y
        self.batch_size, self.shuffle, self.augment = int(batch_size), shuffle, augment
        self._rng = np.random.default_rng(seed)
        self._order = self._new_order()

    def _new_order(self) -> np.ndarray:
        n = len(self.x)
        return self._rng.permutation(n) if self.shuffle else np.arange(n)

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, i: int):
        if not 0 <= i < len(self):
            raise IndexError(i)
        idx = np.sort(self._order[i * self.batch_size:(i + 1) * self.batch_size])  # sorted: faster gathers
        xb, yb = self.x[idx], self.y[idx]
        if self.augment is not None:
            xb = keras.ops.convert_to_numpy(self.augment(xb, training=True))
        return xb, yb

    def on_epoch_end(self):
        self._order = self._new_order()


def arrays(splits: Splits) -> dict[str, np.ndarray]:
    """The splits as named numpy arrays (views of the Splits' arrays, no copies)."""
    return {"x_train": splits.x_train, "y_train": splits.y_train, "x_val": splits.x_val,
            "y_val": splits.y_val, "x_test": splits.x_test, "y_test": splits.y_test}


def feeds(splits: Splits, batch_size: int = 32, seed: int = 0, augmentation: list | None = None):
    """(train feed, validation data, test data) for `model.fit(train, validation_data=val)`.

    The training feed shuffles and augments; validation and test are plain
    (x, y) tuples, never augmented. Validation is None when the split is empty.
    """
    augment = None
    if augmentation:
        augment = build(augmentation, seed=seed, input_shape=splits.x_train.shape[1:])
    train = ArrayFeed(splits.x_train, splits.y_train, batch_size, shuffle=True, seed=seed, augment=augment)
    val = (splits.x_val, splits.y_val) if len(splits.x_val) else None
    return train, val, (splits.x_test, splits.y_test)
