"""Every catalog entry: sane declarations, builds alone with hand-checked shapes and counts, imports back."""
import keras
import pytest

from builder.graph import importer, validate
from builder.graph.build import build_model
from builder.model import catalog
from builder.model.params import defaults
from tests.builder_fixtures import SAMPLES, single_layer_spec


def test_every_catalog_layer_has_a_sample():
    covered = {entry[0] for entry in SAMPLES.values()} | {"Input", "Pretrained"}  # Pretrained: test_pretrained.py
    assert covered == set(catalog.CATALOG)


def test_families_cover_issue_list_and_every_type_is_in_one():
    families = catalog.by_family()
    assert set(families) == set(catalog.FAMILIES)
    assert sum(len(v) for v in families.values()) == len(catalog.CATALOG)
    for name in ("Input", "Dense", "Embedding", "Rescaling", "Conv2DTranspose", "GlobalMaxPooling1D",
                 "Bidirectional", "MultiHeadAttention", "Concatenate", "SpatialDropout2D", "GaussianNoise",
                 # issue 15: the layers of the classic model families
                 "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "ZeroPadding1D", "ZeroPadding2D", "Cropping1D",
                 "Cropping2D", "DepthwiseConv2D", "SeparableConv2D", "Conv1DTranspose", "Conv3D", "MaxPooling3D",
                 "AveragePooling3D", "UpSampling1D", "Normalization", "Resizing", "CenterCrop", "Permute",
                 "RepeatVector", "TimeDistributed", "GroupNormalization", "UnitNormalization", "Dot", "Identity"):
        assert name in catalog.CATALOG


@pytest.mark.parametrize("name", list(catalog.CATALOG))
def test_declarations_are_usable_for_forms(name):
    lt = catalog.get(name)
    assert lt.help.endswith(".") and len(lt.help) > 20
    assert hasattr(keras.layers, name) or name in ("Input", "Pretrained")
    for p in lt.params:
        assert p.help, f"{name}.{p.name} has no help"
        # the default (or the starting value of a required param) must itself be valid
        assert p.check(p.default) is None, f"{name}.{p.name}: default {p.default!r} fails its own check"
        if p.kind == "choice":
            assert p.default in p.choices
    if lt.input_names:
        assert len(lt.input_names) == lt.max_inputs


def _plain(value):
    """Keras config value → JSON-style (tuples → lists, nested ones too)."""
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


def test_keras_defaults_match_declared_defaults():
    """An omitted param must mean the same in Layerlab and Keras."""
    for name, lt in catalog.CATALOG.items():
        if name in ("Input", "Pretrained") or name in catalog.WRAPPERS:
            continue
        required = {p.name: p.default for p in lt.params if p.required}
        config = getattr(keras.layers, name)(**{k: tuple(v) if isinstance(v, list) else v
                                                for k, v in required.items()}).get_config()
        for pname, default in defaults(lt.param_map).items():
            if pname in config and pname not in ("strides", "value_dim"):
                got = _plain(config[pname])
                got = got[0] if isinstance(got, list) and lt.param_map[pname].kind == "int" else got
                assert got == default, f"{name}.{pname}: Keras default {got!r}, catalog {default!r}"


@pytest.mark.parametrize("name", list(SAMPLES))
def test_each_layer_builds_alone_with_hand_checked_shape_and_count(name):
    keras.utils.set_random_seed(0)
    layer_type, _, _, out_shape, count = SAMPLES[name]
    spec = single_layer_spec(name)
    report = validate.check(spec)
    assert report.ok, report.lines()
    assert report.shapes["layer"] == (None, *out_shape)
    assert report.params["layer"] == count
    model = build_model(spec)
    layer = model.get_layer("layer")
    assert type(layer).__name__ == layer_type
    assert tuple(model.output.shape) == (None, *out_shape)
    assert layer.count_params() == count == model.count_params()
    # and back: the built model imports to the same spec
    back = importer.from_model(model).to_dict()
    assert back["nodes"] == sorted(spec["nodes"], key=lambda n: [x["id"] for x in back["nodes"]].index(n["id"]))


def test_input_alone_is_valid_when_marked_as_output():
    spec = {"format": "layerlab/model@1", "name": "id", "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [3, None], "dtype": "int32"}}], "outputs": ["x"]}
    report = validate.check(spec)
    assert report.ok and report.shapes["x"] == (None, 3, None) and report.dtypes["x"] == "int32"


def test_activation_choices_have_help_for_each():
    p = catalog.get("Dense").param_map["activation"]
    assert set(p.extra["choice_help"]) == set(p.choices)
    assert "negative" in p.extra["choice_help"]["relu"]


def test_a_layer_added_by_hand_starts_as_a_course_would_have_it():
    assert catalog.new_params("Dense") == {"units": 64, "activation": "relu"}
    assert catalog.new_params("Conv2D") == {"filters": 32, "kernel_size": [3, 3], "activation": "relu",
                                            "padding": "same"}
    assert catalog.new_params("Dropout") == {"rate": 0.5}
    assert catalog.new_params("Input", (8, 8, 1)) == {"shape": [8, 8, 1]}
    assert catalog.new_params("Input") == {"shape": [28, 28, 1]}  # no data chosen: the declared default
    for name, starter in catalog.STARTERS.items():  # every starter choice is a valid value of a declared param
        for key, value in starter.items():
            param = catalog.get(name).param_map[key]
            assert not param.choices or value in param.choices, (name, key)
