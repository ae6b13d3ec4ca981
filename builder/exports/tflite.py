"""TensorFlow Lite exports of the deployable model (raw inputs), in three sizes, and what each costs.

    export(run_dir) → {"float": path, "dynamic": path, "int8": path}, and deploy/tflite.json:
    one row per file (size, the test metric measured with the TFLite interpreter) beside the Keras model's.

float: 32-bit weights, the Keras model's answers. dynamic: weights stored as
8-bit integers (about 4× smaller), activations float. int8: weights and
activations 8-bit, calibrated on a sample of the training data; inputs and
outputs stay float, so every file takes the same raw inputs.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from builder.experiments.experiment import coerce
from builder.model.spec import atomic_write_bytes
from builder.store import runfolder
from builder.train import preprocessing
from builder.train.data import prepare, raw_parts
from builder.train.evaluate import evaluate_arrays

FILES = {"float": "model.tflite", "dynamic": "model-dynamic.tflite", "int8": "model-int8.tflite"}
TABLE = "tflite.json"
CALIBRATION = 200  # training examples that set the int8 value ranges


TEXT_REFUSAL = ("TensorFlow Lite files are not made for text models: TextVectorization looks words up with "
                "TensorFlow's own string operations, which TensorFlow Lite's built-in operations do not include; "
                "use deploy/model.keras, which takes raw strings")


class ExportError(ValueError):
    """An export that cannot be made here, in plain words."""


def convert(model, variant: str, representative=None) -> bytes:
    """The model as TFLite bytes; `representative` (raw training inputs) calibrates int8."""
    import keras
    import tensorflow as tf

    # one example per call, as on a device; a fixed batch also lets recurrent layers become plain TFLite ops
    options = {"input_signature": [keras.InputSpec(shape=(1, *model.input_shape[1:]), dtype=model.input.dtype)]}
    if variant != "float":
        options["optimizations"] = [tf.lite.Optimize.DEFAULT]
    if variant == "int8":
        sample = np.asarray(representative)
        options["representative_dataset"] = lambda: ([sample[i:i + 1]] for i in range(len(sample)))
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "model.tflite"
        model.export(str(target), format="litert", verbose=False, **options)  # converter settings, set by Keras
        return target.read_bytes()


def predict(content: bytes, x: np.ndarray) -> np.ndarray:
    """Run a TFLite model with the TFLite interpreter, one example at a time (its fixed batch of 1)."""
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_content=content)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    x = np.asarray(x, inp["dtype"])
    rows = []
    for i in range(len(x)):
        interpreter.set_tensor(inp["index"], x[i:i + 1])
        interpreter.invoke()
        rows.append(np.array(interpreter.get_tensor(out["index"])[0]))
    return np.stack(rows)


def export(run_dir) -> dict:
    """deploy/model*.tflite from deploy/model.keras, and deploy/tflite.json (the size/accuracy table).

    The converter runs in a child process: on some models (int8 recurrent layers) it crashes the
    process outright, and that must never take the web server with it. Returns {variant: path} for
    the files that were made; a table row with an `error` says why one was not.
    """
    import keras

    run_dir = Path(run_dir)
    if keras.backend.backend() != "tensorflow":
        raise ExportError(f"TensorFlow Lite export needs the TensorFlow backend; this is {keras.backend.backend()}. "
                          "Start Layerlab with KERAS_BACKEND=tensorflow to export it.")
    prep = preprocessing.read(run_dir)
    if prep is None or not (run_dir / preprocessing.DEPLOY_MODEL).exists():
        raise ExportError("this run has no deployable model (deploy/model.keras); train it again with this "
                          "version of Layerlab to get one")
    if prep.raw_dtype == "string":
        raise ExportError(TEXT_REFUSAL)
    table_path = run_dir / preprocessing.DEPLOY / TABLE
    table_path.unlink(missing_ok=True)
    for name in FILES.values():
        (run_dir / preprocessing.DEPLOY / name).unlink(missing_ok=True)
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
           "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3"}  # the GPU stays with the training workers
    proc = subprocess.run([sys.executable, "-m", "builder.exports.tflite", str(run_dir)], env=env,
                          capture_output=True, text=True)
    rows = table(run_dir)
    done = {r["variant"] for r in rows}
    for variant in FILES:
        if variant not in done:
            rows.append({"variant": variant, "file": None, "size_bytes": None, "metric": None, "value": None,
                         "error": _failure(proc, variant)})
            break  # the child stops at the first failure
    runfolder.write_json(table_path, {"rows": rows})
    return {r["variant"]: run_dir / r["file"] for r in rows if r["variant"] in FILES and r.get("file")}


def _failure(proc, variant: str) -> str:
    lines = [line for line in (proc.stderr or "").splitlines() if line.startswith("layerlab-export-error: ")]
    if lines:
        return lines[-1].removeprefix("layerlab-export-error: ")
    return (f"TensorFlow Lite's converter crashed making the {variant} version of this model (it does with "
            f"recurrent layers such as LSTM or GRU; exit code {proc.returncode})")


def _convert_all(run_dir: Path) -> None:
    """In the child process: convert, measure and record each variant, the table written after each one."""
    import keras

    prep = preprocessing.read(run_dir)
    exp = coerce(run_dir / runfolder.EXPERIMENT)
    source = run_dir / preprocessing.DEPLOY_MODEL
    model = keras.saving.load_model(source, compile=False)
    parts = raw_parts(exp, prep)
    x_train, (x_test, y_test) = parts["train"][0], parts["test"]
    sample = x_train[np.random.default_rng(0).permutation(len(x_train))[:CALIBRATION]]
    task = exp.hp["task"]
    if task == "reconstruction":  # an autoencoder rebuilds its input as the canvas model saw it (scaled)
        y_test = prepare(exp).x_test.reshape(len(x_test), -1)
    rows = [_row("keras", preprocessing.DEPLOY_MODEL, source.stat().st_size, task,
                 y_test, model.predict(x_test, batch_size=256, verbose=0) if len(x_test) else None)]
    table_path = run_dir / preprocessing.DEPLOY / TABLE
    for variant, name in FILES.items():
        try:
            content = convert(model, variant, sample)
        except Exception as e:  # noqa: BLE001 - a converter refusal becomes a sentence for the parent
            first = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
            sys.exit(f"layerlab-export-error: this model cannot be converted to TensorFlow Lite ({variant}): "
                     f"{type(e).__name__}: {first}")
        atomic_write_bytes(run_dir / preprocessing.DEPLOY / name, content)
        rows.append(_row(variant, f"{preprocessing.DEPLOY}/{name}", len(content), task, y_test,
                         predict(content, x_test) if len(x_test) else None))
        runfolder.write_json(table_path, {"rows": rows})


def _row(variant: str, file: str, size: int, task: str, y_test, y_pred) -> dict:
    """One line of the table: the file, its size and its test metric (None without a test split)."""
    metric = {"classification": "accuracy", "regression": "mae"}.get(task, "reconstruction_error")
    value = None
    if y_pred is not None:
        y_pred = y_pred.reshape(len(y_pred), -1) if task == "reconstruction" else y_pred
        value = evaluate_arrays(task, y_test, y_pred)[metric]
    return {"variant": variant, "file": file, "size_bytes": int(size), "metric": metric, "value": value}


def record_refusal(run_dir, reason: str) -> None:
    """deploy/tflite.json with one row saying why no TFLite file could be made here."""
    folder = Path(run_dir) / preprocessing.DEPLOY
    folder.mkdir(exist_ok=True)
    runfolder.write_json(folder / TABLE, {"rows": [{"variant": "float", "file": None, "size_bytes": None,
                                                    "metric": None, "value": None, "error": reason}]})


def table(run_dir) -> list[dict]:
    """The rows of deploy/tflite.json, or [] before the TFLite export."""
    data = runfolder.read_json(Path(run_dir) / preprocessing.DEPLOY / TABLE, {})
    return data.get("rows", []) if isinstance(data, dict) else []


if __name__ == "__main__":  # python -m builder.exports.tflite RUN_DIR: the child process of `export`
    _convert_all(Path(sys.argv[1]))
