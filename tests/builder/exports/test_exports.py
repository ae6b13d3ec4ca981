"""Exports a student carries away: the training plan (run = printed), the standalone train.py that reproduces a run
in an empty folder, the public data loaders it prints, and the one-line description of every download."""
import json
import os
import shutil
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest
from train_fixtures import diabetes_experiment, digits_experiment

from builder.experiments import templates
from builder.experiments.experiment import coerce
from builder.exports import classic as exports
from builder.exports import script
from builder.store import runfolder
from builder.train import plan
from builder.train.data import prepare, raw_parts
from builder.train.runner import run
from datasets import registry


# -- the plan: what the runner makes is what the script prints ----------------------------------------------
@pytest.mark.parametrize("settings", [
    {"optimizer": "adam", "lr_schedule": "cosine"},
    {"optimizer": "sgd", "momentum": 0.9, "lr_schedule": "step", "lr_step_epochs": 2, "lr_factor": 0.5},
    {"optimizer": "rmsprop", "lr_schedule": "reduce_on_plateau", "lr_patience": 2},
    {"optimizer": "adamw", "early_stopping": {"monitor": "val_accuracy", "patience": 3}, "l2": 0.001},
])
def test_each_call_of_the_plan_makes_what_its_printed_source_makes(settings):
    exp = coerce(digits_experiment(**settings))
    steps = plan.make(exp, batches_per_epoch=34, has_val=False)
    scope = {"keras": keras}
    for call in [steps.optimizer, *steps.callbacks] + ([steps.penalty] if steps.penalty else []):
        made, printed = call.make(), eval(call.source(), scope)  # noqa: S307 - our own generated source
        assert type(made) is type(printed)
        if hasattr(made, "get_config"):  # names are numbered per object (adam, adam_1): not a setting
            assert {**made.get_config(), "name": 0} == {**printed.get_config(), "name": 0}, call.source()
    if settings.get("early_stopping"):  # nothing held out: the plan watches the training number
        assert steps.callbacks[-1].kwargs["monitor"] == "accuracy"
    if settings["optimizer"] == "sgd":
        assert steps.optimizer.source() == ("keras.optimizers.SGD(learning_rate=keras.optimizers.schedules."
                                            "ExponentialDecay(0.01, decay_steps=68, decay_rate=0.5, staircase=True), "
                                            "momentum=0.9)")


def test_the_augmentation_of_the_plan_is_the_seeded_one_the_runner_used():
    from datasets import augment

    entries = [{"type": "RandomFlip", "params": {"mode": "horizontal"}}, {"type": "RandomContrast", "params": {}}]
    exp = coerce({**digits_experiment(), "augmentation": entries})
    call = plan.make(exp, 10, True, (8, 8, 1)).augmentation
    made, reference = call.make(), augment.build(entries, seed=exp.hp["seed"], input_shape=(8, 8, 1))
    assert [layer.get_config() for layer in made.layers] == [layer.get_config() for layer in reference.layers]
    with pytest.raises(ValueError, match="images"):
        plan.make(exp, 10, True, (13,))


@pytest.mark.parametrize("normalize, raw_max", [("standard", 1.0), ("minmax", 1.0), ("standard", 16.0),
                                               ("minmax", 255.0)])
def test_the_printed_normalization_gives_the_numbers_the_runner_trains_on(normalize, raw_max):
    """train.py's preprocessing, run on an array, measures the shift and scale the engine's Normalizer measures on
    the same data (as the loader gives it: pixels divided by raw_max), and scales the inputs to the same values."""
    from builder.train.preprocessing import Preprocessing
    from datasets.splits import Normalizer

    rng = np.random.default_rng(5)
    raw = np.round(rng.random((40, 3, 2)) * raw_max).astype("float32")  # (examples, steps, features)
    raw[:, :, 1] = 7.0 if raw_max == 1 else raw_max  # a constant feature stays constant
    prep = Preprocessing(raw_shape=[3, 2], raw_dtype="float32", raw_max=raw_max, features="raw", normalize=normalize,
                         shift=None, scale=None, model_shape=[3, 2], kind="sequence")
    scope = {"np": np, "x_train": raw, "x_val": raw[:5], "RAW_MAX": raw_max, "MODEL_SHAPE": (3, 2)}
    exec("\n".join(script._prep_lines(prep, "reconstruction")), scope)  # noqa: S102 - our own generated source
    engine = Normalizer(normalize).fit(raw / np.float32(raw_max))
    np.testing.assert_allclose(scope["shift"], engine.shift, rtol=1e-6)
    np.testing.assert_allclose(scope["scale"], engine.scale, rtol=1e-6)
    assert scope["scale"][1] == 1.0 and scope["shift"].dtype == scope["scale"].dtype == np.float32
    np.testing.assert_allclose(scope["y_train_t"], engine.transform(raw / np.float32(raw_max)), atol=1e-5)
    layer = keras.layers.Normalization(mean=scope["shift"], variance=scope["scale"] * scope["scale"])  # deployable's
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(raw / np.float32(raw_max))),
                               engine.transform(raw / np.float32(raw_max)), atol=1e-5)


