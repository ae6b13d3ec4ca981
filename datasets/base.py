"""The in-memory dataset every loader returns and every consumer reads.

`x` holds the inputs (float32; images as (n, height, width, channels) scaled
0..1; sound as (n, samples) waves in -1..1; token sequences as int32; text as
(n, 1) Python strings in an object array), `y` the targets (int32 class indices for
classification, float32 values for regression). `masks`, when present, is a
bool array (n, height, width) marking the object pixels of each image, so
saliency maps can be scored against ground truth.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from builder.model.params import Param


class DatasetError(ValueError):
    """A dataset request that cannot be served; the message says what to do."""


class DatasetUnavailable(DatasetError):
    """A dataset cannot be loaded here (e.g. not downloaded and no internet)."""


@dataclass
class Dataset:
    x: np.ndarray
    y: np.ndarray
    info: DatasetInfo
    class_names: list[str] | None = None
    masks: np.ndarray | None = None
    feature_names: list[str] | None = None
    notes: list[str] = field(default_factory=list)  # plain-words remarks: rows dropped, images skipped…

    def __post_init__(self):
        if len(self.x) != len(self.y):
            raise ValueError(f"dataset '{self.info.id}': {len(self.x)} inputs but {len(self.y)} targets")
        if self.masks is not None and self.masks.shape[0] != len(self.x):
            raise ValueError(f"dataset '{self.info.id}': masks do not match the images one to one")

    def __len__(self) -> int:
        return len(self.x)

    @property
    def task(self) -> str:
        return self.info.task

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x.shape[1:])

    @property
    def is_image(self) -> bool:
        return self.x.ndim == 4 and np.issubdtype(self.x.dtype, np.floating)

    @property
    def num_classes(self) -> int | None:
        return None if self.class_names is None else len(self.class_names)


@dataclass(frozen=True)
class DatasetInfo:
    id: str
    title: str
    task: str  # "classification" | "regression" | …
    input_shape: tuple[int, ...]  # one example, without the batch
    classes: list[str] | None  # class names; None for regression
    size: int  # number of examples (with default options)
    description: str  # one line for a student
    offline: bool = True  # usable right now without internet
    options: dict[str, Param] = field(default_factory=dict)  # generator settings
    kind: str = "table"  # image | table | points | sequence | tokens | sound | text
    extra: dict = field(default_factory=dict)  # e.g. {"vocab_size": 20} for tokens; images: "raw_max", the
    # loader's pixel range before it scaled them to 0..1 (16 for digits, 255 for photos; 1 when absent)

    @property
    def num_classes(self) -> int | None:
        return None if self.classes is None else len(self.classes)


def as_model_input(x):
    """Text (an object array of str) as a TensorFlow string tensor, which Keras's fit, evaluate and predict take
    (its NumPy adapter refuses strings); every other array as it is."""
    if x.dtype != object:
        return x
    import tensorflow as tf  # text models need TensorFlow anyway (TextVectorization)

    return tf.constant(x.astype(str))
