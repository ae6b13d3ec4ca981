"""Import: Sequential and functional models and .keras files become specs; custom code is refused unrun."""
import zipfile

import keras
import pytest

from builder import importer, templates
from builder.build import build_model
from builder.spec import SpecError
from tests.builder_fixtures import nodes_by_id

L = keras.layers


def test_sequential_model_becomes_a_chain():
    model = keras.Sequential([
        keras.Input((8, 8, 1), name="pixels"),
        L.Conv2D(4, 3, activation="relu", name="conv"),
        L.Flatten(name="flat"),
        L.Dense(3, activation="softmax", kernel_regularizer=keras.regularizers.L2(0.01), name="probs"),
    ], name="seq")
    spec = importer.from_model(model)
    assert spec.name == "seq"
    assert [(n.id, n.type, n.inputs) for n in spec.nodes] == [
        ("pixels", "Input", []), ("conv", "Conv2D", ["pixels"]), ("flat", "Flatten", ["conv"]), ("probs", "Dense", ["flat"])]
    assert spec.node("pixels").params == {"shape": [8, 8, 1]}
    assert spec.node("conv").params == {"filters": 4, "kernel_size": [3, 3], "activation": "relu"}
    assert spec.node("probs").params == {"units": 3, "activation": "softmax",
                                         "kernel_regularizer": {"l1": 0.0, "l2": 0.01}}
    assert build_model(spec).count_params() == model.count_params()


def test_functional_model_with_a_branch_keeps_input_order():
    x = keras.Input((4,), name="x")
    wide = L.Dense(6, activation="tanh", name="wide")(x)
    narrow = L.Dense(2, name="narrow")(x)
    joined = L.Concatenate(name="joined")([narrow, wide])
    diff = L.Subtract(name="diff")([L.Dense(3, name="a")(joined), L.Dense(3, name="b")(joined)])
    model = keras.Model(x, [diff, narrow], name="branchy")
    spec = importer.from_model(model)
    assert spec.node("joined").inputs == ["narrow", "wide"]
    assert spec.node("diff").inputs == ["a", "b"]
    assert spec.outputs == ["diff", "narrow"]
    rebuilt = build_model(spec)
    assert rebuilt.count_params() == model.count_params()
    assert [tuple(t.shape) for t in rebuilt.outputs] == [(None, 3), (None, 2)]


@pytest.mark.parametrize("template_id", list(templates.TEMPLATES))
def test_round_trip_spec_build_import_equals_spec(template_id):
    spec = templates.get(template_id)
    back = importer.from_model(build_model(spec))
    assert nodes_by_id(back.to_dict()) == nodes_by_id(spec.to_dict())
    assert back.output_ids() == spec.output_ids() and back.name == spec.name


def test_keras_file_round_trip(tmp_path):
    spec = templates.get("tiny-transformer")
    path = tmp_path / "t.keras"
    build_model(spec).save(path)
    assert nodes_by_id(importer.from_keras_file(path).to_dict()) == nodes_by_id(spec.to_dict())


def make_lambda_model(sentinel):
    def touch(t):
        import pathlib
        pathlib.Path(sentinel).write_text("ran")
        return t * 2

    x = keras.Input((3,), name="x")
    y = L.Lambda(touch, name="doubler")(L.Dense(3, name="d")(x))
    return keras.Model(x, y)


def test_lambda_model_file_is_refused_and_its_code_never_runs(tmp_path):
    sentinel = tmp_path / "sentinel.txt"
    model = make_lambda_model(str(sentinel))  # building the graph runs the function once…
    path = tmp_path / "lam.keras"
    model.save(path)
    sentinel.unlink()  # …so start clean: from here on nothing may run it
    with pytest.raises(SpecError) as e:
        importer.from_keras_file(path)
    assert e.value.problems == ["this model contains custom code (Lambda layer 'doubler'); "
                                "Layerlab only opens models made of standard Keras layers"]
    assert not sentinel.exists()
    with pytest.raises(SpecError, match="custom code \\(Lambda layer 'doubler'\\)"):
        importer.from_model(model)
    assert not sentinel.exists()


def test_custom_layer_class_is_refused():
    class Twice(L.Layer):
        def call(self, x):
            return x * 2

    x = keras.Input((3,), name="x")
    model = keras.Model(x, Twice(name="twice")(x))
    with pytest.raises(SpecError, match="custom code \\(custom layer 'twice' of class Twice\\)"):
        importer.from_model(model)
    config = {"class_name": "Functional", "config": {"layers": [
        {"module": "my_pkg.layers", "class_name": "Twice", "config": {"name": "twice"}}]}}
    with pytest.raises(SpecError, match="custom class Twice in layer 'twice'"):
        importer.refuse_custom_code(config)


def test_files_that_are_not_keras_models(tmp_path):
    text = tmp_path / "model.keras"
    text.write_text("hello")
    with pytest.raises(SpecError, match="not a Keras model file \\(.keras zip archive\\)"):
        importer.from_keras_file(text)
    h5 = tmp_path / "old.h5"
    h5.write_bytes(b"\x89HDF\r\n")
    with pytest.raises(SpecError, match="HDF5"):
        importer.from_keras_file(h5)
    other_zip = tmp_path / "photos.keras"
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("a.txt", "x")
    with pytest.raises(SpecError, match="no config.json"):
        importer.from_keras_file(other_zip)
    with pytest.raises(SpecError, match="no such file"):
        importer.from_keras_file(tmp_path / "missing.keras")


def test_layers_outside_the_catalog_and_lost_settings_are_named():
    x = keras.Input((8, 8, 1), name="x")
    regularized = keras.Model(x, L.ActivityRegularization(name="reg")(x))
    with pytest.raises(SpecError, match="layer 'reg' is a ActivityRegularization, which Layerlab's layer catalog does not have"):
        importer.from_model(regularized)
    dilated = keras.Model(x, L.Conv2D(2, 3, dilation_rate=2, name="c")(x))
    with pytest.raises(SpecError, match="layer 'c' \\(Conv2D\\) uses dilation_rate=\\(2, 2\\)"):
        importer.from_model(dilated)
    raw = keras.Model(x, L.Flatten(name="f")(x + 1.0))
    with pytest.raises(SpecError, match="raw operation"):
        importer.from_model(raw)


def test_shared_layer_is_refused():
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    shared = L.Dense(2, name="shared")
    model = keras.Model([a, b], L.Add(name="sum")([shared(a), shared(b)]))
    with pytest.raises(SpecError, match="layer 'shared' is used more than once"):
        importer.from_model(model)
