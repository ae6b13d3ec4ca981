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


def _kinds_of_upload():
    """One dataset of each kind an upload can be, as the loaders give them."""
    from datasets.base import Dataset
    from datasets.registry import DatasetInfo

    rng = np.random.default_rng(1)
    images = rng.random((12, 6, 5, 3)).astype("float32")
    yield Dataset(images, rng.integers(0, 3, 12).astype("int32"),
                  DatasetInfo("u", "u", "classification", (6, 5, 3), ["cat", "dog", "owl"], 12, "", kind="image"),
                  ["cat", "dog", "owl"])
    table = rng.random((20, 4)).astype("float32")
    yield Dataset(table, (table @ np.arange(4)).astype("float32"),
                  DatasetInfo("u", "u", "regression", (4,), None, 20, ""), feature_names=["a", "b", "c", "d"])
    sentences = np.array([["good film"], ["bad film"], ["fine"], ["awful"]], dtype=object)
    yield Dataset(sentences, np.array([1, 0, 1, 0], "int32"),
                  DatasetInfo("u", "u", "classification", (1,), ["no", "yes"], 4, "", kind="text"), ["no", "yes"])
    waves = rng.uniform(-1, 1, (5, 400)).astype("float32")
    yield Dataset(waves, np.array([0, 1, 0, 1, 1], "int32"),
                  DatasetInfo("u", "u", "classification", (400,), ["clap", "snap"], 5, "", kind="sound"),
                  ["clap", "snap"])


def test_an_uploads_info_is_kept_beside_it_and_read_without_the_arrays(uploads, monkeypatch):
    """The info the checks read on every page and run equals what loading the arrays gives, and comes from the
    JSON beside them: the arrays are not read (load_npz is not called)."""
    for n, dataset in enumerate(_kinds_of_upload()):
        dataset_id = stored.store(dataset, f"k{n}", title=f"file {n}.npz")
        loaded = registry.load(dataset_id).info
        with monkeypatch.context() as patch:
            patch.setattr(stored, "load_npz", lambda *a, **k: pytest.fail("info read the arrays"))
            assert registry.info(dataset_id) == loaded
        assert (loaded.title, loaded.kind, loaded.size) == (f"file {n}.npz", dataset.info.kind, len(dataset))


def test_an_older_upload_gets_its_info_written_on_first_read(uploads, monkeypatch):
    import json

    from datasets.uploads import load_npz

    dataset = next(_kinds_of_upload())
    dataset_id = stored.store(dataset, "old1", title="pets.zip")
    meta = uploads / "old1.json"
    meta.write_text(json.dumps({"title": "pets.zip"}))  # as uploads were kept before the info was
    reads = []
    monkeypatch.setattr(stored, "load_npz", lambda *a, **k: reads.append(a) or load_npz(*a, **k))
    first = registry.info(dataset_id)
    assert len(reads) == 1 and json.loads(meta.read_text())["info"]["input_shape"] == [6, 5, 3]
    assert registry.info(dataset_id) == first and len(reads) == 1  # the second read is the JSON's
    assert (first.title, first.input_shape, first.classes) == ("pets.zip", (6, 5, 3), ["cat", "dog", "owl"])


def test_a_gone_uploads_info_says_to_upload_it_again(uploads):
    with pytest.raises(DatasetError, match="no longer on this server; upload it again"):
        registry.info("upload:gone")
