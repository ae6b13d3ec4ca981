"""The deployable model (deploy/model.keras) takes raw data: for every kind of built-in dataset it gives the run's
recorded test numbers on the raw test inputs with nothing but Keras, and its TFLite files agree with it."""
import json

import numpy as np
import pytest
from train_fixtures import diabetes_experiment, digits_experiment, mlp_spec

from builder.experiments import templates
from builder.experiments.experiment import coerce
from builder.exports import tflite
from builder.store import runfolder
from builder.train import preprocessing
from builder.train.data import prepare, raw_parts
from builder.train.evaluate import evaluate_arrays, headline
from builder.train.runner import run


def _small(template: str, dataset: str, epochs: int, **options) -> dict:
    exp = templates.experiment(template, dataset)
    exp["training"].update(epochs=epochs, batch_size=32)
    exp["data"]["options"] = options
    return exp


def _sine() -> dict:
    return {"format": "layerlab/experiment@1", "model": {"format": "layerlab/model@1", "name": "wave", "nodes": [
        {"id": "wave", "type": "Input", "params": {"shape": [20, 1]}},
        {"id": "memory", "type": "GRU", "params": {"units": 8}, "inputs": ["wave"]},
        {"id": "next", "type": "Dense", "params": {"units": 1}, "inputs": ["memory"]}]},
        "data": {"dataset": "sine", "options": {"n_samples": 300}},
        "training": {"task": "regression", "loss": "mse", "metrics": ["mae"], "epochs": 2, "seed": 1}}


def _wine() -> dict:
    exp = digits_experiment(epochs=3)
    exp["model"] = mlp_spec(classes=3, shape=(13,))
    exp["data"]["dataset"] = "wine"
    return exp


