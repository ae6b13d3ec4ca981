"""Preparing a dataset for training: label encoding, seeded splits, normalization, summaries.

The split is made on indices (kept on `Splits` so tests and the app can show
which examples went where), stratified for classification. A `Normalizer` is
fitted on the training split only and then applied to all three, so nothing
about the validation or test examples leaks into training.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from datasets.base import Dataset, DatasetError

NORMALIZE_MODES = ("standard", "minmax", "none")

# The split limits: each fraction from 0 up to MAX_FRACTION, their sum below MAX_HELD_OUT (so training keeps
# at least 10 %). builder.experiments.experiment.DATA declares the sliders' Params from these; the check and the splitter
# both call `split_problems`.
MAX_FRACTION = 0.85
MAX_HELD_OUT = 0.9
MIN_PER_CLASS = 30  # fewer examples of a class than this: the Data page warns

# Inputs made from 2-D points (x, y) before normalization, as in TensorFlow Playground.
FEATURES = ("raw", "crosses")
CROSSES = ("x", "y", "x²", "y²", "x·y", "sin x", "sin y")


def split_problems(validation_split, test_split) -> list[str]:
    """What is wrong with these split fractions, in plain words; [] when a split can be made."""
    problems = [f"{label} must be a fraction from 0 to {MAX_FRACTION}; got {frac!r}"
                for label, frac in (("validation_split", validation_split), ("test_split", test_split))
                if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0.0 <= frac <= MAX_FRACTION]
    if not problems and validation_split + test_split >= MAX_HELD_OUT:
        problems.append(f"validation_split + test_split = {validation_split + test_split:.2f} leave too little for "
                        f"training; keep their sum below {MAX_HELD_OUT}")
    return problems


def split_sizes(n: int, validation_split: float, test_split: float) -> tuple[int, int, int]:
    """(train, validation, test) counts of `split_indices` on n examples, without the data: scikit-learn
    rounds each held-out share up. Raises ValueError for shares `split_problems` refuses."""
    if problems := split_problems(validation_split, test_split):
        raise ValueError("; ".join(problems))
    test = math.ceil(test_split * n) if test_split > 0 else 0
    rest = n - test
    validation = math.ceil(validation_split / (1.0 - test_split) * rest) if validation_split > 0 else 0
    return rest - validation, validation, test


def feature_shape(input_shape, features: str = "raw") -> tuple:
    """One example's shape after `add_features`."""
    return (len(CROSSES),) if features == "crosses" else tuple(input_shape)


def features_problem(input_shape, features: str) -> str | None:
    if features not in FEATURES:
        return f"features must be one of {', '.join(FEATURES)}; got {features!r}"
    if features == "crosses" and tuple(input_shape) != (2,):
        return (f"feature crosses are made from 2-D points (x, y), but this data has shape {list(input_shape)}; "
                "use features 'raw'")
    return None


def add_features(x: np.ndarray, features: str = "raw") -> np.ndarray:
    """(n, 2) points → (n, 7) columns x, y, x², y², x·y, sin x, sin y for "crosses"; "raw" is unchanged."""
    problem = features_problem(np.shape(x)[1:], features)
    if problem:
        raise DatasetError(problem)
    if features == "raw":
        return x
    px, py = np.asarray(x, np.float32).T
    return np.stack([px, py, px * px, py * py, px * py, np.sin(px), np.sin(py)], axis=1).astype(np.float32)


def encode_labels(values) -> tuple[np.ndarray, list[str]]:
    """Any labels (text or numbers) → int32 codes 0..k-1 and the sorted class names."""
    values = np.asarray(values)
    if values.dtype == object:
        values = values.astype(str)
    classes, codes = np.unique(values, return_inverse=True)
    names = [str(c.item()) if hasattr(c, "item") else str(c) for c in classes]
    return codes.astype(np.int32).ravel(), names


# -- splitting ---------------------------------------------------------------