# -- public loaders print the same raw data Layerlab loads ------------------------------------------------------
@pytest.mark.parametrize("dataset", ["digits", "iris", "wine", "breast_cancer", "diabetes"])
def test_the_printed_loader_gives_the_raw_data_layerlab_trains_on(dataset):
    exp = coerce({**digits_experiment(), "data": {"dataset": dataset}})
    scope = {"np": np, "keras": keras}
    exec("\n".join(script._loader_lines(exp)), scope)  # noqa: S102 - our own generated source
    x = registry.load(dataset).x
    if dataset == "digits":  # Layerlab scales the pixels to 0..1; the student's data holds sklearn's 0..16
        x = np.round(x * registry.info(dataset).extra["raw_max"])
    np.testing.assert_array_equal(scope["x"], x)
    np.testing.assert_array_equal(scope["y"], registry.load(dataset).y)


@pytest.mark.parametrize("dataset, shape", [("mnist", (28, 28)), ("cifar10", (32, 32, 3))])
def test_the_printed_keras_loader_gives_the_same_subset(dataset, shape, tmp_path, monkeypatch):
    from datasets import keras_sets

    rng = np.random.default_rng(0)  # a stand-in for the download: tests never fetch data
    parts = ((rng.integers(0, 256, (30, *shape), dtype=np.uint8), rng.integers(0, 10, (30, 1), dtype=np.uint8)),
             (rng.integers(0, 256, (10, *shape), dtype=np.uint8), rng.integers(0, 10, (10, 1), dtype=np.uint8)))
    monkeypatch.setattr(getattr(keras.datasets, dataset), "load_data", lambda: parts)
    monkeypatch.setattr(keras_sets, "is_cached", lambda _: True)
    exp = coerce({**digits_experiment(), "data": {"dataset": dataset, "options": {"n_samples": 12, "seed": 3}}})
    scope = {"np": np, "keras": keras}
    exec("\n".join(script._loader_lines(exp)), scope)  # noqa: S102 - our own generated source
    ours = registry.load(dataset, n_samples=12, seed=3)
    np.testing.assert_array_equal(scope["x"], np.round(ours.x * 255))
    np.testing.assert_array_equal(scope["y"], ours.y)


def test_made_up_sets_travel_as_a_data_file(tmp_path):
    exp = coerce(templates.experiment("playground-mlp", "moons"))
    assert exports.needs_data_file(exp)
    exports.write_data_file(exp, tmp_path / "data.npz", prepare(exp).preprocessing)
    with np.load(tmp_path / "data.npz") as saved:
        np.testing.assert_array_equal(saved["x"], registry.load("moons").x)
        np.testing.assert_array_equal(saved["y"], registry.load("moons").y)


# -- train.py in an empty folder reproduces the run -------------------------------------------------------------
def _augmented_digits():
    exp = digits_experiment(epochs=2, lr_schedule="cosine", l2=0.0005,
                            early_stopping={"monitor": "val_loss", "patience": 5})
    exp["augmentation"] = [{"type": "RandomTranslation", "params": {"height_factor": 0.1, "width_factor": 0.1}}]
    return exp


def _crossed_moons():
    exp = templates.experiment("playground-mlp", "moons")
    exp["training"].update(epochs=2, batch_size=32)
    exp["data"].update(features="crosses", options={"n_samples": 300})
    exp["model"]["nodes"][0]["params"]["shape"] = [7]
    return exp


def _autoencoder():
    exp = templates.experiment("dense-autoencoder", "digits")
    exp["training"].update(epochs=2)
    return exp


STANDALONE = {"digits": _augmented_digits, "diabetes": lambda: diabetes_experiment(epochs=5, learning_rate=0.05),
              "moons": _crossed_moons, "autoencoder": _autoencoder}


