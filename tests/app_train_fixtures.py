"""Fake run folders written by the app tests (contract 3 + the additions in docs/interfaces.md)."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

DIGITS_SPEC = {
    "format": "layerlab/model@1",
    "name": "digits-mlp",
    "nodes": [
        {"id": "image", "type": "Input", "params": {"shape": [8, 8, 1]}},
        {"id": "flatten", "type": "Flatten", "inputs": ["image"]},
        {"id": "hidden", "type": "Dense", "params": {"units": 16, "activation": "relu"}, "inputs": ["flatten"]},
        {"id": "probs", "type": "Dense", "params": {"units": 10, "activation": "softmax"}, "inputs": ["hidden"]},
    ],
}

METRICS = [
    {"epoch": 1, "loss": 1.9, "accuracy": 0.41, "val_loss": 1.5, "val_accuracy": 0.62, "time_s": 0.2},
    {"epoch": 2, "loss": 1.1, "accuracy": 0.74, "val_loss": 0.9, "val_accuracy": 0.80, "time_s": 0.2},
    {"epoch": 3, "loss": 0.6, "accuracy": 0.88, "val_loss": 0.5, "val_accuracy": 0.875, "time_s": 0.2},
]


def experiment(epochs: int = 3, **training) -> dict:
    return {"format": "layerlab/experiment@1", "model": DIGITS_SPEC,
            "data": {"dataset": "digits", "validation_split": 0.2, "test_split": 0.2},
            "augmentation": [], "training": {"epochs": epochs, "optimizer": "adam", "learning_rate": 0.001,
                                             "batch_size": 32, "seed": 0, **training}}


def write_run(root: Path, run_id: str, status: str = "completed", metrics=METRICS, error: str | None = None,
              evaluation: dict | None = None, started: float | None = None, workspace: str | None = None,
              shared: bool = False, **training) -> Path:
    folder = Path(root) / run_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "experiment.json").write_text(json.dumps(experiment(**training)))
    with open(folder / "metrics.jsonl", "w") as f:
        for row in metrics:
            f.write(json.dumps(row) + "\n")
    last = metrics[-1] if metrics else {}
    st = {"status": status, "run_id": run_id, "created": started or time.time(), "started": started or time.time(),
          "epochs_done": len(metrics), "last": last}
    if status in ("completed", "stopped", "failed"):
        st["finished"] = (started or time.time()) + 1
        st["final"] = {k: v for k, v in last.items() if k not in ("epoch", "time_s")}
    if evaluation is not None:
        st["final"]["test_accuracy"] = evaluation.get("accuracy")
        (folder / "evaluation.json").write_text(json.dumps(evaluation))
    if error:
        st["error"] = error
    if workspace:
        st["workspace"], st["shared"] = workspace, shared
    (folder / "status.json").write_text(json.dumps(st))
    return folder


def evaluation(cm=((3, 1), (0, 4))) -> dict:
    cm = np.asarray(cm)
    n = int(cm.sum())
    return {"task": "classification", "n": n, "accuracy": float(np.trace(cm) / n),
            "class_names": [str(i) for i in range(len(cm))], "confusion_matrix": cm.tolist(), "macro_f1": 0.87,
            "roc": [{"class": "1", "fpr": [0.0, 0.25, 1.0], "tpr": [0.0, 1.0, 1.0], "auc": 0.9}], "auc": 0.9}
