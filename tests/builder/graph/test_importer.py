"""Import: Sequential and functional models and .keras files become specs; custom code is refused unrun."""
import re
import zipfile

import keras
import numpy as np
import pytest

from builder.experiments import templates
from builder.graph import importer, validate
from builder.graph.build import build_model
from builder.graph.codegen import to_python
from builder.model.spec import ModelSpec, SpecError
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


# A pretrained base imports as its own layers (a spec is an architecture): transfer-cnn has its own tests.
@pytest.mark.parametrize("template_id", [t for t in templates.TEMPLATES if t != "transfer-cnn"])
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
    with pytest.raises(SpecError, match="custom code \\(custom class Twice in layer 'twice'\\)"):
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
    wide = keras.Input((8, 8, 4), name="wide")
    channels_first = keras.Model(wide, L.Conv2D(2, 3, data_format="channels_first", name="c")(wide))
    with pytest.raises(SpecError) as e:
        importer.from_model(channels_first)
    assert e.value.problems == ["layer 'c' (Conv2D) uses data_format='channels_first', but Layerlab's Conv2D has no "
                                "'data_format' setting: it always uses Keras' default 'channels_last'; rebuild the "
                                "layer with data_format='channels_last' to open it"]
    raw = keras.Model(x, L.Flatten(name="f")(keras.ops.sqrt(x)))
    with pytest.raises(SpecError, match="computes 'sqrt' with the raw operation keras.ops.sqrt, which no Layerlab"):
        importer.from_model(raw)


def _same_predictions(model, spec, data):
    """The spec rebuilt with the model's weights (copied by layer name) predicts what the model predicts."""
    rebuilt = build_model(spec)
    for layer in rebuilt.layers:
        if layer.weights:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    np.testing.assert_allclose(rebuilt.predict(data, verbose=0), model.predict(data, verbose=0), rtol=1e-5, atol=1e-5)
    return rebuilt


@pytest.mark.parametrize(("layer", "shape"), [
    (L.Conv1D(3, 3, dilation_rate=2, padding="causal"), (16, 2)), (L.Conv2D(3, 3, dilation_rate=(2, 3)), (12, 12, 2)),
    (L.Conv3D(2, 2, dilation_rate=2), (6, 6, 6, 1)), (L.SeparableConv1D(3, 3, dilation_rate=4), (16, 2)),
    (L.SeparableConv2D(3, 3, dilation_rate=2, strides=1), (12, 12, 2)),
    (L.DepthwiseConv1D(3, dilation_rate=3), (16, 2)), (L.DepthwiseConv2D(3, dilation_rate=2, strides=2), (12, 12, 2)),
    (L.Conv1DTranspose(3, 3, dilation_rate=2), (8, 2)), (L.Conv2DTranspose(3, 3, dilation_rate=2), (6, 6, 2)),
    (L.Conv3DTranspose(2, 2, dilation_rate=2), (4, 4, 4, 1))], ids=lambda v: type(v).__name__ if isinstance(v, L.Layer) else "")
def test_dilated_convolutions_import_export_and_predict_the_same(layer, shape):
    x = keras.Input(shape, name="x")
    model = keras.Model(x, layer(x))
    spec = importer.from_model(model)
    dilation = layer.get_config()["dilation_rate"]
    assert spec.node(layer.name).params["dilation_rate"] == list(dilation) and max(dilation) > 1
    assert f"dilation_rate={tuple(dilation)!r}" in to_python(spec)
    data = np.random.default_rng(2).normal(size=(2, *shape)).astype("float32")
    assert _same_predictions(model, spec, data).count_params() == model.count_params()


def test_dilation_with_strides_is_a_plain_problem_with_a_fix():
    spec = {"format": "layerlab/model@1", "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [16, 16, 1]}},
        {"id": "c", "type": "Conv2D", "params": {"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": [1, 2]},
         "inputs": ["x"]}]}
    [problem] = validate.check(spec).problems
    assert (problem.node, problem.field, problem.fix) == ("c", "dilation_rate", {"node": "c", "params": {"dilation_rate": None}})
    assert problem.message.startswith("a Conv2D cannot have both strides and dilation_rate above 1")
    spec["nodes"][1]["type"] = "DepthwiseConv2D"  # Keras' depthwise convolutions can do both
    del spec["nodes"][1]["params"]["filters"]
    assert validate.check(spec).ok


