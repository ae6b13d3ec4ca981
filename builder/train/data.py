"""The arrays a run trains on: dataset → train/validation/test splits → model-shaped.

Uses the `datasets` package (registry + splits). The same function feeds the
runner and the exported training script, so both see exactly the same data.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Prepared:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    info: object
    class_names: list | None = None
    notes: list = field(default_factory=list)
    labels_test: np.ndarray | None = None  # the dataset's own targets of the test split (an autoencoder's y is x)

    @property
    def is_image(self) -> bool:
        return self.x_train.ndim == 4 or (self.x_train.ndim == 3 and np.issubdtype(self.x_train.dtype, np.floating))


def load_dataset(dataset_id: str, options: dict):
    from datasets import registry

    return registry.load(dataset_id, **options)


def split(dataset, validation_split: float, test_split: float, seed: int, normalize: str = "auto",
          features: str = "raw"):
    """Seeded splits with their input features made and the normalizer fitted on the training split only
    (datasets.splits)."""
    from datasets.splits import prepare as prepare_splits

    s = prepare_splits(dataset, validation_split, test_split, seed, normalize=normalize, features=features)
    return [np.asarray(getattr(s, k)) for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")]


def prepare(experiment) -> Prepared:
    """Load, split and reshape the experiment's data for its model."""
    ds_settings = experiment.data_settings
    hp = experiment.hp
    ds = load_dataset(ds_settings["dataset"], ds_settings["options"])
    parts = split(ds, ds_settings["validation_split"], ds_settings["test_split"], hp["seed"], ds_settings["normalize"],
                  ds_settings["features"])
    model_shape = tuple(experiment.model.node(experiment.model.input_ids()[0]).params["shape"])
    xs = [_fit_shape(parts[i], model_shape) for i in (0, 2, 4)]
    ys = [parts[i] for i in (1, 3, 5)]
    if hp["task"] == "reconstruction":
        ys = list(xs)
    elif hp["task"] == "classification":
        ys = [np.asarray(y).astype("int32") for y in ys]
    else:
        ys = [np.asarray(y).astype("float32") for y in ys]
    return Prepared(xs[0], ys[0], xs[1], ys[1], xs[2], ys[2], info=ds.info,
                    class_names=list(ds.class_names) if getattr(ds, "class_names", None) is not None else None,
                    notes=list(getattr(ds, "notes", []) or []), labels_test=np.asarray(parts[5]))


def _fit_shape(x: np.ndarray, model_shape: tuple) -> np.ndarray:
    """(n, 8, 8, 1) data feeds an Input of [8, 8] (and the reverse), or [64] flattened."""
    x = np.asarray(x)
    if tuple(x.shape[1:]) == model_shape or None in model_shape:
        return x
    return x.reshape((len(x),) + model_shape)
