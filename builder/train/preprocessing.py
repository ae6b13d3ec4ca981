"""What happens to data between the dataset and the model, recorded so a downloaded model can take raw data.

A run trains on prepared arrays: image pixels scaled to 0..1, features
normalized with statistics fitted on the training split, regression targets
standardized. `Preprocessing` records those steps (the run folder's
`preprocessing.json`) and `wrap` turns them into stock Keras layers around the
canvas model, so the deployable model takes raw inputs and, for regression,
answers in the target's own units:

    raw ─ Rescaling(1/raw_max) ─ Normalization(mean, variance) ─ Reshape ─ canvas model ─ Rescaling(std, mean) ─▶

The canvas model (`model.keras`) stays what the student built; `deploy/model.keras` wraps it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from builder.files import atomic_save_model
from builder.store import runfolder
from builder.train import labels

FILE = "preprocessing.json"
FORMAT = "layerlab/preprocessing@1"
DEPLOY = "deploy"  # folder of the deployable models (raw inputs)
DEPLOY_MODEL = "deploy/model.keras"


@dataclass
class Preprocessing:
    raw_shape: list  # one raw example, as the dataset's loader gives it (after feature crosses)
    raw_dtype: str  # "float32", "int32" for token ids, or "string" for text
    raw_max: float  # image pixels come in 0..raw_max (16 for digits, 255 for photos); 1 means no rescaling
    features: str  # "raw" or "crosses" (the model then takes x, y, x², y², x·y, sin x, sin y)
    normalize: str  # "standard" | "minmax" | "none": x' = (x / raw_max - shift) / scale per last-axis feature
    shift: list | None
    scale: list | None
    model_shape: list  # the canvas model's Input shape
    target: dict | None = None  # regression: {"mean": m, "std": s}; the model learns (y - m) / s
    kind: str = "table"  # the dataset's kind (image, table, points, sequence, tokens, sound, text): for describing inputs
    class_names: list | None = None  # a classifier's classes in output order (also labels.txt)

    # -- arrays --------------------------------------------------------------------
    def raw_inputs(self, x: np.ndarray) -> np.ndarray:
        """The dataset loader's inputs (images in 0..1) as a user holds them (images in 0..raw_max)."""
        if self.raw_dtype == "string":
            return np.asarray(x).astype(str)
        if self.raw_max == 1:
            return np.asarray(x, self.raw_dtype)
        return np.round(np.asarray(x, np.float64) * self.raw_max).astype(self.raw_dtype)

    def scale_targets(self, y: np.ndarray) -> np.ndarray:
        if not self.target:
            return y
        return ((np.asarray(y, np.float64) - self.target["mean"]) / self.target["std"]).astype(np.float32)

    def unscale_targets(self, y: np.ndarray) -> np.ndarray:
        if not self.target:
            return y
        return (np.asarray(y, np.float64) * self.target["std"] + self.target["mean"]).astype(np.float32)

    # -- the deployable model ------------------------------------------------------
    def wrap(self, model):
        """The canvas model with these steps as Keras layers around it: raw inputs in, target units out.
        The steps compute in float32 even in a mixed-precision run (float16 would round the statistics)."""
        import keras

        inp = keras.Input(shape=tuple(self.raw_shape), dtype=self.raw_dtype, name="raw_input")
        x = inp
        if self.raw_max != 1:
            x = keras.layers.Rescaling(1.0 / self.raw_max, name="pixels_to_0_1", dtype="float32")(x)
        if self.normalize != "none":
            scale = np.asarray(self.scale, np.float32)
            x = keras.layers.Normalization(mean=np.asarray(self.shift, np.float32), variance=scale * scale,
                                           name="normalize_features", dtype="float32")(x)
        if tuple(self.raw_shape) != tuple(self.model_shape):
            x = keras.layers.Reshape(tuple(self.model_shape), name="to_model_shape", dtype="float32")(x)
        core = keras.Model(model.input, model.output, name=model.name)  # same layers, no optimizer state saved
        y = core(x)
        if self.target:
            y = keras.layers.Rescaling(self.target["std"], offset=self.target["mean"], name="to_target_units",
                                          dtype="float32")(y)
        return keras.Model(inp, y, name=f"{model.name}_deploy")

    def describe_inputs(self) -> str:
        """The deployable model's inputs in a few words, e.g. 'raw 8×8×1 images in 0..16'."""
        shape = "×".join(str(d) for d in self.raw_shape)
        if self.features == "crosses":
            return "7 numbers per point: x, y, x², y², x·y, sin x, sin y (the crossed features)"
        if self.kind == "image":
            top = f"{self.raw_max:g}"
            return f"raw {shape} images with pixels in 0..{top}"
        if self.kind == "text":
            return "raw text, one string per example (shape (n, 1))"
        if self.kind == "sound":
            return f"raw mono sound waves of {shape} samples in -1..1"
        if self.kind == "tokens":
            return f"sequences of {shape} token ids (integers)"
        if self.kind == "sequence":
            return f"raw sequences of shape {shape}"
        if self.kind == "points":
            return "raw (x, y) points"
        return f"{shape} raw feature values, unscaled"

    # -- the file ------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"format": FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> Preprocessing:
        fields = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**fields)

    def write(self, run_dir) -> None:
        runfolder.write_json(Path(run_dir) / FILE, self.to_dict())


def read(run_dir) -> Preprocessing | None:
    """The run's recorded preprocessing, or None (a run from before it was recorded, or a broken file)."""
    d = runfolder.read_json(Path(run_dir) / FILE)
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        return None
    try:
        return Preprocessing.from_dict(d)
    except TypeError:
        return None


def fitted(info, splits, data_settings: dict, task: str, model_shape) -> Preprocessing:
    """The steps a run applies, from its dataset's info and the splits (normalizer fitted on the training split)."""
    norm = splits.normalizer
    target = None
    if task == "regression" and data_settings["normalize"] != "none":  # "none": the model sees the data as it is
        y = np.asarray(splits.y_train, np.float64)
        std = float(y.std())
        target = {"mean": float(y.mean()), "std": std if std > 1e-12 else 1.0}
    return Preprocessing(
        raw_shape=[int(d) for d in splits.x_train.shape[1:]],
        raw_dtype=_raw_dtype(splits.x_train.dtype),
        raw_max=float(info.extra.get("raw_max", 1)) if info.kind == "image" else 1.0,
        features=data_settings["features"],
        normalize=norm.mode,
        shift=None if norm.mode == "none" else norm.shift.tolist(),
        scale=None if norm.mode == "none" else norm.scale.tolist(),
        model_shape=[int(d) for d in model_shape],
        target=target,
        kind=info.kind,
        class_names=_class_names(splits.dataset) if task == "classification" else None,
    )


def _class_names(dataset) -> list[str] | None:
    return None if dataset.class_names is None else [str(c) for c in dataset.class_names]


def _raw_dtype(dtype) -> str:
    if np.dtype(dtype).kind == "O":  # numpy holds text as Python strings
        return "string"
    return "float32" if np.issubdtype(dtype, np.floating) else "int32"


def save_deployable(model, prep: Preprocessing, run_dir, class_names=None):
    """deploy/model.keras: the trained canvas model wrapped to take raw inputs (atomic), with its class names
    (builder.train.labels); returns the wrapped model."""
    folder = Path(run_dir) / DEPLOY
    deployable = prep.wrap(model)
    atomic_save_model(deployable, folder / "model.keras", amend=lambda tmp: labels.attach(tmp, folder, class_names))
    return deployable
