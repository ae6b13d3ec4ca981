"""Transfer learning end to end, offline: pretrain a small CNN, keep its run's model.keras as a base,
train a new head on a small labelled set with the base frozen, and fine-tune it.

The source is a large generated `shapes` set (seed 1, noise 0.1); the target a small, noisier one
(seed 0, noise 0.25) with 90 labelled training pictures. There the frozen pretrained features beat the
same network trained from scratch with the same budget (README "Model families" gives the numbers).
"""
import json
import os
import runpy
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest

from builder import pretrained
from builder.train import runfolder
from builder.train.exports import artifacts, write_scripts
from builder.train.runner import run

SIZE = 16
CONVS = [("c1", 16), ("p1", None), ("c2", 32), ("p2", None), ("c3", 32)]


def cnn_nodes(first: str) -> list[dict]:
    nodes, previous = [], first
    for nid, filters in CONVS:
        node = ({"id": nid, "type": "Conv2D", "params": {"filters": filters, "kernel_size": 3, "padding": "same",
                                                          "activation": "relu"}} if filters
                else {"id": nid, "type": "MaxPooling2D"})
        nodes.append({**node, "inputs": [previous]})
        previous = nid
    return nodes


def head(after: str) -> list[dict]:
    return [{"id": "gap", "type": "GlobalAveragePooling2D", "inputs": [after]},
            {"id": "probs", "type": "Dense", "params": {"units": 3, "activation": "softmax"}, "inputs": ["gap"]}]


def cnn_spec() -> dict:
    return {"format": "layerlab/model@1", "name": "small-cnn", "nodes": [
        {"id": "image", "type": "Input", "params": {"shape": [SIZE, SIZE, 1]}}, *cnn_nodes("image"), *head("c3")]}


def transfer_spec(base_id: str, **params) -> dict:
    return {"format": "layerlab/model@1", "name": "transfer", "nodes": [
        {"id": "image", "type": "Input", "params": {"shape": [SIZE, SIZE, 1]}},
        {"id": "base", "type": "Pretrained", "inputs": ["image"],
         "params": {"model": base_id, "output_layer": "c3", **params}},  # the saved classifier without its head
        *head("base")]}


def experiment(spec: dict, options: dict, validation: float, test: float, **training) -> dict:
    return {"format": "layerlab/experiment@1", "model": spec,
            "data": {"dataset": "shapes", "options": {"size": SIZE, **options}, "validation_split": validation,
                     "test_split": test},
            "training": {"batch_size": 16, "seed": 0, **training}}


SMALL_NOISY = {"n_samples": 600, "seed": 0, "noise": 0.25}  # 15 % labelled for training: 90 pictures


def small(spec: dict, **training) -> dict:
    return experiment(spec, SMALL_NOISY, 0.0, 0.85, **{"epochs": 10, "learning_rate": 0.01, **training})


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A run of the CNN on 2,000 shapes, and its model.keras stored as a pretrained base."""
    folder = tmp_path_factory.mktemp("transfer")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAYERLAB_PRETRAINED_DIR", str(folder / "store"))
        source = experiment(cnn_spec(), {"n_samples": 2000, "seed": 1}, 0.1, 0.1, epochs=8, batch_size=32)
        assert run(source, folder / "pretrain") == "completed"
        base_id = pretrained.store_file(folder / "pretrain" / runfolder.MODEL, title="shapes CNN")
        saved = keras.saving.load_model(folder / "pretrain" / runfolder.MODEL)
        yield {"id": base_id, "folder": folder, "weights": {n: saved.get_layer(n).get_weights() for n, _ in CONVS}}


@pytest.fixture(autouse=True)
def store(base, monkeypatch):
    monkeypatch.setenv("LAYERLAB_PRETRAINED_DIR", str(base["folder"] / "store"))


def accuracy(run_dir) -> float:
    return json.loads((run_dir / runfolder.EVALUATION).read_text())["accuracy"]


def base_weights(run_dir) -> dict:
    inner = keras.saving.load_model(run_dir / runfolder.MODEL).get_layer("base")
    return {n: inner.get_layer(n).get_weights() for n, _ in CONVS}


def test_frozen_base_is_unchanged_and_beats_training_from_scratch(base, tmp_path):
    assert run(small(transfer_spec(base["id"])), tmp_path / "transfer") == "completed"
    assert run(small(cnn_spec()), tmp_path / "scratch") == "completed"
    for name, weights in base_weights(tmp_path / "transfer").items():
        for got, want in zip(weights, base["weights"][name], strict=True):
            np.testing.assert_array_equal(got, want)  # bit for bit
    transfer, scratch = accuracy(tmp_path / "transfer"), accuracy(tmp_path / "scratch")
    print(f"test accuracy with 90 labelled pictures: transfer {transfer:.3f}, from scratch {scratch:.3f}")
    assert transfer > scratch + 0.1
    assert (tmp_path / "transfer" / pretrained.RUN_FOLDER / pretrained.file_name(base["id"])).exists()


def test_head_first_then_fine_tuning_changes_only_the_unfrozen_layers(base, tmp_path):
    exp = small(transfer_spec(base["id"], freeze="from", unfreeze_from="c3"), epochs=2, fine_tune_epochs=2,
                fine_tune_rate=0.001)
    assert run(exp, tmp_path / "run") == "completed"
    rows = runfolder.read_jsonl(tmp_path / "run" / runfolder.METRICS)
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    assert [round(r["learning_rate"], 6) for r in rows] == [0.01, 0.01, 0.001, 0.001]
    assert runfolder.read_status(tmp_path / "run")["epochs"] == 4
    assert runfolder.read_status(tmp_path / "run")["fine_tune_from"] == 3  # where the curves mark the switch
    tuned = base_weights(tmp_path / "run")
    for name in ("c1", "c2"):
        for got, want in zip(tuned[name], base["weights"][name], strict=True):
            np.testing.assert_array_equal(got, want)
    assert not np.array_equal(tuned["c3"][0], base["weights"]["c3"][0])
    # the exported scripts load the run's copy of the base and repeat both phases
    model_py, train_py = write_scripts(tmp_path / "run")[:2]
    assert "initial_epoch=done" in train_py.read_text()
    exported = runpy.run_path(str(model_py))["build_model"]()
    assert [w.path for w in exported.trainable_weights] == ["c3/kernel", "c3/bias", "probs/kernel", "probs/bias"]
    # downloaded one file at a time into one folder, model.py finds the base file beside it
    flat = tmp_path / "Downloads"
    flat.mkdir()
    for artifact in artifacts(tmp_path / "run"):
        if artifact.exists:
            shutil.copyfile(tmp_path / "run" / artifact.path, flat / artifact.title)
    assert (flat / pretrained.file_name(base["id"])).is_file()
    alone = runpy.run_path(str(flat / "model.py"))["build_model"]()
    assert [w.path for w in alone.trainable_weights] == [w.path for w in exported.trainable_weights]
    # the code folder works on its own: copied anywhere, train.py repeats both phases and the run's test numbers
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(model_py.parent, elsewhere)
    proc = subprocess.run([sys.executable, "train.py"], cwd=elsewhere, capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    evaluation = json.loads((tmp_path / "run" / "evaluation.json").read_text())
    assert result["test"]["accuracy"] == pytest.approx(evaluation["accuracy"], abs=1e-6)
    assert result["final"]["loss"] == pytest.approx(rows[-1]["loss"], rel=1e-4)
