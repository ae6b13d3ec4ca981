"""Runs reach TensorBoard (always) and MLflow (LAYERLAB_MLFLOW_URI), checked against the real libraries."""
import json

import numpy as np
import pytest
from train_fixtures import digits_experiment

from builder.experiments.experiment import coerce
from builder.store import runfolder
from builder.train import preprocessing, tracking
from builder.train.data import raw_parts
from builder.train.runner import run


def test_every_run_writes_a_tensorboard_log(tmp_path, monkeypatch):
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    monkeypatch.delenv(tracking.MLFLOW_ENV, raising=False)
    assert run(digits_experiment(epochs=2), tmp_path) == "completed"
    rows = runfolder.read_jsonl(tmp_path / runfolder.METRICS)
    for part, key in (("train", "loss"), ("validation", "val_loss")):
        events = EventAccumulator(str(tmp_path / tracking.TENSORBOARD / part)).Reload()
        logged = [float(tf.make_ndarray(e.tensor_proto)) for e in events.Tensors("epoch_loss")]
        assert logged == pytest.approx([r[key] for r in rows], rel=1e-6), part


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch):
    store = tmp_path / "mlruns"
    monkeypatch.setenv(tracking.MLFLOW_ENV, str(store))
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    return store


def test_mlflow_receives_params_epochs_evaluation_and_the_model(tmp_path, mlflow_store):
    import keras
    import mlflow

    folder = tmp_path / "run"
    assert run(digits_experiment(epochs=2, learning_rate=0.02), folder) == "completed"
    mlflow.set_tracking_uri(str(mlflow_store))
    client = mlflow.MlflowClient()
    (found,) = client.search_runs([client.get_experiment_by_name(tracking.MLFLOW_EXPERIMENT).experiment_id])
    assert found.info.run_name == "run" and found.info.status == "FINISHED"
    assert found.data.params["training.learning_rate"] == "0.02" and found.data.params["dataset"] == "digits"
    rows = runfolder.read_jsonl(folder / runfolder.METRICS)
    history = client.get_metric_history(found.info.run_id, "val_accuracy")
    assert [(m.step, m.value) for m in history] == [(r["epoch"], pytest.approx(r["val_accuracy"])) for r in rows]
    evaluation = json.loads((folder / runfolder.EVALUATION).read_text())
    assert found.data.metrics["test_accuracy"] == pytest.approx(evaluation["accuracy"])
    model = mlflow.keras.load_model(f"runs:/{found.info.run_id}/model")  # the deployable model: raw inputs
    x, _ = raw_parts(coerce(folder / runfolder.EXPERIMENT), preprocessing.read(folder))["test"]
    reference = keras.saving.load_model(folder / preprocessing.DEPLOY_MODEL)
    np.testing.assert_allclose(model.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_a_tracking_server_that_cannot_be_reached_never_fails_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv(tracking.MLFLOW_ENV, "nosuchscheme://nowhere")
    assert run(digits_experiment(epochs=1), tmp_path) == "completed"
    assert "MLflow logging switched off" in (tmp_path / runfolder.LOG).read_text()
