"""Every keras.applications architecture (weights=None) imports, validates, summarises and exports
with Keras's own parameter counts and per-layer output shapes.

By default one architecture per family runs (the smallest); the other variants of each family
carry the `all_applications` marker, deselected by default because building all 40 takes several
minutes on 2 cores. Run them all with:

    python3 -m pytest tests/builder/graph/test_applications.py -m "all_applications or not all_applications"
"""
import keras
import pytest

from builder.cli import main as cli_main
from builder.graph import importer, validate
from builder.graph.build import build_model
from builder.graph.codegen import to_python

# Small inputs keep the builds quick; each is at least the size the architecture accepts.
SMALL = (96, 96, 3)
INPUT_SHAPES = {"InceptionV3": (75, 75, 3), "InceptionResNetV2": (75, 75, 3), "Xception": (71, 71, 3)}

# family -> its architectures, the one that runs by default first
FAMILIES = {
    "VGG": ["VGG16", "VGG19"],
    "ResNet": ["ResNet50", "ResNet101", "ResNet152"],
    "ResNetV2": ["ResNet50V2", "ResNet101V2", "ResNet152V2"],
    "Inception": ["InceptionV3"],
    "InceptionResNet": ["InceptionResNetV2"],
    "Xception": ["Xception"],
    "MobileNet": ["MobileNet"],
    "MobileNetV2": ["MobileNetV2"],
    "MobileNetV3": ["MobileNetV3Small", "MobileNetV3Large"],
    "DenseNet": ["DenseNet121", "DenseNet169", "DenseNet201"],
    "NASNet": ["NASNetMobile", "NASNetLarge"],
    "EfficientNet": [f"EfficientNetB{i}" for i in range(8)],
    "EfficientNetV2": ["EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2", "EfficientNetV2B3",
                       "EfficientNetV2S", "EfficientNetV2M", "EfficientNetV2L"],
    "ConvNeXt": ["ConvNeXtTiny", "ConvNeXtSmall", "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtXLarge"],
}
ALL = [name for names in FAMILIES.values() for name in names]


@pytest.fixture(autouse=True)
def room_for_the_big_ones(monkeypatch):
    """VGG, the large ResNets, ConvNeXt and others have more weights than the server's default budget
    (LAYERLAB_MAX_PARAMS, 50 M); a server that wants them raises it, as this test does."""
    monkeypatch.setenv("LAYERLAB_MAX_PARAMS", "1000000000")
    monkeypatch.setenv("LAYERLAB_MAX_ACTIVATIONS", "1000000000")
DEFAULT = {names[0] for names in FAMILIES.values()}


def test_the_family_list_is_every_keras_application():
    assert set(ALL) == {name for name in dir(keras.applications) if name[:1].isupper()}


def _flat_layers(model):
    """The model's layers with nested models (ConvNeXt's Sequential blocks) opened up."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _flat_layers(layer)
        elif not isinstance(layer, keras.layers.InputLayer):
            yield layer


@pytest.mark.parametrize("name", [name if name in DEFAULT else pytest.param(name, marks=pytest.mark.all_applications)
                                  for name in ALL])
def test_application_round_trips_with_keras_counts_and_shapes(name, tmp_path, capsys):
    keras.backend.clear_session()
    model = getattr(keras.applications, name)(weights=None, input_shape=INPUT_SHAPES.get(name, SMALL), classes=10)
    expected = model.count_params()
    spec = importer.from_model(model)
    report = validate.check(spec)
    assert report.ok, report.lines()[:5]
    assert report.total_params == expected
    for layer in _flat_layers(model):  # imported ids are the Keras layer names here
        shape = tuple(layer._inbound_nodes[-1].output_tensors[0].shape)
        assert (report.shapes[layer.name], report.params[layer.name]) == (shape, layer.count_params()), layer.name
    rebuilt = build_model(spec)
    assert rebuilt.count_params() == expected
    assert [tuple(t.shape) for t in rebuilt.outputs] == [tuple(t.shape) for t in model.outputs]
    namespace = {}
    exec(compile(to_python(spec), f"{name}.py", "exec"), namespace)  # the exported script builds the same model
    assert namespace["build_model"]().count_params() == expected
    path = tmp_path / "spec.json"
    path.write_text(spec.to_json())
    assert cli_main(["summary", str(path)]) == 0
    assert f"total parameters: {expected:,}" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["ConvNeXtTiny", "InceptionResNetV2", "MobileNetV3Small"])
def test_saved_application_file_imports_like_the_live_model(name, tmp_path):
    """The three that need translation (nested Sequential, helper layers, arithmetic) also open from .keras."""
    keras.backend.clear_session()
    model = getattr(keras.applications, name)(weights=None, input_shape=INPUT_SHAPES.get(name, (32, 32, 3)), classes=3)
    model.save(tmp_path / "model.keras")
    from_file = importer.from_keras_file(tmp_path / "model.keras")
    assert validate.check(from_file).total_params == model.count_params()
    assert from_file.to_dict()["nodes"] == importer.from_model(model).to_dict()["nodes"]