def test_attention_over_a_grid_keeps_keras_axes():
    patches = keras.Input((4, 6, 8), name="patches")  # MobileViT: (batch, pixels per patch, patches, features)
    filled = L.MultiHeadAttention(2, 4, name="grid")(patches, patches)  # Keras fills in attention_axes=(1, 2)
    rows = L.MultiHeadAttention(2, 4, attention_axes=(2,), name="rows")(filled, filled)
    model = keras.Model(patches, rows)
    assert model.get_layer("grid").get_config()["attention_axes"] == (1, 2)
    spec = importer.from_model(model)
    assert spec.node("grid").params == {"num_heads": 2, "key_dim": 4}
    assert spec.node("rows").params == {"num_heads": 2, "key_dim": 4, "attention_axes": [2]}
    data = np.random.default_rng(3).normal(size=(2, 4, 6, 8)).astype("float32")
    assert _same_predictions(model, spec, data).count_params() == model.count_params()
    assert "attention_axes=(2,)" in to_python(spec)


def test_activations_computed_with_raw_operations_become_layers_that_compute_the_same():
    x = keras.Input((6,), name="x")
    d = L.Dense(6, name="d")(x)
    ops, act = keras.ops, keras.activations
    outputs = [ops.relu(d), act.swish(d), ops.silu(d), act.gelu(d), ops.sigmoid(d), ops.tanh(d), ops.relu6(d),
               ops.hard_silu(d), ops.softplus(d), ops.leaky_relu(d), ops.elu(d, alpha=0.5), act.relu(d, max_value=2.0),
               ops.softmax(d, axis=-1), ops.log_softmax(d)]
    model = keras.Model(x, L.Concatenate(name="all")(outputs))
    spec = importer.from_model(model)
    made = [(n.type, n.params) for n in spec.nodes if n.type not in ("Input", "Dense", "Concatenate")]
    assert made == [("Activation", {"activation": a}) for a in ("relu", "silu", "silu", "gelu", "sigmoid", "tanh",
                                                                "relu6", "hard_silu", "softplus")] + [
        ("LeakyReLU", {"negative_slope": 0.2}), ("ELU", {"alpha": 0.5}), ("ReLU", {"max_value": 2.0}),
        ("Softmax", {}), ("Activation", {"activation": "log_softmax"})]
    _same_predictions(model, spec, np.random.default_rng(4).normal(size=(4, 6)).astype("float32") * 3)
    for untranslatable, named in ((ops.gelu(d), "keras.ops.gelu (approximate=True; Layerlab's gelu is the exact one"),
                                  (ops.log_softmax(d, axis=0), "keras.ops.log_softmax (axis=0;"),
                                  (ops.square(d), "keras.ops.square, which no Layerlab layer computes")):
        with pytest.raises(SpecError, match=re.escape(named)):
            importer.from_model(keras.Model(x, untranslatable))


def test_every_custom_class_is_named_in_one_message():
    class Twice(L.Layer):
        def call(self, x):
            return x * 2

    class Half(L.Layer):
        def call(self, x):
            return x / 2

    x = keras.Input((3,), name="x")
    model = keras.Model(x, L.Lambda(lambda t: t + 1, name="plus")(Half(name="half")(Twice(name="twice")(x))))
    with pytest.raises(SpecError) as e:
        importer.from_model(model)
    assert e.value.problems == ["this model contains custom code (custom class Twice in layer 'twice'; custom class "
                                "Half in layer 'half'; Lambda layer 'plus'); Layerlab only opens models made of "
                                "standard Keras layers"]
    config = {"class_name": "Functional", "config": {"layers": [
        {"module": "my_pkg", "class_name": "Twice", "config": {"name": "twice"}},
        {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "plus", "function": {
            "class_name": "__lambda__", "config": {"code": "..."}}}},
        {"module": "my_pkg", "class_name": "Half", "config": {"name": "half"}}]}}
    with pytest.raises(SpecError) as e:
        importer.refuse_custom_code(config)
    assert e.value.problems == ["this model contains custom code (custom class Twice in layer 'twice'; Lambda layer "
                                "'plus'; custom class Half in layer 'half'); Layerlab only opens models made of "
                                "standard Keras layers"]


