"""Make the pretrained base that ships with Layerlab (builder/bases/), for the transfer-learning template.

A small CNN (three 3×3 convolutions) is trained with the real runner for 8 epochs on 2,000 generated
'shapes' pictures (28×28, seed 1 — not the pictures of the template's default run, which uses seed 0);
its convolutional part, without the pooling + softmax head, is stored like an upload (scanned, opened
in safe mode, named by content) and its id printed, for `builder/experiments/templates.py`.

    python bench/make_pretrained_base.py
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["LAYERLAB_PRETRAINED_DIR"] = str(ROOT / "builder" / "bases")

CONVS = (("c1", 16), ("p1", None), ("c2", 32), ("p2", None), ("c3", 32))


def source_experiment() -> dict:
    nodes, previous = [{"id": "image", "type": "Input", "params": {"shape": [28, 28, 1]}}], "image"
    for nid, filters in CONVS:
        node = ({"id": nid, "type": "Conv2D", "params": {"filters": filters, "kernel_size": 3, "padding": "same",
                                                          "activation": "relu"}} if filters
                else {"id": nid, "type": "MaxPooling2D"})
        nodes.append({**node, "inputs": [previous]})
        previous = nid
    nodes += [{"id": "gap", "type": "GlobalAveragePooling2D", "inputs": ["c3"]},
              {"id": "probs", "type": "Dense", "params": {"units": 3, "activation": "softmax"}, "inputs": ["gap"]}]
    return {"format": "layerlab/experiment@1", "model": {"format": "layerlab/model@1", "name": "shapes-cnn",
                                                         "nodes": nodes},
            "data": {"dataset": "shapes", "options": {"n_samples": 2000, "seed": 1}, "validation_split": 0.1,
                     "test_split": 0.1},
            "training": {"epochs": 8, "batch_size": 32, "seed": 0}}


def main() -> None:
    import keras

    from builder.graph import pretrained
    from builder.store import runfolder
    from builder.train.runner import run

    with tempfile.TemporaryDirectory() as folder:
        assert run(source_experiment(), folder) == "completed", runfolder.read_status(Path(folder)).get("error")
        print("source run:", runfolder.read_status(Path(folder))["final"])
        trained = keras.saving.load_model(Path(folder) / runfolder.MODEL, compile=False)
        base = keras.Model(trained.inputs, trained.get_layer("c3").output, name="shapes_cnn")
        base.save(Path(folder) / "base.keras")
        print(pretrained.store_file(Path(folder) / "base.keras", title="shapes CNN (2,000 pictures)"))


if __name__ == "__main__":
    main()
