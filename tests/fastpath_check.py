"""Train one small MLP with and without the device-data fast path under KERAS_BACKEND.

Run by tests/builder/train/test_fastpath.py in a fresh process per backend (the fast
path is JAX/PyTorch only; on this CPU machine LAYERLAB_FAST_PATH=on forces it).
Prints one JSON line: each mode's status, per-epoch losses and steps per call.
"""
import json
import os
import sys
import tempfile
from pathlib import Path

EXPERIMENT = {
    "format": "layerlab/experiment@1",
    "model": {"format": "layerlab/model@1", "name": "mlp", "nodes": [
        {"id": "image", "type": "Input", "params": {"shape": [8, 8, 1]}},
        {"id": "flat", "type": "Flatten", "inputs": ["image"]},
        {"id": "hidden", "type": "Dense", "params": {"units": 32, "activation": "relu"}, "inputs": ["flat"]},
        {"id": "probs", "type": "Dense", "params": {"units": 10, "activation": "softmax"}, "inputs": ["hidden"]},
    ]},
    "data": {"dataset": "digits", "validation_split": 0.2, "test_split": 0.2},
    "augmentation": [],
    # 1078 training images in batches of 50: 21 full batches and one of 28, in groups of up to 64
    "training": {"epochs": 3, "batch_size": 50, "seed": 0},
}


def main() -> None:
    from builder.store import runfolder
    from builder.train.runner import run

    out = {}
    for mode in ("off", "on"):
        os.environ["LAYERLAB_FAST_PATH"] = mode
        with tempfile.TemporaryDirectory() as tmp:
            status = run(EXPERIMENT, tmp)
            rows = runfolder.read_jsonl(Path(tmp) / runfolder.METRICS)
            log = (Path(tmp) / runfolder.LOG).read_text()
            out[mode] = {"status": status, "loss": [r["loss"] for r in rows],
                         "val_loss": [r["val_loss"] for r in rows], "fast": "fast path:" in log,
                         "evaluation": runfolder.read_json(Path(tmp) / "evaluation.json")}
    print(json.dumps(out))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