def test_input_dtypes_are_kept_or_the_change_is_noted(tmp_path):
    tokens, pixels = keras.Input((5,), dtype="int64", name="tokens"), keras.Input((4,), dtype="uint8", name="pixels")
    embedded = L.Flatten(name="flat")(L.Embedding(10, 2, name="emb")(tokens))
    model = keras.Model([tokens, pixels], L.Concatenate(name="cat")([embedded, L.Rescaling(1 / 255, name="r")(pixels)]))
    model.save(tmp_path / "m.keras")
    spec = importer.from_keras_file(tmp_path / "m.keras")
    assert spec.node("tokens").params == {"shape": [5], "dtype": "int64"}
    assert spec.node("pixels").params == {"shape": [4], "dtype": "int32"}
    assert spec.description == ("Input 'pixels' was uint8 in Keras and is int32 here (Layerlab's inputs are float32, "
                                "int32, int64, string).")
    assert "dtype=\"int64\"" in to_python(spec) and build_model(spec).inputs[0].dtype == "int64"
    text = keras.Input((1,), dtype="string", name="text")  # raw text, for a TextVectorization: kept as it is
    assert importer.from_model(keras.Model(text, L.Identity(name="same")(text))).node("text").params == {
        "shape": [1], "dtype": "string"}


def test_a_file_over_the_node_budget_is_refused_before_keras_rebuilds_it(tmp_path, monkeypatch):
    x = keras.Input((2,), name="x")
    inner_in = keras.Input((2,))
    block = keras.Model(inner_in, L.Dense(2, name="b2")(L.Dense(2, name="b1")(inner_in)), name="block")
    model = keras.Model(x, L.Dense(1, name="out")(block(x)))  # nodes: x, b1, b2, out
    model.save(tmp_path / "m.keras")
    monkeypatch.setenv("LAYERLAB_MAX_NODES", "4")
    assert len(importer.from_keras_file(tmp_path / "m.keras").nodes) == 4
    monkeypatch.setenv("LAYERLAB_MAX_NODES", "2")
    monkeypatch.setattr(keras.saving, "deserialize_keras_object", None)  # Keras must never be asked
    with pytest.raises(SpecError, match="the model has 3 layers; the limit is 2 \\(server setting LAYERLAB_MAX_NODES\\)"):
        importer.from_keras_file(tmp_path / "m.keras")


def test_shared_layer_is_refused():
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    shared = L.Dense(2, name="shared")
    model = keras.Model([a, b], L.Add(name="sum")([shared(a), shared(b)]))
    with pytest.raises(SpecError, match="layer 'shared' is used more than once"):
        importer.from_model(model)


def test_call_options_the_spec_cannot_hold_are_named():
    q = keras.Input((5, 6), name="q")
    masked = keras.Model(q, L.MultiHeadAttention(2, 3, name="att")(q, q, use_causal_mask=True))
    with pytest.raises(SpecError, match="layer 'att' is called with use_causal_mask=True"):
        importer.from_model(masked)


def test_arithmetic_on_tensors_becomes_equivalent_layers():
    x = keras.Input((4,), name="x")
    d = L.Dense(4, name="d")(x)
    hard_sigmoid = L.ReLU(6.0, name="relu6")(d + 3.0) * (1.0 / 6.0)  # as MobileNetV3 writes it
    model = keras.Model(x, (x - hard_sigmoid) / 4.0 + (2.0 - x) * hard_sigmoid, name="arith")
    spec = importer.from_model(model)
    made = [(n.type, n.params, len(n.inputs)) for n in spec.nodes if n.type not in ("Input", "Dense", "ReLU")]
    assert sorted(made, key=str) == sorted([
        ("Rescaling", {"scale": 1.0, "offset": 3.0}, 1), ("Rescaling", {"scale": 1.0 / 6.0}, 1),
        ("Subtract", {}, 2), ("Rescaling", {"scale": 0.25}, 1), ("Rescaling", {"scale": -1.0, "offset": 2.0}, 1),
        ("Multiply", {}, 2), ("Add", {}, 2)], key=str)
    rebuilt = build_model(spec)
    rebuilt.get_layer("d").set_weights(model.get_layer("d").get_weights())
    data = np.random.default_rng(0).normal(size=(8, 4)).astype("float32") * 4
    np.testing.assert_allclose(rebuilt.predict(data, verbose=0), model.predict(data, verbose=0), rtol=1e-5, atol=1e-6)


