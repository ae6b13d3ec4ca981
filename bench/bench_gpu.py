"""The GPU fast path against plain `model.fit`: samples per second and their ratio, per backend.

For each backend (a fresh process each: Keras fixes the backend at import) it
trains the seed MLP (784-128-10) and the small CNN of bench/bench_train.py on
the same data, batch 32 and 256, alternating plain `model.fit` on NumPy arrays
with default settings and Layerlab's trainer (`builder.train.runner.run`, run
folder and callbacks included; data on the device, many steps per call), and,
when the GPU supports it, Layerlab with mixed precision. Samples/s count the
wall clock of epochs 2..E (validation included; epoch 1 compiles).

    python bench/bench_gpu.py                          # jax and torch, 4 epochs, 2 repeats, 20000 images
    python bench/bench_gpu.py --backends jax --quick   # a smaller dry run
    python bench/bench_gpu.py --force                  # the fast path even without a GPU (dry run on CPU)
    python bench/bench_gpu.py --no-fp16                # without the mixed-precision column
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from bench_train import cnn_spec, experiment, layerlab, mlp_spec, plain_keras, samples_per_s  # noqa: E402

MODELS = (("seed MLP", mlp_spec), ("small CNN", cnn_spec))


def measure(args) -> dict:
    """This process's backend: every model × batch; returns the rows and the device line."""
    from builder.experiments.experiment import coerce
    from builder.train import devices
    from builder.train.data import prepare

    device = devices.describe()
    mixed = devices.supports_mixed_precision() and not args.no_fp16
    probe = prepare(coerce(experiment(mlp_spec(2), 32, 1, args.n)))
    classes, n_train = int(probe.y_train.max()) + 1, len(probe.x_train)
    rows = []
    for name, make in MODELS:
        for batch in args.batches:
            exp_dict = experiment(make(classes), batch, args.epochs, args.n)
            mixed_dict = {**exp_dict, "training": {**exp_dict["training"], "mixed_precision": True}}
            data = prepare(coerce(exp_dict))
            plain, ours, ours16 = [], [], []
            for _ in range(args.repeats):  # alternate, so drifting load hits all alike
                plain.append(samples_per_s(plain_keras(exp_dict, data), n_train))
                ours.append(samples_per_s(layerlab(exp_dict), n_train))
                if mixed:
                    ours16.append(samples_per_s(layerlab(mixed_dict), n_train))
            row = {"backend": device.backend, "model": name, "batch": batch,
                   "plain": statistics.median(plain), "layerlab": statistics.median(ours),
                   "layerlab_fp16": statistics.median(ours16) if ours16 else None}
            rows.append(row)
            print(line(row), file=sys.stderr, flush=True)
    return {"device": device.line, "n_train": n_train, "rows": rows}


def line(row: dict) -> str:
    fp16 = f"{row['layerlab_fp16']:>12.0f} {row['layerlab_fp16'] / row['plain']:>6.1f}×" if row["layerlab_fp16"] else \
        f"{'—':>12} {'':>7}"
    return (f"{row['backend']:<6} {row['model']:<10} {row['batch']:>5} {row['plain']:>13.0f} "
            f"{row['layerlab']:>11.0f} {row['layerlab'] / row['plain']:>6.1f}× {fp16}")


HEADER = (f"{'backend':<6} {'model':<10} {'batch':>5} {'plain fit/s':>13} {'layerlab/s':>11} {'ratio':>7} "
          f"{'fp16 mixed/s':>12} {'ratio':>7}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="jax,torch")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--n", type=int, default=20000, help="images in the dataset (80%% train)")
    ap.add_argument("--batches", default="32,256")
    ap.add_argument("--quick", action="store_true", help="1 repeat, 3 epochs, 4000 images")
    ap.add_argument("--no-fp16", action="store_true", help="skip the mixed-precision runs")
    ap.add_argument("--force", action="store_true", help="use the fast path without a GPU (a dry run)")
    ap.add_argument("--json", help="also write the results as JSON to this file")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.batches = [int(b) for b in str(args.batches).split(",")]
    if args.quick:
        args.repeats, args.epochs, args.n = 1, 3, 4000
    if args.child:
        print(json.dumps(measure(args)))
        return 0
    results = []
    for backend in args.backends.split(","):
        env = dict(os.environ, KERAS_BACKEND=backend, **({"LAYERLAB_FAST_PATH": "on"} if args.force else {}))
        child = [sys.executable, __file__, "--child", "--epochs", str(args.epochs), "--repeats", str(args.repeats),
                 "--n", str(args.n), "--batches", ",".join(map(str, args.batches))] + (["--no-fp16"] if args.no_fp16 else [])
        print(f"— {backend} —", flush=True)
        proc = subprocess.run(child, env=env, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        if proc.returncode != 0:
            print(f"{backend}: the measurement failed (exit {proc.returncode}); see the messages above")
            continue
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print()
    for result in results:
        print(f"{result['rows'][0]['backend']}: {result['device']}; {result['n_train']} training images, "
              f"{args.epochs} epochs, {args.repeats} repeats")
    print(HEADER)
    print("-" * len(HEADER))
    for result in results:
        for row in result["rows"]:
            print(line(row))
    print("targets on a GPU: seed MLP batch 32 ≥ 10×, small CNN ≥ 3× plain fit")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0 if results else 1


if __name__ == "__main__":
    raise SystemExit(main())
