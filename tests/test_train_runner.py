"""The in-process runner on digits: run folder, repeatability, stop, NaN, augmentation, exports, run store."""
import json
import math
import re
import zipfile
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from train_fixtures import diabetes_experiment, digits_experiment

from builder.train import runfolder
from builder.train.runner import run
from builder.train.runstore import RunBusy, RunStore

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two seeded runs of the same experiment (3 epochs of a tiny MLP on digits)."""
    root = tmp_path_factory.mktemp("runs")
    exp = digits_experiment()
    events = []
    states = [run(exp, root / "first", on_event=lambda k, p: events.append(k)), run(exp, root / "second")]
    return root, states, events


def test_a_seeded_run_writes_the_whole_run_folder(runs):
    root, states, events = runs
    assert states == ["completed", "completed"]
    d = root / "first"
    for name in ("experiment.json", "status.json", "metrics.jsonl", "model.keras", "evaluation.json",
                 "predictions.json", "train.log", "progress.json"):
        assert (d / name).is_file(), name
    assert json.loads((d / "experiment.json").read_text()) == digits_experiment()
    rows = runfolder.read_jsonl(d / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "time_s"):
        assert all(isinstance(r[key], float) for r in rows), key
    assert rows[-1]["loss"] < rows[0]["loss"]
    status = runfolder.read_status(d)
    assert status["status"] == "completed" and status["epochs_done"] == 3 and status["error"] is None
    assert status["final"]["loss"] == rows[-1]["loss"]
    progress = json.loads((d / "progress.json").read_text())
    assert progress["epochs"] == 3 and progress["batches"] == math.ceil(1077 / 32)
    assert events[0] == "start" and events.count("epoch") == 3 and events[-1] == "end"


def test_same_seed_gives_identical_per_epoch_losses(runs):
    root, _, _ = runs
    first = runfolder.read_jsonl(root / "first" / "metrics.jsonl")
    second = runfolder.read_jsonl(root / "second" / "metrics.jsonl")
    for key in ("loss", "val_loss", "accuracy"):
        assert [r[key] for r in first] == [r[key] for r in second], key


def test_evaluation_matches_the_saved_model_on_the_test_split(runs):
    import keras
    from sklearn.metrics import accuracy_score

    from builder.experiment import coerce
    from builder.train.data import prepare

    root, _, _ = runs
    model = keras.saving.load_model(root / "first" / "model.keras")
    data = prepare(coerce(digits_experiment()))
    pred = model.predict(data.x_test, verbose=0).argmax(1)
    ev = json.loads((root / "first" / "evaluation.json").read_text())
    assert ev["n"] == len(data.y_test) == 360
    assert ev["accuracy"] == pytest.approx(accuracy_score(data.y_test, pred))
    assert np.asarray(ev["confusion_matrix"]).sum() == 360
    assert runfolder.read_status(root / "first")["final"]["test_accuracy"] == pytest.approx(ev["accuracy"])
    items = json.loads((root / "first" / "predictions.json").read_text())["items"]
    assert items[0]["true"] == int(data.y_test[0]) and items[0]["predicted"] == int(pred[0])


def test_live_probes_are_written_for_image_data(runs):
    root, _, _ = runs
    probes = np.load(root / "first" / "live" / "probes.npz")
    assert probes["x"].shape == (8, 8, 8, 1) and probes["y"].shape == (8,)


def test_exports_of_a_run(runs):
    from builder.train.exports import export_all

    root, _, _ = runs
    out = export_all(root / "first")
    assert out["code/model.py"].is_file() and out["code/train.py"].is_file()
    assert out["deploy/model.keras"].is_file() and "code/data.npz" not in out  # digits: sklearn's loader
    assert out["deploy/model.tflite"].stat().st_size > 1000  # TensorFlow is the tests' backend
    # train.py in an empty folder: tests/test_train_exports.py


def test_stop_finishes_the_batch_and_keeps_the_model(tmp_path):
    class StopAfterFirstEpoch:  # like a multiprocessing.Event that someone sets after epoch 1
        def is_set(self):
            return (tmp_path / "metrics.jsonl").exists()

    state = run(digits_experiment(epochs=40, batch_size=16), tmp_path, stop_flag=StopAfterFirstEpoch())
    assert state == "stopped"
    status = runfolder.read_status(tmp_path)
    assert status["status"] == "stopped" and 1 <= status["epochs_done"] < 40
    assert (tmp_path / "model.keras").is_file() and (tmp_path / "evaluation.json").is_file()
    assert not (tmp_path / "STOP").exists()


def test_nan_loss_fails_with_a_reason_and_keeps_metrics(tmp_path):
    # plain SGD with a huge step on unscaled regression targets blows up within a few batches
    exp = diabetes_experiment(optimizer="sgd", learning_rate=10.0, epochs=3)
    exp["data"]["normalize"] = "none"
    assert run(exp, tmp_path) == "failed"
    status = runfolder.read_status(tmp_path)
    assert "the loss became NaN" in status["error"] and "lower learning rate" in status["error"]
    epoch, batch = map(int, re.search(r"at epoch (\d+), batch (\d+)", status["error"]).groups())
    assert 1 <= batch <= math.ceil(265 / 32)
    assert not (tmp_path / "model.keras").exists()
    rows = runfolder.read_jsonl(tmp_path / "metrics.jsonl")
    assert len(rows) == epoch  # the epochs before the blow-up are kept
    assert rows[-1]["loss"] is None  # written as null: strict JSON has no NaN
    assert all(r["loss"] is not None for r in rows[:-1])


def test_augmentation_trains_but_is_not_in_the_saved_model(tmp_path):
    import keras

    exp = digits_experiment(epochs=1)
    exp["model"]["nodes"][0]["params"]["shape"] = [8, 8, 1]
    exp["augmentation"] = [{"type": "RandomTranslation", "params": {"height_factor": 0.1, "width_factor": 0.1}}]
    assert run(exp, tmp_path) == "completed"
    model = keras.saving.load_model(tmp_path / "model.keras")
    assert [layer.name for layer in model.layers] == ["image", "flat", "hidden", "probs"]


def test_run_store_lists_compares_zips_and_guards_delete(runs, tmp_path):
    root, _, _ = runs
    store = RunStore(root)
    ids = {r.id for r in store.list()}
    assert {"first", "second"} <= ids
    info = store.get("first")
    assert info.status == "completed" and info.dataset == "digits" and info.model == "tiny-mlp" and info.epochs_done == 3
    df = store.metrics("first")
    assert list(df["epoch"]) == [1, 2, 3]
    assert list(df["loss"]) == [r["loss"] for r in runfolder.read_jsonl(root / "first" / "metrics.jsonl")]
    cmp = store.compare(["first", "second"])
    assert list(cmp["run"]) == ["first", "second"] and cmp["loss"].iloc[0] == cmp["loss"].iloc[1]
    with zipfile.ZipFile(BytesIO(store.zip_run("first"))) as zf:
        names = set(zf.namelist())
    assert {"first/experiment.json", "first/metrics.jsonl", "first/model.keras", "first/status.json"} <= names
    busy = tmp_path / "busy"
    busy.mkdir()
    runfolder.write_json(busy / "experiment.json", digits_experiment())
    runfolder.write_status(busy, status="running")
    with pytest.raises(RunBusy, match="stop it before deleting"):
        RunStore(tmp_path).delete("busy")
    runfolder.write_status(busy, status="failed")
    RunStore(tmp_path).delete("busy")
    assert not busy.exists()


def test_cli_train_prints_epochs_and_rejects_bad_experiments(tmp_path, capsys):
    from builder.train.runner import cli_train

    bad = digits_experiment(optimizer="nadam")
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    assert cli_train(tmp_path / "bad.json", tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert "unknown optimizer 'nadam'" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    (tmp_path / "missing.json").unlink(missing_ok=True)
    assert cli_train(tmp_path / "missing.json", tmp_path / "out") == 1
    assert "no such file" in capsys.readouterr().err


def test_reconstruction_learns_its_input_and_reports_the_error(tmp_path):
    exp = digits_experiment(task="reconstruction", epochs=2, learning_rate=0.01)
    exp["model"] = {"format": "layerlab/model@1", "name": "autoencoder", "nodes": [
        {"id": "image", "type": "Input", "params": {"shape": [8, 8, 1]}},
        {"id": "flat", "type": "Flatten", "inputs": ["image"]},
        {"id": "code", "type": "Dense", "params": {"units": 16, "activation": "relu"}, "inputs": ["flat"]},
        {"id": "out", "type": "Dense", "params": {"units": 64, "activation": "sigmoid"}, "inputs": ["code"]},
        {"id": "img", "type": "Reshape", "params": {"target_shape": [8, 8, 1]}, "inputs": ["out"]},
    ]}
    assert run(exp, tmp_path) == "completed"
    rows = runfolder.read_jsonl(tmp_path / "metrics.jsonl")
    assert rows[1]["loss"] < rows[0]["loss"]
    ev = json.loads((tmp_path / "evaluation.json").read_text())
    assert ev["task"] == "reconstruction" and ev["n"] == 360
    assert 0 < ev["reconstruction_error"] == pytest.approx(ev["mse"])
    pair = ev["pairs"][0]
    assert np.asarray(pair["input"]).shape == np.asarray(pair["output"]).shape == (8, 8, 1)


def test_a_run_stops_at_the_epoch_its_folder_passes_the_disk_budget(tmp_path, monkeypatch):
    import keras

    from builder import limits
    from builder.train.callbacks import DiskBudget

    class Writer(keras.callbacks.Callback):  # what a run's live pictures and logs add every epoch
        def on_epoch_end(self, epoch, logs=None):
            (tmp_path / f"e{epoch}.bin").write_bytes(bytes(400 * 1024))

    monkeypatch.setenv("LAYERLAB_MAX_RUN_MB", "1")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(limits.DiskFull, match=r"would hold 1\.2 MB, over the limit of 1\.0 MB .*LAYERLAB_MAX_RUN_MB"):
        model.fit(np.zeros((4, 2)), np.zeros(4), epochs=10, verbose=0, callbacks=[Writer(), DiskBudget(tmp_path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e0.bin", "e1.bin", "e2.bin"]  # 1.2 MB: stopped there