def test_application_helper_layers_become_catalog_layers_that_compute_the_same():
    from keras.src.applications.convnext import LayerScale
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

    x = keras.Input((3, 3, 4), name="x")
    scaled = LayerScale(0.5, 4, name="ls")(x)
    model = keras.Model(x, CustomScaleLayer(0.17, name="res")([x, L.Conv2D(4, 1, name="c")(scaled)]))
    spec = importer.from_model(model)
    assert (spec.node("ls").type, spec.node("ls").params) == ("DepthwiseConv2D", {"kernel_size": [1, 1], "use_bias": False})
    assert spec.node("res_scale").params == {"scale": 0.17} and spec.node("res").inputs == ["x", "res_scale"]
    rebuilt = build_model(spec)
    assert rebuilt.count_params() == model.count_params() == 4 + (4 * 4 + 4)
    gamma = np.arange(1, 5, dtype="float32")
    model.get_layer("ls").set_weights([gamma])
    rebuilt.get_layer("ls").set_weights([gamma.reshape(1, 1, 4, 1)])
    rebuilt.get_layer("c").set_weights(model.get_layer("c").get_weights())
    data = np.random.default_rng(1).normal(size=(2, 3, 3, 4)).astype("float32")
    np.testing.assert_allclose(rebuilt.predict(data, verbose=0), model.predict(data, verbose=0), rtol=1e-5, atol=1e-6)


def _residual_block(name: str, width: int):
    """A block as its own functional model, with a nested Sequential inside; inner names repeat across blocks."""
    x = keras.Input((width,))
    h = L.Dense(width, activation="relu", name="dense")(x)
    tail = keras.Sequential([L.Dense(width, name="proj"), L.LayerNormalization(name="norm")], name="tail")
    return keras.Model(x, L.Add(name="add")([x, tail(h)]), name=name)


def test_nested_models_import_as_named_groups_with_keras_counts_and_shapes(tmp_path):
    x = keras.Input((6,), name="x")
    y = _residual_block("block_2", 6)(_residual_block("block_1", 6)(x))
    head = keras.Sequential([L.Dense(3, activation="softmax", name="probs")], name="head")
    model = keras.Model(x, head(y), name="nested")
    spec = importer.from_model(model)
    groups = {n.id: n.group for n in spec.nodes}
    assert groups == {"x": None, "dense": "block_1", "proj": "block_1/tail", "norm": "block_1/tail", "add": "block_1",
                      "dense_2": "block_2", "proj_2": "block_2/tail", "norm_2": "block_2/tail", "add_2": "block_2",
                      "probs": "head"}
    assert spec.node("add").inputs == ["x", "norm"] and spec.node("dense_2").inputs == ["add"]
    assert spec.node("add_2").inputs == ["add", "norm_2"] and spec.outputs == ["probs"]
    rebuilt = build_model(spec)
    assert rebuilt.count_params() == model.count_params() == 2 * (2 * (6 * 6 + 6) + 12) + 6 * 3 + 3
    assert tuple(rebuilt.get_layer("norm_2").output.shape) == (None, 6)
    # groups survive JSON and a .keras file
    assert ModelSpec.from_json(spec.to_json()).to_dict() == spec.to_dict()
    model.save(tmp_path / "nested.keras")
    assert importer.from_keras_file(tmp_path / "nested.keras").to_dict()["nodes"] == spec.to_dict()["nodes"]


def test_pretrained_base_inside_a_sequential_is_a_group():
    image = keras.Input((8, 8, 1), name="image")
    base = keras.Model(image, L.Conv2D(4, 3, activation="relu", name="conv")(image), name="base")
    model = keras.Sequential([keras.Input((8, 8, 1)), base, L.GlobalAveragePooling2D(name="gap"),
                              L.Dense(2, name="out")], name="transfer")
    spec = importer.from_model(model)
    assert [(n.type, n.group, n.inputs) for n in spec.nodes][1:] == [
        ("Conv2D", "base", [spec.nodes[0].id]), ("GlobalAveragePooling2D", None, ["conv"]), ("Dense", None, ["gap"])]
    assert build_model(spec).count_params() == model.count_params()


def test_a_block_called_twice_is_refused_as_shared():
    x = keras.Input((3,), name="x")
    inner_in = keras.Input((3,))
    block = keras.Model(inner_in, L.Dense(3, name="d")(inner_in), name="twice")
    with pytest.raises(SpecError, match="layer 'twice' is used more than once"):
        importer.from_model(keras.Model(x, block(block(x))))


def test_group_tags_are_checked_and_marked_in_the_export():
    x = keras.Input((6,), name="x")
    model = keras.Model(x, _residual_block("block_1", 6)(x), name="one")
    spec = importer.from_model(model)
    source = to_python(spec)
    assert "# block block_1\n" in source and "# block block_1/tail\n" in source
    namespace = {}
    exec(compile(source, "model.py", "exec"), namespace)
    assert namespace["build_model"]().count_params() == model.count_params()
    bad = spec.to_dict()
    bad["nodes"][1]["group"] = "block 1\nimport os"
    assert validate.check(bad).problems_for(bad["nodes"][1]["id"]) == [
        "'group' must be a block name like \"block_1\" (nested: \"encoder/block_1\")"]
