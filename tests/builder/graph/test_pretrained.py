"""Pretrained bases: stored safely by content, validated from their architecture, built with their weights."""
import runpy
import shutil

import keras
import numpy as np
import pytest

from builder.experiments.experiment import check as check_experiment
from builder.graph import codegen, pretrained, validate
from builder.graph.build import build_model


@pytest.fixture(autouse=True)
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_PRETRAINED_DIR", str(tmp_path / "store"))
    return tmp_path / "store"


def small_base(path, seed=0):
    keras.utils.set_random_seed(seed)
    inp = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="c1")(inp)
    x = keras.layers.Conv2D(6, 3, activation="relu", name="c2")(x)
    model = keras.Model(inp, x, name="small")
    model.save(path)
    return model


def spec_with(base_id, shape=(8, 8, 1), **params):
    return {"format": "layerlab/model@1", "name": "transfer", "nodes": [
        {"id": "image", "type": "Input", "params": {"shape": list(shape)}},
        {"id": "base", "type": "Pretrained", "params": {"model": base_id, **params}, "inputs": ["image"]},
        {"id": "gap", "type": "GlobalAveragePooling2D", "inputs": ["base"]},
        {"id": "probs", "type": "Dense", "params": {"units": 3, "activation": "softmax"}, "inputs": ["gap"]},
    ]}


def test_store_by_content_and_describe(tmp_path, store):
    original = small_base(tmp_path / "b.keras")
    base_id = pretrained.store_file(tmp_path / "b.keras")
    assert base_id == pretrained.store_file(tmp_path / "b.keras")  # same bytes, same id
    assert pretrained.path_of(base_id).parent == store
    base = pretrained.info(base_id)
    assert (base.input_shape, base.output_shape) == ((8, 8, 1), (4, 4, 6))
    assert base.layers == ("c1", "c2") and base.params == original.count_params() == 4 * 10 + 6 * 37


