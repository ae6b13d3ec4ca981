"""`python -m builder explain RUN_DIR --method M --samples N --out DIR`.

Loads the run's model (safe mode) and its test split (the experiment's
"data" section, prepared exactly as the trainer did), explains the first N
test items and writes, per item, the raw attributions (NPY) and — for images —
the map and the overlay (PNG); tables and sequences get their per-feature /
per-step values as CSV. Problems are one plain line on stderr and exit 1.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from builder.experiments.experiment import coerce
from builder.store import runfolder
from builder.train.data import prepare

PNG_SIZE = 224  # small inputs (28×28) are scaled up, nearest-neighbour, so the pixels stay visible


class CliProblem(Exception):
    """A reason to stop, already in plain words."""


def cli_explain(run_dir, method: str = "saliency", samples: int = 8, out_dir=None, **options) -> int:
    try:
        written = _run(Path(run_dir), method, int(samples), out_dir, options)
    except CliProblem as e:
        print(f"explain: {e}", file=sys.stderr)
        return 1
    except (ValueError, OSError) as e:  # ExplainError, DatasetError, unreadable files…
        print(f"explain: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - a user sees one line, never a traceback
        print(f"explain: unexpected {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(f"wrote {written['count']} {written['method']} explanations to {written['out']}")
    return 0


def _run(run_dir: Path, method: str, samples: int, out_dir, options: dict) -> dict:
    from builder.explain.methods import method_name  # lazy: imports keras

    name = method_name(method)
    if samples < 1:
        raise CliProblem("--samples must be at least 1")
    if not run_dir.is_dir():
        raise CliProblem(f"run folder {run_dir} does not exist")
    model_path = run_dir / "model.keras"
    if not model_path.exists():
        raise CliProblem(f"{model_path} not found — the run has not finished training (or failed); train it first")
    if (run_dir / runfolder.GAN_SAMPLES).exists():
        raise CliProblem(f"this is a GAN run: its generator draws images, there is no class to explain; its results "
                         f"are {runfolder.GAN_SAMPLES} (samples and an interpolation) and the live/ sample grids")
    model = _load_model(model_path)
    x, y, image_shape, source = _test_items(run_dir, samples)
    model_shape = tuple(model.inputs[0].shape[1:])
    if source and x[0].size != np.prod(model_shape):  # probes of big pictures are kept at the live view's size
        raise CliProblem(f"{source.removeprefix('note: ').split(';')[0]}; the saved live probes are pictures shrunk "
                         f"for the live view {list(x.shape[1:])}, not the model's input {list(model_shape)}")
    out = Path(out_dir) if out_dir else run_dir / "explain" / name
    out.mkdir(parents=True, exist_ok=True)
    if source:
        print(source, file=sys.stderr)
    return _write(model, x, y, image_shape, name, out, options)


def _load_model(path: Path):
    import keras

    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as e:  # noqa: BLE001
        raise CliProblem(f"cannot load {path}: {type(e).__name__}: {e}") from None


def _test_items(run_dir: Path, samples: int):
    """(x, y, image shape or None, note) — the run's test split, else the saved live probes."""
    reason = None
    try:
        exp = coerce(run_dir / "experiment.json")
        data = prepare(exp)
        x, y = (data.x_test, data.y_test) if len(data.x_test) else (data.x_val, data.y_val)
        if len(x):
            shape = tuple(getattr(data.info, "input_shape", x.shape[1:]))
            return x[:samples], y[:samples], _image_shape(shape), None
        reason = "the run's data has no test or validation items"
    except Exception as e:  # noqa: BLE001 - fall back to the probes below, saying why
        reason = f"cannot load the run's dataset ({type(e).__name__}: {e})"
    probes = run_dir / "live" / "probes.npz"
    if not probes.exists():
        raise CliProblem(f"{reason}; and there is no live/probes.npz to fall back on")
    with np.load(probes) as f:
        x, y = f["x"][:samples], f["y"][:samples]
    return x, y, _image_shape(x.shape[1:]), f"note: {reason}; explaining the {len(x)} probe inputs saved in live/probes.npz"


def _image_shape(shape) -> tuple | None:
    """The (h, w[, c]) image shape, or None for tables and sequences."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 3 and shape[-1] in (1, 3, 4):
        return shape
    if len(shape) == 2 and min(shape) >= 8:  # a grayscale image without channel axis
        return shape
    return None


def _write(model, x, y, image_shape, name, out: Path, options) -> dict:
    from PIL import Image

    from builder.explain.logits import Scores  # lazy: imports keras
    from builder.explain.methods import explain, normalize, per_feature, per_step, to_map  # lazy: imports keras
    from builder.explain.overlay import colorize, overlay  # lazy: imports keras

    model_shape = tuple(model.inputs[0].shape[1:])
    x = np.asarray(x, dtype="float32")
    if tuple(x.shape[1:]) != model_shape and x[0].size == int(np.prod(model_shape)):
        x = x.reshape((len(x),) + model_shape)
    if name == "occlusion" and image_shape is not None and x.ndim == 3 and "axes" not in options:
        options = dict(options, axes=(1, 2))  # (n, h, w) grayscale: slide over both image axes
    logits = Scores(model).predict(x)
    attr = explain(model, x, name, **options)
    np.save(out / f"attributions_{name}.npy", attr)
    index = []
    if image_shape is not None:
        h, w = image_shape[:2]
        maps = normalize(to_map(attr.reshape(len(x), h, w, -1)))  # any layout → (n, h, w, channels) → (n, h, w)
        np.save(out / f"maps_{name}.npy", maps)
        images = x.reshape((len(x),) + image_shape)
        for i in range(len(x)):
            stem = f"{i:03d}_{name}"
            _png(colorize(maps[i]), out / f"{stem}_map.png", Image)
            _png(overlay(images[i], maps[i], alpha=0.5), out / f"{stem}_overlay.png", Image)
            np.save(out / f"{stem}.npy", maps[i])
            index.append(_entry(i, y, logits, [f"{stem}_map.png", f"{stem}_overlay.png", f"{stem}.npy"]))
    else:
        values = per_feature(attr) if attr.ndim == 2 else per_step(attr, signed=True)
        np.savetxt(out / f"values_{name}.csv", values, delimiter=",", fmt="%.6g")
        index = [_entry(i, y, logits, [f"values_{name}.csv"]) for i in range(len(x))]
    (out / "index.json").write_text(json.dumps({"method": name, "items": index}, indent=2))
    return {"count": len(x), "method": name, "out": str(out)}


def _entry(i, y, logits, files) -> dict:
    true = y[i].item() if hasattr(y[i], "item") and np.ndim(y[i]) == 0 else None
    return {"index": i, "true": true, "predicted": int(np.argmax(logits[i])), "files": files}


def _png(rgb: np.ndarray, path: Path, Image) -> None:
    h, w = rgb.shape[:2]
    scale = max(1, PNG_SIZE // max(h, w))
    Image.fromarray(np.asarray(rgb, dtype="uint8")).resize((w * scale, h * scale), Image.NEAREST).save(path)
