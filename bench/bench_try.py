"""How long does the Try page take to answer? Server time of one warm answer (input changed → prediction and
saliency), on CPU, for the seed MLP on digits and the small CNN on shapes.

    python bench/bench_try.py [--repeats 30] [--epochs 3]

Trains both templates briefly into a temp folder (the answer's time does not depend on how well they learned),
opens each run once (`builder.predict.open_run`: the deployable model loaded and cached), then times, per
input, what the page asks the engine for: a drawn picture framed like the data, the answer, and the saliency
(gradient; Grad-CAM for the CNN). Prints the median and the 90th percentile. Target: ≤ 300 ms.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # the target is CPU
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

TARGET_MS = 300
CASES = (("seed MLP on digits", "seed-mlp"), ("small CNN on shapes", "small-cnn"))


def drawings(trained, n: int) -> list[np.ndarray]:
    """Test examples as a student would draw them: 256 px, black ink on white paper."""
    x = trained.examples()["test"][0][:n]
    side = 256 // x.shape[1]
    return [np.kron(255 - xi[..., 0] * 255 / trained.prep.raw_max, np.ones((side, side))).astype("uint8") for xi in x]


def time_answers(trained, pictures, method: str) -> list[float]:
    trained.answer(trained.from_picture(pictures[0]), method)  # warm-up: tracing, first calls
    times = []
    for picture in pictures:
        start = time.perf_counter()
        trained.answer(trained.from_picture(picture), method)
        times.append(1000 * (time.perf_counter() - start))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    from builder import predict, templates
    from builder.train.runner import run

    print(f"{'model':22} {'saliency':9} {'median ms':>10} {'p90 ms':>8}  (target ≤ {TARGET_MS} ms, CPU)")
    with tempfile.TemporaryDirectory() as tmp:
        for title, template in CASES:
            exp = templates.experiment(template)
            exp["training"]["epochs"] = args.epochs
            folder = Path(tmp) / template
            run(exp, folder)
            trained = predict.open_run(folder)
            pictures = drawings(trained, args.repeats)
            for method in trained.methods():
                times = time_answers(trained, pictures, method)
                p90 = float(np.percentile(times, 90))
                print(f"{title:22} {method:9} {statistics.median(times):10.1f} {p90:8.1f}")


if __name__ == "__main__":
    main()