KINDS = {  # one run per kind of dataset: images, tables, regression, 2-D points, sequences, tokens
    "digits": lambda: digits_experiment(epochs=2),
    "wine": _wine,
    "diabetes": lambda: diabetes_experiment(epochs=20, learning_rate=0.05),
    "moons": lambda: _small("playground-mlp", "moons", 2, n_samples=300),
    "sine": _sine,
    "tokens": lambda: _small("lstm-classifier", "tokens", 1, n_samples=300),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("deploy")
    for name, make in KINDS.items():
        assert run(make(), root / name) == "completed", name
    return root


@pytest.mark.parametrize("name", list(KINDS))
def test_the_deployable_model_gives_the_run_test_numbers_on_raw_inputs(runs, name):
    import keras

    folder = runs / name
    exp = coerce(folder / runfolder.EXPERIMENT)
    prep = preprocessing.read(folder)
    model = keras.saving.load_model(folder / preprocessing.DEPLOY_MODEL)  # safe mode: stock layers only
    x, y = raw_parts(exp, prep)["test"]
    got = headline(evaluate_arrays(exp.hp["task"], y, model.predict(x, verbose=0)))
    recorded = headline(json.loads((folder / runfolder.EVALUATION).read_text()))
    assert got.keys() == recorded.keys()
    for key, value in recorded.items():
        assert got[key] == pytest.approx(value, rel=1e-4, abs=1e-5), key


def test_raw_inputs_are_what_the_user_holds():
    from sklearn.datasets import load_digits

    exp = coerce(digits_experiment())
    data = prepare(exp)
    x_test, y_test = raw_parts(exp, data.preprocessing)["test"]
    digits = load_digits()
    # every raw test image is one of sklearn's 0..16 images, with its label
    lookup = {img.astype(np.float32).tobytes(): t for img, t in zip(digits.images, digits.target, strict=True)}
    assert all(lookup[img[..., 0].tobytes()] == t for img, t in zip(x_test, y_test, strict=True))
    assert data.preprocessing.raw_max == 16 and data.preprocessing.describe_inputs() == "raw 8×8×1 images with pixels in 0..16"


def test_preprocessing_json_records_the_fitted_statistics(runs):
    exp = coerce(runs.joinpath("wine", runfolder.EXPERIMENT))
    data = prepare(exp)
    saved = json.loads((runs / "wine" / preprocessing.FILE).read_text())
    assert saved["format"] == "layerlab/preprocessing@1" and saved["normalize"] == "standard"
    x_train_raw = raw_parts(exp, data.preprocessing)["train"][0]
    np.testing.assert_allclose(saved["shift"], x_train_raw.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(saved["scale"], x_train_raw.std(axis=0), rtol=1e-5)
    assert saved["target"] is None and saved["raw_shape"] == [13] and saved["model_shape"] == [13]


def test_regression_targets_are_standardized_for_training_and_restored_by_the_model(runs):
    exp = coerce(runs.joinpath("diabetes", runfolder.EXPERIMENT))
    data = prepare(exp)
    y_train = raw_parts(exp, data.preprocessing)["train"][1]
    assert abs(data.y_train.mean()) < 1e-5 and data.y_train.std() == pytest.approx(1.0, rel=1e-4)
    target = json.loads((runs / "diabetes" / preprocessing.FILE).read_text())["target"]
    assert target["mean"] == pytest.approx(y_train.mean()) and target["std"] == pytest.approx(y_train.std())
    evaluation = json.loads((runs / "diabetes" / runfolder.EVALUATION).read_text())
    assert evaluation["r2"] > 0.2  # scaled targets: a linear model learns in 20 short epochs (unscaled: r2 < 0)
    assert 20 < evaluation["mae"] < 80  # in the target's own units (disease progression 25..346)


def test_normalize_none_leaves_regression_targets_as_they_are():
    exp = diabetes_experiment()
    exp["data"]["normalize"] = "none"
    data = prepare(coerce(exp))
    assert data.preprocessing.target is None and data.y_train.max() > 100


@pytest.mark.parametrize("name", ["digits", "diabetes", "sine", "tokens"])
def test_tflite_files_match_the_deployable_model(runs, name):
    import keras

    folder = runs / name
    files = tflite.export(folder)
    rows = {r["variant"]: r for r in tflite.table(folder)}
    exp = coerce(folder / runfolder.EXPERIMENT)
    x, y = raw_parts(exp, preprocessing.read(folder))["test"]
    keras_out = keras.saving.load_model(folder / preprocessing.DEPLOY_MODEL).predict(x, verbose=0)
    np.testing.assert_allclose(tflite.predict(files["float"].read_bytes(), x), keras_out, rtol=1e-4, atol=1e-4)
    recorded = json.loads((folder / runfolder.EVALUATION).read_text())
    metric = rows["keras"]["metric"]
    assert rows["keras"]["value"] == pytest.approx(recorded[metric], rel=1e-4)
    assert rows["float"]["value"] == pytest.approx(recorded[metric], rel=1e-3)
    if name in ("sine", "tokens") and "int8" not in files:  # TF 2.21's converter crashes calibrating int8 RNNs:
        assert set(files) == {"float", "dynamic"} and "int8" in rows["int8"]["error"]  # its own process, one row
    else:
        assert list(rows) == ["keras", "float", "dynamic", "int8"] and set(files) == {"float", "dynamic", "int8"}
    if name == "digits":  # TFLite leaves tensors under 1024 numbers in float: only digits' 64×16 kernel shrinks
        assert rows["dynamic"]["size_bytes"] < rows["float"]["size_bytes"]
    for variant in set(files) - {"float"}:  # quantized: close to the float model, not equal
        loose = 0.1 * recorded[metric] if metric == "mae" else 0.1
        assert abs(rows[variant]["value"] - recorded[metric]) <= loose, variant


def test_an_autoencoder_takes_raw_images_and_rebuilds_them_as_the_run_scored_it(tmp_path):
    import keras

    exp_dict = _small("dense-autoencoder", "digits", 2)
    assert run(exp_dict, tmp_path) == "completed"
    exp = coerce(exp_dict)
    data = prepare(exp)
    x_raw, _ = raw_parts(exp, data.preprocessing)["test"]
    assert x_raw.max() == 16  # sklearn's pixels, not Layerlab's 0..1
    out = keras.saving.load_model(tmp_path / preprocessing.DEPLOY_MODEL).predict(x_raw, verbose=0)
    # the reconstruction comes out as the model saw its input (pixels 0..1): the run's own error
    got = evaluate_arrays("reconstruction", data.x_test, out)
    recorded = json.loads((tmp_path / runfolder.EVALUATION).read_text())
    assert got["reconstruction_error"] == pytest.approx(recorded["reconstruction_error"], rel=1e-4)


def test_a_deployable_model_that_cannot_be_made_does_not_fail_the_run(tmp_path, monkeypatch):
    def refuse(self, model):
        raise ValueError("this model has two inputs")

    monkeypatch.setattr(preprocessing.Preprocessing, "wrap", refuse)
    assert run(digits_experiment(epochs=1), tmp_path) == "completed"
    status = runfolder.read_status(tmp_path)
    assert status["deploy_error"] == "this model has two inputs"
    assert (tmp_path / runfolder.MODEL).is_file() and (tmp_path / runfolder.EVALUATION).is_file()
    assert not (tmp_path / preprocessing.DEPLOY_MODEL).exists()