def test_spec_validates_builds_with_the_saved_weights_and_counts(tmp_path):
    original = small_base(tmp_path / "b.keras")
    base_id = pretrained.store_file(tmp_path / "b.keras")
    report = validate.check(spec_with(base_id))
    assert report.ok, report.lines()
    assert report.shapes["base"] == (None, 4, 4, 6) and report.params["base"] == original.count_params()
    model = build_model(spec_with(base_id))
    assert model.count_params() == report.total_params
    base = model.get_layer("base")
    for got, want in zip(base.get_weights(), original.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    assert not base.trainable and {w.path.split("/")[0] for w in model.trainable_weights} == {"probs"}


@pytest.mark.parametrize(("params", "learning"), [
    ({"freeze": "none"}, {"c1", "c2", "probs"}),
    ({"freeze": "from", "unfreeze_from": "c2"}, {"c2", "probs"}),
    ({"freeze": "none", "output_layer": "c1"}, {"c1", "probs"}),  # the base cut after c1
])
def test_freeze_options(tmp_path, params, learning):
    small_base(tmp_path / "b.keras")
    model = build_model(spec_with(pretrained.store_file(tmp_path / "b.keras"), **params))
    assert {w.path.split("/")[0] for w in model.trainable_weights} == learning


def test_problems_name_the_fix(tmp_path):
    small_base(tmp_path / "b.keras")
    base_id = pretrained.store_file(tmp_path / "b.keras")
    cases = {
        "add a Resizing layer to 8×8 before it": spec_with(base_id, shape=(16, 16, 1)),
        "add a 1×1 Conv2D with filters 1 (the channels it takes) before it": spec_with(base_id, shape=(8, 8, 3)),
        "the base's layers are c1, c2": spec_with(base_id, freeze="from", unfreeze_from="nope"),
        "upload a .keras model or pick an application": spec_with(""),
        "not on this server": spec_with("pretrained:0123456789abcdef"),
        "not a pretrained base id": spec_with("pretrained:../../etc"),
        "output_layer: 'head' is not one of the base's layers (c1, c2)": spec_with(base_id, output_layer="head"),
        "unfreeze_from; the base's layers are c1)": spec_with(base_id, output_layer="c1", freeze="from",
                                                              unfreeze_from="c2"),
    }
    for words, spec in cases.items():
        problems = validate.check(spec).problems
        assert len(problems) == 1 and problems[0].node == "base" and words in problems[0].message, problems


def test_custom_code_is_refused(tmp_path):
    inp = keras.Input((4,))
    keras.Model(inp, keras.layers.Lambda(lambda t: t * 2, name="double")(inp)).save(tmp_path / "lambda.keras")
    with pytest.raises(pretrained.PretrainedError, match="custom code"):
        pretrained.store_file(tmp_path / "lambda.keras")
    (tmp_path / "plain.txt").write_text("not a model")
    with pytest.raises(pretrained.PretrainedError, match="not a Keras model file"):
        pretrained.store_file(tmp_path / "plain.txt")


def test_cut_base_has_the_shapes_and_counts_of_its_kept_layers(tmp_path):
    small_base(tmp_path / "b.keras")
    report = validate.check(spec_with(pretrained.store_file(tmp_path / "b.keras"), output_layer="c1"))
    assert report.ok and report.shapes["base"] == (None, 6, 6, 4) and report.params["base"] == 4 * 10


def test_weights_over_the_budget_are_refused_before_they_are_loaded(tmp_path, monkeypatch):
    small_base(tmp_path / "b.keras")
    monkeypatch.setenv("LAYERLAB_MAX_PARAMS", "100")
    with pytest.raises(pretrained.PretrainedError, match="b.keras has 262 weights, over the limit of 100"):
        pretrained.store_file(tmp_path / "b.keras")


@pytest.mark.parametrize("params", [{"freeze": "from", "unfreeze_from": "c2"}, {"output_layer": "c1"}])
def test_exported_code_loads_the_base_from_its_file(tmp_path, params):
    small_base(tmp_path / "b.keras")
    spec = spec_with(pretrained.store_file(tmp_path / "b.keras"), **params)
    folder = tmp_path / "export"
    pretrained.copy_files(validate.ensure_valid(spec), folder / "pretrained")
    (folder / "model.py").write_text(codegen.to_python(spec))
    exported = runpy.run_path(str(folder / "model.py"))["build_model"]()
    built = build_model(spec)
    x = np.random.default_rng(0).random((2, 8, 8, 1), dtype=np.float32)
    np.testing.assert_array_equal(exported.get_layer("base").predict(x, verbose=0), built.get_layer("base").predict(x, verbose=0))
    assert [w.path for w in exported.trainable_weights] == [w.path for w in built.trainable_weights]
    shutil.rmtree(folder / "pretrained")
    with pytest.raises(ValueError):  # without its base file the script cannot build the model
        runpy.run_path(str(folder / "model.py"))["build_model"]()


def test_application_without_cached_weights_is_a_clear_problem(tmp_path, monkeypatch):
    from keras.src.backend import config

    monkeypatch.setattr(config, "_KERAS_DIR", str(tmp_path / "empty-keras-home"))  # nothing cached there
    with pytest.raises(pretrained.PretrainedError) as caught:
        pretrained.from_application("MobileNetV2", (32, 32, 3), allow_download=False)
    problem = caught.value.problem
    assert problem.field == "application"
    assert "ImageNet weights of MobileNetV2 are not on this machine" in problem.message
    assert str(tmp_path / "empty-keras-home" / "models") in problem.message
    with pytest.raises(pretrained.PretrainedError, match="colour images of at least 32×32"):
        pretrained.from_application("MobileNetV2", (8, 8, 1), allow_download=False)


def test_fine_tuning_needs_a_base_to_unfreeze(tmp_path):
    small_base(tmp_path / "b.keras")
    base_id = pretrained.store_file(tmp_path / "b.keras")

    def experiment(spec):
        return {"format": "layerlab/experiment@1", "model": spec, "data": {"dataset": "shapes",
                "options": {"size": 16}}, "training": {"fine_tune_epochs": 2}}

    frozen = check_experiment(experiment(spec_with(base_id, shape=(8, 8, 1))))
    fine = [p for p in frozen if p.field == "freeze"]
    assert fine and fine[0].fix == {"node": "base", "params": {"freeze": "none"}}
    plain = spec_with(base_id)
    plain["nodes"][1] = {"id": "base", "type": "Conv2D", "params": {"filters": 6, "kernel_size": 3},
                         "inputs": ["image"]}
    without = [p for p in check_experiment(experiment(plain)) if p.field == "training.fine_tune_epochs"]
    assert without and without[0].fix == {"training": {"fine_tune_epochs": None}}


def test_the_shipped_base_of_the_transfer_template_is_found_by_its_content(store):
    import hashlib

    from builder.experiments import templates

    path = pretrained.path_of(templates.SHAPES_BASE)
    assert path.parent == pretrained.SHIPPED and not store.exists()  # found without the store
    assert templates.SHAPES_BASE == pretrained.PREFIX + hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    model = build_model(templates.get("transfer-cnn"))
    shipped = keras.saving.load_model(path)
    for got, want in zip(model.get_layer("base").get_weights(), shipped.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    assert {w.path.split("/")[0] for w in model.trainable_weights} == {"c3", "probs"}  # freeze from c3


def test_application_input_is_the_incoming_size_at_least_the_smallest_side_in_colour():
    assert pretrained.application_input("MobileNetV2", (None, 64, 48, 1)) == (64, 48, 3)
    assert pretrained.application_input("MobileNetV2", (None, 8, 8, 1)) == (32, 32, 3)
    assert pretrained.application_input("ResNet50", None) == (32, 32, 3)
