"""Data augmentation: Keras preprocessing layers declared once, like the layer catalog.

An augmentation list is what the experiment's `augmentation` section holds:
`[{"type": "RandomFlip", "params": {"mode": "horizontal"}}, …]`. Each type is
a `builder.model.catalog.LayerType` (family "augmentation") whose `Param`
declarations drive the app's form, `validate` and the tooltips. Omitted
params take the declared default (Keras has no default for the factors).

The layers are Keras layers, so they run under every backend, and they only
change data while training: at inference (`training=False`, as in
`model.predict`/`evaluate`) they pass data through untouched.
"""
from __future__ import annotations

from builder.model.catalog import LayerType
from builder.model.params import Param, check_params

IMAGE_RANK = (4,)
IMAGE_HINT = "(batch, height, width, channels)"

FILL_MODE = Param("fill_mode", "choice", "reflect", choices=("reflect", "wrap", "constant", "nearest"), advanced=True,
                  help="How to fill the corners uncovered by the move: mirror the picture, wrap it around, "
                       "a constant colour, or repeat the nearest edge pixel.")
INTERPOLATION = Param("interpolation", "choice", "bilinear", choices=("bilinear", "nearest"), advanced=True,
                      help="How new pixel values are computed: bilinear blends neighbours, nearest copies one.")
FILL_VALUE = Param("fill_value", "float", 0.0, min=0.0, max=1.0, advanced=True,
                   help="The colour used when fill_mode is 'constant' (0 black … 1 white for data scaled 0..1).")
VALUE_RANGE = Param("value_range", "floats", [0.0, 1.0], length=2, advanced=True,
                    help="Smallest and largest pixel value of the data; Layerlab's images are scaled 0..1.")


def _aug(name, help, *params, images=True) -> LayerType:
    return LayerType(name, "augmentation", help, tuple(params),
                     input_ranks=IMAGE_RANK if images else (), rank_hint=IMAGE_HINT if images else "")


AUGMENTATIONS: dict[str, LayerType] = {t.name: t for t in (
    _aug("RandomFlip", "Mirrors pictures at random, so the model learns that left/right (or up/down) does not matter.",
         Param("mode", "choice", "horizontal", choices=("horizontal", "vertical", "horizontal_and_vertical"),
               help="Which way to flip: 'horizontal' mirrors left↔right (good for photos; not for digits or text).")),
    _aug("RandomRotation", "Turns pictures by a random small angle.",
         Param("factor", "float", 0.05, min=0.0, max=0.5, step=0.01,
               help="Largest turn as a fraction of a full circle: 0.05 is up to ±18°, 0.25 up to ±90°."),
         FILL_MODE, INTERPOLATION, FILL_VALUE),
    _aug("RandomZoom", "Zooms in or out of pictures by a random amount.",
         Param("height_factor", "float", 0.1, min=0.0, max=0.9, step=0.05,
               help="Largest zoom as a fraction of the height: 0.1 zooms up to 10% in or out."),
         Param("width_factor", "float", None, optional=True, min=0.0, max=0.9, step=0.05, advanced=True,
               help="Largest zoom of the width; empty keeps the picture's proportions."),
         FILL_MODE, INTERPOLATION, FILL_VALUE),
    _aug("RandomTranslation", "Shifts pictures up/down and left/right by a random amount.",
         Param("height_factor", "float", 0.1, min=0.0, max=0.5, step=0.05,
               help="Largest up/down shift as a fraction of the height."),
         Param("width_factor", "float", 0.1, min=0.0, max=0.5, step=0.05,
               help="Largest left/right shift as a fraction of the width."),
         FILL_MODE, INTERPOLATION, FILL_VALUE),
    _aug("RandomContrast", "Makes pictures randomly more or less contrasty.",
         Param("factor", "float", 0.2, min=0.0, max=1.0, step=0.05,
               help="How much contrast may change: 0.2 means between 80% and 120%."),
         VALUE_RANGE),
    _aug("RandomBrightness", "Makes pictures randomly lighter or darker.",
         Param("factor", "float", 0.2, min=0.0, max=1.0, step=0.05,
               help="How much brightness may change, as a fraction of the value range: 0.2 is up to ±20%."),
         VALUE_RANGE),
    _aug("GaussianNoise", "Adds random noise to every input value; works on any data, not only pictures.",
         Param("stddev", "float", 0.05, min=0.0, max=1.0, step=0.01,
               help="How strong the noise is (its standard deviation); keep it small next to your data's spread."),
         images=False),
)}


