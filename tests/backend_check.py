"""Train and explain one small CNN under the backend in KERAS_BACKEND.

Run by tests/builder/graph/test_backends.py in a fresh process per backend (the Keras
backend is fixed at import). Prints one JSON line the test compares across
backends. Under JAX and PyTorch, TensorFlow is made unimportable first, as on a
machine that has only that backend (a GPU server often does).
"""
import importlib.abc
import json
import os
import sys

import numpy as np


class WithoutTensorFlow(importlib.abc.MetaPathFinder):
    """An import finder that does not see TensorFlow, as on a machine without it."""

    def __init__(self, inner):
        self.inner = inner

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "tensorflow":
            return None
        return self.inner.find_spec(name, path, target)

    def __getattr__(self, attr):
        return getattr(self.inner, attr)


if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
    sys.meta_path[:] = [WithoutTensorFlow(finder) for finder in sys.meta_path]

EXPERIMENT = {
    "format": "layerlab/experiment@1",
    "model": {
        "format": "layerlab/model@1",
        "name": "digits-cnn",
        "nodes": [
            {"id": "image", "type": "Input", "params": {"shape": [8, 8, 1]}},
            {"id": "conv", "type": "Conv2D", "params": {"filters": 8, "kernel_size": [3, 3], "activation": "relu", "padding": "same"}, "inputs": ["image"]},
            {"id": "pool", "type": "MaxPooling2D", "inputs": ["conv"]},
            {"id": "flat", "type": "Flatten", "inputs": ["pool"]},
            {"id": "probs", "type": "Dense", "params": {"units": 10, "activation": "softmax"}, "inputs": ["flat"]},
        ],
    },
    "data": {"dataset": "digits", "validation_split": 0.2, "test_split": 0.2},
    "augmentation": [{"type": "RandomTranslation", "params": {"height_factor": 0.05, "width_factor": 0.05}}],
    "training": {"task": "classification", "optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 4, "seed": 0},
}


def main(out_dir: str) -> None:
    import keras

    from builder.explain import explain, to_map
    from builder.train.devices import describe
    from builder.train.runner import run
    from datasets.registry import load

    status = run(EXPERIMENT, out_dir)
    evaluation = json.load(open(f"{out_dir}/evaluation.json"))
    model = keras.saving.load_model(f"{out_dir}/model.keras", safe_mode=True)
    x = load("digits").x[:4]
    maps = {m: to_map(explain(model, x, m)) for m in ("saliency", "gradcam")}
    print(json.dumps({
        "backend": keras.backend.backend(),
        "device": describe().line,
        "status": status,
        "accuracy": evaluation.get("accuracy"),
        "params": int(model.count_params()),
        "maps_finite": all(bool(np.isfinite(v).all()) for v in maps.values()),
        "maps_nonzero": all(float(np.abs(v).sum()) > 0 for v in maps.values()),
        "map_shape": list(maps["saliency"].shape),
    }))


if __name__ == "__main__":
    main(sys.argv[1])
