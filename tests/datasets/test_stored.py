"""Uploaded datasets stored as files load back by id, through the registry and the trainer."""
import numpy as np
import pytest

from datasets import registry, stored
from datasets.base import DatasetError
from datasets.uploads import load_csv


@pytest.fixture
def uploads(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_UPLOADS_DIR", str(tmp_path / "uploads"))
    return tmp_path / "uploads"


def test_a_stored_upload_loads_back_identically_through_the_registry(uploads, tmp_path):
    csv = tmp_path / "pets.csv"
    rows = ["weight,legs,kind"] + [f"{w},{4 if k == 'dog' else 2},{k}" for w, k in
                                    [(30, "dog"), (3, "bird"), (25, "dog"), (2, "bird"), (28, "dog"), (4, "bird")]]
    csv.write_text("\n".join(rows))
    original = load_csv(csv, target="kind")
    dataset_id = stored.store(original, "abc123")
    assert dataset_id == "upload:abc123" and (uploads / "abc123.npz").exists()

    again = registry.load(dataset_id)
    np.testing.assert_array_equal(again.x, original.x)
    np.testing.assert_array_equal(again.y, original.y)
    assert again.class_names == original.class_names == ["bird", "dog"]
    info = registry.info(dataset_id)
    assert (info.id, info.task, info.input_shape, info.size) == (dataset_id, "classification", (2,), 6)


def test_upload_ids_cannot_name_files_elsewhere(uploads):
    for bad in ("upload:../../etc/passwd", "upload:a/b", "upload:"):
        with pytest.raises(DatasetError, match="not a valid upload id"):
            registry.load(bad)
    with pytest.raises(DatasetError, match="upload it again"):
        registry.load("upload:gone")


def test_the_experiment_validator_accepts_a_stored_upload(uploads):
    from builder.experiments.experiment import validate
    from datasets.base import Dataset
    from datasets.registry import DatasetInfo

    x = np.random.default_rng(0).random((40, 3)).astype("float32")
    y = (x.sum(axis=1) > 1.5).astype("int32")
    dataset_id = stored.store(Dataset(x, y, DatasetInfo("u", "u", "classification", (3,), ["lo", "hi"], 40, ""),
                                      ["lo", "hi"]), "k1")
    spec = {"format": "layerlab/model@1", "name": "m", "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [3]}},
        {"id": "p", "type": "Dense", "params": {"units": 2, "activation": "softmax"}, "inputs": ["x"]}]}
    exp = {"format": "layerlab/experiment@1", "model": spec, "data": {"dataset": dataset_id},
           "training": {"epochs": 1, "batch_size": 8}}  # 40 examples leave 24 to train on
    assert validate(exp) == []
    spec["nodes"][1]["params"]["units"] = 3
    assert any("2 classes" in p for p in validate(exp))