def validate(entries: list, input_shape) -> list[str]:
    """Problems with an augmentation list for data whose one example has `input_shape`, in plain words."""
    problems = []
    if not isinstance(entries, list):
        return ["augmentation must be a list of steps like {\"type\": \"RandomFlip\", \"params\": {}}"]
    shape = tuple(input_shape) if input_shape is not None else None
    for i, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or "type" not in entry:
            problems.append(f"augmentation step {i}: needs a 'type', e.g. {{\"type\": \"RandomFlip\"}}")
            continue
        name, params = entry["type"], entry.get("params") or {}
        owner = f"augmentation step {i} ({name})"
        unknown_keys = set(entry) - {"type", "params"}
        if unknown_keys:
            problems.append(f"{owner}: unknown keys {', '.join(sorted(unknown_keys))}")
        kind = AUGMENTATIONS.get(name)
        if kind is None:
            problems.append(f"augmentation step {i}: unknown type '{name}' — choose one of {', '.join(AUGMENTATIONS)}")
            continue
        if not isinstance(params, dict):
            problems.append(f"{owner}: 'params' must be an object of name: value")
            continue
        problems += check_params(kind.param_map, params, owner)
        if kind.input_ranks and shape is not None and len(shape) + 1 not in kind.input_ranks:
            problems.append(f"{owner}: works only on images shaped (height, width, channels), "
                            f"but this data's examples are shaped {shape}; remove it or pick an image dataset")
        if name in ("RandomContrast", "RandomBrightness") and "value_range" in params and not problems:
            lo, hi = params["value_range"]
            if lo >= hi:
                problems.append(f"{owner}: value_range must be [low, high] with low < high")
    return problems


def _kwargs(entry: dict) -> dict:
    kind = AUGMENTATIONS[entry["type"]]
    kwargs = {n: p.default for n, p in kind.param_map.items() if p.default is not None}
    kwargs.update(entry.get("params") or {})
    if "value_range" in kwargs:
        kwargs["value_range"] = tuple(kwargs["value_range"])
    if entry["type"] == "RandomContrast":
        # Keras turns a single contrast factor f into [1, 1 + f] (only ever more contrast);
        # (f, f) gives the symmetric [1 - f, 1 + f] the help text promises
        kwargs["factor"] = (kwargs["factor"], kwargs["factor"])
    return kwargs


def build(entries: list, seed: int | None = None, input_shape=None):
    """A `keras.Sequential` of the augmentation layers (identity when the list is empty).

    Each layer gets its own seed derived from `seed`, so a seeded run
    augments the same way every time. Raise `ValueError` on invalid entries.
    """
    import keras

    problems = validate(entries, input_shape)
    if problems:
        raise ValueError("; ".join(problems))
    layers = [getattr(keras.layers, name)(**kwargs) for name, kwargs in layer_specs(entries, seed)]
    return keras.Sequential(layers, name="augmentation")


def layer_specs(entries: list, seed: int | None = None) -> list[tuple[str, dict]]:
    """(Keras layer class name, constructor arguments) per step, seeded as `build` makes them
    (the exported training script prints these same calls)."""
    return [(entry["type"], {"seed": None if seed is None else seed + 1000 * i,
                             "name": f"augment_{i}_{entry['type'].lower()}", **_kwargs(entry)})
            for i, entry in enumerate(entries)]


def preview(entries: list, sample, n: int = 8, seed: int = 0):
    """`n` augmented copies of one example (h, w, c) as a float32 array (n, h, w, c), clipped to 0..1.

    For the app's preview grid: shows what training will see.
    """
    import keras
    import numpy as np

    sample = np.asarray(sample, np.float32)
    if sample.ndim == 2:
        sample = sample[..., None]
    pipeline = build(entries, seed=seed, input_shape=sample.shape)
    batch = np.repeat(sample[None], n, axis=0)
    out = keras.ops.convert_to_numpy(pipeline(batch, training=True)) if entries else batch
    return np.clip(out, 0.0, 1.0).astype(np.float32)
