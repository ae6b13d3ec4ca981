"""Small experiments for the training tests: tiny models on offline datasets."""
from __future__ import annotations

import copy
import time


def mlp_spec(units: int = 16, classes: int = 10, shape=(8, 8)) -> dict:
    return {"format": "layerlab/model@1", "name": "tiny-mlp", "nodes": [
        {"id": "image", "type": "Input", "params": {"shape": list(shape)}},
        {"id": "flat", "type": "Flatten", "inputs": ["image"]},
        {"id": "hidden", "type": "Dense", "params": {"units": units, "activation": "relu"}, "inputs": ["flat"]},
        {"id": "probs", "type": "Dense", "params": {"units": classes, "activation": "softmax"}, "inputs": ["hidden"]},
    ]}


def digits_experiment(**training) -> dict:
    base = {"epochs": 3, "batch_size": 32, "seed": 7, "learning_rate": 0.01}
    base.update(training)
    return {
        "format": "layerlab/experiment@1",
        "model": mlp_spec(),
        "data": {"dataset": "digits", "validation_split": 0.2, "test_split": 0.2},
        "augmentation": [],
        "training": base,
    }


def diabetes_experiment(**training) -> dict:
    """Regression on sklearn's diabetes data (targets 25..346, not scaled)."""
    base = {"task": "regression", "epochs": 2, "batch_size": 32, "seed": 0}
    base.update(training)
    return {
        "format": "layerlab/experiment@1",
        "model": {"format": "layerlab/model@1", "name": "linear", "nodes": [
            {"id": "x", "type": "Input", "params": {"shape": [10]}},
            {"id": "y", "type": "Dense", "params": {"units": 1}, "inputs": ["x"]},
        ]},
        "data": {"dataset": "diabetes", "validation_split": 0.2, "test_split": 0.2},
        "augmentation": [],
        "training": base,
    }


def variant(exp: dict, **changes) -> dict:
    """A deep copy with dotted-path changes, e.g. variant(e, **{"training.optimizer": "nadam"})."""
    out = copy.deepcopy(exp)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = out
        for p in parents:
            node = node[p] if not p.isdigit() else node[int(p)]
        node[int(last) if last.isdigit() else last] = value
    return out


def wait_for(predicate, timeout: float = 120.0) -> bool:
    """Poll `predicate` until it is true (True) or `timeout` seconds pass (False)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False
