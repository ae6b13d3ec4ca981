"""How long do explanations take? 16 images of 28×28 on a small CNN, on CPU.

    python bench/bench_explain.py [--repeats 7]

Prints, per method, the median time of one `explain` call for the whole batch
and its ratio to one plain `model.predict` of the same batch. Target: under 1 s
for the vanilla gradient, SmoothGrad (25 samples) and Grad-CAM. The first call
of each method (tracing, compilation) is a warm-up and is not timed.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # the target is CPU
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

SPEC = {
    "format": "layerlab/model@1",
    "name": "bench-cnn",
    "nodes": [
        {"id": "image", "type": "Input", "params": {"shape": [28, 28, 1]}},
        {"id": "conv1", "type": "Conv2D", "params": {"filters": 16, "kernel_size": [3, 3], "padding": "same", "activation": "relu"}, "inputs": ["image"]},
        {"id": "pool1", "type": "MaxPooling2D", "params": {"pool_size": [2, 2]}, "inputs": ["conv1"]},
        {"id": "conv2", "type": "Conv2D", "params": {"filters": 32, "kernel_size": [3, 3], "padding": "same", "activation": "relu"}, "inputs": ["pool1"]},
        {"id": "pool2", "type": "MaxPooling2D", "params": {"pool_size": [2, 2]}, "inputs": ["conv2"]},
        {"id": "conv3", "type": "Conv2D", "params": {"filters": 32, "kernel_size": [3, 3], "padding": "same", "activation": "relu"}, "inputs": ["pool2"]},
        {"id": "gap", "type": "GlobalAveragePooling2D", "inputs": ["conv3"]},
        {"id": "probs", "type": "Dense", "params": {"units": 3, "activation": "softmax"}, "inputs": ["gap"]},
    ],
    "outputs": ["probs"],
}
CASES = [
    ("saliency", {}, True),
    ("smoothgrad", {"samples": 25}, True),
    ("integrated_gradients", {"steps": 50}, False),
    ("gradcam", {}, True),
    ("occlusion", {"window": 4, "stride": 4}, False),
]


CPU = {}  # label → median process CPU seconds (all threads), a load-independent companion to wall time


def median_s(fn, repeats: int, label: str = "") -> float:
    fn()  # warm-up: tracing and compilation are not what a user waits for twice
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    CPU[label] = statistics.median(cpu)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--images", type=int, default=16)
    args = parser.parse_args(argv)

    import keras

    from builder.explain import explain
    from builder.explain.live import live_saliency
    from builder.graph.build import build_model
    from builder.model.spec import ModelSpec

    keras.utils.set_random_seed(0)
    model = build_model(ModelSpec.from_dict(SPEC))
    x = np.random.default_rng(0).uniform(size=(args.images, 28, 28, 1)).astype("float32")
    predict = median_s(lambda: model.predict(x, verbose=0), args.repeats, "predict")
    print(f"Keras backend {keras.backend.backend()}, CPU, {os.cpu_count()} cores visible, "
          f"{args.images} images 28×28, median of {args.repeats}")
    print("wall: median elapsed time; cpu: median process CPU time (all threads) — on a busy machine wall ≫ cpu")
    print(f"{'method':34s} {'wall':>9s} {'cpu':>9s} {'× predict':>10s}  target")
    print(f"{'model.predict (baseline)':34s} {predict * 1000:7.1f}ms {CPU['predict'] * 1000:7.1f}ms {1.0:10.1f}")
    call = median_s(lambda: keras.ops.convert_to_numpy(model(x, training=False)), args.repeats, "call")
    print(f"{'model(x), one direct call':34s} {call * 1000:7.1f}ms {CPU['call'] * 1000:7.1f}ms {call / predict:10.1f}")
    for method, options, targeted in CASES:
        label = method + "".join(f" {k}={v}" for k, v in options.items())
        t = median_s(lambda m=method, o=options: explain(model, x, m, **o), args.repeats, label)
        verdict = ("ok" if t < 1.0 else "SLOW") + " (< 1 s)" if targeted else ""
        print(f"{label:34s} {t * 1000:7.1f}ms {CPU[label] * 1000:7.1f}ms {t / predict:10.1f}  {verdict}")
    label = "live saliency, 8 probes (per epoch)"
    t = median_s(lambda: live_saliency(model, x[:8], np.arange(8) % 3), args.repeats, label)
    print(f"{label:34s} {t * 1000:7.1f}ms {CPU[label] * 1000:7.1f}ms {t / predict:10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
