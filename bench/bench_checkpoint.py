"""What a run's per-epoch checkpoint costs: its time as a share of the epoch's, for the seed MLP and a small CNN.

Trains each model through `builder.train.runner.run` (checkpoint after every
epoch, as in the app) on the `shapes` images (28×28), timing what the training
thread spends in CheckpointSaver.on_epoch_end (copying the weights and optimizer
state, waiting for the previous file to be written, starting this one's write)
against the epoch's own time_s, which includes the overlapped writing. Prints
the median of the epochs after the first (the first traces the graph) and the
file size.

    python bench/bench_checkpoint.py            # 5 epochs, 4000 images, batch 32
    python bench/bench_checkpoint.py --quick    # 3 epochs, 2000 images
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from bench_train import cnn_spec, experiment, mlp_spec  # noqa: E402 - after the path set-up


def measure(spec: dict, epochs: int, n: int, batch: int) -> tuple[float, float, float, int]:
    """(median checkpoint seconds, median epoch seconds, share %, checkpoint bytes)."""
    from builder.store import runfolder
    from builder.train import callbacks, checkpoint
    from builder.train.runner import run

    costs = []
    save_epoch = callbacks.CheckpointSaver.on_epoch_end

    def timed(self, epoch, logs=None):
        t = time.perf_counter()
        save_epoch(self, epoch, logs)
        costs.append(time.perf_counter() - t)

    callbacks.CheckpointSaver.on_epoch_end = timed
    try:
        with tempfile.TemporaryDirectory(prefix="bench-checkpoint-") as tmp:
            if run(experiment(spec, batch, epochs, n), tmp) != "completed":
                raise SystemExit(f"the run did not complete: {runfolder.read_status(tmp).get('error')}")
            epoch_s = [r["time_s"] for r in runfolder.read_jsonl(Path(tmp) / runfolder.METRICS)][1:]
            size = checkpoint.path(tmp).stat().st_size
    finally:
        callbacks.CheckpointSaver.on_epoch_end = save_epoch
    cost, epoch = statistics.median(costs[1:]), statistics.median(epoch_s)
    return cost, epoch, 100 * cost / epoch, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    epochs, n = (3, 2000) if args.quick else (5, 4000)
    print(f"{'model':10} {'checkpoint':>11} {'epoch':>9} {'share':>7} {'file':>9}")
    for name, spec in (("seed MLP", mlp_spec(3)), ("small CNN", cnn_spec(3))):  # shapes: 3 classes
        cost, epoch, share, size = measure(spec, epochs, n, 32)
        print(f"{name:10} {cost * 1000:9.1f} ms {epoch:7.2f} s {share:6.1f} % {size / 1024:6.0f} kB", flush=True)


if __name__ == "__main__":
    main()
