"""Built models equal hand-written Keras; specs round-trip through JSON; templates are sound."""
import keras
import pytest

from builder.experiments import templates
from builder.graph.build import build_model
from builder.model.spec import ModelSpec, SpecError, load, save
from tests.builder_fixtures import nodes_by_id

L = keras.layers


def signature(model) -> list:
    """Order-free description: (class, output shape, params) of every layer."""
    return sorted((type(layer).__name__, str(tuple(layer.output.shape)), layer.count_params()) for layer in model.layers)


def hand_seed_mlp():
    x = keras.Input((8, 8, 1))
    h = L.Dense(128, activation="relu")(L.Flatten()(x))
    h = L.Dropout(0.2)(h)
    h = L.Dense(64, activation="relu")(h)
    return keras.Model(x, L.Dense(10, activation="softmax")(h))


def hand_small_cnn():
    x = keras.Input((28, 28, 1))
    h = L.Conv2D(16, 3, padding="same", activation="relu")(x)
    h = L.MaxPooling2D()(h)
    h = L.Conv2D(32, 3, padding="same", activation="relu")(h)
    h = L.MaxPooling2D()(h)
    h = L.Dropout(0.3)(L.Dense(64, activation="relu")(L.Flatten()(h)))
    return keras.Model(x, L.Dense(3, activation="softmax")(h))


def hand_residual_cnn():
    x = keras.Input((8, 8, 1))
    stem = L.Conv2D(16, 3, padding="same", activation="relu")(x)
    h = L.Conv2D(16, 3, padding="same", activation="relu")(stem)
    h = L.Conv2D(16, 3, padding="same")(h)
    h = L.Activation("relu")(L.Add()([stem, h]))
    return keras.Model(x, L.Dense(10, activation="softmax")(L.GlobalAveragePooling2D()(h)))


def hand_lstm():
    x = keras.Input((20,), dtype="int32")
    h = L.LSTM(32)(L.Embedding(32, 16)(x))
    return keras.Model(x, L.Dense(2, activation="softmax")(h))


def hand_transformer():
    x = keras.Input((20,), dtype="int32")
    e = L.Embedding(32, 32)(x)
    a = L.MultiHeadAttention(num_heads=2, key_dim=16)(e, e)
    h = L.Flatten()(L.LayerNormalization()(L.Add()([e, a])))
    return keras.Model(x, L.Dense(2, activation="softmax")(L.Dense(32, activation="relu")(h)))


def hand_autoencoder():
    x = keras.Input((8, 8, 1))
    h = L.Flatten()(x)
    for units in (32, 8, 32):
        h = L.Dense(units, activation="relu")(h)
    return keras.Model(x, L.Reshape((8, 8, 1))(L.Dense(64, activation="sigmoid")(h)))


def hand_latent_autoencoder():
    x = keras.Input((8, 8, 1))
    code = L.Dense(2)(L.Dense(64, activation="relu")(L.Flatten()(x)))
    return keras.Model(x, L.Reshape((8, 8, 1))(L.Dense(64, activation="sigmoid")(L.Dense(64, activation="relu")(code))))


@pytest.mark.parametrize("template_id, hand", [
    ("latent-autoencoder", hand_latent_autoencoder),
    ("seed-mlp", hand_seed_mlp), ("small-cnn", hand_small_cnn), ("residual-cnn", hand_residual_cnn),
    ("lstm-classifier", hand_lstm), ("tiny-transformer", hand_transformer), ("dense-autoencoder", hand_autoencoder),
])
def test_template_model_equals_hand_written_keras(template_id, hand):
    ours, theirs = build_model(templates.get(template_id)), hand()
    assert len(ours.layers) == len(theirs.layers)
    assert signature(ours) == signature(theirs)
    assert ours.count_params() == theirs.count_params()
    assert tuple(ours.output.shape) == tuple(theirs.output.shape)


def test_seed_mlp_is_exactly_the_classic_network():
    model = build_model(templates.get("seed-mlp"))
    assert [(type(layer).__name__, tuple(layer.output.shape)) for layer in model.layers] == [
        ("InputLayer", (None, 8, 8, 1)), ("Flatten", (None, 64)), ("Dense", (None, 128)), ("Dropout", (None, 128)),
        ("Dense", (None, 64)), ("Dense", (None, 10))]
    assert model.count_params() == 64 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10
    assert model.get_layer("dropout").rate == 0.2


def test_layer_names_are_node_ids_and_inputs_keep_their_order():
    spec = templates.get("residual-cnn")
    model = build_model(spec)
    assert {layer.name for layer in model.layers} == set(spec.ids())
    add = model.get_layer("skip_add")
    assert [t._keras_history.operation.name for t in add._inbound_nodes[0].input_tensors] == ["stem", "conv_b"]


def test_every_template_has_layout_dataset_and_description():
    assert set(templates.TEMPLATES) == {"seed-mlp", "image-mlp", "small-cnn", "residual-cnn", "lstm-classifier",
                                        "tiny-transformer", "dense-autoencoder", "latent-autoencoder",
                                        "transfer-cnn", "playground-mlp", "sound-cnn", "bag-of-words",
                                        "text-transformer", "mlp-gan"}
    for tid, t in templates.TEMPLATES.items():
        assert t.id == tid and t.title and len(t.description) > 40 and t.dataset
        positions = [(n["ui"]["x"], n["ui"]["y"]) for n in t.spec_dict["nodes"]]
        assert len(set(positions)) == len(positions), f"{tid}: nodes on top of each other"
        for n in t.spec_dict["nodes"]:  # top to bottom: every node sits below its inputs
            for src in n.get("inputs", []):
                assert n["ui"]["y"] > nodes_by_id(t.spec_dict, drop_ui=False)[src]["ui"]["y"]


def test_template_get_returns_independent_copies():
    a = templates.get("seed-mlp")
    a.node("hidden1").params["units"] = 1
    assert templates.get("seed-mlp").node("hidden1").params["units"] == 128
    with pytest.raises(KeyError, match="no template 'nope'"):
        templates.get("nope")


@pytest.mark.parametrize("template_id", list(templates.TEMPLATES))
def test_spec_json_round_trip(template_id, tmp_path):
    spec = templates.get(template_id)
    assert ModelSpec.from_json(spec.to_json()).to_dict() == spec.to_dict() == templates.TEMPLATES[template_id].spec_dict
    save(spec, tmp_path / "m.json")
    assert load(tmp_path / "m.json") == spec


def test_spec_structure_errors_raise_with_lines():
    with pytest.raises(SpecError) as e:
        ModelSpec.from_json('{"format": "layerlab/model@1", "nodes": [{"id": "a", "type": "Dense", "inputs": "b"}]}')
    assert e.value.problems == ["node 'a': 'inputs' must be a list of node ids"]
    with pytest.raises(SpecError, match="not valid JSON"):
        ModelSpec.from_json("{")
