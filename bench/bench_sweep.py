"""A 12-trial sweep on digits, with and without pruning: wall time, best score, the sweep's own overhead.

Both sweeps use the same space and seed and the same job manager (two warm workers, started before the
clock runs). The overhead is the time the sweep's own loop spends asking Optuna, feeding it epochs and
reading run folders (builder.sweep.study: `overhead_s` in sweep.json), as a share of the sweep's wall time;
`submit_pct` is the job manager's share for checking and queueing the trials (what any run costs).

    python bench/bench_sweep.py                     # 12 trials of 20 epochs
    python bench/bench_sweep.py --trials 6 --epochs 8
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def experiment(trials: int, epochs: int, pruning: bool) -> dict:
    return {
        "format": "layerlab/experiment@1",
        "model": {"format": "layerlab/model@1", "name": "digits-mlp", "nodes": [
            {"id": "image", "type": "Input", "params": {"shape": [8, 8]}},
            {"id": "flat", "type": "Flatten", "inputs": ["image"]},
            {"id": "hidden", "type": "Dense", "params": {"units": 64, "activation": "relu"}, "inputs": ["flat"]},
            {"id": "drop", "type": "Dropout", "params": {"rate": 0.1}, "inputs": ["hidden"]},
            {"id": "probs", "type": "Dense", "params": {"units": 10, "activation": "softmax"}, "inputs": ["drop"]},
        ]},
        "data": {"dataset": "digits", "validation_split": 0.2, "test_split": 0.2},
        "augmentation": [],
        "training": {"epochs": epochs, "seed": 0, "optimizer": "sgd"},
        "sweep": {"trials": trials, "parallel": 2, "pruning": pruning},  # the default space: lr, batch, units, dropout
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    from builder.jobs.local import JobManager
    from builder.sweep.study import Sweep

    with tempfile.TemporaryDirectory(prefix="layerlab-bench-sweep-") as tmp:
        jobs = JobManager(Path(tmp) / "runs", max_concurrent=2)
        try:
            assert jobs.wait_ready(timeout=300), "the workers did not start"
            for pruning in (False, True):
                sweep = Sweep.create(Path(tmp) / f"sweep-{'pruned' if pruning else 'full'}",
                                     experiment(args.trials, args.epochs, pruning), jobs)
                summary = sweep.run()
                wall, overhead = sweep.manifest["wall_s"], sweep.manifest["overhead_s"]
                epochs = sum(len(v) for v in sweep.curves().values())
                print(json.dumps({"pruning": pruning, "trials": summary["trials"], "completed": summary["completed"],
                                  "pruned": summary["pruned"], "failed": summary["failed"],
                                  "epochs_trained": epochs, "wall_s": round(wall, 1),
                                  "best_val_accuracy": round(summary["best"]["value"], 4) if summary["best"] else None,
                                  "overhead_s": round(overhead, 2), "overhead_pct": round(100 * overhead / wall, 2),
                                  "submit_pct": round(100 * sweep.manifest["submit_s"] / wall, 2)}),
                      flush=True)
        finally:
            jobs.shutdown()


if __name__ == "__main__":
    main()