@pytest.mark.parametrize("name", list(STANDALONE))
def test_train_py_alone_in_an_empty_folder_reproduces_the_run(tmp_path, name):
    folder = tmp_path / "run"
    assert run(STANDALONE[name](), folder) == "completed"
    written = exports.write_scripts(folder)
    script = (folder / "code" / "train.py").read_text()
    assert "from builder" not in script and "from datasets" not in script and "import datasets" not in script
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    for path in written:  # what the run ZIP's code/ folder holds
        shutil.copy(path, empty / path.name)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # no Layerlab on the path
    proc = subprocess.run([sys.executable, "train.py"], cwd=empty, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    # Same seed, same CPU, same data and the same Keras calls: only the preprocessing moved from NumPy into
    # Keras layers, a rounding-level difference. Measured: every number equal to the last printed digit.
    last = runfolder.read_jsonl(folder / runfolder.METRICS)[-1]
    for key, value in result["final"].items():
        assert value == pytest.approx(last[key], rel=1e-4, abs=1e-5), key
    recorded = json.loads((folder / runfolder.EVALUATION).read_text())
    for key, value in result["test"].items():
        assert value == pytest.approx(recorded[key], rel=1e-4, abs=1e-5), key
    # the model it saved takes raw data and gives the run's test numbers too
    model = keras.saving.load_model(empty / "model.keras")
    x, y = raw_parts(coerce(folder / runfolder.EXPERIMENT), prepare(coerce(folder / runfolder.EXPERIMENT)).preprocessing)["test"]
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               keras.saving.load_model(folder / "deploy" / "model.keras").predict(x, verbose=0),
                               rtol=1e-4, atol=1e-4)


def _shapes_mlp():
    return {"format": "layerlab/experiment@1",
            "model": {"format": "layerlab/model@1", "name": "shapes-mlp", "nodes": [
                {"id": "image", "type": "Input", "params": {"shape": [16, 16, 1]}},
                {"id": "flat", "type": "Flatten", "inputs": ["image"]},
                {"id": "probs", "type": "Dense", "params": {"units": 3, "activation": "softmax"}, "inputs": ["flat"]}]},
            "data": {"dataset": "shapes", "options": {"size": 16, "n_samples": 150}},
            "training": {"epochs": 2, "batch_size": 16, "seed": 0}}


def test_each_download_alone_in_an_empty_folder_trains_and_names_the_classes(tmp_path):
    """The student's single-file path: every file of the Runs page downloaded one by one, under its download
    name, into one empty folder; train.py finds model.py and data.npz there and writes the class names."""
    folder = tmp_path / "run"
    assert run(_shapes_mlp(), folder) == "completed"
    exports.write_scripts(folder)
    listed = [a for a in exports.artifacts(folder) if a.exists]
    names = [a.title for a in listed]
    assert len(set(names)) == len(names)  # no download overwrites another
    assert {"model.py", "train.py", "train.ipynb", "data.npz", "labels.txt", "model.keras"} <= set(names)
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    for artifact in listed:
        shutil.copyfile(folder / artifact.path, downloads / artifact.title)
    shapes = ["circle", "square", "triangle"]
    assert (downloads / "labels.txt").read_text() == "circle\nsquare\ntriangle\n"
    for saved in (folder / "deploy" / "model.keras", folder / runfolder.MODEL):  # the names travel inside
        with zipfile.ZipFile(saved) as zf:
            assert zf.read("labels.txt").decode().splitlines() == shapes
    assert keras.saving.load_model(downloads / "model.keras").output_shape == (None, 3)  # Keras ignores the entry
    (downloads / "labels.txt").unlink()  # train.py writes its own
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "train.py"], cwd=downloads, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    recorded = json.loads((folder / runfolder.EVALUATION).read_text())
    assert json.loads(proc.stdout.strip().splitlines()[-1])["test"]["accuracy"] == pytest.approx(
        recorded["accuracy"], abs=1e-6)
    assert (downloads / "labels.txt").read_text().splitlines() == shapes


def test_a_gan_run_offers_its_discriminator_and_no_notebook(tmp_path):
    (tmp_path / runfolder.EXPERIMENT).write_text(json.dumps(templates.experiment("mlp-gan")))
    titles = [a.title for a in exports.artifacts(tmp_path)]
    assert "discriminator.py" in titles and "train.py" in titles and "train.ipynb" not in titles
    (tmp_path / runfolder.EXPERIMENT).write_text(json.dumps(digits_experiment()))
    titles = [a.title for a in exports.artifacts(tmp_path)]
    assert "discriminator.py" not in titles and "train.ipynb" in titles


