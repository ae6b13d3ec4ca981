"""One input, the trained model's answer and where it looked: the engine behind the Try page and `predict`.

`open_run(run_dir)` loads a finished run once (its deployable model,
`deploy/model.keras`, which takes raw data; the canvas model inside it; the
recorded preprocessing) and keeps it in a small least-recently-used cache
shared by every caller (budget `max_loaded_models`). `Trained.answer(raw)`
turns one raw input into an `Answer`: probabilities for every class with the
label (or the value in the target's units, or the reconstruction) and the
saliency of the chosen class, computed by `builder.explain`.
"""
from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from builder import limits
from builder.experiments.experiment import coerce
from builder.predict.framing import DataLook, data_look, frame
from builder.store import runfolder
from builder.train import preprocessing
from builder.train.data import raw_parts
from builder.train.evaluate import probabilities
from datasets import audio, registry
from datasets.base import as_model_input
from datasets.splits import add_features

LOOK_SAMPLE = 500  # training pictures measured for their look


class PredictError(ValueError):
    """A run or an input that cannot be answered, in plain words."""


@dataclass
class Answer:
    task: str  # classification | regression | reconstruction
    kind: str  # the data's kind: image, table, points, sequence, tokens
    probabilities: list[float] | None = None  # classification: one per class
    index: int | None = None  # the predicted class
    label: str | None = None
    class_names: list[str] | None = None
    value: list[float] | None = None  # regression: in the target's units
    output: np.ndarray | None = None  # reconstruction: the autoencoder's output, raw input's shape
    saliency: np.ndarray | None = None  # image (h, w) in 0..1; table: one signed value per feature; sequence: per step
    method: str | None = None  # which builder.explain method made `saliency`
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        """The answer in words: "Prediction: 7 (98.2 %)"."""
        if self.task == "classification":
            return f"Prediction: {self.label} ({100 * self.probabilities[self.index]:.1f} %)"
        if self.task == "regression":
            return "Prediction: " + ", ".join(f"{v:.4g}" for v in self.value)
        return "Reconstruction"

    def to_json(self) -> dict:
        keys = ("task", "kind", "probabilities", "index", "label", "class_names", "value", "method", "notes")
        out = {k: getattr(self, k) for k in keys if getattr(self, k) not in (None, [])}
        out["text"] = self.text()
        for name in ("saliency", "output"):
            if getattr(self, name) is not None:
                out[name] = np.round(np.asarray(getattr(self, name), np.float64), 4).tolist()
        return out