@dataclass
class Splits:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    idx_train: np.ndarray
    idx_val: np.ndarray
    idx_test: np.ndarray
    dataset: Dataset
    masks_train: np.ndarray | None = None
    masks_val: np.ndarray | None = None
    masks_test: np.ndarray | None = None
    normalizer: Normalizer | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def class_names(self):
        return self.dataset.class_names

    @property
    def info(self):
        return self.dataset.info

    def parts(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {"train": (self.x_train, self.y_train), "validation": (self.x_val, self.y_val),
                "test": (self.x_test, self.y_test)}


def split_indices(y: np.ndarray, validation_split: float, test_split: float, seed: int,
                  stratify: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    from sklearn.model_selection import train_test_split

    problems = split_problems(validation_split, test_split)
    if problems:
        raise DatasetError("; ".join(problems))
    n = len(y)
    notes = []

    def cut(idx, fraction):
        if fraction <= 0:
            return idx, idx[:0]
        labels = y[idx] if stratify else None
        try:
            return tuple(train_test_split(idx, test_size=fraction, random_state=seed, stratify=labels))
        except ValueError:
            if labels is None:
                raise DatasetError(f"{n} examples are too few to split like that") from None
            notes.append("some classes have too few examples to split evenly; split at random instead")
            return tuple(train_test_split(idx, test_size=fraction, random_state=seed))

    rest, test = cut(np.arange(n), test_split)
    train, val = cut(rest, validation_split / (1.0 - test_split))
    return np.sort(train), np.sort(val), np.sort(test), notes


def split(dataset: Dataset, validation_split: float = 0.2, test_split: float = 0.2, seed: int = 0,
          stratify: bool | None = None) -> Splits:
    """Seeded train/validation/test split (stratified for classification); masks follow their images."""
    if stratify is None:
        stratify = dataset.task == "classification"
    tr, va, te, notes = split_indices(np.asarray(dataset.y), validation_split, test_split, seed, stratify)
    x, y, m = dataset.x, dataset.y, dataset.masks
    return Splits(x[tr], y[tr], x[va], y[va], x[te], y[te], tr, va, te, dataset,
                  masks_train=None if m is None else m[tr], masks_val=None if m is None else m[va],
                  masks_test=None if m is None else m[te], notes=notes)


# -- normalization -----------------------------------------------------------


def feature_statistics(x, mode):
    """Per-feature shift and scale of `x` (one value per entry of the last axis, measured over all the other
    axes: per column of a table, per channel of an image). "standard": mean and standard deviation; "minmax":
    minimum and range. A constant feature gets scale 1, so it stays constant. Features then become
    (x - shift) / scale."""
    fit = np.asarray(x, np.float64)
    axes = tuple(range(fit.ndim - 1))
    if mode == "minmax":
        shift = fit.min(axis=axes)
        scale = fit.max(axis=axes) - shift
    else:
        shift, scale = fit.mean(axis=axes), fit.std(axis=axes)
    scale = np.where(scale > 1e-12, scale, 1.0)
    return shift.astype("float32"), scale.astype("float32")


@dataclass
class Normalizer:
    """Per-feature (last axis) scaling fitted on training data: x' = (x - shift) / scale.

    "standard": mean 0 and standard deviation 1; "minmax": 0..1; "none": unchanged.
    Statistics are taken over every axis but the last, so tables scale per
    column, images per channel and sequences per feature.
    """

    mode: str = "standard"
    shift: np.ndarray | None = None
    scale: np.ndarray | None = None

    def __post_init__(self):
        if self.mode not in NORMALIZE_MODES:
            raise DatasetError(f"normalization must be one of {', '.join(NORMALIZE_MODES)}; got {self.mode!r}")

    def fit(self, x: np.ndarray) -> Normalizer:
        """Measure `feature_statistics` (the exported train.py prints that same function)."""
        if self.mode == "none":  # nothing to measure (and text holds strings, not numbers)
            self.shift, self.scale = np.zeros(x.shape[-1], np.float32), np.ones(x.shape[-1], np.float32)
        else:
            self.shift, self.scale = feature_statistics(x, self.mode)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        if self.shift is None:
            raise DatasetError("the normalizer has not been fitted yet")
        if self.mode == "none":
            return x
        return ((x - self.shift) / self.scale).astype(np.float32)

    def inverse(self, x: np.ndarray) -> np.ndarray:
        return x if self.mode == "none" else (x * self.scale + self.shift).astype(np.float32)

    def to_dict(self) -> dict:
        return {"mode": self.mode, "shift": None if self.shift is None else self.shift.tolist(),
                "scale": None if self.scale is None else self.scale.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> Normalizer:
        def arr(v):
            return None if v is None else np.asarray(v, np.float32)

        return cls(d.get("mode", "standard"), arr(d.get("shift")), arr(d.get("scale")))


def default_normalization(dataset: Dataset) -> str:
    """Tables and point sets are standardized; images are already 0..1; tokens are ids; waves are small;
    sound clips are in -1..1 (their spectrogram is a layer of the model); text is strings."""
    if dataset.info.kind == "sound" or not np.issubdtype(dataset.x.dtype, np.floating):
        return "none"
    return "standard" if dataset.x.ndim == 2 else "none"


def prepare(dataset: Dataset, validation_split: float = 0.2, test_split: float = 0.2, seed: int = 0,
            normalize: str = "auto", features: str = "raw") -> Splits:
    """Split, add the `features` to every split, then fit the normalizer on the training split only
    and apply it to all three splits."""
    s = split(dataset, validation_split, test_split, seed)
    s.x_train, s.x_val, s.x_test = (add_features(a, features) for a in (s.x_train, s.x_val, s.x_test))
    mode = default_normalization(dataset) if normalize == "auto" else normalize
    if mode != "none" and not np.issubdtype(dataset.x.dtype, np.floating):
        raise DatasetError(f"'{dataset.info.id}' holds token ids, which must not be normalized")
    norm = Normalizer(mode).fit(s.x_train)
    if mode != "none":
        s.x_train, s.x_val, s.x_test = (norm.transform(a) for a in (s.x_train, s.x_val, s.x_test))
    s.normalizer = norm
    return s


# -- summaries for the app ---------------------------------------------------


def class_balance(data: Dataset | Splits):
    """Examples per class (per split for `Splits`) as a DataFrame: class, [train, validation, test,] total."""
    import pandas as pd

    ds = data.dataset if isinstance(data, Splits) else data
    if ds.class_names is None:
        raise DatasetError(f"'{ds.info.id}' is a regression dataset: it has no classes to count")
    k = len(ds.class_names)
    table = pd.DataFrame({"class": ds.class_names})
    if isinstance(data, Splits):
        for part, (_, y) in data.parts().items():
            table[part] = np.bincount(np.asarray(y, int), minlength=k)[:k]
    table["total"] = np.bincount(np.asarray(ds.y, int), minlength=k)[:k]
    table["percent"] = (100.0 * table["total"] / max(len(ds), 1)).round(1)
    return table


def small_classes(dataset: Dataset, minimum: int = MIN_PER_CLASS) -> list[str]:
    """A warning per class with fewer than `minimum` examples (a model rarely learns a class from fewer)."""
    if dataset.class_names is None:
        return []
    counts = np.bincount(np.asarray(dataset.y, int).reshape(-1), minlength=len(dataset.class_names))
    return [f"Class '{name}' has only {count} example{'' if count == 1 else 's'}; give it at least {minimum} "
            "(more is better), or the model will rarely learn it." for name, count in
            zip(dataset.class_names, counts.tolist(), strict=True) if count < minimum]


def feature_stats(dataset: Dataset):
    """Mean, std, min and max per input feature (per channel for images) as a DataFrame."""
    import pandas as pd

    x = np.asarray(dataset.x, np.float64)
    axes = tuple(range(x.ndim - 1))
    if dataset.feature_names and len(dataset.feature_names) == x.shape[-1]:
        names = list(dataset.feature_names)
    elif dataset.is_image:
        names = ["gray"] if x.shape[-1] == 1 else ["red", "green", "blue"][: x.shape[-1]] + [
            f"channel {i}" for i in range(3, x.shape[-1])]
    else:
        names = [f"feature {i}" for i in range(x.shape[-1])]
    return pd.DataFrame({"feature": names, "mean": x.mean(axis=axes), "std": x.std(axis=axes),
                         "min": x.min(axis=axes), "max": x.max(axis=axes)})


def target_stats(data: Dataset | Splits):
    """For regression: count, mean, std, min, max of the target per split."""
    import pandas as pd

    parts = data.parts() if isinstance(data, Splits) else {"all": (data.x, data.y)}
    rows = [{"split": p, "count": len(y), "mean": float(np.mean(y)) if len(y) else np.nan,
             "std": float(np.std(y)) if len(y) else np.nan, "min": float(np.min(y)) if len(y) else np.nan,
             "max": float(np.max(y)) if len(y) else np.nan} for p, (_, y) in parts.items()]
    return pd.DataFrame(rows)


def overview(dataset: Dataset):
    """One row per fact (examples, input shape, task, classes, …) as a two-column DataFrame."""
    import pandas as pd

    info = dataset.info
    facts = [("dataset", info.title), ("task", info.task), ("examples", len(dataset)),
             ("input shape", " × ".join(str(d) for d in dataset.input_shape)),
             ("inputs", str(dataset.x.dtype))]
    if dataset.class_names is not None:
        facts.append(("classes", f"{len(dataset.class_names)}: " + ", ".join(dataset.class_names[:10])
                      + (" …" if len(dataset.class_names) > 10 else "")))
    if dataset.masks is not None:
        facts.append(("object masks", "yes"))
    facts += [("note", n) for n in dataset.notes]
    return pd.DataFrame(facts, columns=["what", "value"]).astype({"value": str})