def test_a_regression_model_carries_no_class_names(tmp_path):
    assert run(diabetes_experiment(epochs=1), tmp_path) == "completed"
    with zipfile.ZipFile(tmp_path / "deploy" / "model.keras") as zf:
        assert "labels.txt" not in zf.namelist()
    assert "labels.txt" not in {a.title for a in exports.artifacts(tmp_path)}


def test_the_notebooks_saliency_bars_of_a_table_are_named_by_its_columns():
    import ast

    import nbformat

    from builder.exports import notebook

    wine = coerce({**diabetes_experiment(), "data": {"dataset": "wine"},
                   "training": {"task": "classification", "loss": "sparse_categorical_crossentropy"}})
    book = nbformat.reads(notebook.build(wine, [], False, exports.feature_names(wine)), as_version=4)
    bar = next(n for n in ast.walk(ast.parse(book.cells[-1].source))
               if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "bar")
    names = ast.literal_eval(next(k.value for k in bar.keywords if k.arg == "x"))
    assert names == list(registry.load("wine").feature_names) and names[0] == "alcohol"  # not input 0..12
    moons = coerce(_crossed_moons())
    assert exports.feature_names(moons) == ["x", "y", "x²", "y²", "x·y", "sin x", "sin y"]
    assert exports.feature_names(coerce(digits_experiment())) is None  # pictures: a heat map, not bars


# -- every download says what it is -------------------------------------------------------------------------------
def test_each_artifact_says_how_to_use_it(tmp_path):
    assert run(digits_experiment(epochs=1), tmp_path) == "completed"
    listed = {a.title: a for a in exports.artifacts(tmp_path)}
    assert listed["model.keras"].exists and listed["model.keras"].path == "deploy/model.keras"
    assert "keras.saving.load_model" in listed["model.keras"].how
    assert "raw 8×8×1 images with pixels in 0..16" in listed["model.keras"].how
    assert not listed["train.py"].exists and "data.npz" not in listed  # digits has a public loader
    exports.write_scripts(tmp_path)
    assert {a.title for a in exports.artifacts(tmp_path) if a.exists} >= {"model.keras", "model.py", "train.py",
                                                                            "preprocessing.json", "canvas-model.keras"}


# -- the notebook runs top to bottom in an empty folder and reproduces the run ------------------------------------
def test_train_ipynb_executes_in_an_empty_folder_and_reproduces_the_run(tmp_path):
    import nbformat

    folder = tmp_path / "run"
    assert run(digits_experiment(epochs=2), folder) == "completed"
    written = exports.write_scripts(folder)
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    for path in written:
        shutil.copy(path, empty / path.name)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "train.ipynb",
                           "--output", "done.ipynb"], cwd=empty, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    book = nbformat.read(empty / "done.ipynb", as_version=4)
    code = [c.source for c in book.cells if c.cell_type == "code"]
    sections = [text for _, _, text in exports.sections(coerce(folder / runfolder.EXPERIMENT))]
    assert all(text in code for text in sections)  # the notebook's steps are train.py's
    assert sum(c.cell_type == "markdown" for c in book.cells) >= len(sections) + 2
    outputs = [o for c in book.cells if c.cell_type == "code" for o in c.outputs]
    printed = [o.text for o in outputs if o.output_type == "stream" and o.text.startswith('{"final"')]
    result = json.loads(printed[-1])
    recorded = json.loads((folder / runfolder.EVALUATION).read_text())
    assert result["test"]["accuracy"] == pytest.approx(recorded["accuracy"], abs=1e-6)
    figures = [o for o in outputs if o.output_type == "display_data" and "application/vnd.plotly.v1+json" in o.data]
    assert len(figures) == 2  # the loss curve and the saliency map
    assert (empty / "model.keras").is_file()


def test_a_run_from_before_preprocessing_was_recorded_still_exports_its_code(tmp_path):
    assert run(digits_experiment(epochs=1), tmp_path) == "completed"
    (tmp_path / "preprocessing.json").unlink()  # as an older Layerlab left its runs
    shutil.rmtree(tmp_path / "deploy")
    out = exports.export_all(tmp_path)
    assert out["code/train.py"].is_file() and out["deploy/model.keras"] is None and out["deploy/model.tflite"] is None
    (row,) = json.loads((tmp_path / "deploy" / "tflite.json").read_text())["rows"]
    assert "no deployable model" in row["error"] and "train it again" in row["error"]
