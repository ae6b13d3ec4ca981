"""Layerlab's trainer against plain `model.fit`: samples per second and their ratio.

Trains the same models on the same data (the seed MLP and a small CNN on 28×28
inputs, batch 32 and 256) once with plain Keras `model.fit` on NumPy arrays and
once with `builder.train.runner.run` (run folder, metrics, progress, stop checks
included), alternating, and prints the median samples/s of the epochs after the
first (the first one traces the graph) and the ratio Layerlab / plain Keras.

    python bench/bench_train.py                 # default: 4 epochs, 3 repeats, 4000 images
    python bench/bench_train.py --quick         # 1 repeat, smaller data
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CLASSES_NODE = {"id": "probs", "type": "Dense", "params": {"units": "CLASSES", "activation": "softmax"}}


def mlp_spec(classes: int) -> dict:
    """The seed MLP: 784 inputs → 128 relu → classes."""
    return {"format": "layerlab/model@1", "name": "seed-mlp", "nodes": [
        {"id": "image", "type": "Input", "params": {"shape": [28, 28]}},
        {"id": "flat", "type": "Flatten", "inputs": ["image"]},
        {"id": "hidden", "type": "Dense", "params": {"units": 128, "activation": "relu"}, "inputs": ["flat"]},
        {"id": "probs", "type": "Dense", "params": {"units": classes, "activation": "softmax"}, "inputs": ["hidden"]},
    ]}


def cnn_spec(classes: int) -> dict:
    return {"format": "layerlab/model@1", "name": "small-cnn", "nodes": [
        {"id": "image", "type": "Input", "params": {"shape": [28, 28, 1]}},
        {"id": "c1", "type": "Conv2D", "params": {"filters": 16, "kernel_size": [3, 3], "activation": "relu"}, "inputs": ["image"]},
        {"id": "p1", "type": "MaxPooling2D", "params": {"pool_size": [2, 2]}, "inputs": ["c1"]},
        {"id": "c2", "type": "Conv2D", "params": {"filters": 32, "kernel_size": [3, 3], "activation": "relu"}, "inputs": ["p1"]},
        {"id": "p2", "type": "MaxPooling2D", "params": {"pool_size": [2, 2]}, "inputs": ["c2"]},
        {"id": "flat", "type": "Flatten", "inputs": ["p2"]},
        {"id": "probs", "type": "Dense", "params": {"units": classes, "activation": "softmax"}, "inputs": ["flat"]},
    ]}


def experiment(spec: dict, batch: int, epochs: int, n: int, spe: int = 0) -> dict:
    training = {"epochs": epochs, "batch_size": batch, "seed": 0}
    if spe:
        training["steps_per_execution"] = spe
    return {
        "format": "layerlab/experiment@1", "model": spec,
        "data": {"dataset": "shapes", "validation_split": 0.1, "test_split": 0.1, "options": {"n_samples": n}},
        "augmentation": [],
        "training": training,
    }


def plain_keras(exp_dict: dict, data) -> list[float]:
    """Hand-written Keras: build, compile, fit on NumPy arrays. Returns per-epoch seconds."""
    import keras

    from builder.graph.build import build_model
    from builder.model.spec import ModelSpec

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = build_model(ModelSpec.from_dict(exp_dict["model"]))
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    times = []

    class EpochTimer(keras.callbacks.Callback):  # epoch hooks only: Keras' batch loop is untouched
        def on_train_begin(self, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t0)

    t = exp_dict["training"]
    model.fit(data.x_train, data.y_train, batch_size=t["batch_size"], epochs=t["epochs"],
              validation_data=(data.x_val, data.y_val), callbacks=[EpochTimer()], verbose=0, shuffle=True)
    return times


def layerlab(exp_dict: dict) -> list[float]:
    from builder.store import runfolder
    from builder.train.runner import run

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        state = run(exp_dict, tmp)
        rows = runfolder.read_jsonl(Path(tmp) / "metrics.jsonl")
        if state != "completed":
            raise SystemExit(f"the Layerlab run did not complete: {runfolder.read_status(tmp).get('error')}")
    return [r["elapsed_s"] for r in rows]


def samples_per_s(ends: list[float], n_train: int) -> float:
    """From the wall-clock end of each epoch: epochs 2..E, everything between them included
    (validation, callbacks, live views). The first epoch traces the graph, so it is left out."""
    if len(ends) < 2:
        return n_train / ends[0]
    return n_train * (len(ends) - 1) / (ends[-1] - ends[0])


def first_point(repeats: int = 3) -> None:
    """Seconds from JobManager.submit to the first live point (progress.json) and the first epoch line,
    with a warm worker, for a small MLP on digits (the app's path after pressing Train)."""
    from builder.experiments.experiment import validate
    from builder.jobs.local import JobManager

    exp = {
        "format": "layerlab/experiment@1",
        "model": {"format": "layerlab/model@1", "name": "small-mlp", "nodes": [
            {"id": "image", "type": "Input", "params": {"shape": [8, 8, 1]}},
            {"id": "flat", "type": "Flatten", "inputs": ["image"]},
            {"id": "hidden", "type": "Dense", "params": {"units": 32, "activation": "relu"}, "inputs": ["flat"]},
            {"id": "probs", "type": "Dense", "params": {"units": 10, "activation": "softmax"}, "inputs": ["hidden"]},
        ]},
        "data": {"dataset": "digits"}, "augmentation": [], "training": {"epochs": 3},
    }
    validate(exp)  # the app has validated (and imported Keras) long before Train is pressed
    with tempfile.TemporaryDirectory(prefix="bench-jobs-") as root:
        jobs = JobManager(root)
        t = time.perf_counter()
        jobs.wait_ready(300)
        print(f"warm worker ready after {time.perf_counter() - t:.1f} s (once per server start)")
        for i in range(repeats):
            t = time.perf_counter()
            run_id = jobs.submit(exp)
            folder = Path(root) / run_id
            while not (folder / "progress.json").exists():
                time.sleep(0.005)
            live = time.perf_counter() - t
            while not (folder / "metrics.jsonl").exists():
                time.sleep(0.005)
            epoch = time.perf_counter() - t
            jobs.wait(run_id)
            print(f"run {i + 1}: first live point {live:.2f} s, first epoch line {epoch:.2f} s after submit")
        jobs.shutdown()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--n", type=int, default=4000, help="images in the dataset (80%% train)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--spe", type=int, default=0, help="force Layerlab's steps_per_execution (0: automatic)")
    ap.add_argument("--json", help="also write the table as JSON to this file")
    ap.add_argument("--first-point", action="store_true",
                    help="instead: seconds from submit to the first live point with a warm worker")
    args = ap.parse_args(argv)
    if args.first_point:
        first_point()
        return 0
    if args.quick:
        args.repeats, args.n, args.epochs = 1, 2000, 3

    import keras

    from builder.experiments.experiment import coerce
    from builder.train.data import prepare
    from builder.train.devices import describe

    print(f"Keras {keras.__version__}, backend {keras.backend.backend()}; {describe().line}")
    probe = prepare(coerce(experiment(mlp_spec(2), 32, 1, args.n)))
    classes = int(probe.y_train.max()) + 1
    n_train = len(probe.x_train)
    print(f"data: 'shapes' 28×28×1, {n_train} train / {len(probe.x_val)} validation images, {classes} classes; "
          f"{args.epochs} epochs, {args.repeats} repeats, wall clock of epochs 2..{args.epochs}")
    rows = []
    header = f"{'model':<10} {'batch':>5} {'plain keras/s':>14} {'layerlab/s':>11} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for name, make in (("seed MLP", mlp_spec), ("small CNN", cnn_spec)):
        for batch in (32, 256):
            exp_dict = experiment(make(classes), batch, args.epochs, args.n, args.spe)
            data = prepare(coerce(exp_dict))
            plain, ours = [], []
            for _ in range(args.repeats):  # alternate, so drifting machine load hits both
                plain.append(samples_per_s(plain_keras(exp_dict, data), n_train))
                ours.append(samples_per_s(layerlab(exp_dict), n_train))
            p, o = statistics.median(plain), statistics.median(ours)
            rows.append({"model": name, "batch": batch, "plain_samples_per_s": p, "layerlab_samples_per_s": o,
                         "ratio": o / p})
            print(f"{name:<10} {batch:>5} {p:>14.0f} {o:>11.0f} {o / p:>6.2f}", flush=True)
    print(f"median ratio: {statistics.median(r['ratio'] for r in rows):.2f}   (target on CPU: ≥ 0.95)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
