"""The arrays a run trains on: dataset → train/validation/test splits → model-shaped.

Uses the `datasets` package (registry + splits). `prepare` feeds the runner,
Explain and the exports; `raw_parts` gives the same splits as a user holds
them (raw inputs), for checking deployable models and calibrating TFLite.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from builder.train.preprocessing import fitted
from datasets import registry
from datasets.base import as_model_input
from datasets.splits import add_features
from datasets.splits import prepare as prepare_splits
from datasets.splits import split as split_only


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
    preprocessing: object = None  # builder.train.preprocessing.Preprocessing: how raw data became these arrays

    @property
    def is_image(self) -> bool:
        return self.x_train.ndim == 4 or (self.x_train.ndim == 3 and np.issubdtype(self.x_train.dtype, np.floating))


def load_dataset(dataset_id: str, options: dict):
    return registry.load(dataset_id, **options)


def prepare(experiment) -> Prepared:
    """Load, split and reshape the experiment's data for its model; regression targets standardized
    (see builder.train.preprocessing, which records every step)."""
    ds_settings = experiment.data_settings
    hp = experiment.hp
    ds = load_dataset(ds_settings["dataset"], ds_settings["options"])
    s = prepare_splits(ds, ds_settings["validation_split"], ds_settings["test_split"], hp["seed"],
                       normalize=ds_settings["normalize"], features=ds_settings["features"])
    model_shape = tuple(experiment.model.node(experiment.model.input_ids()[0]).params["shape"])
    prep = fitted(ds.info, s, ds_settings, hp["task"], model_shape)
    xs = [_fit_shape(np.asarray(a), model_shape) for a in (s.x_train, s.x_val, s.x_test)]
    ys = [np.asarray(a) for a in (s.y_train, s.y_val, s.y_test)]
    if hp["task"] == "reconstruction":
        ys = list(xs)
    elif hp["task"] == "classification":
        ys = [y.astype("int32") for y in ys]
    else:
        ys = [prep.scale_targets(y.astype("float32")) for y in ys]
    xs = [as_model_input(x) for x in xs]
    return Prepared(xs[0], ys[0], xs[1], ys[1], xs[2], ys[2], info=ds.info,
                    class_names=list(ds.class_names) if getattr(ds, "class_names", None) is not None else None,
                    notes=list(getattr(ds, "notes", []) or []), labels_test=np.asarray(s.y_test),
                    preprocessing=prep)


def raw_parts(experiment, prep) -> dict:
    """{"train"|"validation"|"test": (inputs, targets)} as a user holds them: raw inputs (`prep.raw_inputs`),
    targets in their own units. For checking and quantizing a deployable model."""
    d, hp = experiment.data_settings, experiment.hp
    s = split_only(load_dataset(d["dataset"], d["options"]), d["validation_split"], d["test_split"], hp["seed"])
    return {part: (prep.raw_inputs(add_features(np.asarray(x), d["features"])), np.asarray(y))
            for part, (x, y) in s.parts().items()}


def _fit_shape(x: np.ndarray, model_shape: tuple) -> np.ndarray:
    """(n, 8, 8, 1) data feeds an Input of [8, 8] (and the reverse), or [64] flattened."""
    x = np.asarray(x)
    if tuple(x.shape[1:]) == model_shape or None in model_shape:
        return x
    return x.reshape((len(x),) + model_shape)
