"""Shared set-up for the explainability tests: a small CNN trained on the shapes dataset.

Trained once per test session, seeded, on CPU; the spec goes through `builder.graph.build.build_model` like any
Layerlab model.
"""
from __future__ import annotations

import pytest

CNN_SPEC = {
    "format": "layerlab/model@1",
    "name": "shapes-cnn",
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
DATA = {"dataset": "shapes", "options": {"n_samples": 900, "seed": 0}, "validation_split": 0.1, "test_split": 0.2}
TRAINING = {"task": "classification", "optimizer": "adam", "learning_rate": 0.003, "batch_size": 32, "epochs": 8, "seed": 0}


@pytest.fixture(scope="session")
def shapes_experiment() -> dict:
    """The experiment the shapes CNN is trained by (layerlab/experiment@1)."""
    return {"format": "layerlab/experiment@1", "model": CNN_SPEC, "data": DATA, "training": TRAINING}


@pytest.fixture(scope="session")
def shapes_cnn():
    """(model, splits): the shapes CNN, trained once per test session."""
    import keras

    from builder.graph.build import build_model
    from builder.model.spec import ModelSpec
    from datasets import registry, splits

    keras.utils.set_random_seed(TRAINING["seed"])
    ds = registry.load("shapes", **DATA["options"])
    parts = splits.split(ds, DATA["validation_split"], DATA["test_split"], seed=TRAINING["seed"])
    model = build_model(ModelSpec.from_dict(CNN_SPEC))
    model.compile(optimizer=keras.optimizers.Adam(TRAINING["learning_rate"]),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(parts.x_train, parts.y_train, batch_size=TRAINING["batch_size"], epochs=TRAINING["epochs"], verbose=0)
    return model, parts