class Trained:
    """A finished run, loaded for answering single inputs (see `open_run`)."""

    def __init__(self, run_dir: Path):
        import keras

        self.run_dir = run_dir
        self.prep = preprocessing.read(run_dir)
        self.model = keras.saving.load_model(run_dir / preprocessing.DEPLOY_MODEL, compile=False, safe_mode=True)
        self.core = next(layer for layer in self.model.layers if isinstance(layer, keras.Model))
        # the preprocessing layers alone (a straight chain: Rescaling, Normalization, Reshape; see Preprocessing.wrap)
        self.preprocessing_layers = self.model.layers[1:self.model.layers.index(self.core)]
        evaluation = runfolder.read_json(run_dir / runfolder.EVALUATION, {}) or {}
        self.experiment = runfolder.read_json(run_dir / "experiment.json", {}) or {}
        self.task = (self.experiment.get("training") or {}).get("task") or evaluation.get("task") or "classification"
        self.class_names = [str(c) for c in evaluation.get("class_names") or self._dataset_classes()]
        self._lock = threading.Lock()
        self._examples = None
        self._look = None

    @property
    def kind(self) -> str:
        return self.prep.kind

    @property
    def shape(self) -> tuple:
        return tuple(self.prep.raw_shape)

    def _dataset_classes(self) -> list:
        try:
            return list(registry.info((self.experiment.get("data") or {}).get("dataset", "")).classes or [])
        except ValueError:  # an upload: its classes are in evaluation.json
            return []

    # -- the run's own data ---------------------------------------------------------
    def examples(self) -> dict:
        """{"train"|"validation"|"test": (raw inputs, targets)}: the run's splits as a user holds them."""
        with self._lock:
            if self._examples is None:
                self._examples = raw_parts(coerce(self.experiment), self.prep)
            return self._examples

    def look(self) -> DataLook:
        """What the run's pictures look like (measured once on training pictures)."""
        if self._look is None:
            x = self.examples()["train"][0][:LOOK_SAMPLE]
            self._look = data_look(np.asarray(x, np.float32) / self.prep.raw_max)
        return self._look

    # -- inputs as a student gives them ----------------------------------------------
    def from_picture(self, picture: np.ndarray) -> np.ndarray:
        """Any picture (uint8 or 0..1; grey, RGB or RGBA) framed like the run's images: one raw input."""
        if self.kind != "image":
            raise PredictError(f"this model takes {self.prep.describe_inputs()}, not a picture")
        shape = self.shape if len(self.shape) == 3 else self.shape + (1,)
        return frame(picture, shape, self.prep.raw_max, self.look()).reshape(self.shape)

    def from_point(self, x: float, y: float) -> np.ndarray:
        """A clicked (x, y) as the model's raw input (with the crossed features when the run used them)."""
        return add_features(np.array([[x, y]], np.float32), self.prep.features)[0]

    # -- answering ------------------------------------------------------------------
    def check(self, raw) -> np.ndarray:
        """One raw input as the model's batch of one; PredictError names a wrong size."""
        if self.prep.raw_dtype == "string":  # text: one sentence
            x = np.asarray(raw, object).reshape(-1)
            if x.size != 1 or not isinstance(x[0], str):
                raise PredictError(f"this model takes {self.prep.describe_inputs()}; give it one sentence")
            return x.reshape(1, 1)
        x = np.asarray(raw, dtype=self.prep.raw_dtype)
        if x.size != int(np.prod(self.shape)):
            raise PredictError(f"this model takes {self.prep.describe_inputs()} ({int(np.prod(self.shape))} "
                               f"numbers); the input has {x.size}")
        if not np.all(np.isfinite(x)):
            raise PredictError("the input holds a missing or infinite number; give every value")
        return x.reshape((1,) + self.shape)

    def outputs(self, x: np.ndarray) -> np.ndarray:
        """The deployable model's outputs for a batch of raw inputs (one call, no predict() overhead)."""
        import keras

        return keras.ops.convert_to_numpy(self.model(as_model_input(x), training=False)).astype(np.float64)

    def answer(self, raw, method: str | None = "saliency", target: int | None = None) -> Answer:
        """The model's answer for one raw input; `method` None skips the saliency."""
        x = self.check(raw)
        out = self.outputs(x)
        ans = Answer(task=self.task, kind=self.kind)
        if self.task == "classification":
            probs = probabilities(out)[0]
            ans.probabilities = [float(p) for p in probs]
            ans.index = int(np.argmax(probs))
            names = self.class_names if len(self.class_names) == len(probs) else [str(i) for i in range(len(probs))]
            ans.class_names, ans.label = names, names[ans.index]
        elif self.task == "regression":
            ans.value = [float(v) for v in out.reshape(-1)]
        else:
            ans.output = out.reshape(out.shape[1:]).astype(np.float32)
            return ans
        if method:
            ans.method, ans.saliency = self.saliency(x, method, ans.index if target is None else target)
        return ans

    def methods(self) -> list[str]:
        """Saliency methods that fit this model: gradient (occlusion for token ids), Grad-CAM with a convolution."""
        if self.prep.raw_dtype != "float32":
            return ["occlusion"]
        return ["saliency", "gradcam"] if self.kind == "image" and self.cam_layer else ["saliency"]

    @functools.cached_property
    def cam_layer(self) -> str | None:
        """The convolution Grad-CAM reads (the last one no skip connection goes around), found once."""
        from builder.explain import gradcam_layers  # lazy: imports keras

        layers = gradcam_layers(self.core)
        return layers[-1] if layers else None

    def saliency(self, x: np.ndarray, method: str, target) -> tuple[str, np.ndarray]:
        """(method, map) for one input batch: image (h, w) in 0..1, table per feature, sequence per step."""
        from builder.explain import explain, normalize, per_step, to_map  # lazy: imports keras

        if method not in self.methods():
            method = self.methods()[0]
        target = None if target is None else np.array([target])
        if method == "gradcam":  # Grad-CAM reads the canvas model's convolutions, behind the preprocessing
            cam = explain(self.core, self._to_core(x), "gradcam", target=target, layer=self.cam_layer)
            return method, normalize(cam.reshape((1,) + self.shape[:2]))[0]
        if self.kind == "table":  # the path from the training data's average row: bars that add up
            attr = explain(self.core, self._to_core(x), "integrated_gradients", target=target, steps=32)
            return "integrated_gradients", attr.reshape(-1)
        attr = explain(self.model, x, method, target=target, **({"window": 1} if method == "occlusion" else {}))
        if self.kind == "image":
            return method, normalize(to_map(attr.reshape((1,) + self.shape)))[0]
        return method, per_step(attr.reshape((1,) + self.shape[:1] + (-1,)), signed=True)[0]

    # -- sound and text -------------------------------------------------------------
    def from_recording(self, raw: bytes, name: str) -> np.ndarray:
        """A recording (WAV bytes, header checked first) as this sound model's raw input: its loudest part, at the
        clip rate and length the sound datasets use."""
        if self.kind != "sound":
            raise PredictError(f"this model takes {self.prep.describe_inputs()}, not a recording")
        return audio.record_clip(raw, name)

    def from_sentence(self, sentence: str | bytes) -> np.ndarray:
        """A typed sentence (or a test example, which TensorFlow hands over as UTF-8 bytes) as this text model's
        raw input (one string)."""
        if self.kind != "text":
            raise PredictError(f"this model takes {self.prep.describe_inputs()}, not a sentence")
        if isinstance(sentence, bytes):
            sentence = sentence.decode("utf-8", errors="replace")
        return np.array([" ".join(str(sentence).split())], object)

    def word_scores(self, sentence: str, target: int | None = None):
        """Each word's share in the answer (builder.explain.sound_text.word_attribution on the deployable model)."""
        from builder.explain.sound_text import word_attribution  # lazy: imports keras

        return word_attribution(self.model, str(self.from_sentence(sentence)[0]), target)

    def sound_saliency(self, clip, target: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(spectrogram, saliency), each (bands, frames), of one clip as the model's own spectrogram layer sees it."""
        from builder.explain.sound_text import spectrogram_saliency  # lazy: imports keras

        pictures, saliency = spectrogram_saliency(self.core, self._to_core(self.check(clip)), target)
        return pictures[0], saliency[0]

    def _to_core(self, x: np.ndarray) -> np.ndarray:
        """A raw batch as the canvas model takes it."""
        import keras

        for layer in self.preprocessing_layers:
            x = layer(x)
        return keras.ops.convert_to_numpy(x)


class Generator:
    """A GAN run's generator, loaded for drawing pictures from chosen noise (see `open_generator`)."""

    def __init__(self, run_dir: Path):
        import keras

        self.run_dir = run_dir
        self.model = keras.saving.load_model(run_dir / "model.keras", compile=False, safe_mode=True)
        self.size = int(self.model.inputs[0].shape[-1])
        self.image_shape = tuple(int(d) for d in self.model.outputs[0].shape[1:])

    def noise(self, seed: int) -> np.ndarray:
        """One noise vector, the same for the same seed."""
        return np.random.default_rng(seed).normal(size=self.size).astype(np.float32)

    def draw(self, z: np.ndarray) -> np.ndarray:
        """The picture (h, w[, c]) in 0..1 the generator draws for one noise vector."""
        from builder.train.gan_run import draw  # lazy: imports keras

        return draw(self.model, np.asarray(z, np.float32).reshape(1, self.size), self.image_shape)[0]


# -- the cache --------------------------------------------------------------------------
_CACHE: OrderedDict[tuple, Trained] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def deploy_problem(run_dir) -> str | None:
    """Why a run cannot answer new inputs, in plain words; None when it can."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return f"there is no run folder {run_dir}"
    if (run_dir / "samples.npz").exists() or (run_dir / "discriminator.keras").exists():
        return "this is a GAN run: it draws new pictures from noise instead of answering an input"
    if not (run_dir / preprocessing.DEPLOY_MODEL).exists():
        status = runfolder.read_status(run_dir)
        if status.get("deploy_error"):
            return f"the run's deployable model could not be made: {status['deploy_error']}"
        if status.get("status") in ("queued", "running"):
            return "the run is still training; it can answer once it has finished"
        return ("this run has no deployable model (deploy/model.keras): it was trained before Layerlab saved one, "
                "or it did not finish. Its results stay on the Explain page; train it again to try it")
    if preprocessing.read(run_dir) is None:
        return "this run's preprocessing.json is missing or damaged, so a raw input cannot be prepared for it"
    return None


def open_run(run_dir) -> Trained:
    """The run loaded for answering; cached per deployable-model file (path and time), least recently used out."""
    run_dir = Path(run_dir).resolve()
    problem = deploy_problem(run_dir)
    if problem:
        raise PredictError(problem)
    return _cached(Trained, run_dir / preprocessing.DEPLOY_MODEL)


def open_generator(run_dir) -> Generator:
    """A GAN run's generator, cached like `open_run`."""
    run_dir = Path(run_dir).resolve()
    if not (run_dir / "model.keras").exists():
        raise PredictError("this GAN run has no saved generator (model.keras): it did not finish")
    return _cached(Generator, run_dir / "model.keras")


def _cached(kind, model_file: Path):
    key = (kind.__name__, str(model_file), model_file.stat().st_mtime_ns)
    with _CACHE_LOCK:
        loaded = _CACHE.get(key)
    if loaded is None:
        try:
            loaded = kind(model_file.parents[1] if kind is Trained else model_file.parent)
        except (OSError, ValueError, StopIteration) as e:
            raise PredictError(f"the run's model could not be loaded: {e}") from None
    with _CACHE_LOCK:
        _CACHE[key] = loaded
        _CACHE.move_to_end(key)
        while len(_CACHE) > limits.get("max_loaded_models"):  # the budget is read each time: an admin may lower it
            _CACHE.popitem(last=False)
    return loaded


def predict(run_dir, raw, method: str | None = "saliency") -> Answer:
    """The answer of run `run_dir` to one raw input (as `deploy/model.keras` takes it)."""
    return open_run(run_dir).answer(raw, method)
