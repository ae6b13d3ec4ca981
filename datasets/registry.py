"""The dataset registry: every dataset Layerlab knows, with what a student needs to pick one.

`list_datasets()` and `info(id)` are cheap (no TensorFlow, no data loaded);
`load(id, **options)` makes or reads the arrays. Generator settings
(`n_samples`, `noise`, `seed`, …) are `Param` declarations, so the app builds
their form the same way it builds layer forms.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from builder.model.params import Param, check_params
from datasets import audio, builtin, generated, keras_sets, stored, text
from datasets.base import Dataset, DatasetError, DatasetInfo

TASKS = ("classification", "regression", "reconstruction", "sequence")
KINDS = ("image", "table", "points", "sequence", "tokens", "sound", "text")



@dataclass(frozen=True)
class _Entry:
    info: DatasetInfo
    make: Callable[..., dict]


def _seed(default=0):
    return Param("seed", "int", default, min=0, max=2**31 - 1,
                 help="Random seed: the same seed always makes exactly the same data.")


def _n(default, lo=1, hi=100_000):
    return Param("n_samples", "int", default, min=lo, max=hi, step=10, help="How many examples to make.")


def _noise(default, hi, what="How much random jitter is added to every point."):
    return Param("noise", "float", default, min=0.0, max=hi, step=0.01, help=what)


def _opts(*params: Param) -> dict[str, Param]:
    return {p.name: p for p in params}


def _points_entry(id, title, description, make, noise_default, noise_max=1.0, classes=("0", "1"), noise_help=None):
    opts = _opts(_n(500), _noise(noise_default, noise_max, *( [noise_help] if noise_help else [])), _seed())
    return _Entry(DatasetInfo(id, title, "classification", (2,), list(classes), 500, description,
                              options=opts, kind="points"), make)


_KERAS_OPTS = _opts(
    Param("n_samples", "int", 0, min=0, max=1_000_000, step=1000,
          help="Use only this many examples, picked at random (0 = all of them; fewer trains faster)."),
    _seed(),
)

_ENTRIES: dict[str, _Entry] = {e.info.id: e for e in (
    _Entry(DatasetInfo("digits", "Handwritten digits (8×8)", "classification", (8, 8, 1), [str(i) for i in range(10)],
                       1797, "Small 8×8 pictures of handwritten digits 0–9; tell which digit it is.", kind="image",
                       extra={"raw_max": 16}),
           builtin.digits),
    _Entry(DatasetInfo("iris", "Iris flowers", "classification", (4,), ["setosa", "versicolor", "virginica"], 150,
                       "Four measurements of a flower's petals and sepals; tell which of three iris species it is."),
           builtin.iris),
    _Entry(DatasetInfo("wine", "Wine cultivars", "classification", (13,), ["class_0", "class_1", "class_2"], 178,
                       "13 chemical measurements of a wine; tell which of three growers made it."),
           builtin.wine),
    _Entry(DatasetInfo("breast_cancer", "Breast cancer (Wisconsin)", "classification", (30,), ["malignant", "benign"],
                       569, "30 measurements of cell nuclei from a scan; tell whether the tumour is malignant or benign."),
           builtin.breast_cancer),
    _Entry(DatasetInfo("diabetes", "Diabetes progression", "regression", (10,), None, 442,
                       "Age, BMI, blood pressure and six blood values; predict how far the disease progresses in a year."),
           builtin.diabetes),
    _points_entry("moons", "Two moons", "Two interleaving half circles of points; separate them with a curved line.",
                  generated.moons, 0.1),
    _points_entry("circles", "Circles", "A ring of points around a disc of points; a straight line cannot split them.",
                  generated.circles, 0.05),
    _points_entry("spirals", "Spirals", "Two spiral arms winding around each other; the hardest playground set.",
                  generated.spirals, 0.1),
    _points_entry("xor", "XOR", "Points are class 1 where both coordinates have the same sign; needs a hidden layer.",
                  generated.xor, 0.1),
    _points_entry("blobs", "Gaussian blobs", "Three round clouds of points, one per class; the easy warm-up.",
                  generated.blobs, 1.0, noise_max=5.0, classes=("0", "1", "2"),
                  noise_help="How spread out each cloud is; big values make the clouds overlap."),
    _Entry(DatasetInfo("shapes", "Shapes (with masks)", "classification", (28, 28, 1), list(generated.SHAPES), 600,
                       "Noisy pictures of a circle, square or triangle at a random place; the object's outline is known.",
                       options=_opts(_n(600, hi=20_000),
                                     Param("size", "int", 28, min=16, max=128, step=4, help="Image width and height in pixels."),
                                     _noise(0.1, 0.5, "How grainy the pictures are."), _seed()),
                       kind="image", extra={"has_masks": True}),
           generated.shapes),
    _Entry(DatasetInfo("sine", "Sine-wave forecasting", "regression", (20, 1), None, 1000,
                       "The last 20 readings of a noisy wave; predict the next value (for RNN lessons).",
                       options=_opts(_n(1000), Param("steps", "int", 20, min=5, max=200, help="Readings per example."),
                                     _noise(0.05, 0.5, "How noisy the readings are."), _seed()),
                       kind="sequence"),
           generated.sine),
    _Entry(DatasetInfo("tokens", "Token order", "classification", (20,), ["3 before 7", "7 before 3"], 1000,
                       "Sequences of 20 word numbers with one 7 and one 3; tell which comes first (order matters).",
                       options=_opts(_n(1000), Param("length", "int", 20, min=4, max=200, help="Tokens per sequence."),
                                     _seed()),
                       kind="tokens", extra={"vocab_size": generated.VOCAB_SIZE}),
           generated.tokens),
    _Entry(DatasetInfo("sounds", "Sounds: tone, chirp, hiss", "classification", (audio.RATE,), ["chirp", "hiss", "tone"],
                       120, "One-second clips of a steady tone, a rising chirp or a hiss at random pitch and loudness; "
                       "tell which it is (the model hears the raw wave).",
                       options=_opts(_n(120, lo=3, hi=3000), _noise(0.05, 0.5, "How loud the background noise is."),
                                     _seed()),
                       kind="sound", extra={"rate": audio.RATE}),
           audio.sounds),
    _Entry(DatasetInfo("sentences", "Sentences: food, sport, weather", "classification", (1,),
                       ["food", "sport", "weather"], 3000,
                       "Short sentences about food, sport or the weather; tell the topic (the model reads raw text).",
                       options=_opts(_n(3000, lo=30, hi=50_000),
                                     _noise(0.05, 0.5, "How many sentences also name a word of another topic."),
                                     _seed()),
                       kind="text", extra={"vocabulary": 200}),
           text.sentences),
    _Entry(DatasetInfo("mnist", "MNIST digits", "classification", (28, 28, 1), [str(i) for i in range(10)], 70000,
                       "70,000 handwritten digits 0–9 at 28×28 pixels; the classic first image task.",
                       options=_KERAS_OPTS, kind="image", extra={"keras": True, "raw_max": 255}), None),
    _Entry(DatasetInfo("fashion_mnist", "Fashion-MNIST", "classification", (28, 28, 1),
                       ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                        "Ankle boot"], 70000,
                       "70,000 small pictures of clothes in 10 kinds; harder than digits.",
                       options=_KERAS_OPTS, kind="image", extra={"keras": True, "raw_max": 255}), None),
    _Entry(DatasetInfo("cifar10", "CIFAR-10", "classification", (32, 32, 3),
                       ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"], 60000,
                       "60,000 tiny colour photos of planes, cars, animals and more; a real challenge for a CNN.",
                       options=_KERAS_OPTS, kind="image", extra={"keras": True, "raw_max": 255}), None),
)}


def _entry(dataset_id: str) -> _Entry:
    try:
        return _ENTRIES[dataset_id]
    except KeyError:
        known = ", ".join(_ENTRIES)
        raise DatasetError(f"unknown dataset '{dataset_id}' — choose one of: {known}") from None


def ids() -> list[str]:
    return list(_ENTRIES)


def info(dataset_id: str) -> DatasetInfo:
    """The registry entry, with `offline` worked out now (Keras datasets: is the file cached?)."""
    if stored.is_stored(dataset_id):
        return stored.info(dataset_id)
    base = _entry(dataset_id).info
    if base.extra.get("keras"):
        return replace(base, offline=keras_sets.is_cached(dataset_id))
    return base


def list_datasets() -> list[DatasetInfo]:
    return [info(i) for i in _ENTRIES]


def load(dataset_id: str, allow_download: bool = True, **options) -> Dataset:
    """Load or make a dataset. Unknown ids or bad options raise `DatasetError` in plain words;
    a Keras dataset that is neither cached nor downloadable raises `DatasetUnavailable`.
    An upload's id (`upload:<key>`, see datasets/stored.py) loads the user's stored arrays."""
    if stored.is_stored(dataset_id):
        return stored.load(dataset_id)
    entry = _entry(dataset_id)
    problems = check_params(entry.info.options, options, f"dataset '{dataset_id}'")
    if problems:
        raise DatasetError("; ".join(problems))
    settings = {name: p.default for name, p in entry.info.options.items()}
    settings.update(options)
    if entry.info.extra.get("keras"):
        parts = keras_sets.load(dataset_id, allow_download=allow_download)
        parts = _subset(parts, settings["n_samples"], settings["seed"])
    else:
        parts = entry.make(**settings)
    return _assemble(info(dataset_id), parts)


def _subset(parts: dict, n: int, seed: int) -> dict:
    import numpy as np

    if not n or n >= len(parts["x"]):
        return parts
    keep = np.sort(np.random.default_rng(seed).choice(len(parts["x"]), n, replace=False))
    return {k: v[keep] for k, v in parts.items()}


def _assemble(base: DatasetInfo, parts: dict) -> Dataset:
    x = parts["x"]
    class_names = parts.get("class_names", base.classes)
    the_info = replace(base, input_shape=tuple(int(d) for d in x.shape[1:]), size=len(x), offline=True,
                       classes=class_names)
    return Dataset(x=x, y=parts["y"], info=the_info, class_names=class_names, masks=parts.get("masks"),
                   feature_names=parts.get("feature_names"))
